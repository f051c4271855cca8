// Turns dispatch.v1 API requests into engine commands and query arguments.
//
// Validates only what the wire can get wrong and the engine cannot see:
// unset or unknown enums ("urgency: required"), malformed timestamps,
// page_size limits, a missing policy message, the idempotency key's length.
// Fills in the API's documented defaults (crew_size 0 -> 1, a skill's
// min_level 0 -> 1). Everything else — unknown ids, empty required
// strings, ranges — the engine validates, naming the field.
//
// All failures are INVALID_ARGUMENT with a message naming the field.
//
// Thread safety: stateless functions; safe from any thread.
#ifndef DISPATCHD_SERVICES_REQUEST_CODEC_H_
#define DISPATCHD_SERVICES_REQUEST_CODEC_H_

#include <cstddef>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "dispatch/v1/admin.pb.h"
#include "dispatch/v1/alerts.pb.h"
#include "dispatch/v1/inventory.pb.h"
#include "dispatch/v1/requests.pb.h"
#include "dispatch/v1/technicians.pb.h"
#include "engine/commands.h"
#include "engine/engine.h"

namespace dispatchd::services {

inline constexpr size_t kMaxIdempotencyKeyBytes = 128;
inline constexpr size_t kDefaultPageSize = 100;
inline constexpr size_t kMaxPageSize = 1000;

namespace v1 = ::dispatch::v1;

// RequestService.
absl::StatusOr<engine::Command> ToCommand(const v1::SubmitRequestRequest& r);
absl::StatusOr<engine::Command> ToCommand(const v1::CancelRequestRequest& r);
absl::StatusOr<engine::Command> ToCommand(const v1::ChangeUrgencyRequest& r);
absl::StatusOr<engine::Command> ToCommand(const v1::AssignRequestRequest& r);
absl::StatusOr<engine::Command> ToCommand(const v1::RecordFeedbackRequest& r);

// TechnicianService.
absl::StatusOr<engine::Command> ToCommand(const v1::RegisterTechnicianRequest& r);
absl::StatusOr<engine::Command> ToCommand(const v1::UpdateTechnicianRequest& r);
absl::StatusOr<engine::Command> ToCommand(const v1::StartShiftRequest& r);
absl::StatusOr<engine::Command> ToCommand(const v1::EndShiftRequest& r);
absl::StatusOr<engine::Command> ToCommand(const v1::ReportLocationRequest& r);
absl::StatusOr<engine::Command> ToCommand(const v1::AcceptAssignmentRequest& r);
absl::StatusOr<engine::Command> ToCommand(const v1::DeclineAssignmentRequest& r);
absl::StatusOr<engine::Command> ToCommand(const v1::StartWorkRequest& r);
absl::StatusOr<engine::Command> ToCommand(const v1::CompleteWorkRequest& r);
absl::StatusOr<engine::Command> ToCommand(const v1::PutOnHoldRequest& r);

// AlertService.
absl::StatusOr<engine::Command> ToCommand(const v1::RaiseAlertRequest& r);
absl::StatusOr<engine::Command> ToCommand(const v1::ResolveAlertRequest& r);

// InventoryService.
absl::StatusOr<engine::Command> ToCommand(const v1::AdjustStockRequest& r);

// AdminService.
absl::StatusOr<engine::Command> ToCommand(const v1::UpsertZoneRequest& r);
absl::StatusOr<engine::Command> ToCommand(const v1::SetPolicyRequest& r);

// Arguments of Engine::ListRequests.
struct ListRequestsQuery {
  engine::RequestFilter filter;
  std::string page_token;
  size_t page_size = kDefaultPageSize;
};
absl::StatusOr<ListRequestsQuery> ToQuery(const v1::ListRequestsRequest& r);

// INVALID_ARGUMENT "<field>: required" if `value` is empty.
absl::Status RequireNonEmpty(absl::string_view value, absl::string_view field);

}  // namespace dispatchd::services

#endif  // DISPATCHD_SERVICES_REQUEST_CODEC_H_
