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
// exclusions are the lowest technician indices of the rest of that list
// (technician order) until the Decision's list is full, and the rest are
// counted; only listed ones' records are read, and their reasons are
// rendered only if the dispatch builds a Decision (Finish); the wait reads the zone's
// dense on-shift list (expected free times kept by IndexTech), and the
// pull side's wait test a cache of it kept with each requirement queue
// (LocalFree).
#include <algorithm>
#include <array>
#include <bit>
#include <optional>
#include <tuple>

#include "absl/container/inlined_vector.h"
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

namespace {

// The `room` lowest technician indices offered to it, in order, and how
// many were offered: the first exclusions a walk in technician order would
// list, without the walk.
class LowestTechs {
 public:
  explicit LowestTechs(size_t room) : room_(room) {}
  void Offer(uint32_t tech) {
    ++count_;
    if (room_ == 0) return;
    if (size_ == room_) {
      if (tech > techs_[size_ - 1]) return;
      --size_;
    }
    size_t at = size_;
    while (at > 0 && techs_[at - 1] > tech) {
      techs_[at] = techs_[at - 1];
      --at;
    }
    techs_[at] = tech;
    ++size_;
  }
  const uint32_t* begin() const { return techs_.data(); }
  const uint32_t* end() const { return techs_.data() + size_; }
  uint32_t count() const { return count_; }
  uint32_t listed() const { return static_cast<uint32_t>(size_); }

 private:
  size_t room_;
  size_t size_ = 0;
  uint32_t count_ = 0;
  std::array<uint32_t, Decision::kMaxListed> techs_{};
};

}  // namespace

void Engine::State::ScanAvailable(const ReqRec& r, const ZoneRec& z,
                                  uint32_t travel, ScanMode mode,
                                  DecisionBuilder& b) const {
  // The set scanned: the available technicians with the request's rarest
  // skill (`rare_bit`; -1: all of them), `set_size` of them.
  int rare_bit = -1;
  size_t set_size = z.available_list.size();
  for (uint64_t m = r.need.mask(); m != 0; m &= m - 1) {
    const int bit = std::countr_zero(m);
    if (z.available_by_skill[bit] < set_size) {
      set_size = z.available_by_skill[bit];
      rare_bit = bit;
    }
  }
  if (b.exclusions_full() && mode != ScanMode::kLocal) {
    // Exclusions are only counted from here on: each of the `set_size`
    // technicians with the rarest skill is a candidate (adequate, did not
    // decline, within reach) or one.
    const uint32_t candidates =
        mode == ScanMode::kCrossZone ? AddAvailableCandidates(r, z, travel, b) : 0;
    b.OmitExclusions(static_cast<uint32_t>(set_size) - candidates);
    return;
  }
  // kLocal: every available technician here is a candidate (adequate, did
  // not decline) or an exclusion; otherwise those with the rarest skill,
  // and kTooFar makes every one an exclusion. All come from the zone's
  // dense list (the builder's order is total, so the visiting order does
  // not matter); the exclusions listed are the lowest technician indices
  // (technician order), the rest only counted: the same result as walking
  // them in technician order, without loading a technician record per entry.
  const uint64_t need_mask = r.need.mask();
  const uint64_t rare_mask = rare_bit >= 0 && mode != ScanMode::kLocal ? uint64_t{1} << rare_bit : 0;
  const bool declines = !r.pub.declined_by.empty();
  LowestTechs excluded(b.exclusion_room());
  for (size_t i = 0; i < z.available_list.size(); ++i) {
    const uint64_t mask = z.available_masks[i];
    if ((mask & rare_mask) != rare_mask) continue;
    const internal::AvailableTech& a = z.available_list[i];
    if ((mask & need_mask) != need_mask || !internal::Covers(a.skills, r.need) ||
        mode == ScanMode::kTooFar) {
      excluded.Offer(a.tech);
      continue;
    }
    const TechRec& t = techs_[a.tech];
    if (declines && Declined(r, t)) {
      excluded.Offer(a.tech);
      continue;
    }
    b.AddCandidate(ScoreOf(r, a.tech, a.skills, a.since, &t.pub.technician_id, travel));
  }
  for (uint32_t index : excluded) {
    const TechRec& t = techs_[index];
    if (Declined(r, t)) {
      b.AddExclusion(index, internal::ExclusionCode::kDeclined);
    } else if (!internal::Covers(t.skills, r.need)) {
      b.AddExclusion(index, internal::ExclusionCode::kShortfall);
    } else {
      b.AddExclusion(index, internal::ExclusionCode::kTooFar, travel);
    }
  }
  b.OmitExclusions(excluded.count() - excluded.listed());
}

