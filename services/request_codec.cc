#include "services/request_codec.h"

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "services/codec.h"

namespace dispatchd::services {
namespace {

namespace cmd = engine::cmd;

// The API's documented defaults: "0 is taken as 1".
void FillSkillDefaults(std::vector<engine::SkillLevel>* skills) {
  for (engine::SkillLevel& s : *skills) {
    if (s.level == 0) s.level = 1;
  }
}

uint32_t CrewOrOne(uint32_t crew_size) { return crew_size == 0 ? 1 : crew_size; }

}  // namespace

absl::Status RequireNonEmpty(absl::string_view value, absl::string_view field) {
  if (!value.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(field, ": required"));
}

absl::StatusOr<engine::Command> ToCommand(const v1::SubmitRequestRequest& r) {
  if (r.idempotency_key().size() > kMaxIdempotencyKeyBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "idempotency_key: at most ", kMaxIdempotencyKeyBytes, " bytes, got ",
        r.idempotency_key().size()));
  }
  ASSIGN_OR_RETURN(engine::RequestSpec spec, SpecFromProto(r));
  FillSkillDefaults(&spec.required_skills);
  spec.crew_size = CrewOrOne(spec.crew_size);
  return cmd::SubmitRequest{std::move(spec)};
}

absl::StatusOr<engine::Command> ToCommand(const v1::CancelRequestRequest& r) {
  return cmd::CancelRequest{r.request_id(), r.reason()};
}

absl::StatusOr<engine::Command> ToCommand(const v1::ChangeUrgencyRequest& r) {
  ASSIGN_OR_RETURN(engine::Urgency urgency, UrgencyFromProto(r.urgency(), "urgency"));
  return cmd::ChangeUrgency{r.request_id(), urgency, r.reason()};
}

absl::StatusOr<engine::Command> ToCommand(const v1::AssignRequestRequest& r) {
  return cmd::AssignRequest{r.request_id(), r.technician_id(), r.reason()};
}

absl::StatusOr<engine::Command> ToCommand(const v1::RecordFeedbackRequest& r) {
  return cmd::RecordFeedback{r.request_id(), r.rating(), r.comment()};
}

absl::StatusOr<engine::Command> ToCommand(const v1::RegisterTechnicianRequest& r) {
  return cmd::RegisterTechnician{r.technician_id(), r.name(), r.home_zone_id(),
                                 SkillsFromProto(r.skills())};
}

absl::StatusOr<engine::Command> ToCommand(const v1::UpdateTechnicianRequest& r) {
  cmd::UpdateTechnician c;
  c.technician_id = r.technician_id();
  if (!r.name().empty()) c.name = r.name();
  if (!r.home_zone_id().empty()) c.home_zone_id = r.home_zone_id();
  if (!r.skills().empty()) c.skills = SkillsFromProto(r.skills());
  return c;
}

absl::StatusOr<engine::Command> ToCommand(const v1::StartShiftRequest& r) {
  return cmd::StartShift{r.technician_id(), r.zone_id()};
}

absl::StatusOr<engine::Command> ToCommand(const v1::EndShiftRequest& r) {
  return cmd::EndShift{r.technician_id()};
}

absl::StatusOr<engine::Command> ToCommand(const v1::ReportLocationRequest& r) {
  return cmd::ReportLocation{r.technician_id(), r.zone_id()};
}

absl::StatusOr<engine::Command> ToCommand(const v1::AcceptAssignmentRequest& r) {
  return cmd::AcceptOffer{r.technician_id(), r.request_id()};
}

absl::StatusOr<engine::Command> ToCommand(const v1::DeclineAssignmentRequest& r) {
  return cmd::DeclineOffer{r.technician_id(), r.request_id(), r.reason()};
}

absl::StatusOr<engine::Command> ToCommand(const v1::StartWorkRequest& r) {
  return cmd::StartWork{r.technician_id(), r.request_id()};
}

absl::StatusOr<engine::Command> ToCommand(const v1::CompleteWorkRequest& r) {
  return cmd::CompleteWork{r.technician_id(), r.request_id(), r.resolved(),
                           MaterialsFromProto(r.materials_used()), r.notes()};
}

absl::StatusOr<engine::Command> ToCommand(const v1::PutOnHoldRequest& r) {
  return cmd::PutOnHold{r.technician_id(), r.request_id(), r.reason()};
}

absl::StatusOr<engine::Command> ToCommand(const v1::RaiseAlertRequest& r) {
  cmd::RaiseAlert c;
  c.dedupe_key = r.dedupe_key();
  c.source = r.source();
  c.kind = r.kind();
  c.zone_id = r.zone_id();
  c.location = r.location();
  c.severity = r.severity();
  c.crew_size = CrewOrOne(r.crew_size());
  c.description = r.description();
  c.required_skills = SkillsFromProto(r.required_skills());
  FillSkillDefaults(&c.required_skills);
  return c;
}

absl::StatusOr<engine::Command> ToCommand(const v1::ResolveAlertRequest& r) {
  return cmd::ResolveAlert{r.dedupe_key(), r.note()};
}

absl::StatusOr<engine::Command> ToCommand(const v1::AdjustStockRequest& r) {
  return cmd::AdjustStock{r.depot_zone_id(), r.sku(), r.delta(), r.reason()};
}

absl::StatusOr<engine::Command> ToCommand(const v1::UpsertZoneRequest& r) {
  engine::Zone zone;
  zone.zone_id = r.zone_id();
  zone.name = r.name();
  for (const v1::Neighbor& n : r.neighbors()) {
    zone.neighbors.push_back({n.zone_id(), n.travel_minutes()});
  }
  return cmd::UpsertZone{std::move(zone)};
}

absl::StatusOr<engine::Command> ToCommand(const v1::SetPolicyRequest& r) {
  if (!r.has_policy()) return absl::InvalidArgumentError("policy: required");
  return cmd::SetPolicy{PolicyFromProto(r.policy())};
}

absl::StatusOr<ListRequestsQuery> ToQuery(const v1::ListRequestsRequest& r) {
  ListRequestsQuery q;
  q.filter.zone_id = r.zone_id();
  if (r.state() != v1::REQUEST_STATE_UNSPECIFIED) {
    ASSIGN_OR_RETURN(q.filter.state, RequestStateFromProto(r.state(), "state"));
  }
  if (r.urgency() != v1::URGENCY_UNSPECIFIED) {
    ASSIGN_OR_RETURN(q.filter.urgency, UrgencyFromProto(r.urgency(), "urgency"));
  }
  if (r.page_size() > kMaxPageSize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "page_size: at most ", kMaxPageSize, ", got ", r.page_size()));
  }
  q.page_size = r.page_size() == 0 ? kDefaultPageSize : r.page_size();
  q.page_token = r.page_token();
  return q;
}

}  // namespace dispatchd::services
