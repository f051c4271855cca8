// Skills as bit masks: SkillRegistry interns skill names to bit indices
// (at most 64 distinct skills), and SkillSet packs a mask plus one level
// (1..5) per skill, so "does this technician cover that requirement" is a
// mask test and a few shifts.
//
// Thread safety: plain values; owned by the engine thread.
#ifndef DISPATCHD_ENGINE_INTERNAL_SKILLS_H_
#define DISPATCHD_ENGINE_INTERNAL_SKILLS_H_

#include <array>
#include <bit>
#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "absl/status/status.h"
#include "engine/internal/strings.h"
#include "engine/model.h"

namespace dispatchd::engine::internal {

inline constexpr int kMaxSkills = 64;

// A set of skills with a level each (4 bits per skill, 16 per word).
class SkillSet {
 public:
  uint64_t mask() const { return mask_; }
  int count() const { return std::popcount(mask_); }
  uint32_t level(int bit) const {
    return (levels_[bit / 16] >> (bit % 16 * 4)) & 0xF;
  }
  void Set(int bit, uint32_t level) {
    mask_ |= uint64_t{1} << bit;
    uint64_t& word = levels_[bit / 16];
    word &= ~(uint64_t{0xF} << (bit % 16 * 4));
    word |= uint64_t{level & 0xF} << (bit % 16 * 4);
  }

  // Word by word (a defaulted comparison of the array calls memcmp).
  friend bool operator==(const SkillSet& a, const SkillSet& b) {
    return a.mask_ == b.mask_ && a.levels_[0] == b.levels_[0] && a.levels_[1] == b.levels_[1] &&
           a.levels_[2] == b.levels_[2] && a.levels_[3] == b.levels_[3];
  }
  friend bool operator<(const SkillSet& a, const SkillSet& b) {
    return std::tie(a.mask_, a.levels_) < std::tie(b.mask_, b.levels_);
  }
  template <typename H>
  friend H AbslHashValue(H h, const SkillSet& s) {
    return H::combine(std::move(h), s.mask_, s.levels_);
  }

 private:
  uint64_t mask_ = 0;
  std::array<uint64_t, 4> levels_{};
};

// True iff `have` holds every skill of `need` at or above its level.
// (Inline: the matcher calls it in its innermost loops.)
inline bool Covers(const SkillSet& have, const SkillSet& need) {
  if ((have.mask() & need.mask()) != need.mask()) return false;
  for (uint64_t m = need.mask(); m != 0; m &= m - 1) {
    const int bit = std::countr_zero(m);
    if (have.level(bit) < need.level(bit)) return false;
  }
  return true;
}

// Sum over need's skills of (have level - need level). REQUIRES: Covers.
inline uint32_t Overqualification(const SkillSet& have, const SkillSet& need) {
  uint32_t sum = 0;
  for (uint64_t m = need.mask(); m != 0; m &= m - 1) {
    const int bit = std::countr_zero(m);
    sum += have.level(bit) - need.level(bit);
  }
  return sum;
}

// Why `have` does not cover `need`, e.g. "missing skill hvac" or
// "electrical level 2 < 3"; empty if it does. With `all`, every shortfall,
// comma-separated; otherwise the first.
class SkillRegistry;
std::string Shortfall(const SkillSet& have, const SkillSet& need,
                      const SkillRegistry& names, bool all = false);

// Interns skill names to bit indices, in first-seen order (so a replay
// interns identically).
class SkillRegistry {
 public:
  // The bit of `name`, or -1 if it was never seen.
  int Find(std::string_view name) const;
  const std::string& Name(int bit) const { return names_[bit]; }
  int size() const { return static_cast<int>(names_.size()); }

  // RESOURCE_EXHAUSTED if interning the names in `a` and `b` would pass
  // kMaxSkills distinct skills.
  absl::Status CheckRoom(const std::vector<SkillLevel>& a,
                         const std::vector<SkillLevel>& b = {}) const;

  // Interns every name and packs the levels.
  // REQUIRES: CheckRoom(skills).ok().
  SkillSet Build(const std::vector<SkillLevel>& skills);

  // Packs already-interned names; unknown names are skipped.
  SkillSet Lookup(const std::vector<SkillLevel>& skills) const;

 private:
  StringMap<int> bits_;
  std::vector<std::string> names_;
};

}  // namespace dispatchd::engine::internal

#endif  // DISPATCHD_ENGINE_INTERNAL_SKILLS_H_
