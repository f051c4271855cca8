// DecisionBuilder: collects the technicians the matcher weighed for one
// request — the best few candidates in order and the first few exclusions
// with reasons, plus counts of what was left out — and turns them into a
// Decision. Reasons are built only for the exclusions actually listed.
//
// Score (lower is better), so that `score` alone orders the main criteria:
//   score = travel_minutes * 2^32 + overqualification * 2^16 + skill_count
// Ties: earlier became-available time, then technician id.
//
// Thread safety: plain value; used within one dispatch on the engine thread.
#ifndef DISPATCHD_ENGINE_INTERNAL_DECISION_BUILDER_H_
#define DISPATCHD_ENGINE_INTERNAL_DECISION_BUILDER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "engine/model.h"

namespace dispatchd::engine::internal {

struct Scored {
  uint32_t tech = 0;  // Technician index.
  uint32_t travel_minutes = 0;
  uint32_t overqualification = 0;
  int64_t score = 0;
  absl::Time available_since;
  const std::string* technician_id = nullptr;
};

int64_t Score(uint32_t travel_minutes, uint32_t overqualification,
              int skill_count);

// True if `a` should be chosen over `b`.
bool Before(const Scored& a, const Scored& b);

class DecisionBuilder {
 public:
  void AddCandidate(const Scored& s);

  // `reason` is a callable returning std::string, called only if listed.
  template <typename F>
  void AddExclusion(const std::string& technician_id, F&& reason) {
    if (exclusions_.size() < Decision::kMaxListed) {
      exclusions_.push_back({technician_id, reason()});
    } else {
      ++exclusions_omitted_;
    }
  }

  // True once no further exclusion would be listed, only counted.
  bool exclusions_full() const { return exclusions_.size() >= Decision::kMaxListed; }
  // Counts `n` exclusions that would not be listed (REQUIRES: full), so
  // that a scan may count the tail of a list instead of walking it.
  void OmitExclusions(uint32_t n) { exclusions_omitted_ += n; }

  // The best candidate so far, or null.
  const Scored* best() const { return top_.empty() ? nullptr : &top_.front(); }
  uint32_t candidate_count() const { return candidates_; }

  Decision Build(std::string rule, std::string detail) const;

 private:
  std::vector<Scored> top_;  // Best first, at most Decision::kMaxListed.
  uint32_t candidates_ = 0;
  std::vector<Exclusion> exclusions_;
  uint32_t exclusions_omitted_ = 0;
};

}  // namespace dispatchd::engine::internal

#endif  // DISPATCHD_ENGINE_INTERNAL_DECISION_BUILDER_H_
