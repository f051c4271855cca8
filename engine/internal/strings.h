// String helpers for the engine's internals. This Abseil build has its own
// absl::string_view, distinct from the std::string_view the engine API
// uses, so conversions are explicit (Sv), and maps keyed by std::string
// get a hasher that accepts std::string_view lookups without a copy.
//
// Thread safety: stateless.
#ifndef DISPATCHD_ENGINE_INTERNAL_STRINGS_H_
#define DISPATCHD_ENGINE_INTERNAL_STRINGS_H_

#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "absl/strings/string_view.h"

namespace dispatchd::engine::internal {

inline absl::string_view Sv(std::string_view s) { return {s.data(), s.size()}; }

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return absl::HashOf(s); }
};

struct StringEq {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const { return a == b; }
};

// A hash map keyed by std::string, looked up by std::string_view.
template <typename V>
using StringMap = absl::flat_hash_map<std::string, V, StringHash, StringEq>;

}  // namespace dispatchd::engine::internal

#endif  // DISPATCHD_ENGINE_INTERNAL_STRINGS_H_
