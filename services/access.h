// Access control for dispatch.v1: bearer tokens per role, a policy entry
// per method, and the binding of technicians and alert triggers to their
// own id.
//
//   dispatcher     every dispatch.v1 method
//   technician     their own shift, location, stream and assignments: the
//                  request's technician_id must be the id the token is
//                  bound to (the engine then checks the job is theirs)
//   alert_trigger  RaiseAlert and ResolveAlert; a raised alert's source is
//                  the one the token is bound to
//
// A call without a token, or with one the file does not name, gets
// UNAUTHENTICATED; a role the method's entry does not allow, a method with
// no entry, or a request for someone else gets PERMISSION_DENIED. Health
// and reflection stay open.
//
// gRPC's C++ server interceptors cannot end a call, so the interceptor
// decides and records the verdict for the call's context, and the service
// helpers (FinishNow, RunCommand, RunQuery, the stream handlers) consult
// `CallAccess(ctx)` before doing anything: a denied call ends with the
// verdict and never reaches the engine.
//
// Thread safety: AccessPolicy is immutable after loading; CallAccess and
// the interceptors are thread-safe.
#ifndef DISPATCHD_SERVICES_ACCESS_H_
#define DISPATCHD_SERVICES_ACCESS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"
#include "grpcpp/support/server_interceptor.h"

namespace dispatchd::services {

enum class Role { kDispatcher, kTechnician, kAlertTrigger };

// "dispatcher", "technician", "alert_trigger".
absl::string_view RoleName(Role role);

struct Identity {
  Role role = Role::kDispatcher;
  std::string bound_to;  // Technician id or alert source; empty for dispatchers.
};

class AccessPolicy {
 public:
  // Parses a tokens file's text: one token per line,
  //   <role> <token> [<technician id or alert source>]
  // with '#' comments and blank lines. Technician and alert_trigger tokens
  // must name what they are bound to; tokens are unique and at least 16
  // characters. INVALID_ARGUMENT naming `source` and the line otherwise.
  static absl::StatusOr<std::unique_ptr<AccessPolicy>> Parse(absl::string_view text,
                                                             absl::string_view source);
  // Reads and parses the file at `path`.
  static absl::StatusOr<std::unique_ptr<AccessPolicy>> Load(const std::string& path);

  // Adds a token not in the file (e.g. the in-process demo's own), before
  // the server starts. ALREADY_EXISTS if the token is taken.
  absl::Status Add(std::string token, Identity who);

  // The identity behind an `authorization` metadata value
  // ("Bearer <token>"); UNAUTHENTICATED if missing or unknown.
  absl::StatusOr<Identity> Authenticate(absl::string_view authorization) const;

  // Whether `who` may call `method` ("/dispatch.v1.Service/Method") with
  // `request` (nullptr: not received yet, only the role is checked). May
  // fill the request's `source` for an alert trigger that left it empty.
  static absl::Status Authorize(const Identity& who, absl::string_view method,
                                google::protobuf::Message* request);

  // True for methods anyone may call (health, reflection).
  static bool IsOpen(absl::string_view method);
  // The roles `method`'s policy entry allows; empty if it has none.
  static std::vector<Role> RolesFor(absl::string_view method);

  size_t size() const { return tokens_.size(); }

 private:
  AccessPolicy() = default;
  absl::flat_hash_map<std::string, Identity> tokens_;
};

// The verdict recorded for the call with this context: OK if the call may
// go on (or the server checks no access), else the status to end it with.
absl::Status CallAccess(const grpc::ServerContextBase* ctx);

// The interceptor factory that enforces `policy` (not owned; must outlive
// the server) on every call.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> AccessInterceptorFactory(
    const AccessPolicy* policy);

}  // namespace dispatchd::services

#endif  // DISPATCHD_SERVICES_ACCESS_H_
