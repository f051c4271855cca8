// The engine's domain model: the records it keeps for zones, technicians,
// requests and policy, in plain C++ (no protobuf, no I/O).
//
// Thread safety: plain values. The records owned by an Engine are read and
// written on the engine thread only.
#ifndef DISPATCHD_ENGINE_MODEL_H_
#define DISPATCHD_ENGINE_MODEL_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "boost/smart_ptr/intrusive_ptr.hpp"
#include "boost/smart_ptr/intrusive_ref_counter.hpp"

namespace dispatchd::engine {

// Strict urgency classes; a higher value is served first.
enum class Urgency : uint8_t {
  kLow = 1,
  kNormal = 2,
  kUrgent = 3,
  kEmergency = 4,
};
inline constexpr int kUrgencyCount = 4;

enum class RequestState : uint8_t {
  kQueued = 1,
  kOffered = 2,
  kAssigned = 3,
  kInProgress = 4,
  kOnHold = 5,
  kCompleted = 6,
  kCancelled = 7,
  kScheduled = 8,
};

enum class TechnicianState : uint8_t {
  kOffShift = 1,
  kAvailable = 2,
  kOffered = 3,
  kAssigned = 4,
  kWorking = 5,
};

// True for the states in which a request is still somebody's business.
inline bool IsOpen(RequestState s) {
  return s != RequestState::kCompleted && s != RequestState::kCancelled;
}

// A skill with a level: on a technician, the level they have; on a
// request, the lowest level that can do the job. Levels run 1..5.
struct SkillLevel {
  std::string skill;
  uint32_t level = 1;
  friend bool operator==(const SkillLevel&, const SkillLevel&) = default;
};

struct MaterialLine {
  std::string sku;
  uint32_t quantity = 0;
  friend bool operator==(const MaterialLine&, const MaterialLine&) = default;
};

// Units of one sku held at one depot for one job (see README, Materials).
struct Reservation {
  std::string depot_zone_id;
  std::string sku;
  uint32_t quantity = 0;
  friend bool operator==(const Reservation&, const Reservation&) = default;
};

struct Neighbor {
  std::string zone_id;
  uint32_t travel_minutes = 0;
  friend bool operator==(const Neighbor&, const Neighbor&) = default;
};

struct Zone {
  std::string zone_id;
  std::string name;
  std::vector<Neighbor> neighbors;  // Direct links, symmetric.
  friend bool operator==(const Zone&, const Zone&) = default;
};

// What an alert of one kind needs (policy): the crew, their skills, and
// materials reserved the moment the alert is raised.
struct EmergencyPlan {
  std::string kind;  // Alert kind, e.g. "power_outage".
  uint32_t crew_size = 1;  // 1..20.
  std::vector<SkillLevel> required_skills;
  std::vector<MaterialLine> backup_materials;
  friend bool operator==(const EmergencyPlan&, const EmergencyPlan&) = default;
};

// The office's tunable rules. Defaults are a sensible campus setting.
struct Policy {
  uint32_t sla_minutes_low = 1440;
  uint32_t sla_minutes_normal = 240;
  uint32_t sla_minutes_urgent = 60;
  uint32_t sla_minutes_emergency = 15;
  uint32_t offer_timeout_seconds = 120;
  uint32_t cross_zone_max_travel_minutes = 30;
  uint32_t aging_promote_minutes = 240;
  uint32_t surge_queue_threshold = 10;
  uint32_t surge_at_risk_threshold = 3;
  bool preemption_enabled = true;
  uint32_t max_preemptions_per_job = 2;
  bool bundling_enabled = true;
  // Technicians asked (ShiftRequested) to start a shift when their home
  // zone enters surge while they are off shift. Distinct ids; ids not (yet)
  // registered are ignored.
  std::vector<std::string> on_call_technician_ids;
  // Per alert kind, kinds distinct. A kind without a plan gets a crew of
  // RaiseAlert.crew_size and the built-in skills for the kind.
  std::vector<EmergencyPlan> emergency_plans;
  // Deliveries (see README, Deliveries): a shipment of at most this many
  // units is small, and small ones to one building merge (1..10000).
  uint32_t small_delivery_max_units = 10;
  // How long an open delivery waits for others to the same building,
  // minutes (0..1440); 0 turns merging off (every delivery leaves at once).
  uint32_t delivery_merge_minutes = 30;
  friend bool operator==(const Policy&, const Policy&) = default;

