#include "services/codec.h"

#include <algorithm>
#include <cstdint>

#include "absl/strings/str_cat.h"

namespace dispatchd::services {
namespace {

// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z, as google.protobuf.Timestamp
// defines its range.
constexpr int64_t kMinTimestampSeconds = -62135596800;
constexpr int64_t kMaxTimestampSeconds = 253402300799;

template <typename Enum>
absl::StatusOr<Enum> EnumFromProto(int value, int max, absl::string_view field) {
  if (value == 0) return absl::InvalidArgumentError(absl::StrCat(field, ": required"));
  if (value < 0 || value > max) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": unknown value ", value));
  }
  return static_cast<Enum>(value);
}

}  // namespace

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

void TimeToProto(absl::Time t, google::protobuf::Timestamp* out) {
  const int64_t seconds = absl::ToUnixSeconds(t);  // Floors.
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>(
      (t - absl::FromUnixSeconds(seconds)) / absl::Nanoseconds(1)));
}

absl::StatusOr<absl::Time> TimeFromProto(const google::protobuf::Timestamp& ts,
                                         absl::string_view field) {
  if (ts.seconds() < kMinTimestampSeconds || ts.seconds() > kMaxTimestampSeconds ||
      ts.nanos() < 0 || ts.nanos() > 999'999'999) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": invalid timestamp (seconds ", ts.seconds(), ", nanos ",
                     ts.nanos(), ")"));
  }
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

v1::Urgency UrgencyToProto(engine::Urgency u) { return static_cast<v1::Urgency>(u); }

absl::StatusOr<engine::Urgency> UrgencyFromProto(int u, absl::string_view field) {
  return EnumFromProto<engine::Urgency>(u, v1::Urgency_MAX, field);
}

v1::RequestState RequestStateToProto(engine::RequestState s) {
  return static_cast<v1::RequestState>(s);
}

absl::StatusOr<engine::RequestState> RequestStateFromProto(int s,
                                                           absl::string_view field) {
  return EnumFromProto<engine::RequestState>(s, v1::RequestState_MAX, field);
}

v1::TechnicianState TechnicianStateToProto(engine::TechnicianState s) {
  return static_cast<v1::TechnicianState>(s);
}

void SkillsToProto(const std::vector<engine::SkillLevel>& skills,
                   google::protobuf::RepeatedPtrField<v1::Skill>* out) {
  for (const engine::SkillLevel& s : skills) {
    v1::Skill* p = out->Add();
    p->set_skill(s.skill);
    p->set_level(s.level);
  }
}

void MaterialsToProto(const std::vector<engine::MaterialLine>& lines,
                      google::protobuf::RepeatedPtrField<v1::MaterialLine>* out) {
  for (const engine::MaterialLine& l : lines) {
    v1::MaterialLine* p = out->Add();
    p->set_sku(l.sku);
    p->set_quantity(l.quantity);
  }
}

void ZoneToProto(const engine::Zone& zone, v1::Zone* out) {
  out->set_zone_id(zone.zone_id);
  out->set_name(zone.name);
  for (const engine::Neighbor& n : zone.neighbors) {
    v1::Neighbor* p = out->add_neighbors();
    p->set_zone_id(n.zone_id);
    p->set_travel_minutes(n.travel_minutes);
  }
}

void PolicyToProto(const engine::Policy& policy, v1::Policy* out) {
  out->set_sla_minutes_low(policy.sla_minutes_low);
  out->set_sla_minutes_normal(policy.sla_minutes_normal);
  out->set_sla_minutes_urgent(policy.sla_minutes_urgent);
  out->set_sla_minutes_emergency(policy.sla_minutes_emergency);
  out->set_offer_timeout_seconds(policy.offer_timeout_seconds);
  out->set_cross_zone_max_travel_minutes(policy.cross_zone_max_travel_minutes);
  out->set_aging_promote_minutes(policy.aging_promote_minutes);
  out->set_surge_queue_threshold(policy.surge_queue_threshold);
  out->set_surge_at_risk_threshold(policy.surge_at_risk_threshold);
  out->set_preemption_enabled(policy.preemption_enabled);
  out->set_max_preemptions_per_job(policy.max_preemptions_per_job);
  out->set_bundling_enabled(policy.bundling_enabled);
  out->set_small_delivery_max_units(policy.small_delivery_max_units);
  out->set_delivery_merge_minutes(policy.delivery_merge_minutes);
  for (const std::string& id : policy.on_call_technician_ids) out->add_on_call_technician_ids(id);
  for (const engine::EmergencyPlan& plan : policy.emergency_plans) {
    v1::EmergencyPlan* p = out->add_emergency_plans();
    p->set_kind(plan.kind);
    p->set_crew_size(plan.crew_size);
    for (const engine::SkillLevel& s : plan.required_skills) {
      v1::SkillRequirement* r = p->add_required_skills();
      r->set_skill(s.skill);
      r->set_min_level(s.level);
    }
    MaterialsToProto(plan.backup_materials, p->mutable_backup_materials());
  }
}

