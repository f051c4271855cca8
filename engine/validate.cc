#include "engine/internal/validate.h"

#include <array>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "engine/internal/strings.h"

namespace dispatchd::engine::internal {
namespace {

absl::Status Invalid(std::string_view field, std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(internal::Sv(field), ": ", internal::Sv(what)));
}

bool IsIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

std::string At(std::string_view field, size_t i) {
  return absl::StrCat(internal::Sv(field), "[", i, "]");
}

// The names met so far in a list, for duplicate checks. Lists are short
// (one to three skills is usual), so the first few are compared in place
// and only a longer list pays for a hash set.
class SeenNames {
 public:
  // False if `name` was met before.
  bool Insert(std::string_view name) {
    for (size_t i = 0; i < few_count_; ++i) {
      if (few_[i] == name) return false;
    }
    if (few_count_ < few_.size()) {
      few_[few_count_++] = name;
      return true;
    }
    return more_.insert(name).second;
  }

 private:
  std::array<std::string_view, 8> few_;
  size_t few_count_ = 0;
  absl::flat_hash_set<std::string_view> more_;
};

}  // namespace

absl::Status CheckPresent(std::string_view field, std::string_view value) {
  if (value.empty()) return Invalid(field, "required");
  return absl::OkStatus();
}

absl::Status CheckTechnicianId(std::string_view field, std::string_view id) {
  RETURN_IF_ERROR(CheckPresent(field, id));
  if (id.size() > kMaxIdBytes) {
    return Invalid(field, absl::StrCat("longer than ", kMaxIdBytes, " bytes"));
  }
  for (char c : id) {
    if (!IsIdChar(c)) {
      return Invalid(field, absl::StrCat("'", internal::Sv(id),
                                         "' may contain only letters, digits, "
                                         "'.', '_' and '-'"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckZoneId(std::string_view field, std::string_view id) {
  RETURN_IF_ERROR(CheckPresent(field, id));
  if (id.size() > kMaxZoneIdBytes) {
    return Invalid(field, absl::StrCat("longer than ", kMaxZoneIdBytes, " bytes"));
  }
  return absl::OkStatus();
}

absl::Status CheckUrgency(std::string_view field, Urgency u) {
  const int v = static_cast<int>(u);
  if (v < 1 || v > kUrgencyCount) {
    return Invalid(field, absl::StrCat("urgency must be set (1..4), got ", v));
  }
  return absl::OkStatus();
}

absl::Status CheckTechnicianSkills(std::string_view field,
                                   const std::vector<SkillLevel>& skills) {
  if (skills.empty()) return Invalid(field, "at least one skill is required");
  SeenNames seen;
  for (size_t i = 0; i < skills.size(); ++i) {
    const SkillLevel& s = skills[i];
    // Here and below: the entry's field name is built only for an error.
    if (s.skill.empty()) return CheckPresent(At(field, i) + ".skill", s.skill);
    if (s.level < kMinLevel || s.level > kMaxLevel) {
      return Invalid(At(field, i) + ".level",
                     absl::StrCat("level must be 1..5, got ", s.level));
    }
    if (!seen.Insert(s.skill)) {
      return Invalid(At(field, i), absl::StrCat("duplicate skill '", s.skill, "'"));
    }
  }
  return absl::OkStatus();
}

absl::Status NormalizeRequirements(std::string_view field,
                                   std::vector<SkillLevel>& skills,
                                   bool allow_empty) {
  if (skills.empty() && !allow_empty) {
    return Invalid(field, "at least one required skill");
  }
  SeenNames seen;
  for (size_t i = 0; i < skills.size(); ++i) {
    SkillLevel& s = skills[i];
    if (s.skill.empty()) return CheckPresent(At(field, i) + ".skill", s.skill);
    if (s.level == 0) s.level = kMinLevel;
    if (s.level > kMaxLevel) {
      return Invalid(At(field, i) + ".min_level",
                     absl::StrCat("level must be 1..5, got ", s.level));
    }
    if (!seen.Insert(s.skill)) {
      return Invalid(At(field, i), absl::StrCat("duplicate skill '", s.skill, "'"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckMaterials(std::string_view field,
                            const std::vector<MaterialLine>& lines) {
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].sku.empty()) return CheckPresent(At(field, i) + ".sku", lines[i].sku);
    if (lines[i].quantity < 1) {
      return Invalid(At(field, i) + ".quantity", "must be at least 1");
    }
  }
  return absl::OkStatus();
}

absl::Status CheckPolicy(const Policy& p) {
  const std::pair<const char*, uint32_t> sla[] = {
      {"policy.sla_minutes_emergency", p.sla_minutes_emergency},
      {"policy.sla_minutes_urgent", p.sla_minutes_urgent},
      {"policy.sla_minutes_normal", p.sla_minutes_normal},
      {"policy.sla_minutes_low", p.sla_minutes_low}};
  for (size_t i = 0; i < 4; ++i) {
    if (sla[i].second == 0) return Invalid(sla[i].first, "must be > 0");
    if (sla[i].second > 366 * 24 * 60) return Invalid(sla[i].first, "more than a year");
    if (i > 0 && sla[i].second < sla[i - 1].second) {
      return Invalid(sla[i].first,
                     absl::StrCat("must be >= ", sla[i - 1].first, " (",
                                  sla[i - 1].second, "): stricter classes "
                                  "have shorter SLAs"));
    }
  }
  if (p.offer_timeout_seconds < 1 || p.offer_timeout_seconds > 86400) {
    return Invalid("policy.offer_timeout_seconds", "must be 1..86400");
  }
  if (p.cross_zone_max_travel_minutes > 24 * 60) {
    return Invalid("policy.cross_zone_max_travel_minutes", "more than a day");
  }
  if (p.aging_promote_minutes > 366 * 24 * 60) {
    return Invalid("policy.aging_promote_minutes", "more than a year");
  }
  if (p.max_preemptions_per_job > 100) {
    return Invalid("policy.max_preemptions_per_job", "must be 0..100");
  }
  if (p.small_delivery_max_units < 1 || p.small_delivery_max_units > 10000) {
    return Invalid("policy.small_delivery_max_units", "must be 1..10000");
  }
  if (p.delivery_merge_minutes > 24 * 60) {
    return Invalid("policy.delivery_merge_minutes", "must be 0..1440 (0: merging off)");
  }
  if (p.emergency_plans.size() > 100) {
    return Invalid("policy.emergency_plans", "more than 100 plans");
  }
  absl::flat_hash_set<std::string_view> kinds;
  for (size_t i = 0; i < p.emergency_plans.size(); ++i) {
    const EmergencyPlan& plan = p.emergency_plans[i];
    const std::string field = At("policy.emergency_plans", i);
    RETURN_IF_ERROR(CheckPresent(field + ".kind", plan.kind));
    if (!kinds.insert(plan.kind).second) {
      return Invalid(field + ".kind", absl::StrCat("duplicate kind '", plan.kind, "'"));
    }
    if (plan.crew_size < 1 || plan.crew_size > kMaxCrew) {
      return Invalid(field + ".crew_size", absl::StrCat("must be 1..", kMaxCrew));
    }
    for (size_t j = 0; j < plan.required_skills.size(); ++j) {
      const SkillLevel& s = plan.required_skills[j];
      if (s.skill.empty() || s.level < kMinLevel || s.level > kMaxLevel) {
        return Invalid(At(field + ".required_skills", j), "needs a name and a level 1..5");
      }
    }
    RETURN_IF_ERROR(CheckMaterials(field + ".backup_materials", plan.backup_materials));
  }
  if (p.on_call_technician_ids.size() > 10000) {
    return Invalid("policy.on_call_technician_ids", "more than 10000 technicians");
  }
  absl::flat_hash_set<std::string_view> on_call;
  for (size_t i = 0; i < p.on_call_technician_ids.size(); ++i) {
    const std::string& id = p.on_call_technician_ids[i];
    const std::string field = At("policy.on_call_technician_ids", i);
    RETURN_IF_ERROR(CheckTechnicianId(field, id));
    if (!on_call.insert(id).second) {
      return Invalid(field, absl::StrCat("duplicate technician '", id, "'"));
    }
  }
  return absl::OkStatus();
}

absl::Status NormalizeSpec(RequestSpec& spec, bool allow_no_skills) {
  if (spec.idempotency_key.size() > kMaxKeyBytes) {
    return Invalid("idempotency_key",
                   absl::StrCat("longer than ", kMaxKeyBytes, " bytes"));
  }
  RETURN_IF_ERROR(CheckZoneId("zone_id", spec.zone_id));
  RETURN_IF_ERROR(NormalizeRequirements("required_skills", spec.required_skills,
                                        allow_no_skills));
  RETURN_IF_ERROR(CheckUrgency("urgency", spec.urgency));
  RETURN_IF_ERROR(CheckMaterials("materials", spec.materials));
  if (spec.crew_size == 0) spec.crew_size = 1;
  if (spec.crew_size > kMaxCrew) {
    return Invalid("crew_size", absl::StrCat("must be 1..", kMaxCrew));
  }
  if (spec.estimated_minutes > 30 * 24 * 60) {
    return Invalid("estimated_minutes", "more than 30 days");
  }
  if (spec.not_before && spec.due_by && *spec.due_by <= *spec.not_before) {
    return Invalid("due_by", "must be after not_before");
  }
  return absl::OkStatus();
}

bool SpecDefaultsFilled(const RequestSpec& spec) {
  if (spec.crew_size == 0) return false;
  for (const SkillLevel& s : spec.required_skills) {
    if (s.level == 0) return false;
  }
  return true;
}

absl::Status CheckZoneShape(const Zone& zone) {
  RETURN_IF_ERROR(CheckZoneId("zone.zone_id", zone.zone_id));
  absl::flat_hash_set<std::string_view> seen;
  for (size_t i = 0; i < zone.neighbors.size(); ++i) {
    const Neighbor& n = zone.neighbors[i];
    const std::string field = At("zone.neighbors", i);
    RETURN_IF_ERROR(CheckZoneId(field + ".zone_id", n.zone_id));
    if (n.zone_id == zone.zone_id) {
      return Invalid(field + ".zone_id", "a zone cannot neighbour itself");
    }
    if (n.travel_minutes < 1) {
      return Invalid(field + ".travel_minutes", "must be at least 1");
    }
    if (!seen.insert(n.zone_id).second) {
      return Invalid(field, absl::StrCat("duplicate neighbour '", n.zone_id, "'"));
    }
  }
  return absl::OkStatus();
}

bool HasHolder(RequestState s) {
  return s == RequestState::kOffered || s == RequestState::kAssigned ||
         s == RequestState::kInProgress || s == RequestState::kOnHold;
}

absl::Status NotOpen(const Request& r) {
  return absl::FailedPreconditionError(
      absl::StrCat("request ", r.request_id, " is already ",
                   r.state == RequestState::kCompleted ? "completed" : "cancelled"));
}

}  // namespace dispatchd::engine::internal
