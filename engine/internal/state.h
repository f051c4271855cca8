// Engine::State: everything the engine holds, and the code that changes it.
// The methods are spread over several files by concern:
//   engine.cc          Engine's forwarding, Handle/Apply entry points, Emit
//   handle_setup.cc    zones, policy, technicians, shifts, stock commands
//   handle_requests.cc submit, cancel, urgency, feedback, alerts
//   handle_work.cc     the dispatcher override; accept ... complete
//   tick.cc            timers and the post-replay sweep
//   apply_setup.cc     folding of zone/policy/technician/stock events
//   apply_requests.cc  folding of submission, cancel, urgency, aging,
//                      feedback and alert events
//   apply_offers.cc    folding of offer, assignment and work events
//   indexes.cc         lookups and index maintenance
//   matcher.cc         dispatch of one request (push) and its Decision
//   pull.cc            a freed technician picking the best waiting job;
//                      bundling of low jobs at one place
//   surge.cc           zones entering / leaving surge
//   deliveries.cc      merging small deliveries: planning, departures,
//                      their fold, queries and checked load
//   queries.cc, board.cc, stats.cc   read-only queries
//   image.cc           export of a StateImage, and loading one
//
// Invariant: state is the fold of applied events. Handle validates fully,
// then changes state only through Emit (build event, apply, record). The
// only state not derived from events is the set of live re-evaluation
// timers (waits for a local technician) and the post-replay sweep flag, see
// README; a StateImage carries both.
//
// Thread safety: not thread-safe; owned by the engine thread.
#ifndef DISPATCHD_ENGINE_INTERNAL_STATE_H_
#define DISPATCHD_ENGINE_INTERNAL_STATE_H_

#include <algorithm>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engine/engine.h"
#include "engine/state_image.h"
#include "engine/internal/decision_builder.h"
#include "engine/internal/deliveries.h"
#include "engine/internal/records.h"
#include "engine/internal/skills.h"
#include "engine/internal/stats_book.h"
#include "engine/internal/zone_graph.h"

namespace dispatchd::engine {

class Engine::State {
 public:
  explicit State(const Clock* clock);

  absl::StatusOr<Outcome> Handle(const Command& command);
  // Apply from outside (recovery): also arms the post-replay sweep.
  absl::Status ApplyRecorded(const Event& event);
  std::optional<absl::Time> NextTimer() const;
  uint64_t last_sequence() const { return last_sequence_; }

  // Images (image.cc); see engine.h and state_image.h.
  StateImage Export() const;
  // Checks `image` and rebuilds all state from it. REQUIRES: a fresh
  // State. On error (DATA_LOSS naming what is wrong) this State is half
  // built: discard it.
  absl::Status Load(StateImage& image);  // Takes image.requests' contents.
  // The same in three steps, as Engine::PartLoad takes an image: the head
  // (everything before the requests), the requests in runs (moved from),
  // then the rest (stock, alerts, surge zones, deliveries) and the indexes.
  absl::Status LoadHead(const StateImage& head);
  absl::Status LoadRequests(std::vector<RequestImage>& run);
  absl::Status LoadRest(const StateImage& rest);

  // Queries (queries.cc, board.cc, stats.cc); see engine.h.
  const Zone* FindZone(std::string_view zone_id) const;
  std::vector<const Zone*> ListZones() const;
  const Policy& policy() const { return policy_; }
  const Request* FindRequest(std::string_view request_id) const;
  const Request* FindAlert(std::string_view dedupe_key) const;
  absl::StatusOr<RequestPage> ListRequests(const RequestFilter& filter,
                                           std::string_view page_token,
                                           size_t page_size) const;
  const Technician* FindTechnician(std::string_view technician_id) const;
  std::vector<const Technician*> ListTechnicians(std::string_view zone_id) const;
  std::vector<const Request*> OpenRequestsOf(std::string_view technician_id) const;
  absl::StatusOr<std::vector<ZoneBoard>> GetBoard(std::string_view zone_id) const;
  absl::StatusOr<Explanation> Explain(std::string_view request_id) const;
  absl::StatusOr<Stats> GetStats(std::string_view zone_id,
                                 std::string_view technician_id) const;
  std::vector<StockLevel> GetStock(std::string_view depot_zone_id,
                                   std::string_view sku) const;
  std::vector<Shortage> ListShortages(std::string_view zone_id) const;
  std::vector<const Request*> AssetHistory(std::string_view asset_tag) const;
  std::optional<uint32_t> TravelMinutes(std::string_view from_zone,
                                        std::string_view to_zone) const;
  std::vector<const Delivery*> ListDeliveries(const DeliveryFilter& filter) const;
  const Delivery* FindDelivery(std::string_view delivery_id) const;