void DecisionToProto(const engine::Decision& decision, v1::Decision* out) {
  out->set_rule(decision.rule);
  out->set_detail(decision.detail);
  for (const engine::Candidate& c : decision.candidates) {
    v1::Candidate* p = out->add_candidates();
    p->set_technician_id(c.technician_id);
    p->set_travel_minutes(c.travel_minutes);
    p->set_overqualification(c.overqualification);
    p->set_score(c.score);
  }
  for (const engine::Exclusion& e : decision.exclusions) {
    v1::Exclusion* p = out->add_exclusions();
    p->set_technician_id(e.technician_id);
    p->set_reason(e.reason);
  }
  out->set_candidates_omitted(decision.candidates_omitted);
  out->set_exclusions_omitted(decision.exclusions_omitted);
}

// Strings that are empty are left unset: proto3 reads an unset string as
// "", so the message is the same, and protobuf 3.21 would allocate a string
// to hold each "" (a Request has about ten fields that are usually empty,
// and a copy is made for every reply and every event).
void SpecToProto(const engine::RequestSpec& spec, v1::Request* out) {
  if (!spec.idempotency_key.empty()) out->set_idempotency_key(spec.idempotency_key);
  if (!spec.zone_id.empty()) out->set_zone_id(spec.zone_id);
  if (!spec.location.empty()) out->set_location(spec.location);
  if (!spec.category.empty()) out->set_category(spec.category);
  for (const engine::SkillLevel& s : spec.required_skills) {
    v1::SkillRequirement* p = out->add_required_skills();
    p->set_skill(s.skill);
    p->set_min_level(s.level);
  }
  out->set_urgency(UrgencyToProto(spec.urgency));
  out->set_estimated_minutes(spec.estimated_minutes);
  MaterialsToProto(spec.materials, out->mutable_materials());
  out->set_crew_size(spec.crew_size);
  if (!spec.asset_tag.empty()) out->set_asset_tag(spec.asset_tag);
  if (!spec.department.empty()) out->set_department(spec.department);
  out->set_key_department(spec.key_department);
  if (!spec.description.empty()) out->set_description(spec.description);
  if (spec.not_before) TimeToProto(*spec.not_before, out->mutable_not_before());
  if (spec.due_by) TimeToProto(*spec.due_by, out->mutable_due_by());
}

void RequestToProto(const engine::Request& r, v1::Request* out) {
  if (!r.request_id.empty()) out->set_request_id(r.request_id);
  SpecToProto(r.spec, out);
  out->set_effective_urgency(UrgencyToProto(r.effective_urgency));
  out->set_state(RequestStateToProto(r.state));
  TimeToProto(r.created_at, out->mutable_created_at());
  TimeToProto(r.sla_deadline, out->mutable_sla_deadline());
  if (!r.technician_id.empty()) out->set_technician_id(r.technician_id);
  if (r.offer_expires_at) TimeToProto(*r.offer_expires_at, out->mutable_offer_expires_at());
  if (!r.rare->hold_reason.empty()) out->set_hold_reason(r.rare->hold_reason);
  out->set_resolved(r.resolved);
  out->set_feedback_rating(r.feedback_rating);
  if (!r.alert_dedupe_key.empty()) out->set_alert_dedupe_key(r.alert_dedupe_key);
  if (r.rare->accepted_at) TimeToProto(*r.rare->accepted_at, out->mutable_accepted_at());
  if (r.rare->completed_at) TimeToProto(*r.rare->completed_at, out->mutable_completed_at());
  for (const std::string& t : r.declined_by) out->add_declined_by(t);
  ReservationsToProto(r.reserved, out->mutable_reserved_materials());
  out->set_awaiting_stock(r.awaiting_stock);
  MaterialsToProto(r.rare->materials_used, out->mutable_materials_used());
  if (!r.rare->completion_notes.empty()) out->set_completion_notes(r.rare->completion_notes);
  out->set_preemptions(r.preemptions);
  if (!r.rare->preempted_by.empty()) out->set_preempted_by(r.rare->preempted_by);
  if (!r.rare->crew_of.empty()) out->set_crew_of(r.rare->crew_of);
  for (const std::string& id : r.crew_request_ids) out->add_crew_request_ids(id);
  for (const std::string& id : r.delivery_ids) out->add_delivery_ids(id);
}

