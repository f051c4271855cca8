// Status propagation macros. Abseil 20220623 has none of its own.
//
//   RETURN_IF_ERROR(DoThing());
//   ASSIGN_OR_RETURN(Foo foo, MakeFoo());
#ifndef DISPATCHD_BASE_STATUS_MACROS_H_
#define DISPATCHD_BASE_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define DISPATCHD_CONCAT_INNER(a, b) a##b
#define DISPATCHD_CONCAT(a, b) DISPATCHD_CONCAT_INNER(a, b)

// Returns the status of `expr` from the enclosing function if it is not OK.
#define RETURN_IF_ERROR(expr)                         \
  do {                                                \
    if (absl::Status _st = (expr); !_st.ok()) {       \
      return _st;                                     \
    }                                                 \
  } while (0)

// Evaluates `rexpr` (an absl::StatusOr<T>); on error returns its status,
// otherwise moves the value into `lhs`, which may be a declaration.
#define ASSIGN_OR_RETURN(lhs, rexpr) \
  ASSIGN_OR_RETURN_IMPL(DISPATCHD_CONCAT(_status_or_, __LINE__), lhs, rexpr)

#define ASSIGN_OR_RETURN_IMPL(var, lhs, rexpr) \
  auto var = (rexpr);                          \
  if (!var.ok()) return std::move(var).status(); \
  lhs = std::move(var).value()

#endif  // DISPATCHD_BASE_STATUS_MACROS_H_