 private:
  using ReqRec = internal::ReqRec;
  using TechRec = internal::TechRec;
  using ZoneRec = internal::ZoneRec;

  // A busy local technician a queued request may wait for.
  struct Wait {
    uint32_t tech = internal::kNoTech;
    absl::Time expected_free;
  };

  // --- Handle: validate, then Emit. One overload per command. ---
  absl::Status Do(const cmd::UpsertZone& c);
  absl::Status Do(const cmd::SetPolicy& c);
  absl::Status Do(const cmd::RegisterTechnician& c);
  absl::Status Do(const cmd::UpdateTechnician& c);
  absl::Status Do(const cmd::StartShift& c);
  absl::Status Do(const cmd::EndShift& c);
  absl::Status Do(const cmd::ReportLocation& c);
  absl::Status Do(const cmd::SubmitRequest& c);
  absl::Status Do(const cmd::CancelRequest& c);
  absl::Status Do(const cmd::ChangeUrgency& c);
  absl::Status Do(const cmd::AssignRequest& c);
  absl::Status Do(const cmd::RecordFeedback& c);
  absl::Status Do(const cmd::AcceptOffer& c);
  absl::Status Do(const cmd::DeclineOffer& c);
  absl::Status Do(const cmd::StartWork& c);
  absl::Status Do(const cmd::CompleteWork& c);
  absl::Status Do(const cmd::PutOnHold& c);
  absl::Status Do(const cmd::AdjustStock& c);
  absl::Status Do(const cmd::RaiseAlert& c);
  absl::Status Do(const cmd::ResolveAlert& c);
  absl::Status Do(const cmd::Tick& c);

  // Stamps (sequence, now_), applies and records one event. An engine-made
  // event that does not apply is a broken invariant: fatal.
  void Emit(EventKind kind);
  absl::Time SlaDeadline(const RequestSpec& spec, Urgency u, absl::Time created) const;
  absl::Status CheckOfferFor(const TechRec& t, const ReqRec& r) const;
  // FAILED_PRECONDITION unless a dispatcher may assign `r` to `t` now.
  absl::Status CheckAssignable(const ReqRec& r, const TechRec& t) const;
  Decision OverrideDecision(const ReqRec& r, const TechRec& t,
                            const std::string& reason) const;