void DeliveryToProto(const engine::Delivery& d, v1::Delivery* out) {
  out->set_delivery_id(d.delivery_id);
  out->set_depot_zone_id(d.depot_zone_id);
  out->set_zone_id(d.zone_id);
  out->set_location(d.location);
  out->set_state(d.state == engine::DeliveryState::kOpen ? v1::DELIVERY_STATE_OPEN
                                                         : v1::DELIVERY_STATE_DEPARTED);
  TimeToProto(d.opened_at, out->mutable_opened_at());
  TimeToProto(d.departs_at, out->mutable_departs_at());
  if (d.departed_at) TimeToProto(*d.departed_at, out->mutable_departed_at());
  out->set_departure_reason(d.departure_reason);
  std::vector<engine::MaterialLine> totals;  // Per sku, first appearance first.
  for (const engine::DeliveryShipment& s : d.shipments) {
    v1::DeliveryShipment* p = out->add_shipments();
    p->set_request_id(s.request_id);
    MaterialsToProto(s.lines, p->mutable_lines());
    p->set_reason(s.reason);
    out->add_request_ids(s.request_id);
    for (const engine::MaterialLine& m : s.lines) {
      auto it = std::find_if(totals.begin(), totals.end(),
                             [&](const engine::MaterialLine& t) { return t.sku == m.sku; });
      if (it == totals.end()) {
        totals.push_back(m);
      } else {
        it->quantity += m.quantity;
      }
    }
  }
  MaterialsToProto(totals, out->mutable_lines());
  out->set_units(d.Units());
}

absl::StatusOr<std::optional<engine::DeliveryState>> DeliveryStateFilterFromProto(
    v1::DeliveryState state) {
  switch (state) {
    case v1::DELIVERY_STATE_UNSPECIFIED:
      return std::optional<engine::DeliveryState>();
    case v1::DELIVERY_STATE_OPEN:
      return std::optional<engine::DeliveryState>(engine::DeliveryState::kOpen);
    case v1::DELIVERY_STATE_DEPARTED:
      return std::optional<engine::DeliveryState>(engine::DeliveryState::kDeparted);
    default:
      return absl::InvalidArgumentError(absl::StrCat("state: unknown delivery state ",
                                                     static_cast<int>(state)));
  }
}

void ReservationsToProto(const std::vector<engine::Reservation>& lines,
                         google::protobuf::RepeatedPtrField<v1::Reservation>* out) {
  for (const engine::Reservation& line : lines) {
    v1::Reservation* p = out->Add();
    p->set_depot_zone_id(line.depot_zone_id);
    p->set_sku(line.sku);
    p->set_quantity(line.quantity);
  }
}

std::vector<engine::Reservation> ReservationsFromProto(
    const google::protobuf::RepeatedPtrField<v1::Reservation>& lines) {
  std::vector<engine::Reservation> out;
  out.reserve(lines.size());
  for (const v1::Reservation& p : lines) {
    out.push_back({p.depot_zone_id(), p.sku(), p.quantity()});
  }
  return out;
}

void TechnicianToProto(const engine::Technician& t, v1::Technician* out) {
  out->set_technician_id(t.technician_id);
  out->set_name(t.name);
  out->set_home_zone_id(t.home_zone_id);
  out->set_current_zone_id(t.current_zone_id);
  SkillsToProto(t.skills, out->mutable_skills());
  out->set_state(TechnicianStateToProto(t.state));
  out->set_request_id(t.request_id);
  for (const std::string& id : t.on_hold_request_ids) out->add_on_hold_request_ids(id);
}

void StockLevelToProto(const engine::StockLevel& level, v1::StockLevel* out) {
  out->set_depot_zone_id(level.depot_zone_id);
  out->set_sku(level.sku);
  out->set_on_hand(level.on_hand);
  out->set_reserved(level.reserved);
}

void ShortageToProto(const engine::Shortage& s, v1::Shortage* out) {
  out->set_request_id(s.request_id);
  out->set_zone_id(s.zone_id);
  out->set_sku(s.sku);
  out->set_needed(s.needed);
  out->set_on_hand(s.on_hand);
}

