// DecisionBuilder: collects the technicians the matcher weighed for one
// request — the best few candidates in order and the first few exclusions
// with reasons, plus counts of what was left out — and turns them into a
// Decision. Exclusions are kept as technician index and reason code; their
// text is rendered only by Build (a dispatch that ends in a wait builds no
// Decision, so renders none).
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

#include "absl/container/inlined_vector.h"
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

// Why a technician was not a candidate; rendered as text by the engine
// (see Engine::State::Finish) when the Decision is built.
enum class ExclusionCode : uint8_t {
  kText,       // `text`, rendered when noted.
  kDeclined,   // "declined this job".
  kShortfall,  // What the technician lacks of the request's skills.
  kTooFar,     // `arg`: travel minutes.
  kOffShift,   // "off shift".
  kBusy,       // `arg`: the number of the request they hold.
};

struct PendingExclusion {
  uint32_t tech = 0;  // Technician index.
  ExclusionCode code = ExclusionCode::kText;
  uint32_t arg = 0;
  std::string text;  // kText only.
};

class DecisionBuilder {
 public:
  void AddCandidate(const Scored& s);

  // Notes technician `tech` as excluded for `code` (see ExclusionCode): listed
  // while the list has room, else counted.
  void AddExclusion(uint32_t tech, ExclusionCode code, uint32_t arg = 0) {
    if (exclusions_.size() < Decision::kMaxListed) {
      exclusions_.push_back({tech, code, arg, {}});
    } else {
      ++exclusions_omitted_;
    }
  }
  // The same with a reason rendered now: `reason` is a callable returning
  // std::string, called only if listed.
  template <typename F>
  void AddExclusionText(uint32_t tech, F&& reason) {
    if (exclusions_.size() < Decision::kMaxListed) {
      exclusions_.push_back({tech, ExclusionCode::kText, 0, reason()});
    } else {
      ++exclusions_omitted_;
    }
  }

  // True once no further exclusion would be listed, only counted.
  bool exclusions_full() const { return exclusions_.size() >= Decision::kMaxListed; }
  // How many more exclusions would be listed.
  size_t exclusion_room() const { return Decision::kMaxListed - exclusions_.size(); }
  // Counts `n` exclusions that would not be listed (REQUIRES: full), so
  // that a scan may count the tail of a list instead of walking it.
  void OmitExclusions(uint32_t n) { exclusions_omitted_ += n; }

  // The best candidate so far, or null.
  const Scored* best() const { return top_.empty() ? nullptr : &top_.front(); }
  uint32_t candidate_count() const { return candidates_; }

  // `render(const PendingExclusion&)` gives an exclusion's technician id
  // and reason (an Exclusion); it is called for each listed one, in order.
  template <typename Render>
  Decision Build(std::string rule, std::string detail, Render&& render) const {
    Decision d = BuildCandidates(std::move(rule), std::move(detail));
    d.exclusions.reserve(exclusions_.size());
    for (const PendingExclusion& e : exclusions_) d.exclusions.push_back(render(e));
    return d;
  }
  // For builders that note no exclusion (pull, bundle, override); any
  // noted are only counted, in exclusions_omitted.
  Decision Build(std::string rule, std::string detail) const;

 private:
  Decision BuildCandidates(std::string rule, std::string detail) const;

  // Best first, at most Decision::kMaxListed (one more while inserting).
  absl::InlinedVector<Scored, Decision::kMaxListed + 1> top_;
  uint32_t candidates_ = 0;
  absl::InlinedVector<PendingExclusion, Decision::kMaxListed> exclusions_;
  uint32_t exclusions_omitted_ = 0;
};

}  // namespace dispatchd::engine::internal

#endif  // DISPATCHD_ENGINE_INTERNAL_DECISION_BUILDER_H_
