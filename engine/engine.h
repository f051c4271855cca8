// Engine: dispatchd's whole domain — zones, technicians, requests, stock,
// policy — and the rules that match work to people.
//
//   Engine engine(&clock);
//   absl::StatusOr<Outcome> out = engine.Handle(cmd::SubmitRequest{spec});
//   // out->events: RequestSubmitted, then OfferMade to the chosen technician.
//
// Handle(command) validates the command against the current state and
// either fails with a status and changes nothing, or decides and returns
// the events it produced, already applied. State is exactly the fold of
// those events: Apply(event) on a fresh engine, in sequence order, rebuilds
// the same state (that is how the daemon recovers). Decisions travel inside
// their events, so Apply never runs the matcher.
//
// No I/O, no gRPC, no threads: time comes from the injected Clock, and the
// caller fires timers by handling cmd::Tick once NextTimer() has passed
// (a Tick fires at most 1,024; with more due, NextTimer() stays passed and
// the caller ticks again).
//
// Snapshots: ExportImage() copies the whole state into a StateImage
// (state_image.h); LoadImage() on a fresh engine rebuilds that state
// without replaying events, after which the engine behaves exactly as the
// exporter did. Digest() names the event-derived state in 32 hex digits,
// so a live engine and a replica can be compared cheaply.
//
// Thread safety: not thread-safe. Owned and used by one thread (the engine
// thread in the daemon). Pointers returned by queries stay valid until the
// next Handle or Apply.
#ifndef DISPATCHD_ENGINE_ENGINE_H_
#define DISPATCHD_ENGINE_ENGINE_H_

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engine/clock.h"
#include "engine/commands.h"
#include "engine/events.h"
#include "engine/model.h"
#include "engine/state_image.h"

namespace dispatchd::engine {

// What a successful Handle produced.
struct Outcome {
  std::vector<Event> events;  // Already applied; sequences are consecutive.
  // The request the command created or acted on, if any (for SubmitRequest
  // and RaiseAlert, the new or — on a duplicate — the original one).
  std::string request_id;
  // True when the command repeated an earlier one (same idempotency or
  // dedupe key, same payload): nothing changed and events is empty.
  bool duplicate = false;
};

struct RequestFilter {
  std::string zone_id;                 // Empty: any.
  std::optional<RequestState> state;   // Empty: any.
  std::optional<Urgency> urgency;      // Empty: any (effective urgency).
};

// Departed deliveries kept for ListDeliveries, newest departures; older
// ones are dropped from state (their ids stay on the requests).
inline constexpr size_t kKeptDepartedDeliveries = 1000;

struct DeliveryFilter {
  std::string zone_id;                 // Destination zone; empty: any.
  std::string location;                // Destination building; empty: any.
  std::optional<DeliveryState> state;  // Empty: open and departed.
};

struct RequestPage {
  std::vector<const Request*> requests;  // In request id order.
  std::string next_page_token;           // Empty on the last page.
};

struct ZoneBoard {
  const Zone* zone = nullptr;
  // Queued requests per effective urgency, index Urgency value - 1.
  std::array<uint32_t, kUrgencyCount> queued_counts{};
  std::vector<const Request*> queued;       // Dispatch order, at most 50.
  std::vector<const Request*> in_progress;  // Offered .. on hold.
  std::vector<const Technician*> technicians;  // By current zone.
  std::vector<Shortage> shortages;
  // Surge (see README, Surge): whether the zone is in surge, and the two
  // counts that decide it.
  bool in_surge = false;
  uint32_t queued_total = 0;
  uint32_t at_risk = 0;
};

struct Explanation {
  const Request* request = nullptr;
  // For a waiting request, why no one has it yet, in words.
  std::string waiting_reason;
  // One line per delivery carrying its materials: which, from where, open
  // or departed, and what it was merged with (see README, Deliveries).
  std::vector<std::string> deliveries;
};

struct Kpis {
  uint32_t submitted = 0;
  uint32_t open = 0;
  uint32_t completed = 0;
  uint32_t resolved = 0;
  uint32_t cancelled = 0;
  double mean_response_minutes = 0;    // Submission to first acceptance.
  double mean_completion_minutes = 0;  // Submission to completion.
  double resolution_rate = 0;          // resolved / completed.
  double sla_hit_rate = 0;             // Accepted within SLA / accepted.
  double feedback_average = 0;
  uint32_t feedback_count = 0;
  // p90 (nearest rank: the value at position ceil(0.9 n) in ascending
  // order) of the same times as the means above.
  double p90_response_minutes = 0;
  double p90_completion_minutes = 0;
  // Accepted within SLA / accepted, per urgency as filed (index Urgency
  // value - 1); 0 where none was accepted.
  std::array<double, kUrgencyCount> sla_hit_rate_by_urgency{};
  std::array<uint32_t, kUrgencyCount> accepted_by_urgency{};
  // Times an emergency displaced one of these requests.
  uint32_t preemptions = 0;
  // Time spent working / time on shift, of the technicians in scope (a
  // technician: themself; a zone: those whose home zone it is; the site:
  // everyone), up to now; 0 if nobody was on shift.
  double utilisation = 0;
};

struct Stats {
  Kpis site;
  std::vector<std::pair<std::string, Kpis>> zones;        // By zone id.
  std::vector<std::pair<std::string, Kpis>> technicians;  // By technician id.
};

class Engine {
 public:
  // "*clock" must outlive the engine.
  explicit Engine(const Clock* clock);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Validates and executes `command`. On error nothing changes and the
  // status says what is wrong:
  //   INVALID_ARGUMENT    a field is missing or out of range (names it);
  //   NOT_FOUND           a zone, technician, request or alert is unknown;
  //   FAILED_PRECONDITION the object is in the wrong state for this;
  //   ALREADY_EXISTS      an id is taken, or an idempotency key was used
  //                       with a different payload.
  absl::StatusOr<Outcome> Handle(const Command& command);

