#include "services/event_codec.h"

#include <variant>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "services/codec.h"

namespace dispatchd::services {
namespace {

namespace ev = engine::ev;

// Writes one engine event kind into the matching oneof member of `out`.
struct KindToProto {
  v1::Event* out;

  void operator()(const ev::ZoneUpserted& e) {
    ZoneToProto(e.zone, out->mutable_zone_upserted()->mutable_zone());
  }
  void operator()(const ev::PolicySet& e) {
    PolicyToProto(e.policy, out->mutable_policy_set()->mutable_policy());
  }
  void operator()(const ev::TechnicianRegistered& e) {
    Identity(e, out->mutable_technician_registered()->mutable_technician());
  }
  void operator()(const ev::TechnicianUpdated& e) {
    Identity(e, out->mutable_technician_updated()->mutable_technician());
  }
  void operator()(const ev::ShiftStarted& e) {
    auto* p = out->mutable_shift_started();
    p->set_technician_id(e.technician_id);
    p->set_zone_id(e.zone_id);
  }
  void operator()(const ev::ShiftEnded& e) {
    out->mutable_shift_ended()->set_technician_id(e.technician_id);
  }
  void operator()(const ev::LocationReported& e) {
    auto* p = out->mutable_location_reported();
    p->set_technician_id(e.technician_id);
    p->set_zone_id(e.zone_id);
  }
  void operator()(const ev::RequestSubmitted& e) {
    v1::Request* r = out->mutable_request_submitted()->mutable_request();
    r->set_request_id(e.request_id);
    SpecToProto(e.spec, r);
    r->set_effective_urgency(UrgencyToProto(e.spec.urgency));
    r->set_state(RequestStateToProto(e.state));
    *r->mutable_created_at() = out->time();
    TimeToProto(e.sla_deadline, r->mutable_sla_deadline());
    if (!e.alert_dedupe_key.empty()) r->set_alert_dedupe_key(e.alert_dedupe_key);
    if (!e.crew_of.empty()) r->set_crew_of(e.crew_of);  // Empty strings unset: see SpecToProto.
  }
  void operator()(const ev::RequestCancelled& e) {
    auto* p = out->mutable_request_cancelled();
    p->set_request_id(e.request_id);
    p->set_reason(e.reason);
    p->set_technician_id(e.technician_id);
  }
  void operator()(const ev::UrgencyChanged& e) {
    auto* p = out->mutable_urgency_changed();
    p->set_request_id(e.request_id);
    p->set_urgency(UrgencyToProto(e.urgency));
    TimeToProto(e.sla_deadline, p->mutable_sla_deadline());
    p->set_reason(e.reason);
  }
  void operator()(const ev::RequestPromoted& e) {
    auto* p = out->mutable_request_promoted();
    p->set_request_id(e.request_id);
    p->set_effective_urgency(UrgencyToProto(e.effective_urgency));
    p->set_reason(e.reason);
  }
  void operator()(const ev::OfferMade& e) {
    auto* p = out->mutable_offer_made();
    p->set_request_id(e.request_id);
    p->set_technician_id(e.technician_id);
    TimeToProto(e.expires_at, p->mutable_expires_at());
    DecisionToProto(*e.decision, p->mutable_decision());
  }
  void operator()(const ev::RequestAssigned& e) {
    auto* p = out->mutable_request_assigned();
    p->set_request_id(e.request_id);
    p->set_technician_id(e.technician_id);
    p->set_reason(e.reason);
    p->set_released_technician_id(e.released_technician_id);
    DecisionToProto(*e.decision, p->mutable_decision());
  }
  void operator()(const ev::OfferAccepted& e) { Pair(e, out->mutable_offer_accepted()); }
  void operator()(const ev::OfferDeclined& e) {
    Reasoned(e, out->mutable_offer_declined());
  }
  void operator()(const ev::OfferExpired& e) { Pair(e, out->mutable_offer_expired()); }
  void operator()(const ev::OfferWithdrawn& e) {
    Reasoned(e, out->mutable_offer_withdrawn());
  }
  void operator()(const ev::RequestRequeued& e) {
    Reasoned(e, out->mutable_request_requeued());
  }
  void operator()(const ev::WorkStarted& e) { Pair(e, out->mutable_work_started()); }
  void operator()(const ev::WorkPutOnHold& e) {
    Reasoned(e, out->mutable_work_put_on_hold());
  }
  void operator()(const ev::WorkCompleted& e) {
    auto* p = out->mutable_work_completed();
    Pair(e, p);
    p->set_resolved(e.resolved);
    MaterialsToProto(e.materials_used, p->mutable_materials_used());
    p->set_notes(e.notes);
  }
  void operator()(const ev::FeedbackRecorded& e) {
    auto* p = out->mutable_feedback_recorded();
    p->set_request_id(e.request_id);
    p->set_rating(e.rating);
    p->set_comment(e.comment);
  }
  void operator()(const ev::StockAdjusted& e) {
    auto* p = out->mutable_stock_adjusted();
    p->set_depot_zone_id(e.depot_zone_id);
    p->set_sku(e.sku);
    p->set_delta(e.delta);
    p->set_on_hand(e.on_hand);
    p->set_reason(e.reason);
  }
  void operator()(const ev::ZoneSurgeStarted& e) { Surge(e, out->mutable_zone_surge_started()); }
  void operator()(const ev::ZoneSurgeEnded& e) { Surge(e, out->mutable_zone_surge_ended()); }
  template <typename E, typename P>
  void Surge(const E& e, P* p) {
    p->set_zone_id(e.zone_id);
    p->set_queued(e.queued);
    p->set_at_risk(e.at_risk);
    p->set_reason(e.reason);
  }
  void operator()(const ev::ShiftRequested& e) {
    auto* p = out->mutable_shift_requested();
    p->set_technician_id(e.technician_id);
    p->set_zone_id(e.zone_id);
    p->set_reason(e.reason);
  }
  void operator()(const ev::RequestsBundled& e) {
    auto* p = out->mutable_requests_bundled();
    p->set_request_id(e.request_id);
    p->set_with_request_id(e.with_request_id);
    p->set_technician_id(e.technician_id);
    p->set_reason(e.reason);
  }
  void operator()(const ev::DeliveryPlanned& e) {
    auto* p = out->mutable_delivery_planned();
    p->set_request_id(e.request_id);
    p->set_delivery_id(e.delivery_id);
    p->set_depot_zone_id(e.depot_zone_id);
    MaterialsToProto(e.lines, p->mutable_lines());
    p->set_opens(e.opens);
    TimeToProto(e.departs_at, p->mutable_departs_at());
    p->set_reason(e.reason);
  }
  void operator()(const ev::DeliveryDeparted& e) {
    auto* p = out->mutable_delivery_departed();
    p->set_delivery_id(e.delivery_id);
    p->set_reason(e.reason);
  }
  void operator()(const ev::RequestPreempted& e) {
    auto* p = out->mutable_request_preempted();
    p->set_request_id(e.request_id);
    p->set_technician_id(e.technician_id);
    p->set_by_request_id(e.by_request_id);
    p->set_reason(e.reason);
  }
  void operator()(const ev::MaterialsReserved& e) {
    auto* p = out->mutable_materials_reserved();
    p->set_request_id(e.request_id);
    ReservationsToProto(e.lines, p->mutable_lines());
    p->set_reason(e.reason);
  }
  void operator()(const ev::MaterialsAwaited& e) {
    auto* p = out->mutable_materials_awaited();
    p->set_request_id(e.request_id);
    MaterialsToProto(e.short_lines, p->mutable_short_lines());
  }
  void operator()(const ev::MaterialsConsumed& e) {
    auto* p = out->mutable_materials_consumed();
    p->set_request_id(e.request_id);
    ReservationsToProto(e.lines, p->mutable_lines());
  }
  void operator()(const ev::AlertRaised& e) {
    auto* p = out->mutable_alert_raised();
    p->set_dedupe_key(e.dedupe_key);
    p->set_source(e.source);
    p->set_kind(e.kind);
    p->set_severity(e.severity);
    p->set_request_id(e.request_id);
  }
  void operator()(const ev::AlertResolved& e) {
    auto* p = out->mutable_alert_resolved();
    p->set_dedupe_key(e.dedupe_key);
    p->set_request_id(e.request_id);
    p->set_note(e.note);
  }

