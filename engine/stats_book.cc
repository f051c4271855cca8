#include "engine/internal/stats_book.h"

#include <cmath>

namespace dispatchd::engine::internal {
namespace {

// Nearest rank: the value at position ceil(0.9 n), 1-based.
double P90Minutes(const absl::btree_multiset<absl::Duration>& times) {
  if (times.empty()) return 0;
  const size_t rank = (times.size() * 9 + 9) / 10;  // ceil(0.9 n) for n >= 1.
  auto it = times.begin();
  std::advance(it, rank - 1);
  return absl::ToDoubleMinutes(*it);
}

template <typename Set>
void Change(Set& set, absl::Duration d, int sign) {
  if (sign > 0) {
    set.insert(d);
  } else {
    set.erase(set.find(d));
  }
}

}  // namespace

absl::Time WindowStart(const Request& r) {
  return r.spec.not_before && *r.spec.not_before > r.created_at ? *r.spec.not_before
                                                                 : r.created_at;
}

void KpiSums::Book(const Request& r, int sign) {
  const absl::Time start = WindowStart(r);
  submitted += sign;
  preemptions += sign * static_cast<int64_t>(r.preemptions);
  if (IsOpen(r.state)) open += sign;
  if (r.state == RequestState::kCompleted) {
    completed += sign;
    if (r.resolved) resolved += sign;
    if (r.rare->completed_at.has_value()) {
      completion_total += sign * (*r.rare->completed_at - start);
      Change(completions, *r.rare->completed_at - start, sign);
    }
  }
  if (r.state == RequestState::kCancelled) cancelled += sign;
  if (r.rare->accepted_at.has_value()) {
    accepted += sign;
    response_total += sign * (*r.rare->accepted_at - start);
    Change(responses, *r.rare->accepted_at - start, sign);
    const int u = static_cast<int>(r.spec.urgency) - 1;
    accepted_by[u] += sign;
    if (*r.rare->accepted_at <= r.sla_deadline) {
      sla_hits += sign;
      hits_by[u] += sign;
    }
  }
  if (r.feedback_rating > 0) {
    feedback_count += sign;
    feedback_total += sign * static_cast<int64_t>(r.feedback_rating);
  }
}

Kpis KpiSums::ToKpis() const {
  Kpis k;
  k.submitted = static_cast<uint32_t>(submitted);
  k.open = static_cast<uint32_t>(open);
  k.completed = static_cast<uint32_t>(completed);
  k.resolved = static_cast<uint32_t>(resolved);
  k.cancelled = static_cast<uint32_t>(cancelled);
  if (accepted > 0) {
    k.mean_response_minutes =
        absl::ToDoubleMinutes(response_total) / static_cast<double>(accepted);
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
  site_.Book(r, sign);
  zones_[zone].Book(r, sign);
  if (tech >= 0) techs_[static_cast<size_t>(tech)].Book(r, sign);
}

}  // namespace dispatchd::engine::internal
