#include "bench/naive_matcher.h"

#include <algorithm>
#include <limits>
#include <tuple>

namespace dispatchd::bench {
namespace {

constexpr uint32_t kUnreachable = std::numeric_limits<uint32_t>::max() / 2;

// travel * 2^32 + overqualification * 2^16 + skill count: lower is better.
int64_t Score(int64_t travel, int64_t over, size_t skills) {
  return (travel << 32) | (std::min<int64_t>(over, 0xFFFF) << 16) |
         static_cast<int64_t>(std::min<size_t>(skills, 0xFFFF));
}

}  // namespace

NaiveMatcher::NaiveMatcher(const engine::StateImage& image) : policy_(image.policy) {
  const size_t n = image.zones.size();
  for (size_t i = 0; i < n; ++i) zone_index_[image.zones[i].zone_id] = static_cast<int>(i);
  travel_.assign(n, std::vector<uint32_t>(n, kUnreachable));
  for (size_t i = 0; i < n; ++i) {
    travel_[i][i] = 0;
    for (const engine::Neighbor& nb : image.zones[i].neighbors) {
      auto it = zone_index_.find(nb.zone_id);
      if (it == zone_index_.end()) continue;
      uint32_t& a = travel_[i][it->second];
      uint32_t& b = travel_[it->second][i];
      a = b = std::min(a, nb.travel_minutes);
    }
  }
  for (size_t k = 0; k < n; ++k) {
    for (size_t i = 0; i < n; ++i) {
      for (size_t j = 0; j < n; ++j) {
        travel_[i][j] = std::min(travel_[i][j], travel_[i][k] + travel_[k][j]);
      }
    }
  }
  std::unordered_map<std::string, uint32_t> job_minutes;
  for (const engine::RequestImage& r : image.requests) {
    job_minutes[r.request.request_id] = r.request.spec.estimated_minutes;
  }
  for (const engine::TechnicianImage& ti : image.technicians) {
    const engine::Technician& p = ti.technician;
    Tech t{p.technician_id, p.home_zone_id, p.current_zone_id, p.skills, p.state,
           ti.available_since, ti.busy_since, 0};
    if (!p.request_id.empty()) t.job_minutes = job_minutes[p.request_id];
    techs_.push_back(std::move(t));
  }
}

int64_t NaiveMatcher::Fit(const Tech& t, const std::vector<engine::SkillLevel>& need) {
  int64_t over = 0;
  for (const engine::SkillLevel& n : need) {
    bool found = false;
    for (const engine::SkillLevel& h : t.skills) {
      if (h.skill == n.skill && h.level >= n.level) {
        over += h.level - n.level;
        found = true;
        break;
      }
    }
    if (!found) return -1;
  }
  return over;
}

void NaiveMatcher::Consider(Best& best, const Tech& t, int64_t score) {
  if (best.tech == nullptr ||
      std::tie(score, t.available_since, t.id) <
          std::tie(best.score, best.tech->available_since, best.tech->id)) {
    best = {&t, score};
  }
}

uint32_t NaiveMatcher::Travel(const std::string& from, const std::string& to) const {
  auto a = zone_index_.find(from);
  auto b = zone_index_.find(to);
  if (a == zone_index_.end() || b == zone_index_.end()) return kUnreachable;
  return travel_[a->second][b->second];
}

std::string NaiveMatcher::Decide(const engine::RequestSpec& spec, absl::Time now) const {
  // 1. zone-first.
  Best local;
  for (const Tech& t : techs_) {
    if (t.state != engine::TechnicianState::kAvailable || t.current_zone != spec.zone_id) {
      continue;
    }
    const int64_t over = Fit(t, spec.required_skills);
    if (over >= 0) Consider(local, t, Score(0, over, t.skills.size()));
  }
  if (local.tech != nullptr) return local.tech->id;
  // 2. wait for a busy local technician expected free before the deadline
  // (an emergency looks across zones first).
  const bool emergency = spec.urgency == engine::Urgency::kEmergency;
  if (emergency) {
    std::string cross = CrossZone(spec);
    if (!cross.empty()) return cross;
  }
  absl::Time deadline = now + absl::Minutes(policy_.SlaMinutes(spec.urgency));
  if (spec.due_by && *spec.due_by < deadline) deadline = *spec.due_by;
  for (const Tech& t : techs_) {
    if (t.home_zone != spec.zone_id && t.current_zone != spec.zone_id) continue;
    if (t.state == engine::TechnicianState::kAvailable ||
        t.state == engine::TechnicianState::kOffShift) {
      continue;
    }
    if (Fit(t, spec.required_skills) < 0) continue;
    const absl::Time free = std::max(now, t.busy_since + absl::Minutes(t.job_minutes));
    if (free < deadline) return "";
  }
  return emergency ? "" : CrossZone(spec);
}

std::string NaiveMatcher::CrossZone(const engine::RequestSpec& spec) const {
  // 3. cross-zone.
  Best cross;
  for (const Tech& t : techs_) {
    if (t.state != engine::TechnicianState::kAvailable || t.current_zone == spec.zone_id) {
      continue;
    }
    const uint32_t travel = Travel(spec.zone_id, t.current_zone);
    if (travel > policy_.cross_zone_max_travel_minutes) continue;
    const int64_t over = Fit(t, spec.required_skills);
    if (over >= 0) Consider(cross, t, Score(travel, over, t.skills.size()));
  }
  return cross.tech != nullptr ? cross.tech->id : "";
}

void NaiveMatcher::Offered(const std::string& technician_id, absl::Time at,
                           uint32_t job_minutes) {
  for (Tech& t : techs_) {
    if (t.id != technician_id) continue;
    t.state = engine::TechnicianState::kOffered;
    t.busy_since = at;
    t.job_minutes = job_minutes;
    return;
  }
}

}  // namespace dispatchd::bench
