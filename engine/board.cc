// The dispatcher's views: the live board per zone, and why a request is
// where it is. Queries may scan (they are not on the dispatch path).
#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "engine/internal/state.h"

namespace dispatchd::engine {
namespace {

constexpr size_t kBoardQueued = 50;

std::string ClockText(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d %H:%M", t, absl::UTCTimeZone());
}

// At most five names, then a count.
std::string Listed(const std::vector<std::string>& items) {
  constexpr size_t kShown = 5;
  if (items.size() <= kShown) return absl::StrJoin(items, ", ");
  return absl::StrCat(
      absl::StrJoin(items.begin(), items.begin() + kShown, ", "), " and ",
      items.size() - kShown, " more");
}

}  // namespace

std::string Engine::State::NobodyCan(const internal::SkillSet& on_shift,
                                     const internal::SkillSet& need) const {
  std::vector<std::string> gaps;
  for (uint64_t m = need.mask(); m != 0; m &= m - 1) {
    const int bit = std::countr_zero(m);
    const std::string& name = skills_.Name(bit);
    if (on_shift.level(bit) == 0) {
      gaps.push_back(absl::StrCat("no technician on shift has skill ", name));
    } else if (on_shift.level(bit) < need.level(bit)) {
      gaps.push_back(absl::StrCat("no technician on shift has ", name, " at level ",
                                  need.level(bit), " (best: ",
                                  on_shift.level(bit), ")"));
    }
  }
  if (gaps.empty()) return "no single technician on shift has every required skill";
  return absl::StrJoin(gaps, "; ");
}

std::vector<const Request*> Engine::State::QueuedInOrder(const ZoneRec& z,
                                                         size_t limit) const {
  std::vector<internal::QueueKey> keys;
  for (const internal::NeedQueue& q : z.queues) {
    size_t taken = 0;
    for (auto it = q.queue.begin(); it != q.queue.end() && taken < limit; ++it, ++taken) {
      keys.push_back(*it);
    }
  }
  std::sort(keys.begin(), keys.end());
  if (keys.size() > limit) keys.resize(limit);
  std::vector<const Request*> out;
  out.reserve(keys.size());
  for (const auto& k : keys) out.push_back(&ByNumber(k.number).pub);
  return out;
}

absl::StatusOr<std::vector<ZoneBoard>> Engine::State::GetBoard(
    std::string_view zone_id) const {
  std::vector<uint32_t> which;
  if (zone_id.empty()) {
    for (const auto& [id, index] : zones_by_id_) which.push_back(index);
  } else {
    const auto z = ZoneIndex(zone_id);
    if (!z) return absl::NotFoundError(absl::StrCat("zone_id: unknown zone '", internal::Sv(zone_id), "'"));
    which.push_back(*z);
  }
  std::vector<ZoneBoard> boards;
  for (uint32_t index : which) {
    const ZoneRec& z = zones_[index];
    ZoneBoard& b = boards.emplace_back();
    b.zone = &z.pub;
    b.queued_counts = z.queued_counts;
    b.in_surge = z.surge;
    b.queued_total = z.QueuedTotal();
    b.at_risk = z.at_risk;
    b.queued = QueuedInOrder(z, kBoardQueued);
    std::vector<uint32_t> active = z.active;
    std::sort(active.begin(), active.end());  // Oldest request first.
    for (uint32_t n : active) b.in_progress.push_back(&ByNumber(n).pub);
    for (uint32_t t : PresentIn(z)) b.technicians.push_back(&techs_[t].pub);
    b.shortages = ListShortages(z.pub.zone_id);
  }
  return boards;
}

absl::StatusOr<Explanation> Engine::State::Explain(std::string_view request_id) const {
  const ReqRec* r = Req(request_id);
  if (r == nullptr) {
    return absl::NotFoundError(absl::StrCat("request_id: unknown request '", internal::Sv(request_id), "'"));
  }
  Explanation e;
  e.request = &r->pub;
  const absl::Time now = clock_->Now();
  if (r->pub.state == RequestState::kQueued) {
    e.waiting_reason = WaitingReason(*r, now);
    if (r->pub.preemptions > 0) {
      e.waiting_reason = absl::StrCat("preempted by emergency ", r->pub.rare->preempted_by,
                                      " (bumped ", r->pub.preemptions, " time(s)), back at "
                                      "the head of its class; ", e.waiting_reason);
    }
  } else if (r->pub.awaiting_stock) {
    e.waiting_reason = StockWaitText(*r);
  } else if (r->pub.state == RequestState::kScheduled) {
    e.waiting_reason = absl::StrCat("scheduled: enters dispatch at ",
                                    ClockText(*r->pub.spec.not_before));
  }
  e.deliveries = DeliveryNotes(*r);
  return e;
}

std::string Engine::State::WaitingReason(const ReqRec& r, absl::Time now) const {
  const std::string surge =
      zones_[r.zone].surge ? absl::StrCat("zone ", r.pub.spec.zone_id, " is in surge; ") : "";
  if (!surge.empty()) {
    std::string rest = WaitingReasonNoSurge(r, now);
    return surge + rest;
  }
  return WaitingReasonNoSurge(r, now);
}

std::string Engine::State::WaitingReasonNoSurge(const ReqRec& r, absl::Time now) const {
  if (const std::optional<Wait> wait = zones_[r.zone].surge ? std::nullopt : LocalWait(r, now)) {
    return absl::StrCat("zone-first: waiting for local technician ",
                        techs_[wait->tech].pub.technician_id, ", expected free at ",
                        ClockText(wait->expected_free), " (SLA deadline ",
                        ClockText(r.pub.sla_deadline), ")");
  }
  // Which on-shift technicians could do it at all, and what they are doing.
  internal::SkillSet best_levels;  // Highest level on shift per skill.
  std::vector<std::string> busy, declined, far;
  for (const TechRec& t : techs_) {
    if (t.pub.state == TechnicianState::kOffShift) continue;
    for (uint64_t m = t.skills.mask(); m != 0; m &= m - 1) {
      const int bit = std::countr_zero(m);
      if (t.skills.level(bit) > best_levels.level(bit)) best_levels.Set(bit, t.skills.level(bit));
    }
    if (!internal::Covers(t.skills, r.need)) continue;
    const std::string& id = t.pub.technician_id;
    if (Declined(r, t)) {
      declined.push_back(id);
    } else if (t.pub.state != TechnicianState::kAvailable) {
      busy.push_back(absl::StrCat(id, " with ", t.pub.request_id));
    } else {
      const uint32_t travel = graph().Travel(t.current, r.zone);
      far.push_back(travel == internal::kUnreachable
                        ? absl::StrCat(id, ": no route")
                        : absl::StrCat(id, ": ", travel, " min"));
    }
  }
  if (busy.empty() && declined.empty() && far.empty()) {
    return NobodyCan(best_levels, r.need);
  }
  if (!busy.empty()) {
    return absl::StrCat("adequate technicians all busy (", Listed(busy), ")");
  }
  if (!far.empty()) {
    return absl::StrCat("adequate technicians available only beyond ",
                        policy_.cross_zone_max_travel_minutes, " min travel (",
                        Listed(far), ")");
  }
  return absl::StrCat("every adequate technician on shift declined it (",
                      Listed(declined), ")");
}

}  // namespace dispatchd::engine
