#include "engine/internal/stats_book.h"

#include <algorithm>
#include <cmath>
#include <span>
#include <utility>
#include <vector>

namespace dispatchd::engine::internal {
namespace {

// Nearest rank: the value at position ceil(0.9 n), 1-based.
double P90Minutes(const DurationBag& times) {
  if (times.empty()) return 0;
  const size_t rank = (times.size() * 9 + 9) / 10;  // ceil(0.9 n) for n >= 1.
  return absl::ToDoubleMinutes(times.Nth(rank));
}

void Change(DurationBag& bag, absl::Duration d, int sign) {
  if (sign > 0) {
    bag.Add(d);
  } else {
    bag.Remove(d);
  }
}

// total += sign * d for sign +1 or -1, without Duration's general (and
// much slower) multiplication.
void AddSigned(absl::Duration& total, absl::Duration d, int sign) {
  if (sign > 0) {
    total += d;
  } else {
    total -= d;
  }
}

// Replaces one request's time in `bag` (`had`/`has`: whether it counts one
// before / after). Taking a time out and putting it back is no change.
void ChangeTime(DurationBag& bag, bool had, absl::Duration before, bool has, absl::Duration after) {
  if (had && has && before == after) return;
  if (had) bag.Remove(before);
  if (has) bag.Add(after);
}

// Books each entry of `all` that has a scope into `scopes`, grouped by
// scope: a counting sort of the entries' positions by `scope_of`.
template <typename ScopeOf>
void BookByScope(std::span<const KpiBooking> all, std::vector<KpiSums>& scopes, ScopeOf scope_of) {
  std::vector<uint32_t> next(scopes.size() + 1, 0);  // Then: where each scope's run starts.
  for (const KpiBooking& b : all) {
    if (const int64_t s = scope_of(b); s >= 0) ++next[static_cast<size_t>(s) + 1];
  }
  for (size_t s = 1; s < next.size(); ++s) next[s] += next[s - 1];
  std::vector<uint32_t> order(next.back());
  for (uint32_t i = 0; i < all.size(); ++i) {
    if (const int64_t s = scope_of(all[i]); s >= 0) order[next[static_cast<size_t>(s)]++] = i;
  }
  // The entries are read out of order: fetch a few ahead.
  constexpr size_t kAhead = 8;
  for (size_t k = 0; k < order.size(); ++k) {
    if (k + kAhead < order.size()) __builtin_prefetch(&all[order[k + kAhead]]);
    const KpiBooking& b = all[order[k]];
    scopes[static_cast<size_t>(scope_of(b))].Book(b.entry, +1);
  }
}

}  // namespace

void DurationBag::Remove(absl::Duration d) {
  auto it = counts_.find(Grain(d));
  if (--it->second == 0) counts_.erase(it);
  --size_;
}

absl::Duration DurationBag::Nth(size_t rank) const {
  // Weighted quickselect over the distinct values: each round partitions
  // around the middle one and keeps the side holding position `rank`.
  std::vector<std::pair<absl::Duration, uint32_t>> v(counts_.begin(), counts_.end());
  auto lo = v.begin();
  auto hi = v.end();
  for (;;) {
    if (hi - lo == 1) return lo->first;
    const auto mid = lo + (hi - lo) / 2;
    std::nth_element(lo, mid, hi, [](const auto& a, const auto& b) { return a.first < b.first; });
    size_t below = 0;  // Copies of the values before `mid`, all smaller.
    for (auto it = lo; it != mid; ++it) below += it->second;
    if (rank <= below) {
      hi = mid;
    } else {
      rank -= below;
      lo = mid;
    }
  }
}

absl::Time WindowStart(const Request& r) {
  return r.spec.not_before && *r.spec.not_before > r.created_at ? *r.spec.not_before : r.created_at;
}

KpiEntry KpiEntryOf(const Request& r) {
  KpiEntry e;
  const absl::Time start = WindowStart(r);
  e.open = IsOpen(r.state);
  e.completed = r.state == RequestState::kCompleted;
  e.resolved = e.completed && r.resolved;
  e.cancelled = r.state == RequestState::kCancelled;
  e.has_completion = e.completed && r.rare->completed_at.has_value();
  if (e.has_completion) e.completion = *r.rare->completed_at - start;
  e.accepted = r.rare->accepted_at.has_value();
  if (e.accepted) {
    e.response = *r.rare->accepted_at - start;
    e.sla_hit = *r.rare->accepted_at <= r.sla_deadline;
  }
  e.urgency = static_cast<int>(r.spec.urgency) - 1;
  e.feedback_rating = r.feedback_rating;
  e.preemptions = r.preemptions;
  return e;
}

void KpiSums::BookSums(const KpiEntry& e, int sign) {
  submitted += sign;
  preemptions += sign * static_cast<int64_t>(e.preemptions);
  if (e.open) open += sign;
  if (e.completed) {
    completed += sign;
    if (e.resolved) resolved += sign;
    if (e.has_completion) AddSigned(completion_total, e.completion, sign);
  }
  if (e.cancelled) cancelled += sign;
  if (e.accepted) {
    accepted += sign;
    AddSigned(response_total, e.response, sign);
    accepted_by[e.urgency] += sign;
    if (e.sla_hit) {
      sla_hits += sign;
      hits_by[e.urgency] += sign;
    }
  }
  if (e.feedback_rating > 0) {
    feedback_count += sign;
    feedback_total += sign * static_cast<int64_t>(e.feedback_rating);
  }
}

void KpiSums::Book(const KpiEntry& e, int sign) {
  BookSums(e, sign);
  if (e.has_completion) Change(completions, e.completion, sign);
  if (e.accepted) Change(responses, e.response, sign);
}

void KpiSums::Rebook(const KpiEntry& before, const KpiEntry& after) {
  BookSums(before, -1);
  BookSums(after, +1);
  ChangeTime(completions, before.has_completion, before.completion, after.has_completion,
             after.completion);
  ChangeTime(responses, before.accepted, before.response, after.accepted, after.response);
}

Kpis KpiSums::ToKpis() const {
  Kpis k;
  k.submitted = static_cast<uint32_t>(submitted);
  k.open = static_cast<uint32_t>(open);
  k.completed = static_cast<uint32_t>(completed);
  k.resolved = static_cast<uint32_t>(resolved);
  k.cancelled = static_cast<uint32_t>(cancelled);
  if (accepted > 0) {
    k.mean_response_minutes = absl::ToDoubleMinutes(response_total) / static_cast<double>(accepted);
    k.sla_hit_rate = static_cast<double>(sla_hits) / accepted;
  }
  if (completed > 0) {
    k.mean_completion_minutes =
        absl::ToDoubleMinutes(completion_total) / static_cast<double>(completed);
    k.resolution_rate = static_cast<double>(resolved) / completed;
  }
  if (feedback_count > 0) {
    k.feedback_average = static_cast<double>(feedback_total) / feedback_count;
  }
  k.feedback_count = static_cast<uint32_t>(feedback_count);
  k.p90_response_minutes = P90Minutes(responses);
  k.p90_completion_minutes = P90Minutes(completions);
  for (int u = 0; u < kUrgencyCount; ++u) {
    k.accepted_by_urgency[u] = static_cast<uint32_t>(accepted_by[u]);
    if (accepted_by[u] > 0) {
      k.sla_hit_rate_by_urgency[u] = static_cast<double>(hits_by[u]) / accepted_by[u];
    }
  }
  k.preemptions = static_cast<uint32_t>(preemptions);
  return k;
}

void StatsBook::EnsureZone(uint32_t zone) {
  if (zones_.size() <= zone) zones_.resize(zone + 1);
}

void StatsBook::EnsureTechnician(uint32_t tech) {
  if (techs_.size() <= tech) techs_.resize(tech + 1);
}

void StatsBook::Book(const Request& r, uint32_t zone, int64_t tech, int sign) {
  const KpiEntry e = KpiEntryOf(r);
  site_.Book(e, sign);
  zones_[zone].Book(e, sign);
  if (tech >= 0) techs_[static_cast<size_t>(tech)].Book(e, sign);
}

void StatsBook::BookSiteAndZones(std::span<const KpiBooking> part) {
  for (const KpiBooking& b : part) site_.Book(b.entry, +1);
  BookByScope(part, zones_, [](const KpiBooking& b) { return int64_t{b.zone}; });
}

void StatsBook::BookTechnicians(std::span<const KpiBooking> all) {
  BookByScope(all, techs_, [](const KpiBooking& b) { return b.tech; });
}

void StatsBook::Rebook(const KpiEntry& before, uint32_t zone_before, int64_t tech_before,
                       const KpiEntry& after, uint32_t zone, int64_t tech) {
  const bool same_zone = zone == zone_before;
  const bool same_tech = tech == tech_before;
  if (before == after && same_zone && same_tech) return;
  site_.Rebook(before, after);
  if (same_zone) {
    zones_[zone].Rebook(before, after);
  } else {
    zones_[zone_before].Book(before, -1);
    zones_[zone].Book(after, +1);
  }
  if (same_tech) {
    if (tech >= 0) techs_[static_cast<size_t>(tech)].Rebook(before, after);
  } else {
    if (tech_before >= 0) techs_[static_cast<size_t>(tech_before)].Book(before, -1);
    if (tech >= 0) techs_[static_cast<size_t>(tech)].Book(after, +1);
  }
}

}  // namespace dispatchd::engine::internal
