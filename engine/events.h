// Events: every change to engine state, in plain C++. They mirror
// proto/dispatch/v1/events.proto one to one (services/ holds the codec).
// Engine::Apply folds an event into state; a decision is carried whole in
// its event, so replay never re-runs the matcher.
//
// Thread safety: plain values.
#ifndef DISPATCHD_ENGINE_EVENTS_H_
#define DISPATCHD_ENGINE_EVENTS_H_

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "absl/time/time.h"
#include "engine/model.h"

namespace dispatchd::engine::ev {

struct ZoneUpserted {
  Zone zone;
  friend bool operator==(const ZoneUpserted&, const ZoneUpserted&) = default;
};

struct PolicySet {
  Policy policy;
  friend bool operator==(const PolicySet&, const PolicySet&) = default;
};

struct TechnicianRegistered {
  std::string technician_id;
  std::string name;
  std::string home_zone_id;
  std::vector<SkillLevel> skills;
  friend bool operator==(const TechnicianRegistered&, const TechnicianRegistered&) = default;
};

// Carries the technician's identity after the update, whole.
struct TechnicianUpdated {
  std::string technician_id;
  std::string name;
  std::string home_zone_id;
  std::vector<SkillLevel> skills;
  friend bool operator==(const TechnicianUpdated&, const TechnicianUpdated&) = default;
};

struct ShiftStarted {
  std::string technician_id;
  std::string zone_id;
  friend bool operator==(const ShiftStarted&, const ShiftStarted&) = default;
};

struct ShiftEnded {
  std::string technician_id;
  friend bool operator==(const ShiftEnded&, const ShiftEnded&) = default;
};

struct LocationReported {
  std::string technician_id;
  std::string zone_id;
  friend bool operator==(const LocationReported&, const LocationReported&) = default;
};

// The request as accepted: id, spec, initial state and SLA deadline.
struct RequestSubmitted {
  std::string request_id;
  RequestSpec spec;
  RequestState state = RequestState::kQueued;  // kQueued or kScheduled.
  absl::Time sla_deadline;
  std::string alert_dedupe_key;  // Set when an alert opened it.
  std::string crew_of;  // Set on a crew member's request: the emergency's id.
  friend bool operator==(const RequestSubmitted&, const RequestSubmitted&) = default;
};

struct RequestCancelled {
  std::string request_id;
  std::string reason;
  std::string technician_id;  // Released, if any.
  friend bool operator==(const RequestCancelled&, const RequestCancelled&) = default;
};

struct UrgencyChanged {
  std::string request_id;
  Urgency urgency = Urgency::kNormal;
  absl::Time sla_deadline;
  std::string reason;
  friend bool operator==(const UrgencyChanged&, const UrgencyChanged&) = default;
};

struct RequestPromoted {
  std::string request_id;
  Urgency effective_urgency = Urgency::kNormal;
  std::string reason;
  friend bool operator==(const RequestPromoted&, const RequestPromoted&) = default;
};

struct OfferMade {
  std::string request_id;
  std::string technician_id;
  absl::Time expires_at;
  Shared<Decision> decision;
  friend bool operator==(const OfferMade&, const OfferMade&) = default;
};

struct RequestAssigned {
  std::string request_id;
  std::string technician_id;
  std::string reason;
  std::string released_technician_id;
  Shared<Decision> decision;
  friend bool operator==(const RequestAssigned&, const RequestAssigned&) = default;
};

struct OfferAccepted {
  std::string request_id;
  std::string technician_id;
  friend bool operator==(const OfferAccepted&, const OfferAccepted&) = default;
};

struct OfferDeclined {
  std::string request_id;
  std::string technician_id;
  std::string reason;
  friend bool operator==(const OfferDeclined&, const OfferDeclined&) = default;
};

struct OfferExpired {
  std::string request_id;
  std::string technician_id;
  friend bool operator==(const OfferExpired&, const OfferExpired&) = default;
};

struct OfferWithdrawn {
  std::string request_id;
  std::string technician_id;
  std::string reason;
  friend bool operator==(const OfferWithdrawn&, const OfferWithdrawn&) = default;
};

struct RequestRequeued {
  std::string request_id;
  std::string technician_id;
  std::string reason;
  friend bool operator==(const RequestRequeued&, const RequestRequeued&) = default;
};

struct WorkStarted {
  std::string request_id;
  std::string technician_id;
  friend bool operator==(const WorkStarted&, const WorkStarted&) = default;
};

struct WorkPutOnHold {
  std::string request_id;
  std::string technician_id;
  std::string reason;
  friend bool operator==(const WorkPutOnHold&, const WorkPutOnHold&) = default;
};

struct WorkCompleted {
  std::string request_id;
  std::string technician_id;
  bool resolved = true;
  std::vector<MaterialLine> materials_used;
  std::string notes;
  friend bool operator==(const WorkCompleted&, const WorkCompleted&) = default;
};

struct FeedbackRecorded {
  std::string request_id;
  uint32_t rating = 0;
  std::string comment;
  friend bool operator==(const FeedbackRecorded&, const FeedbackRecorded&) = default;
};

struct StockAdjusted {
  std::string depot_zone_id;
  std::string sku;
  int64_t delta = 0;
  int64_t on_hand = 0;  // After the change.
  std::string reason;
  friend bool operator==(const StockAdjusted&, const StockAdjusted&) = default;
};

struct AlertRaised {
  std::string dedupe_key;
  std::string source;
  std::string kind;
  uint32_t severity = 0;
  std::string request_id;
  friend bool operator==(const AlertRaised&, const AlertRaised&) = default;
};

struct AlertResolved {
  std::string dedupe_key;
  std::string request_id;
  std::string note;
  friend bool operator==(const AlertResolved&, const AlertResolved&) = default;
};

// An emergency displaced a technician from lower-urgency work: the job
// goes back to the head of its class's queue, the technician is free for
// the emergency (a RequestAssigned follows).
struct RequestPreempted {
  std::string request_id;     // The displaced job.
  std::string technician_id;  // Who was taken off it.
  std::string by_request_id;  // The emergency.
  std::string reason;
  friend bool operator==(const RequestPreempted&, const RequestPreempted&) = default;
};

// Materials held for a job when it was assigned (or when stock arrived for
// a job waiting on it), nearest depot with free stock first.
struct MaterialsReserved {
  std::string request_id;
  std::vector<Reservation> lines;
  std::string reason;
  friend bool operator==(const MaterialsReserved&, const MaterialsReserved&) = default;
};

// A job just put on hold because free stock could not cover it: it now
// waits for stock (AdjustStock). `short_lines`: units missing per sku.
struct MaterialsAwaited {
  std::string request_id;
  std::vector<MaterialLine> short_lines;
  friend bool operator==(const MaterialsAwaited&, const MaterialsAwaited&) = default;
};

// Stock taken out of depots for a job being completed (what the technician
// used: the job's own reservation first, then the nearest free stock).
// The rest of the job's reservation is released by WorkCompleted.
struct MaterialsConsumed {
  std::string request_id;
  std::vector<Reservation> lines;
  friend bool operator==(const MaterialsConsumed&, const MaterialsConsumed&) = default;
};

// A zone entered surge: its queue or its count of SLA-at-risk jobs reached
// the policy threshold (see README, Surge). `queued` and `at_risk` are the
// counts at that moment; `reason` says which threshold.
struct ZoneSurgeStarted {
  std::string zone_id;
  uint32_t queued = 0;
  uint32_t at_risk = 0;
  std::string reason;
  friend bool operator==(const ZoneSurgeStarted&, const ZoneSurgeStarted&) = default;
};

// A zone left surge: both counts fell below half their thresholds.
struct ZoneSurgeEnded {
  std::string zone_id;
  uint32_t queued = 0;
  uint32_t at_risk = 0;
  std::string reason;
  friend bool operator==(const ZoneSurgeEnded&, const ZoneSurgeEnded&) = default;
};

// An on-call technician, off shift, is asked to start a shift because
// `zone_id` (their home zone) entered surge. Changes no state.
struct ShiftRequested {
  std::string technician_id;
  std::string zone_id;
  std::string reason;
  friend bool operator==(const ShiftRequested&, const ShiftRequested&) = default;
};

// Bundling: a technician who just finished low-urgency job
// `with_request_id` in a quiet zone is offered low-urgency job `request_id`
// at the same place (zone and location) next, one visit for both (an
// OfferMade with rule "bundle" follows). Changes no state.
struct RequestsBundled {
  std::string request_id;
  std::string with_request_id;
  std::string technician_id;
  std::string reason;
  friend bool operator==(const RequestsBundled&, const RequestsBundled&) = default;
};

// Deliveries (see README, Deliveries): the lines `request_id` just
// reserved at depot `depot_zone_id` ride delivery `delivery_id` to the
// job's zone and location. `opens`: a new delivery, leaving at
// `departs_at` (the window's end, or now); otherwise it joins that open
// delivery (same depot and place, window not over, total still small) and
// `departs_at` repeats the delivery's. `reason` says which and why.
struct DeliveryPlanned {
  std::string request_id;
  std::string delivery_id;
  std::string depot_zone_id;
  std::vector<MaterialLine> lines;
  bool opens = false;
  absl::Time departs_at;
  std::string reason;
  friend bool operator==(const DeliveryPlanned&, const DeliveryPlanned&) = default;
};

// A delivery left its depot: its window closed (on Tick at departs_at),
// or at once (not small, merging off, emergency materials, no location).
struct DeliveryDeparted {
  std::string delivery_id;
  std::string reason;
  friend bool operator==(const DeliveryDeparted&, const DeliveryDeparted&) = default;
};

}  // namespace dispatchd::engine::ev

