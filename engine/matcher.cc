// The push side of matching: one queued request looks for its technician.
//
//   1. zone-first: the best adequate available technician in the request's
//      own zone (least over-qualified, fewest skills, longest available).
//   2. wait: else, if an adequate local technician is busy but expected free
//      before the SLA deadline, the request waits for them (re-evaluated at
//      that time, and again at the deadline).
//   3. cross-zone: else the best adequate available technician in another
//      zone within policy.cross_zone_max_travel_minutes, nearest first.
//   4. else it stays queued; a technician who becomes free will pull it.
// An emergency skips the wait: free technicians within reach (1, 3) first,
// then preemption of the nearest technician on less urgent work, and only
// then a wait for a local technician.
//
// Cost: candidates come from the zone's dense list of available
// technicians (skill masks tested first, no technician record loaded);
// exclusions are listed in technician order until the Decision's list is
// full and the rest are counted, not visited; the wait reads the zone's
// dense on-shift list (expected free times kept by IndexTech), and the
// pull side's wait test a cache of it kept with each requirement queue
// (LocalFree).
#include <algorithm>
#include <bit>
#include <optional>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "engine/internal/state.h"

namespace dispatchd::engine {
namespace {

std::string ClockText(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d %H:%M", t, absl::UTCTimeZone());
}

}  // namespace

using internal::DecisionBuilder;
using internal::Scored;

namespace {

// How technician `tech` (with `skills`, available since `since`) scores for
// `r` at `travel` minutes.
Scored ScoreOf(const internal::ReqRec& r, uint32_t tech, const internal::SkillSet& skills,
               absl::Time since, const std::string* id, uint32_t travel) {
  const uint32_t over = internal::Overqualification(skills, r.need);
  return {tech, travel, over, internal::Score(travel, over, skills.count()), since, id};
}

}  // namespace

Scored Engine::State::ScoreFor(const ReqRec& r, const TechRec& t,
                               uint32_t travel) const {
  return ScoreOf(r, t.index, t.skills, t.available_since, &t.pub.technician_id, travel);
}

void Engine::State::ScanAvailable(const ReqRec& r, const ZoneRec& z,
                                  uint32_t travel, ScanMode mode,
                                  DecisionBuilder& b) const {
  // The set scanned: the available technicians with the request's rarest
  // skill (`rare_bit`; -1: all of them), `set_size` of them.
  int rare_bit = -1;
  size_t set_size = z.available.size();
  for (uint64_t m = r.need.mask(); m != 0; m &= m - 1) {
    const int bit = std::countr_zero(m);
    if (z.available_by_skill[bit] < set_size) {
      set_size = z.available_by_skill[bit];
      rare_bit = bit;
    }
  }
  if (mode == ScanMode::kLocal) {
    // Every available technician here is a candidate (adequate, did not
    // decline) or an exclusion. The candidates come from the zone's dense
    // list (the builder's order is total, so the visiting order does not
    // matter); the exclusions are listed in technician order until the
    // list is full, and the rest only counted. Same result as walking them
    // all.
    const uint32_t candidates = AddAvailableCandidates(r, z, travel, true, b);
    uint32_t excluded = 0;
    for (auto it = z.available.begin(); it != z.available.end() && !b.exclusions_full(); ++it) {
      const TechRec& t = techs_[*it];
      if (Declined(r, t)) {
        b.AddExclusion(t.pub.technician_id, [] { return std::string("declined this job"); });
      } else if (!internal::Covers(t.skills, r.need)) {
        b.AddExclusion(t.pub.technician_id,
                       [&] { return internal::Shortfall(t.skills, r.need, skills_); });
      } else {
        continue;
      }
      ++excluded;
    }
    b.OmitExclusions(static_cast<uint32_t>(z.available.size()) - candidates - excluded);
    return;
  }
  if (b.exclusions_full()) {
    // Exclusions are only counted from here on: each of the `set_size`
    // technicians with the rarest skill is a candidate (adequate, did not
    // decline, within reach) or one.
    const uint32_t candidates =
        mode == ScanMode::kCrossZone ? AddAvailableCandidates(r, z, travel, true, b) : 0;
    b.OmitExclusions(static_cast<uint32_t>(set_size) - candidates);
    return;
  }
  for (uint32_t index : z.available) {
    const TechRec& t = techs_[index];
    if (rare_bit >= 0 && ((t.skills.mask() >> rare_bit) & 1) == 0) continue;
    const std::string& id = t.pub.technician_id;
    if (Declined(r, t)) {
      b.AddExclusion(id, [] { return std::string("declined this job"); });
    } else if (!internal::Covers(t.skills, r.need)) {
      b.AddExclusion(id, [&] { return internal::Shortfall(t.skills, r.need, skills_); });
    } else if (mode == ScanMode::kTooFar) {
      b.AddExclusion(id, [&] {
        return absl::StrCat("too far: ", travel, " min > ",
                            policy_.cross_zone_max_travel_minutes);
      });
    } else {
      b.AddCandidate(ScoreFor(r, t, travel));
    }
  }
}

uint32_t Engine::State::AddAvailableCandidates(const ReqRec& r, const ZoneRec& z, uint32_t travel,
                                               bool skip_declined, DecisionBuilder& b) const {
  const uint64_t need_mask = r.need.mask();
  const bool declines = skip_declined && !r.pub.declined_by.empty();
  uint32_t candidates = 0;
  for (size_t i = 0; i < z.available_list.size(); ++i) {
    if ((z.available_masks[i] & need_mask) != need_mask) continue;
    const internal::AvailableTech& a = z.available_list[i];
    if (!internal::Covers(a.skills, r.need)) continue;
    const TechRec& t = techs_[a.tech];
    if (declines && Declined(r, t)) continue;
    b.AddCandidate(ScoreOf(r, a.tech, a.skills, a.since, &t.pub.technician_id, travel));
    ++candidates;
  }
  return candidates;
}

std::optional<Engine::State::Wait> Engine::State::ScanMembers(
    const ReqRec& r, absl::Time now, DecisionBuilder* b,
    bool* adequate_on_shift) const {
  std::optional<Wait> wait;
  const ZoneRec& z = zones_[r.zone];
  // Every member not available is an exclusion: list them in technician
  // order while the list has room, count the rest. The wait comes from
  // the zone's on-shift list (busy: a job, so free_at is set), leaving out
  // those who declined r; ties go to the lowest technician index, as in a
  // walk in member order.
  if (b != nullptr) {
    uint32_t seen = 0;
    for (auto it = z.members.begin(); it != z.members.end() && !b->exclusions_full(); ++it) {
      const TechRec& t = techs_[*it];
      if (t.pub.state == TechnicianState::kAvailable) continue;  // Scanned.
      ++seen;
      if (t.pub.state == TechnicianState::kOffShift) {
        b->AddExclusion(t.pub.technician_id, [] { return std::string("off shift"); });
      } else if (Declined(r, t)) {
        b->AddExclusion(t.pub.technician_id, [] { return std::string("declined this job"); });
      } else if (!internal::Covers(t.skills, r.need)) {
        b->AddExclusion(t.pub.technician_id,
                        [&] { return internal::Shortfall(t.skills, r.need, skills_); });
      } else {
        b->AddExclusion(t.pub.technician_id,
                        [&] { return absl::StrCat("busy with ", t.pub.request_id); });
      }
    }
    b->OmitExclusions(static_cast<uint32_t>(z.members.size()) - z.available_members - seen);
  }
  const uint64_t need_mask = r.need.mask();
  for (size_t i = 0; i < z.on_shift.size(); ++i) {
    if ((z.on_shift_masks[i] & need_mask) != need_mask) continue;
    const internal::OnShiftMember& m = z.on_shift[i];
    if (m.free_at == absl::InfinitePast() || !internal::Covers(m.skills, r.need)) continue;
    if ((r.declined_bits & m.decline_bit) != 0 && Declined(r, techs_[m.tech])) continue;
    *adequate_on_shift = true;
    const absl::Time free = std::max(now, m.free_at);
    if (!wait || free < wait->expected_free ||
        (free == wait->expected_free && m.tech < wait->tech)) {
      wait = Wait{m.tech, free};
    }
  }
  return wait;
}

namespace {

// max(now, min): min over members of max(now, free_at) = max(now, min
// free_at), so the minimum, which does not depend on `now`, is what is
// cached. InfiniteFuture: no adequate member (nullopt).
std::optional<absl::Time> FreeFrom(absl::Time min, absl::Time now) {
  if (min == absl::InfiniteFuture()) return std::nullopt;
  return std::max(now, min);
}

}  // namespace

absl::Time Engine::State::EarliestFreeAt(const ZoneRec& z, const internal::SkillSet& need,
                                         const ReqRec* r) const {
  // The zone's on-shift members (busy, or available: free now, as several
  // released at once pull in turn), adequate and not among those who
  // declined r; a technician's record is read only if its decline bit is
  // set in r's.
  absl::Time earliest = absl::InfiniteFuture();
  const uint64_t need_mask = need.mask();
  for (size_t i = 0; i < z.on_shift.size(); ++i) {
    if ((z.on_shift_masks[i] & need_mask) != need_mask) continue;
    const internal::OnShiftMember& m = z.on_shift[i];
    if (m.free_at >= earliest || !internal::Covers(m.skills, need)) continue;
    if (r != nullptr && (r->declined_bits & m.decline_bit) != 0 &&
        Declined(*r, techs_[m.tech])) {
      continue;
    }
    earliest = m.free_at;
  }
  return earliest;
}

std::optional<absl::Time> Engine::State::LocalFree(const ZoneRec& z,
                                                   const internal::NeedQueue& q) const {
  // Kept with the queue until an on-shift member of the zone with all of
  // the requirement's skills changes.
  const uint64_t stamp = z.OnShiftStamp(q.need.mask());
  if (q.free_version != stamp) {
    q.free_min = EarliestFreeAt(z, q.need, nullptr);
    q.free_version = stamp;
  }
  return FreeFrom(q.free_min, now_);
}

std::optional<absl::Time> Engine::State::EarliestLocalFree(const ZoneRec& z,
                                                           const internal::NeedQueue& q,
                                                           const ReqRec& r) const {
  // Kept with the queue for the last job asked about (usually its head)
  // and its number of decliners, as long as LocalFree's.
  const uint32_t declines = static_cast<uint32_t>(r.pub.declined_by.size());
  const uint64_t stamp = z.OnShiftStamp(q.need.mask());
  if (q.declined_version != stamp || q.declined_number != r.number ||
      q.declined_count != declines) {
    q.declined_min = EarliestFreeAt(z, q.need, &r);
    q.declined_version = stamp;
    q.declined_number = r.number;
    q.declined_count = declines;
  }
  return FreeFrom(q.declined_min, now_);
}

std::optional<Engine::State::Wait> Engine::State::LocalWait(const ReqRec& r,
                                                            absl::Time now) const {
  bool adequate = false;
  std::optional<Wait> wait = ScanMembers(r, now, nullptr, &adequate);
  if (wait && wait->expected_free < r.pub.sla_deadline) return wait;
  return std::nullopt;
}

void Engine::State::MakeOffer(ReqRec& r, uint32_t tech, Decision decision) {
  Emit(ev::OfferMade{r.pub.request_id, techs_[tech].pub.technician_id,
                     now_ + absl::Seconds(policy_.offer_timeout_seconds),
                     std::move(decision)});
}

void Engine::State::Dispatch(ReqRec& r) {
  if (r.pub.state != RequestState::kQueued) return;
  DecisionBuilder b;
  const std::string& zone_id = r.pub.spec.zone_id;
  ScanAvailable(r, zones_[r.zone], 0, ScanMode::kLocal, b);
  bool adequate_on_shift = b.best() != nullptr;
  const std::optional<Wait> wait = ScanMembers(r, now_, &b, &adequate_on_shift);
  if (const Scored* best = b.best()) {
    MakeOffer(r, best->tech, b.Build("zone-first", absl::StrCat(
        "Offered to ", *best->technician_id, ", the least over-qualified of ",
        b.candidate_count(), " adequate technician(s) available in zone ",
        zone_id, " (overqualification ", best->overqualification, ").")));
    return;
  }
  // In surge, nobody waits for a busy local technician (see surge.cc).
  const bool surge = zones_[r.zone].surge;
  const bool can_wait = !surge && wait && wait->expected_free < r.pub.sla_deadline;
  if (r.pub.effective_urgency == Urgency::kEmergency) {
    // Free technicians anywhere within reach first, then preemption; an
    // emergency waits for a local technician only if neither works.
    if (DispatchCrossZone(r, adequate_on_shift, b) || Preempt(r, b)) return;
  } else if (!can_wait) {
    DispatchCrossZone(r, adequate_on_shift, b);
    return;
  }
  if (can_wait) {
    SetReevaluate(r, wait->expected_free > now_ ? wait->expected_free
                                                : r.pub.sla_deadline);
  }
}

bool Engine::State::Preempt(ReqRec& r, DecisionBuilder& b) {
  if (!policy_.preemption_enabled) return false;
  struct Pick {
    uint32_t travel;
    int less_urgent;  // Minus the displaced job's rank: least urgent first.
    uint32_t bumps;
    uint32_t tech;
    auto Key() const { return std::tie(travel, less_urgent, bumps, tech); }
  };
  std::optional<Pick> best;
  for (const internal::Reach& reach : graph().Nearest(r.zone)) {
    if (reach.zone != r.zone &&
        reach.travel_minutes > policy_.cross_zone_max_travel_minutes) {
      break;
    }
    if (best && reach.travel_minutes > best->travel) break;  // Nearest first.
    for (uint32_t index : PresentIn(zones_[reach.zone])) {
      const TechRec& t = techs_[index];
      if (t.job == 0 || Declined(r, t) || !internal::Covers(t.skills, r.need)) continue;
      const Request& job = ByNumber(t.job).pub;
      if (job.effective_urgency == Urgency::kEmergency) continue;
      if (job.preemptions >= policy_.max_preemptions_per_job) {
        b.AddExclusion(t.pub.technician_id, [&] {
          return absl::StrCat("on ", job.request_id, ", already bumped ", job.preemptions,
                              " time(s) (max ", policy_.max_preemptions_per_job, ")");
        });
        continue;
      }
      const Pick pick{reach.travel_minutes, -int{internal::RankOf(job.effective_urgency)},
                      job.preemptions, index};
      if (!best || pick.Key() < best->Key()) best = pick;
    }
  }
  if (!best) return false;
  TechRec& t = techs_[best->tech];
  ReqRec& displaced = ByNumber(t.job);
  const std::string job_id = displaced.pub.request_id;
  const std::string& what = r.pub.spec.category.empty() ? r.pub.request_id : r.pub.spec.category;
  Emit(ev::RequestPreempted{job_id, t.pub.technician_id, r.pub.request_id,
                            absl::StrCat("preempted by emergency ", r.pub.request_id, " (",
                                         what, ") in zone ", r.pub.spec.zone_id)});
  b.AddCandidate(ScoreFor(r, t, best->travel));  // No free one was found: the only one.
  Decision d = b.Build(
      "emergency: preemption",
      absl::StrCat("No free adequate technician within ", policy_.cross_zone_max_travel_minutes,
                   " min; took ", t.pub.technician_id, " off ", job_id, " (bumped ",
                   displaced.pub.preemptions, " of at most ", policy_.max_preemptions_per_job,
                   " times), ", best->travel, " min away, the nearest on less urgent work."));
  Emit(ev::RequestAssigned{r.pub.request_id, t.pub.technician_id,
                           absl::StrCat("emergency: took ", t.pub.technician_id, " off ", job_id),
                           "", std::move(d)});
  SecureMaterials(r);
  Dispatch(displaced);
  return true;
}

bool Engine::State::DispatchCrossZone(ReqRec& r, bool adequate_local_on_shift,
                                      DecisionBuilder& b) {
  const uint32_t max_travel = policy_.cross_zone_max_travel_minutes;
  for (const internal::Reach& reach : graph().Nearest(r.zone)) {
    if (reach.zone == r.zone) continue;
    const bool too_far = reach.travel_minutes > max_travel;
    const Scored* best = b.best();
    if (!too_far && best != nullptr && best->travel_minutes < reach.travel_minutes) {
      continue;  // Cannot beat the best; on to the first zone past the limit.
    }
    ScanAvailable(r, zones_[reach.zone], reach.travel_minutes,
                  too_far ? ScanMode::kTooFar : ScanMode::kCrossZone, b);
    if (too_far) break;  // One zone past the limit, for the record.
  }
  const Scored* best = b.best();
  if (best == nullptr) return false;
  const TechRec& t = techs_[best->tech];
  const std::string& zone_id = r.pub.spec.zone_id;
  const ZoneRec& home = zones_[r.zone];
  std::string detail =
      home.surge
          ? absl::StrCat("Zone ", zone_id, " is in surge (", home.QueuedTotal(),
                         " queued, ", home.at_risk, " with SLA at risk): cross-zone "
                         "support without waiting for local technicians; ")
      : adequate_local_on_shift
          ? absl::StrCat("Adequate technicians in zone ", zone_id,
                         " are busy past the SLA deadline ",
                         ClockText(r.pub.sla_deadline), "; ")
          : absl::StrCat("No adequate technician available or on shift in zone ",
                         zone_id, "; ");
  absl::StrAppend(&detail, "offered to ", t.pub.technician_id, " in zone ",
                  t.pub.current_zone_id, ", ", best->travel_minutes, " min away.");
  MakeOffer(r, best->tech,
            b.Build(home.surge                ? "cross-zone: surge"
                    : adequate_local_on_shift ? "cross-zone: SLA at risk"
                                              : "cross-zone: no local match",
                    std::move(detail)));
  return true;
}

}  // namespace dispatchd::engine