  // --- Apply: check, then fold. One overload per event. ---
  absl::Status Fold(const Event& event);
  absl::Status On(const ev::ZoneUpserted& e, absl::Time t);
  absl::Status On(const ev::PolicySet& e, absl::Time t);
  absl::Status On(const ev::TechnicianRegistered& e, absl::Time t);
  absl::Status On(const ev::TechnicianUpdated& e, absl::Time t);
  absl::Status On(const ev::ShiftStarted& e, absl::Time t);
  absl::Status On(const ev::ShiftEnded& e, absl::Time t);
  absl::Status On(const ev::LocationReported& e, absl::Time t);
  absl::Status On(const ev::RequestSubmitted& e, absl::Time t);
  absl::Status On(const ev::RequestCancelled& e, absl::Time t);
  absl::Status On(const ev::UrgencyChanged& e, absl::Time t);
  absl::Status On(const ev::RequestPromoted& e, absl::Time t);
  absl::Status On(const ev::OfferMade& e, absl::Time t);
  absl::Status On(const ev::RequestAssigned& e, absl::Time t);
  absl::Status On(const ev::OfferAccepted& e, absl::Time t);
  absl::Status On(const ev::OfferDeclined& e, absl::Time t);
  absl::Status On(const ev::OfferExpired& e, absl::Time t);
  absl::Status On(const ev::OfferWithdrawn& e, absl::Time t);
  absl::Status On(const ev::RequestRequeued& e, absl::Time t);
  absl::Status On(const ev::WorkStarted& e, absl::Time t);
  absl::Status On(const ev::WorkPutOnHold& e, absl::Time t);
  absl::Status On(const ev::WorkCompleted& e, absl::Time t);
  absl::Status On(const ev::FeedbackRecorded& e, absl::Time t);
  absl::Status On(const ev::StockAdjusted& e, absl::Time t);
  absl::Status On(const ev::AlertRaised& e, absl::Time t);
  absl::Status On(const ev::AlertResolved& e, absl::Time t);
  absl::Status On(const ev::MaterialsReserved& e, absl::Time t);
  absl::Status On(const ev::MaterialsAwaited& e, absl::Time t);
  absl::Status On(const ev::MaterialsConsumed& e, absl::Time t);
  absl::Status On(const ev::RequestPreempted& e, absl::Time t);
  absl::Status On(const ev::ZoneSurgeStarted& e, absl::Time t);
  absl::Status On(const ev::ZoneSurgeEnded& e, absl::Time t);
  absl::Status On(const ev::ShiftRequested& e, absl::Time t);
  absl::Status On(const ev::RequestsBundled& e, absl::Time t);
  absl::Status On(const ev::DeliveryPlanned& e, absl::Time t);
  absl::Status On(const ev::DeliveryDeparted& e, absl::Time t);
  // Shared fold of OfferDeclined / OfferExpired / OfferWithdrawn.
  absl::Status EndOffer(const std::string& request_id,
                        const std::string& technician_id, bool decline,
                        absl::Time t);
  // Checks that `technician_id` holds `request_id` in state `want`.
  absl::StatusOr<std::pair<ReqRec*, TechRec*>> HeldBy(
      const std::string& request_id, const std::string& technician_id,
      RequestState want);

  // --- Index maintenance (indexes.cc). ---
  // Every change to a request or technician goes through these, so the
  // indexes and KPI sums follow it.
  // The KPI sums are rebooked only where the request's contribution or
  // scope changed (remove-old + add-new of the parts that differ).
  template <typename F>
  void MutateRequest(ReqRec& r, F&& change) {
    const internal::KpiEntry kpi_before = internal::KpiEntryOf(r.pub);
    const uint32_t zone_before = r.zone;
    const int64_t tech_before = KpiTech(r);
    UnindexRequest(r, /*book=*/false);
    change(r);
    if (r.pub.state != RequestState::kQueued) r.reevaluate_at.reset();
    IndexRequest(r, /*book=*/false);
    stats_.Rebook(kpi_before, zone_before, tech_before, internal::KpiEntryOf(r.pub), r.zone,
                  KpiTech(r));
  }
  // A change that keeps t's home, location and skills (a state or job
  // change: the common case) updates only the availability sets and t's
  // entries in the on-shift lists; any other change re-indexes t whole.
  template <typename F>
  void MutateTech(TechRec& t, F&& change) {
    const TechPlace before{t.home, t.current, t.skills, t.pub.state};
    change(t);
    ClockTech(t, before.state);
    ReindexTech(t, before);
  }
  // What a technician's index entries depend on (besides its job).
  struct TechPlace {
    uint32_t home = 0;
    uint32_t current = 0;
    internal::SkillSet skills;
    TechnicianState state = TechnicianState::kOffShift;
  };
  static int64_t KpiTech(const ReqRec& r) {
    return r.tech == internal::kNoTech ? int64_t{-1} : int64_t{r.tech};
  }
  // Utilisation bookkeeping for a state change of `t` at the event's time.
  void ClockTech(TechRec& t, TechnicianState before);
  // `book`: also (un)book the request's KPI contribution.
  void IndexRequest(ReqRec& r, bool book = true);
  void UnindexRequest(ReqRec& r, bool book = true);
  void IndexTech(TechRec& t);
  // Removes t's index entries as they were made for `place` (t's on-shift
  // positions, index and id are read from t).
  void UnindexTech(TechRec& t, const TechPlace& place);
  // Re-indexes `t` after a change from `before` (see MutateTech).
  void ReindexTech(TechRec& t, const TechPlace& before);
  // Adds / removes t (located in `current`, home `home`) to / from the
  // available sets and counts.
  void IndexAvailable(TechRec& t, uint32_t home, uint32_t current, const internal::SkillSet& skills,
                      int sign);
  // Adds to `b` every available technician in `z` adequate for `r` who did
  // not decline it; returns how many.
  uint32_t AddAvailableCandidates(const ReqRec& r, const ZoneRec& z, uint32_t travel,
                                  internal::DecisionBuilder& b) const;
  // Expected free time of t's current job (TechRec::free_at).
  absl::Time FreeAt(const TechRec& t) const {
    return t.job == 0 ? absl::InfinitePast()
                      : t.busy_since + absl::Minutes(ByNumber(t.job).pub.spec.estimated_minutes);
  }
  // ZoneRec::on_shift upkeep; `slot` 0 is t's home zone, 1 its current one.
  void AddOnShift(ZoneRec& z, TechRec& t, int slot);
  void RemoveOnShift(ZoneRec& z, TechRec& t, int slot);
  // Sets t's expected free time in its on-shift entry of `z` at `slot`.
  void UpdateOnShift(ZoneRec& z, const TechRec& t, int slot);
  // t's entry at `slot`, listed in `from` before if `was`, is to be listed
  // in `to` if `is`: updated in place when both are the same zone, else
  // removed and added.
  void MoveOnShift(ZoneRec& from, ZoneRec& to, TechRec& t, int slot, bool was, bool is) {
    if (was && is && &from == &to) return UpdateOnShift(to, t, slot);
    if (was) RemoveOnShift(from, t, slot);
    if (is) AddOnShift(to, t, slot);
  }
  void SetRequestTech(ReqRec& r, uint32_t tech);
  void FreeTech(TechRec& t, absl::Time at);
  void BindTech(TechRec& t, TechnicianState s, const ReqRec& r, absl::Time at);
  void RebuildGraph() const;
  // The travel graph, rebuilt first if a zone changed since.
  const internal::ZoneGraph& graph() const {
    if (graph_dirty_) RebuildGraph();
    return graph_;
  }
  void SetReevaluate(ReqRec& r, absl::Time at);