  uint32_t SlaMinutes(Urgency u) const;
};

// What a submitter asks for. Carried whole in RequestSubmitted.
struct RequestSpec {
  std::string idempotency_key;
  std::string zone_id;
  std::string location;
  std::string category;
  std::vector<SkillLevel> required_skills;
  // The small fields together (no padding between them; see
  // docs/performance.md, memory per request).
  Urgency urgency = Urgency::kNormal;
  bool key_department = false;
  uint32_t estimated_minutes = 0;
  uint32_t crew_size = 1;
  std::vector<MaterialLine> materials;
  std::string asset_tag;
  std::string department;
  std::string description;
  std::optional<absl::Time> not_before;
  std::optional<absl::Time> due_by;
  friend bool operator==(const RequestSpec&, const RequestSpec&) = default;
};

struct Candidate {
  std::string technician_id;
  uint32_t travel_minutes = 0;
  uint32_t overqualification = 0;
  int64_t score = 0;  // Lower is better.
  friend bool operator==(const Candidate&, const Candidate&) = default;
};

struct Exclusion {
  std::string technician_id;
  std::string reason;
  friend bool operator==(const Exclusion&, const Exclusion&) = default;
};

// Why an assignment was made. Lists are capped (kMaxListed) with a count of
// what was left out, so a decision stays small at any scale.
struct Decision {
  static constexpr size_t kMaxListed = 5;
  std::string rule;
  std::string detail;
  std::vector<Candidate> candidates;  // Best first; the first was chosen.
  std::vector<Exclusion> exclusions;
  uint32_t candidates_omitted = 0;
  uint32_t exclusions_omitted = 0;
  friend bool operator==(const Decision&, const Decision&) = default;
};

// An immutable value on the heap, shared by its copies: one pointer, and
// copying costs a reference count, not the value. For a Decision, which the
// event that carries it and the request it is folded into both hold (and a
// snapshot's image a third time). Empty until set, like std::optional;
// reading an empty one sees a default T. To change the value, assign a new
// one: the copies that share the old one keep it.
template <typename T>
class Shared {
 public:
  Shared() = default;
  Shared(std::nullopt_t) {}                   // NOLINT: as std::optional.
  Shared(T v) : p_(new Box(std::move(v))) {}  // NOLINT: a value converts.
  Shared& operator=(std::nullopt_t) {
    p_.reset();
    return *this;
  }

  bool has_value() const { return p_ != nullptr; }
  explicit operator bool() const { return p_ != nullptr; }
  const T& operator*() const { return p_ != nullptr ? p_->value : Default(); }
  const T* operator->() const { return &**this; }

  // Equal values, wherever they are kept (both empty, or both set).
  friend bool operator==(const Shared& a, const Shared& b) {
    return a.has_value() == b.has_value() && (a.p_ == b.p_ || *a == *b);
  }
  friend bool operator==(const Shared& a, std::nullopt_t) { return !a.has_value(); }

 private:
  // Counted atomically: an engine's events and images may reach other threads.
  struct Box : boost::intrusive_ref_counter<Box, boost::thread_safe_counter> {
    explicit Box(T v) : value(std::move(v)) {}
    const T value;
  };
  static const T& Default() {
    static const T* const empty = new T();
    return *empty;
  }

  boost::intrusive_ptr<const Box> p_;
};

// A value kept on the heap only once something is written to it: one
// pointer while it holds nothing. Reads (`->`, `*`) see a shared
// default-constructed T when nothing is held, so reading never allocates;
// writes go through mut(), which allocates on first use. Copies are deep.
template <typename T>
class HeapOnWrite {
 public:
  HeapOnWrite() = default;
  HeapOnWrite(const HeapOnWrite& o) : p_(o.p_ ? std::make_unique<T>(*o.p_) : nullptr) {}
  HeapOnWrite(HeapOnWrite&&) noexcept = default;
  HeapOnWrite& operator=(const HeapOnWrite& o) {
    if (this != &o) p_ = o.p_ ? std::make_unique<T>(*o.p_) : nullptr;
    return *this;
  }
  HeapOnWrite& operator=(HeapOnWrite&&) noexcept = default;

  const T& operator*() const { return p_ ? *p_ : Empty(); }
  const T* operator->() const { return &**this; }
  T& mut() {
    if (p_ == nullptr) p_ = std::make_unique<T>();
    return *p_;
  }
  // Frees the heap value if it equals a default T (e.g. after a decoder
  // wrote every field through mut()).
  void Trim() {
    if (p_ != nullptr && *p_ == Empty()) p_.reset();
  }