  // Folds one recorded event into state (recovery and replicas).
  // REQUIRES: event.sequence == last_sequence() + 1.
  // Returns FAILED_PRECONDITION / NOT_FOUND / DATA_LOSS if the event does
  // not fit the state (a corrupt or foreign log); state is then unchanged.
  absl::Status Apply(const Event& event);

  // When the earliest timer (offer timeout, aging) falls due, if any.
  std::optional<absl::Time> NextTimer() const;

  uint64_t last_sequence() const;

  // --- Images (snapshots) and the digest. ---
  // Everything needed to rebuild this engine's state, including the live
  // re-evaluation timers. O(state).
  StateImage ExportImage() const;
  // Replaces the state of a fresh engine with `image`; afterwards every
  // command, event and query gives what it would have given the engine
  // that exported it (on the same clock). Pointers and references from
  // earlier queries become invalid.
  // REQUIRES: no event applied yet (last_sequence() == 0), else
  // FAILED_PRECONDITION. DATA_LOSS if the image is inconsistent (unknown
  // zone, technician or skill, a duplicate id, holders that disagree, ...);
  // the engine is then unchanged.
  absl::Status LoadImage(const StateImage& image);
  // The same, taking the image's requests instead of copying them (a
  // large image loads faster). `image` is left valid but unspecified,
  // whether or not it loads.
  absl::Status LoadImage(StateImage&& image);

  // LoadImage in parts, as DecodeImageParts hands an image over, so that
  // loading runs beside decoding: StartLoad with the head (everything
  // before the requests), Requests for each run of them in number order,
  // then Finish with the rest (stock, alerts, surge zones, deliveries).
  // The checks and the result are LoadImage's; the engine takes the new
  // state only when Finish succeeds, so until then, after any error, or
  // if the PartLoad is dropped, it is unchanged. After an error every
  // later call returns it. The engine must outlive the PartLoad.
  class State;  // The state behind the engine (internal/state.h).
  class PartLoad {
   public:
    ~PartLoad();
    PartLoad(const PartLoad&) = delete;
    PartLoad& operator=(const PartLoad&) = delete;
    absl::Status Requests(std::vector<RequestImage>&& run);  // Moves from them.
    absl::Status Finish(StateImage&& rest);