  // --- Lookups (indexes.cc). ---
  ReqRec* Req(std::string_view request_id);
  const ReqRec* Req(std::string_view request_id) const;
  TechRec* Tech(std::string_view technician_id);
  const TechRec* Tech(std::string_view technician_id) const;
  std::optional<uint32_t> ZoneIndex(std::string_view zone_id) const;
  // Like Tech(id)->index, without reading the technician's record.
  std::optional<uint32_t> TechIndex(std::string_view technician_id) const;
  // The technicians located in `z`, by id (a scan of its members, for
  // queries and preemption; nothing on the common path needs the order).
  std::vector<uint32_t> PresentIn(const ZoneRec& z) const;
  ReqRec& ByNumber(uint32_t number) { return requests_[number - 1]; }
  const ReqRec& ByNumber(uint32_t number) const { return requests_[number - 1]; }
  // INVALID_ARGUMENT if empty, NOT_FOUND if unknown.
  absl::StatusOr<ReqRec*> GetReq(std::string_view field, std::string_view id);
  absl::StatusOr<TechRec*> GetTech(std::string_view field, std::string_view id);
  absl::StatusOr<uint32_t> GetZone(std::string_view field, std::string_view id) const;

  // --- Matching (matcher.cc, pull.cc). ---
  enum class ScanMode { kLocal, kCrossZone, kTooFar };
  // Offers a queued request to the best technician, waits, or leaves it.
  void Dispatch(ReqRec& r);
  // Dispatch's last resort: the nearest adequate technician elsewhere.
  // True if an offer was made.
  bool DispatchCrossZone(ReqRec& r, bool adequate_local_on_shift,
                         internal::DecisionBuilder& b);
  // An emergency no free technician can take: displaces the nearest
  // adequate technician on lower-urgency work whose job has been bumped
  // fewer than policy.max_preemptions_per_job times (nearest first, then
  // the least urgent job, then the least bumped), and assigns them.
  // True if it did. `b` holds the exclusions so far.
  bool Preempt(ReqRec& r, internal::DecisionBuilder& b);
  // An emergency (or urgency-emergency request) with crew_size N > 1
  // files N - 1 crew members' requests; returns their numbers.
  std::vector<uint32_t> OpenCrew(const ReqRec& lead);
  // An available technician takes the best waiting job it may, if any.
  void Pull(TechRec& t);
  // Bundling (pull.cc): `t` just completed low job `done`; in a quiet zone
  // they are offered the next waiting low job at the same place they are
  // adequate for. True if an offer was made.
  bool Bundle(TechRec& t, const ReqRec& done);
  // Scans a zone's available technicians into `b`. kLocal scans every one
  // (so exclusions are complete); the others use the set of the request's
  // rarest skill. kTooFar lists adequate ones as exclusions only.
  void ScanAvailable(const ReqRec& r, const ZoneRec& z, uint32_t travel,
                     ScanMode mode, internal::DecisionBuilder& b) const;
  // Scans the request zone's members that are not available there: notes
  // exclusions into `b` (if set), whether an adequate one is on shift, and
  // returns the busy adequate one expected free soonest.
  std::optional<Wait> ScanMembers(const ReqRec& r, absl::Time now,
                                  internal::DecisionBuilder* b,
                                  bool* adequate_on_shift) const;
  // When a busy technician should be free: start of the current job plus
  // its estimated minutes, or `now` if that has passed.
  absl::Time ExpectedFree(const TechRec& t, absl::Time now) const {
    return std::max(now, t.free_at);
  }
  // A busy local technician worth waiting for: adequate, on shift, and
  // expected free before the request's SLA deadline.
  std::optional<Wait> LocalWait(const ReqRec& r, absl::Time now) const;
  bool Declined(const ReqRec& r, const TechRec& t) const {
    if ((r.declined_bits & t.decline_bit) == 0) return false;  // Also: none declined.
    const std::vector<std::string>& d = r.pub.declined_by;
    return std::find(d.begin(), d.end(), t.pub.technician_id) != d.end();
  }
  internal::Scored ScoreFor(const ReqRec& r, const TechRec& t,
                            uint32_t travel) const;
  void MakeOffer(ReqRec& r, uint32_t tech, Decision decision);
  // `b`'s Decision for `r`: the listed exclusions' reasons are rendered
  // here (matcher.cc), not when they were noted.
  Decision Finish(const ReqRec& r, const internal::DecisionBuilder& b, std::string rule,
                  std::string detail) const;
  // The key of the job `t` should pull from requirement queue `q` of zone
  // `z` (entries up to `max_rank`), if any.
  const internal::QueueKey* FirstEligible(const internal::NeedQueue& q, const ZoneRec& z,
                                          const TechRec& t, bool own_zone,
                                          uint8_t max_rank) const;
  // When the earliest adequate on-shift member of `z` for `q`'s
  // requirement is expected free (now, if available); nullopt if none.
  // Cached in `q` until an on-shift member of `z` with all of its skills
  // changes (ZoneRec::OnShiftStamp).
  std::optional<absl::Time> LocalFree(const ZoneRec& z, const internal::NeedQueue& q) const;
  // The same, skipping those who declined `r` (a job queued in `q`);
  // cached in `q` for the last such job asked about.
  std::optional<absl::Time> EarliestLocalFree(const ZoneRec& z, const internal::NeedQueue& q,
                                              const ReqRec& r) const;
  // The earliest free_at of an on-shift member of `z` adequate for `need`
  // (and, if `r` is set, who did not decline it); InfiniteFuture if none.
  absl::Time EarliestFreeAt(const ZoneRec& z, const internal::SkillSet& need,
                            const ReqRec* r) const;
  std::string WaitingReason(const ReqRec& r, absl::Time now) const;
  std::string WaitingReasonNoSurge(const ReqRec& r, absl::Time now) const;
  // Why no one on shift can do `need`, given the best level per skill.
  std::string NobodyCan(const internal::SkillSet& on_shift,
                        const internal::SkillSet& need) const;