  template <typename E>
  static void Identity(const E& e, v1::Technician* t) {
    t->set_technician_id(e.technician_id);
    t->set_name(e.name);
    t->set_home_zone_id(e.home_zone_id);
    SkillsToProto(e.skills, t->mutable_skills());
  }
  template <typename E, typename P>
  static void Pair(const E& e, P* p) {
    p->set_request_id(e.request_id);
    p->set_technician_id(e.technician_id);
  }
  template <typename E, typename P>
  static void Reasoned(const E& e, P* p) {
    Pair(e, p);
    p->set_reason(e.reason);
  }
};

template <typename E, typename P>
E PairFrom(const P& p) {
  E e;
  e.request_id = p.request_id();
  e.technician_id = p.technician_id();
  return e;
}

template <typename E, typename P>
E ReasonedFrom(const P& p) {
  E e = PairFrom<E>(p);
  e.reason = p.reason();
  return e;
}

template <typename E>
E IdentityFrom(const v1::Technician& t) {
  E e;
  e.technician_id = t.technician_id();
  e.name = t.name();
  e.home_zone_id = t.home_zone_id();
  e.skills = SkillsFromProto(t.skills());
  return e;
}

absl::StatusOr<engine::EventKind> SubmittedFrom(const v1::RequestSubmitted& p) {
  const v1::Request& r = p.request();
  ev::RequestSubmitted e;
  e.request_id = r.request_id();
  ASSIGN_OR_RETURN(e.spec, SpecFromProto(r));
  ASSIGN_OR_RETURN(e.state, RequestStateFromProto(r.state(), "request_submitted.state"));
  ASSIGN_OR_RETURN(e.sla_deadline,
                   TimeFromProto(r.sla_deadline(), "request_submitted.sla_deadline"));
  e.alert_dedupe_key = r.alert_dedupe_key();
  e.crew_of = r.crew_of();
  return e;
}

absl::StatusOr<engine::EventKind> RequestEventFrom(const v1::Event& p) {
  switch (p.kind_case()) {
    case v1::Event::kRequestSubmitted:
      return SubmittedFrom(p.request_submitted());
    case v1::Event::kRequestCancelled: {
      const auto& m = p.request_cancelled();
      return ev::RequestCancelled{m.request_id(), m.reason(), m.technician_id()};
    }
    case v1::Event::kUrgencyChanged: {
      const auto& m = p.urgency_changed();
      ev::UrgencyChanged e{m.request_id(), {}, {}, m.reason()};
      ASSIGN_OR_RETURN(e.urgency, UrgencyFromProto(m.urgency(), "urgency_changed.urgency"));
      ASSIGN_OR_RETURN(e.sla_deadline,
                       TimeFromProto(m.sla_deadline(), "urgency_changed.sla_deadline"));
      return e;
    }
    case v1::Event::kRequestPromoted: {
      const auto& m = p.request_promoted();
      ev::RequestPromoted e{m.request_id(), {}, m.reason()};
      ASSIGN_OR_RETURN(e.effective_urgency,
                       UrgencyFromProto(m.effective_urgency(),
                                        "request_promoted.effective_urgency"));
      return e;
    }
    case v1::Event::kFeedbackRecorded: {
      const auto& m = p.feedback_recorded();
      return ev::FeedbackRecorded{m.request_id(), m.rating(), m.comment()};
    }
    default:
      return absl::InvalidArgumentError("event: no kind set");
  }
}

absl::StatusOr<engine::EventKind> AssignmentEventFrom(const v1::Event& p) {
  switch (p.kind_case()) {
    case v1::Event::kOfferMade: {
      const auto& m = p.offer_made();
      ev::OfferMade e{m.request_id(), m.technician_id(), {}, DecisionFromProto(m.decision())};
      ASSIGN_OR_RETURN(e.expires_at, TimeFromProto(m.expires_at(), "offer_made.expires_at"));
      return e;
    }
    case v1::Event::kRequestAssigned: {
      const auto& m = p.request_assigned();
      return ev::RequestAssigned{m.request_id(), m.technician_id(), m.reason(),
                                 m.released_technician_id(),
                                 DecisionFromProto(m.decision())};
    }
    case v1::Event::kOfferAccepted:
      return PairFrom<ev::OfferAccepted>(p.offer_accepted());
    case v1::Event::kOfferDeclined:
      return ReasonedFrom<ev::OfferDeclined>(p.offer_declined());
    case v1::Event::kOfferExpired:
      return PairFrom<ev::OfferExpired>(p.offer_expired());
    case v1::Event::kOfferWithdrawn:
      return ReasonedFrom<ev::OfferWithdrawn>(p.offer_withdrawn());
    case v1::Event::kRequestRequeued:
      return ReasonedFrom<ev::RequestRequeued>(p.request_requeued());
    case v1::Event::kWorkStarted:
      return PairFrom<ev::WorkStarted>(p.work_started());
    case v1::Event::kWorkPutOnHold:
      return ReasonedFrom<ev::WorkPutOnHold>(p.work_put_on_hold());
    case v1::Event::kWorkCompleted: {
      const auto& m = p.work_completed();
      auto e = PairFrom<ev::WorkCompleted>(m);
      e.resolved = m.resolved();
      e.materials_used = MaterialsFromProto(m.materials_used());
      e.notes = m.notes();
      return e;
    }
    default:
      return RequestEventFrom(p);
  }
}

absl::StatusOr<engine::EventKind> KindFromProto(const v1::Event& p) {
  switch (p.kind_case()) {
    case v1::Event::kZoneUpserted:
      return ev::ZoneUpserted{ZoneFromProto(p.zone_upserted().zone())};
    case v1::Event::kPolicySet:
      return ev::PolicySet{PolicyFromProto(p.policy_set().policy())};
    case v1::Event::kTechnicianRegistered:
      return IdentityFrom<ev::TechnicianRegistered>(p.technician_registered().technician());
    case v1::Event::kTechnicianUpdated:
      return IdentityFrom<ev::TechnicianUpdated>(p.technician_updated().technician());
    case v1::Event::kShiftStarted:
      return ev::ShiftStarted{p.shift_started().technician_id(),
                              p.shift_started().zone_id()};
    case v1::Event::kShiftEnded:
      return ev::ShiftEnded{p.shift_ended().technician_id()};
    case v1::Event::kLocationReported:
      return ev::LocationReported{p.location_reported().technician_id(),
                                  p.location_reported().zone_id()};
    case v1::Event::kStockAdjusted: {
      const auto& m = p.stock_adjusted();
      return ev::StockAdjusted{m.depot_zone_id(), m.sku(), m.delta(), m.on_hand(),
                               m.reason()};
    }
    case v1::Event::kAlertRaised: {
      const auto& m = p.alert_raised();
      return ev::AlertRaised{m.dedupe_key(), m.source(), m.kind(), m.severity(),
                             m.request_id()};
    }
    case v1::Event::kAlertResolved: {
      const auto& m = p.alert_resolved();
      return ev::AlertResolved{m.dedupe_key(), m.request_id(), m.note()};
    }
    case v1::Event::kZoneSurgeStarted: {
      const auto& m = p.zone_surge_started();
      return ev::ZoneSurgeStarted{m.zone_id(), m.queued(), m.at_risk(), m.reason()};
    }
    case v1::Event::kZoneSurgeEnded: {
      const auto& m = p.zone_surge_ended();
      return ev::ZoneSurgeEnded{m.zone_id(), m.queued(), m.at_risk(), m.reason()};
    }
    case v1::Event::kShiftRequested: {
      const auto& m = p.shift_requested();
      return ev::ShiftRequested{m.technician_id(), m.zone_id(), m.reason()};
    }
    case v1::Event::kRequestsBundled: {
      const auto& m = p.requests_bundled();
      return ev::RequestsBundled{m.request_id(), m.with_request_id(), m.technician_id(),
                                 m.reason()};
    }
    case v1::Event::kDeliveryPlanned: {
      const auto& m = p.delivery_planned();
      ev::DeliveryPlanned e{m.request_id(), m.delivery_id(), m.depot_zone_id(),
                            MaterialsFromProto(m.lines()), m.opens(), {}, m.reason()};
      ASSIGN_OR_RETURN(e.departs_at,
                       TimeFromProto(m.departs_at(), "delivery_planned.departs_at"));
      return e;
    }
    case v1::Event::kDeliveryDeparted: {
      const auto& m = p.delivery_departed();
      return ev::DeliveryDeparted{m.delivery_id(), m.reason()};
    }
    case v1::Event::kRequestPreempted: {
      const auto& m = p.request_preempted();
      return ev::RequestPreempted{m.request_id(), m.technician_id(), m.by_request_id(),
                                  m.reason()};
    }
    case v1::Event::kMaterialsReserved: {
      const auto& m = p.materials_reserved();
      return ev::MaterialsReserved{m.request_id(), ReservationsFromProto(m.lines()),
                                   m.reason()};
    }
    case v1::Event::kMaterialsAwaited: {
      const auto& m = p.materials_awaited();
      return ev::MaterialsAwaited{m.request_id(), MaterialsFromProto(m.short_lines())};
    }
    case v1::Event::kMaterialsConsumed: {
      const auto& m = p.materials_consumed();
      return ev::MaterialsConsumed{m.request_id(), ReservationsFromProto(m.lines())};
    }
    default:
      return AssignmentEventFrom(p);
  }
}

}  // namespace

void EventToProto(const engine::Event& event, v1::Event* out) {
  out->set_sequence(event.sequence);
  TimeToProto(event.time, out->mutable_time());
  std::visit(KindToProto{out}, event.kind);
}

v1::Event EventToProto(const engine::Event& event) {
  v1::Event out;
  EventToProto(event, &out);
  return out;
}

std::vector<v1::Event> EventsToProto(const std::vector<engine::Event>& events) {
  std::vector<v1::Event> out(events.size());
  for (size_t i = 0; i < events.size(); ++i) EventToProto(events[i], &out[i]);
  return out;
}

absl::StatusOr<engine::Event> EventFromProto(const v1::Event& p) {
  engine::Event e;
  e.sequence = p.sequence();
  ASSIGN_OR_RETURN(e.time, TimeFromProto(p.time(), "time"));
  ASSIGN_OR_RETURN(e.kind, KindFromProto(p));
  return e;
}

const std::string& RequestIdOf(const v1::Event& e) {
  static const std::string* const kNone = new std::string;
  switch (e.kind_case()) {
    case v1::Event::kRequestSubmitted: return e.request_submitted().request().request_id();
    case v1::Event::kRequestCancelled: return e.request_cancelled().request_id();
    case v1::Event::kUrgencyChanged: return e.urgency_changed().request_id();
    case v1::Event::kRequestPromoted: return e.request_promoted().request_id();
    case v1::Event::kOfferMade: return e.offer_made().request_id();
    case v1::Event::kRequestAssigned: return e.request_assigned().request_id();
    case v1::Event::kOfferAccepted: return e.offer_accepted().request_id();
    case v1::Event::kOfferDeclined: return e.offer_declined().request_id();
    case v1::Event::kOfferExpired: return e.offer_expired().request_id();
    case v1::Event::kOfferWithdrawn: return e.offer_withdrawn().request_id();
    case v1::Event::kRequestRequeued: return e.request_requeued().request_id();
    case v1::Event::kWorkStarted: return e.work_started().request_id();
    case v1::Event::kWorkPutOnHold: return e.work_put_on_hold().request_id();
    case v1::Event::kWorkCompleted: return e.work_completed().request_id();
    case v1::Event::kFeedbackRecorded: return e.feedback_recorded().request_id();
    case v1::Event::kAlertRaised: return e.alert_raised().request_id();
    case v1::Event::kAlertResolved: return e.alert_resolved().request_id();
    case v1::Event::kMaterialsReserved: return e.materials_reserved().request_id();
    case v1::Event::kRequestPreempted: return e.request_preempted().request_id();
    case v1::Event::kRequestsBundled: return e.requests_bundled().request_id();
    case v1::Event::kMaterialsAwaited: return e.materials_awaited().request_id();
    case v1::Event::kMaterialsConsumed: return e.materials_consumed().request_id();
    case v1::Event::kDeliveryPlanned: return e.delivery_planned().request_id();
    default: return *kNone;
  }
}

const std::string& EventKindName(const v1::Event& e) {
  static const std::string* const kUnknown = new std::string("Unknown");
  if (e.kind_case() == v1::Event::KIND_NOT_SET) return *kUnknown;
  const auto* field = v1::Event::descriptor()->FindFieldByNumber(e.kind_case());
  return field->message_type()->name();
}

absl::Status ApplyRecorded(const ::dispatch::v1::Event& event, engine::Engine& engine) {
  absl::StatusOr<engine::Event> decoded = EventFromProto(event);
  if (!decoded.ok()) return decoded.status();
  return engine.Apply(*decoded);
}

}  // namespace dispatchd::services
