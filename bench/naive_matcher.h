// The baseline for decision_p99_us: the engine's push rules (engine/README.md,
// "The rules") written the obvious way, as a linear scan over every
// technician with skills compared by name, no indexes and no bit masks.
//
//   NaiveMatcher naive(engine.ExportImage());
//   std::string who = naive.Decide(spec, now);  // "" if it waits or queues
//
// It applies, for a new (never declined) request:
//   1. zone-first: the best adequate available technician currently in the
//      request's zone;
//   2. wait: else, if an adequate on-shift member of the zone (home or
//      current zone there) is busy and expected free (job start + its
//      estimated minutes, or now) before the SLA deadline: nobody yet;
//   3. cross-zone: else the best adequate available technician elsewhere
//      within policy.cross_zone_max_travel_minutes (travel over the zone
//      graph, shortest path).
// Best = lowest travel * 2^32 + overqualification * 2^16 + skill count,
// then earliest became-available time, then technician id. An emergency
// skips step 2 until 1 and 3 found nobody; the engine may then preempt
// someone, which this baseline does not model, so the checked sample
// (bench/engine_figures.cc) leaves emergencies out.
//
// Thread safety: not thread-safe.
#ifndef DISPATCHD_BENCH_NAIVE_MATCHER_H_
#define DISPATCHD_BENCH_NAIVE_MATCHER_H_

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/time/time.h"
#include "engine/model.h"
#include "engine/state_image.h"

namespace dispatchd::bench {

class NaiveMatcher {
 public:
  // Copies technicians, zones (travel by Floyd-Warshall) and policy.
  explicit NaiveMatcher(const engine::StateImage& image);

  // Whom the rules offer a new request with `spec` to at `now`; "" if the
  // request waits for a local technician or stays queued.
  std::string Decide(const engine::RequestSpec& spec, absl::Time now) const;

  // Records that `technician_id` was offered a job of `job_minutes` at `at`.
  void Offered(const std::string& technician_id, absl::Time at, uint32_t job_minutes);

  size_t technicians() const { return techs_.size(); }

 private:
  struct Tech {
    std::string id;
    std::string home_zone;
    std::string current_zone;
    std::vector<engine::SkillLevel> skills;
    engine::TechnicianState state = engine::TechnicianState::kOffShift;
    absl::Time available_since;
    absl::Time busy_since;
    uint32_t job_minutes = 0;
  };
  struct Best {
    const Tech* tech = nullptr;
    int64_t score = 0;
  };

  // Over-qualification if `t` covers `need`, else -1.
  static int64_t Fit(const Tech& t, const std::vector<engine::SkillLevel>& need);
  static void Consider(Best& best, const Tech& t, int64_t score);
  uint32_t Travel(const std::string& from, const std::string& to) const;
  // Step 3: the best adequate available technician in another zone.
  std::string CrossZone(const engine::RequestSpec& spec) const;

  engine::Policy policy_;
  std::vector<Tech> techs_;
  std::unordered_map<std::string, int> zone_index_;
  std::vector<std::vector<uint32_t>> travel_;  // Minutes; kUnreachable if none.
};

}  // namespace dispatchd::bench

#endif  // DISPATCHD_BENCH_NAIVE_MATCHER_H_