  // --- Materials (materials.cc). ---
  // Free units (on hand, not reserved) of `sku` at depot `zone_id`.
  int64_t FreeStock(const std::string& zone_id, const std::string& sku) const;
  int64_t FreeStockTotal(const std::string& sku) const;
  // Reservations covering `lines` from the nearest depots with free stock
  // (travel from the job's zone); units that cannot be covered go to
  // `*missing` per sku. Empty `missing` means the plan covers everything.
  std::vector<Reservation> PlanMaterials(const ReqRec& r,
                                         std::vector<MaterialLine>* missing) const;
  // At assignment (the request is kAssigned to `r.tech`): reserve its
  // materials, or put it on hold waiting for stock. Returns true when the
  // job went on hold (its technician is then free to pull).
  bool SecureMaterials(ReqRec& r);
  // Stock of `sku` arrived: serve the jobs waiting for it, in order.
  void ServeStockWaiters(const std::string& sku);
  // What completing `r` with `used` takes out of which depots.
  std::vector<Reservation> ConsumptionFor(const ReqRec& r,
                                          const std::vector<MaterialLine>& used) const;
  // Index helper: adds (sign +1) or removes (-1) a request's reservation
  // to / from the per-depot and per-sku reserved sums.
  void BookReserved(const std::vector<Reservation>& lines, int sign);
  std::string StockWaitText(const ReqRec& r) const;

