#include "engine/internal/skills.h"

#include <bit>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"

namespace dispatchd::engine::internal {

std::string Shortfall(const SkillSet& have, const SkillSet& need,
                      const SkillRegistry& names, bool all) {
  std::string out;
  for (uint64_t m = need.mask(); m != 0; m &= m - 1) {
    const int bit = std::countr_zero(m);
    std::string one;
    if ((have.mask() >> bit & 1) == 0) {
      one = absl::StrCat("missing skill ", names.Name(bit));
    } else if (have.level(bit) < need.level(bit)) {
      one = absl::StrCat(names.Name(bit), " level ", have.level(bit), " < ",
                         need.level(bit));
    } else {
      continue;
    }
    if (!all) return one;
    absl::StrAppend(&out, out.empty() ? "" : ", ", one);
  }
  return out;
}

int SkillRegistry::Find(std::string_view name) const {
  auto it = bits_.find(name);
  return it == bits_.end() ? -1 : it->second;
}

absl::Status SkillRegistry::CheckRoom(const std::vector<SkillLevel>& a,
                                      const std::vector<SkillLevel>& b) const {
  absl::flat_hash_set<std::string_view> fresh;
  for (const auto* list : {&a, &b}) {
    for (const SkillLevel& s : *list) {
      if (Find(s.skill) < 0) fresh.insert(s.skill);
    }
  }
  if (names_.size() + fresh.size() > kMaxSkills) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "skills: at most ", kMaxSkills, " distinct skill names are supported; ",
        names_.size(), " are in use and this adds ", fresh.size()));
  }
  return absl::OkStatus();
}

SkillSet SkillRegistry::Build(const std::vector<SkillLevel>& skills) {
  SkillSet set;
  for (const SkillLevel& s : skills) {
    int bit = Find(s.skill);
    if (bit < 0) {
      bit = static_cast<int>(names_.size());
      names_.push_back(s.skill);
      bits_.emplace(s.skill, bit);
    }
    set.Set(bit, s.level);
  }
  return set;
}

SkillSet SkillRegistry::Lookup(const std::vector<SkillLevel>& skills) const {
  SkillSet set;
  for (const SkillLevel& s : skills) {
    const int bit = Find(s.skill);
    if (bit >= 0) set.Set(bit, s.level);
  }
  return set;
}

}  // namespace dispatchd::engine::internal
