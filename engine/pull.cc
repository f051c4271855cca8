// The pull side of matching: a technician who has just become free takes
// the best waiting job they are adequate for and have not declined.
//
// Order: most urgent effective class first; within a class the own zone,
// then nearer zones; then key departments; then earliest SLA deadline; then
// lowest request id.
// Jobs in other zones qualify only within cross_zone_max_travel_minutes and
// only when no adequate local technician is expected free in time for them
// (the same test the push side uses before going cross-zone).
//
// Cost: zones in travel order up to the limit; in each, only requirement
// queues whose skill mask is a subset of the technician's, found by
// enumerating those subsets (7 for three skills) when the zone has more
// masks than that, each probed only if the zone's mask filter says it may
// be there. The local-wait test of a cross-zone queue reads the
// zone's cached earliest free time per requirement (matcher.cc).
//
// Bundling (Bundle, tried first after a completion): in a quiet zone, the
// next waiting low job at the place the technician just finished a low job
// (see README, Bundling); one lookup in the zone's low-jobs-per-location.
#include <bit>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "engine/internal/state.h"

namespace dispatchd::engine {

const internal::QueueKey* Engine::State::FirstEligible(
    const internal::Queue& queue, const internal::SkillSet& need, uint32_t zone,
    const TechRec& t, bool own_zone, uint8_t max_rank) const {
  // Only the keys are read (rank, deadline, number, whether declined),
  // and the record only of a job someone declined.
  const bool no_wait = own_zone || zones_[zone].surge;  // Surge: no local wait.
  // Cross-zone only: when the zone's adequate busy technicians are expected
  // free (the same for the whole queue, barring declines); computed once.
  std::optional<std::optional<absl::Time>> local_free;
  for (auto it = queue.begin(); it != queue.end() && it->rank <= max_rank;) {
    const ReqRec* declined = it->declined ? &ByNumber(it->number) : nullptr;
    if (declined != nullptr && Declined(*declined, t)) {
      ++it;
      continue;
    }
    if (no_wait) return &*it;
    std::optional<absl::Time> free;
    if (declined == nullptr) {
      if (!local_free) local_free = EarliestLocalFree(zone, need, nullptr, now_);
      free = *local_free;
    } else {
      free = EarliestLocalFree(zone, need, declined, now_);
    }
    if (!free || *free >= it->deadline) return &*it;
    // It waits for a local technician; so do the later deadlines of its
    // class. Skip to the next class.
    it = queue.lower_bound(internal::QueueKey{
        static_cast<uint8_t>(it->rank + 1), 0, absl::InfinitePast(), 0});
  }
  return nullptr;
}

bool Engine::State::Bundle(TechRec& t, const ReqRec& done) {
  if (!policy_.bundling_enabled || t.pub.state != TechnicianState::kAvailable ||
      done.pub.effective_urgency != Urgency::kLow || done.pub.spec.location.empty() ||
      t.current != done.zone) {
    return false;
  }
  const ZoneRec& z = zones_[done.zone];
  // Quiet: not in surge, and only low-urgency jobs wait in the zone.
  const uint32_t low_queued = z.queued_counts[static_cast<int>(Urgency::kLow) - 1];
  if (z.surge || z.QueuedTotal() != low_queued) return false;
  auto at = z.low_by_location.find(done.pub.spec.location);
  if (at == z.low_by_location.end()) return false;
  for (const internal::QueueKey& key : at->second) {
    ReqRec& r = ByNumber(key.number);
    if (Declined(r, t) || !internal::Covers(t.skills, r.need)) continue;
    const std::string& place = r.pub.spec.location;
    Emit(ev::RequestsBundled{r.pub.request_id, done.pub.request_id, t.pub.technician_id,
                             absl::StrCat("same place (", r.pub.spec.zone_id, ", ", place,
                                          "), low urgency, quiet zone")});
    internal::DecisionBuilder b;
    b.AddCandidate(ScoreFor(r, t, 0));
    MakeOffer(r, t.index,
              b.Build("bundle", absl::StrCat("Bundled with ", done.pub.request_id, ": ",
                                             t.pub.technician_id, " just finished it at ",
                                             place, " in zone ", r.pub.spec.zone_id,
                                             ", a quiet zone; one visit for both.")));
    return true;
  }
  return false;
}

absl::Status Engine::State::On(const ev::RequestsBundled& e, absl::Time) {
  ASSIGN_OR_RETURN(const ReqRec* r, GetReq("request_id", e.request_id));
  RETURN_IF_ERROR(GetReq("with_request_id", e.with_request_id).status());
  RETURN_IF_ERROR(GetTech("technician_id", e.technician_id).status());
  if (r->pub.state != RequestState::kQueued) {
    return absl::FailedPreconditionError(
        absl::StrCat("request ", e.request_id, " is not queued: cannot be bundled"));
  }
  return absl::OkStatus();
}

void Engine::State::Pull(TechRec& t) {
  if (t.pub.state != TechnicianState::kAvailable) return;
  // The best so far: its queue key (rank, tier, deadline, number) and travel.
  const internal::QueueKey* best = nullptr;
  uint32_t best_travel = 0;
  const uint64_t have = t.skills.mask();
  const int have_count = std::popcount(have);
  for (const internal::Reach& reach : graph().Nearest(t.current)) {
    const bool own = reach.zone == t.current;
    if (!own && reach.travel_minutes > policy_.cross_zone_max_travel_minutes) break;
    // Farther away, only a strictly more urgent class can still win.
    int max_rank = internal::RankOf(Urgency::kLow);
    if (best != nullptr) max_rank = best->rank - (reach.travel_minutes > best_travel);
    if (max_rank < 0) break;
    const ZoneRec& z = zones_[reach.zone];
    // Nothing queued here at rank <= max_rank (effective urgency >=
    // kUrgencyCount - max_rank): skip the zone.
    uint32_t eligible = 0;
    for (int u = kUrgencyCount - max_rank; u <= kUrgencyCount; ++u) {
      eligible += z.queued_counts[u - 1];
    }
    if (eligible == 0) continue;
    const internal::ZoneQueues& queues = z.queues;
    // The best job of each requirement queue t covers. Which queue is
    // visited first does not matter: the comparison is a total order.
    auto visit = [&](const absl::btree_map<internal::SkillSet, internal::Queue>& by_need) {
      for (const auto& [need, queue] : by_need) {
        if (queue.begin()->rank > max_rank || !internal::Covers(t.skills, need)) continue;
        const internal::QueueKey* k =
            FirstEligible(queue, need, reach.zone, t, own, static_cast<uint8_t>(max_rank));
        if (k == nullptr) continue;
        if (best == nullptr ||
            std::tie(k->rank, reach.travel_minutes, k->tier, k->deadline, k->number) <
                std::tie(best->rank, best_travel, best->tier, best->deadline, best->number)) {
          best = k;
          best_travel = reach.travel_minutes;
        }
      }
    };
    if (have_count < 16 && (size_t{1} << have_count) <= queues.size()) {
      // The masks t covers are the subsets of its own: look each up.
      // The zone's mask filter skips most absent masks without a probe.
      for (uint64_t sub = have;; sub = (sub - 1) & have) {
        if (z.MaskMayBeQueued(sub)) {
          if (auto at = queues.find(sub); at != queues.end()) visit(at->second);
        }
        if (sub == 0) break;
      }
    } else {
      for (const auto& [mask, by_need] : queues) {
        if ((mask & ~have) == 0) visit(by_need);
      }
    }
  }
  if (best == nullptr) return;
  ReqRec& r = ByNumber(best->number);
  internal::DecisionBuilder b;
  b.AddCandidate(ScoreFor(r, t, best_travel));
  const bool own = r.zone == t.current;
  const bool surge = !own && zones_[r.zone].surge;
  std::string detail = absl::StrCat(
      t.pub.technician_id, " became free in zone ", t.pub.current_zone_id,
      " and took the most urgent waiting job it can do",
      own     ? " there"
      : surge ? absl::StrCat(", in zone ", r.pub.spec.zone_id, " ", best_travel,
                             " min away: that zone is in surge")
              : absl::StrCat(", in zone ", r.pub.spec.zone_id, " ", best_travel,
                             " min away: no adequate local "
                             "technician is expected free in time"),
      ".");
  MakeOffer(r, t.index,
            b.Build(own     ? "pull: zone-first"
                    : surge ? "pull: cross-zone (surge)"
                            : "pull: cross-zone",
                    std::move(detail)));
}

}  // namespace dispatchd::engine