  // --- Deliveries (deliveries.cc). ---
  // Emits MaterialsReserved for `r`, then plans the deliveries that carry
  // the reservation (every reservation goes through here).
  void ReserveMaterials(ReqRec& r, std::vector<Reservation> plan, std::string reason);
  // Each depot's lines of r's reservation join an open delivery to the
  // same place or open one (DeliveryPlanned); one that must not wait
  // leaves at once (DeliveryDeparted).
  void PlanDeliveries(const ReqRec& r);
  void PlanShipment(const ReqRec& r, const std::string& depot,
                    std::vector<MaterialLine> lines);
  // The open delivery a small shipment of `units` from `depot` to r's
  // place may join now (the oldest with room), if any.
  const Delivery* JoinableDelivery(const ReqRec& r, const std::string& depot,
                                   uint64_t units) const;
  // When the earliest open delivery's window closes, if any is open.
  std::optional<absl::Time> DepartureDue() const;
  // Tick: the earliest open delivery leaves (DeliveryDeparted).
  void DepartFirstDue();
  // Fold helper for a request just cancelled or completed: it comes off
  // the deliveries that have not left; an emptied one is dropped.
  void TakeOffDeliveries(ReqRec& r);
  Delivery* KeptDelivery(std::string_view delivery_id);
  // Adds / removes an open delivery to / from the open-delivery indexes.
  void IndexOpenDelivery(const Delivery& d, uint32_t number);
  void UnindexOpenDelivery(const Delivery& d, uint32_t number);
  // A departed delivery joins the kept history; the oldest beyond
  // kKeptDepartedDeliveries are dropped.
  void KeepDeparted(const Delivery& d, uint32_t number);
  // Explain: one line per delivery carrying r's materials.
  std::vector<std::string> DeliveryNotes(const ReqRec& r) const;

  // --- Surge (surge.cc). ---
  // After a command: for each zone whose queue changed (or all, after a
  // policy change), enters or leaves surge with hysteresis; on entry asks
  // the zone's on-call off-shift technicians to start a shift and
  // re-dispatches the zone's queue (waits for local technicians end).
  void UpdateSurge();
  // Why zone `z` should enter surge now ("" if it should not).
  std::string SurgeEntryReason(const ZoneRec& z) const;
  // True when zone `z`, in surge, has calmed down enough to leave it.
  bool SurgeCalm(const ZoneRec& z) const;

  // --- Timers (tick.cc). ---
  std::optional<absl::Time> AgingDue() const;
  void FireTimer(internal::TimerKey key);  // By value: firing erases it.
  void PromoteAged(ReqRec& r);
  void Sweep();

  // --- Loading an image (image.cc), in this order; each DATA_LOSS. ---
  absl::Status LoadHeader(const StateImage& image);  // Sequence, time, policy, skills.
  absl::Status LoadZones(const std::vector<Zone>& zones);
  absl::Status LoadTechnicians(const std::vector<TechnicianImage>& techs);
  // Fields of one request that must agree with each other and the
  // technicians; sets *holder to its technician's index (kNoTech: none).
  absl::Status CheckRequestShape(const RequestImage& image, uint32_t* holder) const;
  // Checks that technicians and the requests they hold name each other;
  // sets TechRec::job.
  absl::Status LinkHolders();
  absl::Status LoadStock(const std::vector<StockLevel>& stock);
  absl::Status LoadAlerts(const std::vector<AlertImage>& alerts);
  // A request's reservation matches its materials; a wait for stock only
  // on hold and without one.
  absl::Status CheckMaterialsShape(const Request& r) const;
  // After indexing: the reserved units per depot the image lists equal
  // what its requests hold, and do not exceed what is on hand.
  absl::Status CheckReserved(const std::vector<StockLevel>& stock) const;
  // Deliveries (deliveries.cc): after requests; checks every delivery and
  // each request's delivery_ids, and rebuilds the delivery indexes.
  absl::Status LoadDeliveries(const StateImage& image);
  absl::Status CheckDelivery(const Delivery& d, size_t i) const;