namespace dispatchd::engine {

using EventKind =
    std::variant<ev::ZoneUpserted, ev::PolicySet, ev::TechnicianRegistered,
                 ev::TechnicianUpdated, ev::ShiftStarted, ev::ShiftEnded,
                 ev::LocationReported, ev::RequestSubmitted, ev::RequestCancelled,
                 ev::UrgencyChanged, ev::RequestPromoted, ev::OfferMade,
                 ev::RequestAssigned, ev::OfferAccepted, ev::OfferDeclined,
                 ev::OfferExpired, ev::OfferWithdrawn, ev::RequestRequeued,
                 ev::WorkStarted, ev::WorkPutOnHold, ev::WorkCompleted,
                 ev::FeedbackRecorded, ev::StockAdjusted, ev::AlertRaised,
                 ev::AlertResolved, ev::MaterialsReserved, ev::MaterialsAwaited,
                 ev::MaterialsConsumed, ev::RequestPreempted,
                 ev::ZoneSurgeStarted, ev::ZoneSurgeEnded, ev::ShiftRequested,
                 ev::RequestsBundled, ev::DeliveryPlanned, ev::DeliveryDeparted>;

// One change of state. Sequences start at 1 and have no gaps.
struct Event {
  uint64_t sequence = 0;
  absl::Time time;
  EventKind kind;
  friend bool operator==(const Event&, const Event&) = default;
};

}  // namespace dispatchd::engine

#endif  // DISPATCHD_ENGINE_EVENTS_H_
