#include "engine/internal/stats_book.h"

namespace dispatchd::engine::internal {

void KpiSums::Book(const Request& r, int sign) {
  submitted += sign;
  if (IsOpen(r.state)) open += sign;
  if (r.state == RequestState::kCompleted) {
    completed += sign;
    if (r.resolved) resolved += sign;
    if (r.completed_at.has_value()) {
      completion_total += sign * (*r.completed_at - r.created_at);
    }
  }
  if (r.state == RequestState::kCancelled) cancelled += sign;
  if (r.accepted_at.has_value()) {
    accepted += sign;
    response_total += sign * (*r.accepted_at - r.created_at);
    if (*r.accepted_at <= r.sla_deadline) sla_hits += sign;
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