   private:
    friend class Engine;
    PartLoad(Engine* engine, std::unique_ptr<State> state);
    Engine* const engine_;
    std::unique_ptr<State> state_;
    absl::Status status_;
  };
  // FAILED_PRECONDITION if the engine is not fresh, DATA_LOSS if the head
  // is inconsistent (as LoadImage).
  absl::StatusOr<std::unique_ptr<PartLoad>> StartLoad(const StateImage& head);

  // ImageDigest(ExportImage()): equal for an engine and a replica that
  // applied its events; a different state gives a different digest (up to
  // hash collisions). O(state).
  std::string Digest() const;

  // --- Queries. ---
  const Zone* FindZone(std::string_view zone_id) const;
  std::vector<const Zone*> ListZones() const;  // By zone id.
  const Policy& policy() const;
  const Request* FindRequest(std::string_view request_id) const;
  // The request an alert's dedupe key opened.
  const Request* FindAlert(std::string_view dedupe_key) const;
  // INVALID_ARGUMENT for a page token this engine did not hand out.
  absl::StatusOr<RequestPage> ListRequests(const RequestFilter& filter,
                                           std::string_view page_token,
                                           size_t page_size) const;
  const Technician* FindTechnician(std::string_view technician_id) const;
  // By technician id; empty zone: all, otherwise by current zone.
  std::vector<const Technician*> ListTechnicians(std::string_view zone_id) const;
  // The open requests a technician holds: offered, assigned, working, on hold.
  std::vector<const Request*> OpenRequestsOf(std::string_view technician_id) const;
  // Empty zone: every zone, by zone id. NOT_FOUND for an unknown zone.
  absl::StatusOr<std::vector<ZoneBoard>> GetBoard(std::string_view zone_id) const;
  absl::StatusOr<Explanation> Explain(std::string_view request_id) const;
  absl::StatusOr<Stats> GetStats(std::string_view zone_id,
                                 std::string_view technician_id) const;
  std::vector<StockLevel> GetStock(std::string_view depot_zone_id,
                                   std::string_view sku) const;
  // Open requests whose materials are not reserved and exceed the free
  // stock (on hand - reserved) across all depots; empty zone: all zones.
  std::vector<Shortage> ListShortages(std::string_view zone_id) const;
  // The completed requests that named `asset_tag`, oldest completion first:
  // who (technician_id), when (completed_at), what (spec), materials
  // (materials_used) and outcome (resolved, completion_notes).
  std::vector<const Request*> GetAssetHistory(std::string_view asset_tag) const;
  // Open deliveries and the most recently departed ones (the engine keeps
  // the last kKeptDepartedDeliveries), by delivery id.
  std::vector<const Delivery*> ListDeliveries(const DeliveryFilter& filter) const;
  // nullptr if unknown, or departed and no longer kept.
  const Delivery* FindDelivery(std::string_view delivery_id) const;
  // Travel minutes between two known zones over the neighbour graph;
  // nullopt if either is unknown or they are not connected.
  std::optional<uint32_t> TravelMinutes(std::string_view from_zone,
                                        std::string_view to_zone) const;

 private:
  const Clock* const clock_;
  std::unique_ptr<State> state_;
};

// The number of a request id the engine issued: requests are numbered
// from 1 in the order they were filed ("R-000042" is 42). nullopt for any
// other string.
std::optional<uint32_t> RequestNumber(std::string_view request_id);

}  // namespace dispatchd::engine

#endif  // DISPATCHD_ENGINE_ENGINE_H_
