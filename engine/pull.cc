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
// Cost: zones in travel order up to the limit, skipping those with nothing
// queued in a class that could still win; in each, one scan of the zone's
// requirement masks (a dense array, ZoneQueues), and for a requirement the
// technician covers its inline head key, which settles it unless someone
// declined that job or it waits for a local technician. The local-wait test
// of a cross-zone queue reads the earliest free time cached with the queue
// (LocalFree, matcher.cc).
//
// Bundling (Bundle, tried first after a completion): in a quiet zone, the
// next waiting low job at the place the technician just finished a low job
// (see README, Bundling); one lookup in the zone's low-jobs-per-location.
#include <bit>
#include <tuple>

#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "engine/internal/state.h"

namespace dispatchd::engine {

const internal::QueueKey* Engine::State::FirstEligible(const internal::NeedQueue& q,
                                                       const ZoneRec& z, const TechRec& t,
                                                       bool own_zone, uint8_t max_rank) const {
  // Only the keys are read (rank, deadline, number, who declined), and the
  // record only of a job t's decline bit says it may have declined, or
  // (cross-zone) of a job someone declined. The inline head first, then,
  // past it, the queue itself.
  const bool no_wait = own_zone || z.surge;  // Surge: no local wait.
  const internal::QueueKey* key = &q.head;
  internal::Queue::const_iterator it;  // At *key once past the head.
  bool at_head = true;
  auto next = [&](internal::Queue::const_iterator to) -> const internal::QueueKey* {
    it = to;
    at_head = false;
    return it != q.queue.end() && it->rank <= max_rank ? &*it : nullptr;
  };
  while (key != nullptr) {
    if ((key->declined_bits & t.decline_bit) != 0 && Declined(ByNumber(key->number), t)) {
      key = next(at_head ? std::next(q.queue.begin()) : std::next(it));
      continue;
    }
    if (no_wait) return key;
    // Cross-zone only: when the zone's adequate busy technicians are
    // expected free (the same for the whole queue, barring declines).
    const std::optional<absl::Time> free =
        key->declined_bits == 0 ? LocalFree(z, q)
                                : EarliestLocalFree(z, q, ByNumber(key->number));
    if (!free || *free >= key->deadline) return key;
    // It waits for a local technician; so do the later deadlines of its
    // class. Skip to the next class.
    if (key->rank >= max_rank) return nullptr;
    key = next(q.queue.lower_bound(internal::QueueKey{
        static_cast<uint8_t>(key->rank + 1), 0, absl::InfinitePast(), 0}));
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
  const std::vector<internal::Reach>& nearest = graph().Nearest(t.current);
  // The zones in reach are known up front: start loading the line Pull
  // reads first of each (counts, surge, where the masks are) at once,
  // rather than one cache miss after another.
  for (const internal::Reach& reach : nearest) {
    if (reach.zone != t.current &&
        reach.travel_minutes > policy_.cross_zone_max_travel_minutes) {
      break;
    }
    __builtin_prefetch(&zones_[reach.zone].queued_counts);
  }
  // Positions of the requirement queues of one zone that t's mask covers.
  absl::InlinedVector<uint32_t, 16> covered;
  for (const internal::Reach& reach : nearest) {
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
    // The best job of each requirement queue t covers: a scan of the
    // zone's requirement masks; which queue comes first does not matter
    // (the comparison is a total order).
    // The queues are loaded together (prefetched while the masks are
    // scanned), then read.
    const internal::ZoneQueues& queues = z.queues;
    const uint64_t* masks = queues.masks();
    covered.clear();
    for (uint32_t i = 0, n = static_cast<uint32_t>(queues.size()); i < n; ++i) {
      if ((masks[i] & ~have) != 0) continue;
      covered.push_back(i);
      __builtin_prefetch(&queues[i]);
    }
    for (uint32_t i : covered) {
      const internal::NeedQueue& q = queues[i];
      if (q.head.rank > max_rank || !internal::Covers(t.skills, q.need)) continue;
      const internal::QueueKey* k =
          FirstEligible(q, z, t, own, static_cast<uint8_t>(max_rank));
      if (k == nullptr) continue;
      if (best == nullptr ||
          std::tie(k->rank, reach.travel_minutes, k->tier, k->deadline, k->number) <
              std::tie(best->rank, best_travel, best->tier, best->deadline, best->number)) {
        best = k;
        best_travel = reach.travel_minutes;
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