void KpisToProto(const engine::Kpis& k, v1::Kpis* out) {
  out->set_submitted(k.submitted);
  out->set_open(k.open);
  out->set_completed(k.completed);
  out->set_resolved(k.resolved);
  out->set_cancelled(k.cancelled);
  out->set_mean_response_minutes(k.mean_response_minutes);
  out->set_mean_completion_minutes(k.mean_completion_minutes);
  out->set_resolution_rate(k.resolution_rate);
  out->set_sla_hit_rate(k.sla_hit_rate);
  out->set_feedback_average(k.feedback_average);
  out->set_feedback_count(k.feedback_count);
  out->set_p90_response_minutes(k.p90_response_minutes);
  out->set_p90_completion_minutes(k.p90_completion_minutes);
  for (int u = engine::kUrgencyCount; u >= 1; --u) {
    v1::UrgencySla* s = out->add_sla_by_urgency();
    s->set_urgency(static_cast<v1::Urgency>(u));
    s->set_accepted(k.accepted_by_urgency[u - 1]);
    s->set_sla_hit_rate(k.sla_hit_rate_by_urgency[u - 1]);
  }
  out->set_preemptions(k.preemptions);
  out->set_utilisation(k.utilisation);
}

std::vector<engine::SkillLevel> SkillsFromProto(
    const google::protobuf::RepeatedPtrField<v1::Skill>& skills) {
  std::vector<engine::SkillLevel> out;
  out.reserve(skills.size());
  for (const v1::Skill& s : skills) out.push_back({s.skill(), s.level()});
  return out;
}

std::vector<engine::SkillLevel> SkillsFromProto(
    const google::protobuf::RepeatedPtrField<v1::SkillRequirement>& skills) {
  std::vector<engine::SkillLevel> out;
  out.reserve(skills.size());
  for (const v1::SkillRequirement& s : skills) out.push_back({s.skill(), s.min_level()});
  return out;
}

std::vector<engine::MaterialLine> MaterialsFromProto(
    const google::protobuf::RepeatedPtrField<v1::MaterialLine>& lines) {
  std::vector<engine::MaterialLine> out;
  out.reserve(lines.size());
  for (const v1::MaterialLine& l : lines) out.push_back({l.sku(), l.quantity()});
  return out;
}

engine::Zone ZoneFromProto(const v1::Zone& zone) {
  engine::Zone out;
  out.zone_id = zone.zone_id();
  out.name = zone.name();
  for (const v1::Neighbor& n : zone.neighbors()) {
    out.neighbors.push_back({n.zone_id(), n.travel_minutes()});
  }
  return out;
}

engine::Policy PolicyFromProto(const v1::Policy& p) {
  engine::Policy out;
  out.sla_minutes_low = p.sla_minutes_low();
  out.sla_minutes_normal = p.sla_minutes_normal();
  out.sla_minutes_urgent = p.sla_minutes_urgent();
  out.sla_minutes_emergency = p.sla_minutes_emergency();
  out.offer_timeout_seconds = p.offer_timeout_seconds();
  out.cross_zone_max_travel_minutes = p.cross_zone_max_travel_minutes();
  out.aging_promote_minutes = p.aging_promote_minutes();
  out.surge_queue_threshold = p.surge_queue_threshold();
  out.surge_at_risk_threshold = p.surge_at_risk_threshold();
  out.preemption_enabled = p.preemption_enabled();
  out.max_preemptions_per_job = p.max_preemptions_per_job();
  out.bundling_enabled = p.bundling_enabled();
  // Unset (a policy written before deliveries merged): the defaults.
  if (p.has_small_delivery_max_units()) {
    out.small_delivery_max_units = p.small_delivery_max_units();
  }
  if (p.has_delivery_merge_minutes()) out.delivery_merge_minutes = p.delivery_merge_minutes();
  out.on_call_technician_ids.assign(p.on_call_technician_ids().begin(),
                                    p.on_call_technician_ids().end());
  for (const v1::EmergencyPlan& plan : p.emergency_plans()) {
    out.emergency_plans.push_back({plan.kind(), plan.crew_size(),
                                   SkillsFromProto(plan.required_skills()),
                                   MaterialsFromProto(plan.backup_materials())});
  }
  return out;
}

engine::Decision DecisionFromProto(const v1::Decision& d) {
  engine::Decision out;
  out.rule = d.rule();
  out.detail = d.detail();
  for (const v1::Candidate& c : d.candidates()) {
    out.candidates.push_back(
        {c.technician_id(), c.travel_minutes(), c.overqualification(), c.score()});
  }
  for (const v1::Exclusion& e : d.exclusions()) {
    out.exclusions.push_back({e.technician_id(), e.reason()});
  }
  out.candidates_omitted = d.candidates_omitted();
  out.exclusions_omitted = d.exclusions_omitted();
  return out;
}

}  // namespace dispatchd::services