uint32_t Engine::State::AddAvailableCandidates(const ReqRec& r, const ZoneRec& z, uint32_t travel,
                                               DecisionBuilder& b) const {
  const uint64_t need_mask = r.need.mask();
  const bool declines = !r.pub.declined_by.empty();
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
  if (b != nullptr && !b->exclusions_full()) {
    // The available members (on shift without a job), from the dense
    // on-shift list and sorted, are skipped in a merge with the ordered
    // members, so only the records of members listed are loaded.
    absl::InlinedVector<uint32_t, 64> available;
    for (const internal::OnShiftMember& m : z.on_shift) {
      if (m.free_at == absl::InfinitePast()) available.push_back(m.tech);
    }
    std::sort(available.begin(), available.end());
    auto skip = available.begin();
    uint32_t seen = 0;
    for (auto it = z.members.begin(); it != z.members.end() && !b->exclusions_full(); ++it) {
      while (skip != available.end() && *skip < *it) ++skip;
      if (skip != available.end() && *skip == *it) continue;  // Available: scanned.
      const TechRec& t = techs_[*it];
      ++seen;
      if (t.pub.state == TechnicianState::kOffShift) {
        b->AddExclusion(t.index, internal::ExclusionCode::kOffShift);
      } else if (Declined(r, t)) {
        b->AddExclusion(t.index, internal::ExclusionCode::kDeclined);
      } else if (!internal::Covers(t.skills, r.need)) {
        b->AddExclusion(t.index, internal::ExclusionCode::kShortfall);
      } else if (t.job != 0) {  // pub.request_id is that job's id.
        b->AddExclusion(t.index, internal::ExclusionCode::kBusy, t.job);
      } else {
        b->AddExclusionText(t.index, [&] { return absl::StrCat("busy with ", t.pub.request_id); });
      }
    }
    b->OmitExclusions(static_cast<uint32_t>(z.members.size()) - z.available_members - seen);
  } else if (b != nullptr) {
    b->OmitExclusions(static_cast<uint32_t>(z.members.size()) - z.available_members);
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

Decision Engine::State::Finish(const ReqRec& r, const DecisionBuilder& b, std::string rule,
                               std::string detail) const {
  using internal::ExclusionCode;
  return b.Build(std::move(rule), std::move(detail), [&](const internal::PendingExclusion& e) {
    const TechRec& t = techs_[e.tech];
    Exclusion x{t.pub.technician_id, {}};
    switch (e.code) {
      case ExclusionCode::kText: x.reason = e.text; break;
      case ExclusionCode::kDeclined: x.reason = "declined this job"; break;
      case ExclusionCode::kShortfall: x.reason = internal::Shortfall(t.skills, r.need, skills_); break;
      case ExclusionCode::kTooFar:
        x.reason = absl::StrCat("too far: ", e.arg, " min > ", policy_.cross_zone_max_travel_minutes);
        break;
      case ExclusionCode::kOffShift: x.reason = "off shift"; break;
      case ExclusionCode::kBusy: x.reason = absl::StrCat("busy with ", ByNumber(e.arg).pub.request_id); break;
    }
    return x;
  });
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
    MakeOffer(r, best->tech, Finish(r, b, "zone-first", absl::StrCat(
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
    // The technicians located here holding a job (so on shift) with r's
    // skills, in technician order: from the zone's dense on-shift list,
    // loading only those records (an off-shift technician holds no job).
    const ZoneRec& z = zones_[reach.zone];
    const uint64_t need_mask = r.need.mask();
    absl::InlinedVector<uint32_t, 16> busy;
    for (size_t i = 0; i < z.on_shift.size(); ++i) {
      if ((z.on_shift_masks[i] & need_mask) != need_mask) continue;
      const internal::OnShiftMember& m = z.on_shift[i];
      if (m.free_at == absl::InfinitePast() || !internal::Covers(m.skills, r.need)) continue;
      if (techs_[m.tech].current == reach.zone) busy.push_back(m.tech);
    }
    std::sort(busy.begin(), busy.end());
    for (uint32_t index : busy) {
      const TechRec& t = techs_[index];
      if (t.job == 0 || Declined(r, t) || !internal::Covers(t.skills, r.need)) continue;
      const Request& job = ByNumber(t.job).pub;
      if (job.effective_urgency == Urgency::kEmergency) continue;
      if (job.preemptions >= policy_.max_preemptions_per_job) {
        b.AddExclusionText(index, [&] {
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
  Decision d = Finish(
      r, b, "emergency: preemption",
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
            Finish(r, b, home.surge                ? "cross-zone: surge"
                    : adequate_local_on_shift ? "cross-zone: SLA at risk"
                                              : "cross-zone: no local match",
                    std::move(detail)));
  return true;
}

}  // namespace dispatchd::engine