 private:
  static const T& Empty() {
    static const T* const empty = new T();
    return *empty;
  }
  std::unique_ptr<T> p_;
};

// The fields of a Request that a queued request never has set: written
// once a job is accepted, held, completed, displaced, rated, or filed as a
// crew member (see Request::rare).
struct RequestRare {
  std::optional<absl::Time> accepted_at;
  std::optional<absl::Time> completed_at;
  std::string hold_reason;
  std::string feedback_comment;
  // As the technician reported them on completion.
  std::vector<MaterialLine> materials_used;
  std::string completion_notes;
  // Emergencies: the request that last displaced this job (see
  // Request::preemptions).
  std::string preempted_by;
  // Crews: a crew member's request names the emergency it belongs to (the
  // emergency lists them in Request::crew_request_ids).
  std::string crew_of;
  friend bool operator==(const RequestRare&, const RequestRare&) = default;
};

// A request as the engine holds it.
struct Request {
  std::string request_id;
  RequestSpec spec;
  // The small fields together (no padding between them; see
  // docs/performance.md, memory per request).
  Urgency effective_urgency = Urgency::kNormal;  // After aging.
  RequestState state = RequestState::kQueued;
  bool resolved = false;
  // On hold because stock could not cover its materials at assignment;
  // served when stock arrives (see README, Materials).
  bool awaiting_stock = false;
  uint32_t feedback_rating = 0;
  // Emergencies: how often this job was displaced by one (at most
  // policy.max_preemptions_per_job); rare->preempted_by says by which last.
  uint32_t preemptions = 0;
  absl::Time created_at;
  absl::Time sla_deadline;
  std::string technician_id;  // Current or last technician.
  std::optional<absl::Time> offer_expires_at;
  std::string alert_dedupe_key;
  std::vector<std::string> declined_by;
  // The latest assignment decision (none while never offered or assigned);
  // shared with the event that made it.
  Shared<Decision> decision;
  // Materials held for this job since it was first assigned, by depot;
  // released on cancel, consumed on completion.
  std::vector<Reservation> reserved;
  // Accepted/completed times, hold reason, feedback comment, materials
  // used, completion notes, preempted_by, crew_of: on the heap, allocated
  // by the first write (read `rare->hold_reason`, write
  // `rare.mut().hold_reason`), so a queued request pays one pointer.
  HeapOnWrite<RequestRare> rare;
  // Crews: an emergency lists its crew members' requests (crew_size - 1 of
  // them); each names it in rare->crew_of.
  std::vector<std::string> crew_request_ids;
  // Deliveries carrying this job's reserved materials, one per depot, in
  // the order they were planned (see README, Deliveries). A cancelled or
  // completed job comes off a delivery that has not left.
  std::vector<std::string> delivery_ids;
};

// A technician as the engine holds it.
struct Technician {
  std::string technician_id;
  std::string name;
  std::string home_zone_id;
  std::string current_zone_id;
  std::vector<SkillLevel> skills;
  TechnicianState state = TechnicianState::kOffShift;
  std::string request_id;  // Offered, assigned or in progress.
  std::vector<std::string> on_hold_request_ids;
};

struct StockLevel {
  std::string depot_zone_id;
  std::string sku;
  int64_t on_hand = 0;
  int64_t reserved = 0;  // Held for assigned jobs; on_hand - reserved is free.
};

// An open request whose materials stock on hand does not cover.
struct Shortage {
  std::string request_id;
  std::string zone_id;
  std::string sku;
  uint32_t needed = 0;
  int64_t on_hand = 0;  // Free units (on hand, not reserved) across all depots.
};

enum class DeliveryState : uint8_t {
  kOpen = 1,      // Waiting for its window to close.
  kDeparted = 2,  // Left the depot; kept as recent history.
};

// One job's lines on a delivery, and why they joined it.
struct DeliveryShipment {
  std::string request_id;
  std::vector<MaterialLine> lines;
  std::string reason;  // e.g. "merged with R-000012: same building, within 30 min".
  friend bool operator==(const DeliveryShipment&, const DeliveryShipment&) = default;
};

// Materials going from one depot to one place (zone and location, the
// building) in one trip: one job's shipment, or several small ones merged.
struct Delivery {
  std::string delivery_id;  // "D-000001", in the order deliveries open.
  std::string depot_zone_id;
  std::string zone_id;   // Destination zone.
  std::string location;  // Destination building (the jobs' location).
  DeliveryState state = DeliveryState::kOpen;
  absl::Time opened_at;
  absl::Time departs_at;  // Window end; opened_at when it left at once.
  std::optional<absl::Time> departed_at;
  std::string departure_reason;  // Set when departed.
  std::vector<DeliveryShipment> shipments;  // In the order they joined.
  friend bool operator==(const Delivery&, const Delivery&) = default;

  uint32_t Units() const;
};

}  // namespace dispatchd::engine

#endif  // DISPATCHD_ENGINE_MODEL_H_
