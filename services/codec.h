// Codec between the engine's plain C++ model and the dispatch.v1 protos:
// times, enums, zones, policy, technicians, requests, decisions, stock and
// KPIs, and absl::Status -> grpc::Status at the service edge.
//
// Engine -> proto conversions cannot fail. Proto -> engine conversions
// validate what only the wire can get wrong (unset or unknown enum values,
// malformed timestamps) and fail INVALID_ARGUMENT with a message that names
// the field, e.g. "urgency: required". Everything else (unknown ids, empty
// required strings, ranges) is the engine's to judge.
//
// Thread safety: stateless functions; safe from any thread.
#ifndef DISPATCHD_SERVICES_CODEC_H_
#define DISPATCHD_SERVICES_CODEC_H_

#include <optional>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/status_macros.h"
#include "dispatch/v1/common.pb.h"
#include "dispatch/v1/console.pb.h"
#include "dispatch/v1/inventory.pb.h"
#include "engine/engine.h"
#include "engine/model.h"
#include "google/protobuf/timestamp.pb.h"
#include "grpcpp/support/status.h"

namespace dispatchd::services {

namespace v1 = ::dispatch::v1;

// --- Status. ---

// Same code (absl and gRPC codes agree 1:1), same message.
grpc::Status ToGrpcStatus(const absl::Status& status);

// --- Time. ---

void TimeToProto(absl::Time t, google::protobuf::Timestamp* out);
// INVALID_ARGUMENT "<field>: invalid timestamp ..." unless seconds lie in
// years 1..9999 and nanos in [0, 1e9).
absl::StatusOr<absl::Time> TimeFromProto(const google::protobuf::Timestamp& ts,
                                         absl::string_view field);

// --- Enums. Unset (0) is "<field>: required", unknown is "<field>: unknown
// value N"; both INVALID_ARGUMENT. ---

v1::Urgency UrgencyToProto(engine::Urgency u);
absl::StatusOr<engine::Urgency> UrgencyFromProto(int u, absl::string_view field);
v1::RequestState RequestStateToProto(engine::RequestState s);
absl::StatusOr<engine::RequestState> RequestStateFromProto(int s,
                                                           absl::string_view field);
v1::TechnicianState TechnicianStateToProto(engine::TechnicianState s);

// --- Model -> proto. ---

void SkillsToProto(const std::vector<engine::SkillLevel>& skills,
                   google::protobuf::RepeatedPtrField<v1::Skill>* out);
void MaterialsToProto(const std::vector<engine::MaterialLine>& lines,
                      google::protobuf::RepeatedPtrField<v1::MaterialLine>* out);
void ReservationsToProto(const std::vector<engine::Reservation>& lines,
                         google::protobuf::RepeatedPtrField<v1::Reservation>* out);
void ZoneToProto(const engine::Zone& zone, v1::Zone* out);
void PolicyToProto(const engine::Policy& policy, v1::Policy* out);
void DecisionToProto(const engine::Decision& decision, v1::Decision* out);
// Copies the submitter's spec into the matching fields of `out`. These two
// leave the fields whose value is empty unset, so `out` must be fresh.
void SpecToProto(const engine::RequestSpec& spec, v1::Request* out);
void RequestToProto(const engine::Request& request, v1::Request* out);
void TechnicianToProto(const engine::Technician& tech, v1::Technician* out);
void StockLevelToProto(const engine::StockLevel& level, v1::StockLevel* out);
void ShortageToProto(const engine::Shortage& shortage, v1::Shortage* out);
// Also fills the derived totals: lines per sku, request_ids, units.
void DeliveryToProto(const engine::Delivery& delivery, v1::Delivery* out);
void KpisToProto(const engine::Kpis& kpis, v1::Kpis* out);

// --- Proto -> model (exact: no defaults filled in). ---

std::vector<engine::SkillLevel> SkillsFromProto(
    const google::protobuf::RepeatedPtrField<v1::Skill>& skills);
std::vector<engine::SkillLevel> SkillsFromProto(
    const google::protobuf::RepeatedPtrField<v1::SkillRequirement>& skills);
std::vector<engine::MaterialLine> MaterialsFromProto(
    const google::protobuf::RepeatedPtrField<v1::MaterialLine>& lines);
std::vector<engine::Reservation> ReservationsFromProto(
    const google::protobuf::RepeatedPtrField<v1::Reservation>& lines);
engine::Zone ZoneFromProto(const v1::Zone& zone);
// The optional delivery knobs, when unset, take the engine's defaults (a
// policy written before they existed keeps its meaning).
engine::Policy PolicyFromProto(const v1::Policy& policy);
// A ListDeliveries filter: unspecified is any state (nullopt); an unknown
// value is INVALID_ARGUMENT.
absl::StatusOr<std::optional<engine::DeliveryState>> DeliveryStateFilterFromProto(
    v1::DeliveryState state);
engine::Decision DecisionFromProto(const v1::Decision& decision);

// The spec fields shared by SubmitRequestRequest and Request.
template <typename Message>
absl::StatusOr<engine::RequestSpec> SpecFromProto(const Message& m) {
  engine::RequestSpec spec;
  spec.idempotency_key = m.idempotency_key();
  spec.zone_id = m.zone_id();
  spec.location = m.location();
  spec.category = m.category();
  spec.required_skills = SkillsFromProto(m.required_skills());
  ASSIGN_OR_RETURN(spec.urgency, UrgencyFromProto(m.urgency(), "urgency"));
  spec.estimated_minutes = m.estimated_minutes();
  spec.materials = MaterialsFromProto(m.materials());
  spec.crew_size = m.crew_size();
  spec.asset_tag = m.asset_tag();
  spec.department = m.department();
  spec.key_department = m.key_department();
  spec.description = m.description();
  if (m.has_not_before()) {
    ASSIGN_OR_RETURN(spec.not_before, TimeFromProto(m.not_before(), "not_before"));
  }
  if (m.has_due_by()) {
    ASSIGN_OR_RETURN(spec.due_by, TimeFromProto(m.due_by(), "due_by"));
  }
  return spec;
}

}  // namespace dispatchd::services

#endif  // DISPATCHD_SERVICES_CODEC_H_
