#include "engine/internal/decision_builder.h"

#include <algorithm>
#include <tuple>

namespace dispatchd::engine::internal {

int64_t Score(uint32_t travel_minutes, uint32_t overqualification,
              int skill_count) {
  const int64_t travel = std::min<uint32_t>(travel_minutes, (1u << 30) - 1);
  const int64_t over = std::min<uint32_t>(overqualification, 0xFFFF);
  return (travel << 32) | (over << 16) | std::min(skill_count, 0xFFFF);
}

bool Before(const Scored& a, const Scored& b) {
  return std::tie(a.score, a.available_since, *a.technician_id) <
         std::tie(b.score, b.available_since, *b.technician_id);
}

void DecisionBuilder::AddCandidate(const Scored& s) {
  ++candidates_;
  auto pos = std::upper_bound(top_.begin(), top_.end(), s, Before);
  if (pos - top_.begin() >= static_cast<ptrdiff_t>(Decision::kMaxListed)) return;
  top_.insert(pos, s);
  if (top_.size() > Decision::kMaxListed) top_.pop_back();
}

Decision DecisionBuilder::Build(std::string rule, std::string detail) const {
  // Callers that note exclusions build through a renderer. Should one not,
  // its exclusions are counted instead of listed: less said, nothing wrong.
  Decision d = BuildCandidates(std::move(rule), std::move(detail));
  d.exclusions_omitted += static_cast<uint32_t>(exclusions_.size());
  return d;
}

Decision DecisionBuilder::BuildCandidates(std::string rule, std::string detail) const {
  Decision d;
  d.rule = std::move(rule);
  d.detail = std::move(detail);
  d.candidates.reserve(top_.size());
  for (const Scored& s : top_) {
    d.candidates.push_back(
        {*s.technician_id, s.travel_minutes, s.overqualification, s.score});
  }
  d.candidates_omitted = candidates_ - static_cast<uint32_t>(top_.size());
  d.exclusions_omitted = exclusions_omitted_;
  return d;
}

}  // namespace dispatchd::engine::internal