  // --- Query helpers. ---
  std::vector<const Request*> QueuedInOrder(const ZoneRec& z, size_t limit) const;
  void AppendShortages(const ReqRec& r, std::vector<Shortage>& out) const;

  // Constant after construction.
  const Clock* const clock_;

  // The time of the event being folded (valid inside Fold).
  absl::Time fold_time_;

  // Handle context: valid only inside Handle.
  absl::Time now_;
  Outcome* outcome_ = nullptr;

  // Applied state.
  uint64_t last_sequence_ = 0;
  absl::Time last_event_time_ = absl::UnixEpoch();
  bool sweep_pending_ = false;
  Policy policy_;
  internal::SkillRegistry skills_;
  mutable internal::ZoneGraph graph_;  // Derived from zones_; see graph().
  mutable bool graph_dirty_ = false;
  std::deque<ZoneRec> zones_;  // By zone index (order of creation).
  internal::StringMap<uint32_t> zone_index_;
  absl::btree_map<std::string, uint32_t> zones_by_id_;
  std::deque<TechRec> techs_;  // By technician index.
  internal::TechIdIndex tech_index_{&techs_};
  absl::btree_map<std::string, uint32_t> techs_by_id_;
  std::deque<ReqRec> requests_;  // By request number - 1.
  // Requests by idempotency key (reads keys through requests_, declared
  // before it; State never moves: Engine holds it by pointer).
  internal::IdempotencyIndex idempotency_{&requests_};
  internal::StringMap<internal::AlertRec> alerts_;
  absl::btree_map<std::pair<std::string, std::string>, int64_t> stock_;
  internal::StringMap<int64_t> stock_total_;  // By sku.
  // Units reserved per (depot, sku) and per sku; derived from requests.
  absl::btree_map<std::pair<std::string, std::string>, int64_t> stock_reserved_;
  internal::StringMap<int64_t> reserved_total_;
  // Jobs on hold waiting for stock, per sku they need, in serving order.
  absl::btree_map<std::string, absl::btree_set<internal::StockWaitKey>> stock_waiters_;
  // Completed requests per asset tag, by (completion time, number).
  absl::btree_map<std::string, absl::btree_set<std::pair<absl::Time, uint32_t>>> assets_;
  absl::btree_set<uint32_t> material_requests_;  // Open, needing materials.
  uint64_t queued_total_ = 0;
  // Zones whose queue changed since the last UpdateSurge (derived), each
  // once (ZoneRec::surge_dirty), in no order: usually one or two, so a
  // vector, not a set that allocates a node per command.
  std::vector<uint32_t> surge_dirty_;
  void MarkSurgeDirty(ZoneRec& z) {
    if (z.surge_dirty) return;
    z.surge_dirty = true;
    surge_dirty_.push_back(z.index);
  }
  internal::TimerSet timers_;
  absl::btree_set<std::pair<absl::Time, uint32_t>> aging_;  // (base, number)
  internal::StatsBook stats_;
  // While an image loads: the KPI contributions of the requests loaded
  // and not yet booked for their technicians (LoadRequests books them in
  // batches, LoadRest the last).
  std::vector<internal::KpiBooking> loaded_kpis_;

  // Deliveries: open ones and the last kKeptDepartedDeliveries departed,
  // by number; the last number handed out (ids are never reused).
  absl::btree_map<uint32_t, Delivery> deliveries_;
  uint32_t last_delivery_number_ = 0;
  // Derived: open deliveries per place, by number; open ones by (departs_at,
  // number); kept departed ones by (departed_at, number).
  absl::btree_map<internal::DeliveryPlace, absl::btree_set<uint32_t>> open_deliveries_;
  absl::btree_set<std::pair<absl::Time, uint32_t>> departures_;
  absl::btree_set<std::pair<absl::Time, uint32_t>> departed_;
};

}  // namespace dispatchd::engine

#endif  // DISPATCHD_ENGINE_INTERNAL_STATE_H_
