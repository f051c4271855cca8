// Field checks that need no engine state: ids, skill lists, policy,
// request specs. Each returns INVALID_ARGUMENT naming the field, or OK.
// Used by Handle (on commands) and by Apply (on recorded events).
//
// Thread safety: pure functions.
#ifndef DISPATCHD_ENGINE_INTERNAL_VALIDATE_H_
#define DISPATCHD_ENGINE_INTERNAL_VALIDATE_H_

#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "engine/model.h"

namespace dispatchd::engine::internal {

inline constexpr size_t kMaxIdBytes = 64;
inline constexpr size_t kMaxZoneIdBytes = 128;
inline constexpr size_t kMaxKeyBytes = 128;
inline constexpr uint32_t kMinLevel = 1;
inline constexpr uint32_t kMaxLevel = 5;
inline constexpr uint32_t kMaxCrew = 20;

// Non-empty.
absl::Status CheckPresent(std::string_view field, std::string_view value);
// Technician ids: 1..64 bytes of [A-Za-z0-9._-].
absl::Status CheckTechnicianId(std::string_view field, std::string_view id);
// Zone ids: 1..128 bytes.
absl::Status CheckZoneId(std::string_view field, std::string_view id);
absl::Status CheckUrgency(std::string_view field, Urgency u);

// A technician's skills: at least one, names set and distinct, levels 1..5.
absl::Status CheckTechnicianSkills(std::string_view field,
                                   const std::vector<SkillLevel>& skills);
// A requirement list: names set and distinct, levels 0..5 (0 becomes 1).
// At least one entry unless `allow_empty`.
absl::Status NormalizeRequirements(std::string_view field,
                                   std::vector<SkillLevel>& skills,
                                   bool allow_empty);
// Lines with a sku and a quantity of at least 1.
absl::Status CheckMaterials(std::string_view field,
                            const std::vector<MaterialLine>& lines);
// SLA minutes > 0 and emergency <= urgent <= normal <= low; offer timeout
// 1 s .. 1 day; other values within sane bounds.
absl::Status CheckPolicy(const Policy& policy);

// Normalises a spec in place (crew_size 0 -> 1, levels 0 -> 1) and checks
// every field that needs no engine state or clock. Skills may be empty
// only when `allow_no_skills` (alerts).
absl::Status NormalizeSpec(RequestSpec& spec, bool allow_no_skills);
// True if NormalizeSpec has no default left to fill in `spec` (it would
// change nothing), so a stored spec can be checked in place.
bool SpecDefaultsFilled(const RequestSpec& spec);

// Travel links: zone id set, no self link, no duplicates, minutes >= 1.
absl::Status CheckZoneShape(const Zone& zone);

// True in the states in which a technician holds the request.
bool HasHolder(RequestState s);
// FAILED_PRECONDITION: the request is already completed or cancelled.
// REQUIRES: !IsOpen(r.state).
absl::Status NotOpen(const Request& r);

}  // namespace dispatchd::engine::internal

#endif  // DISPATCHD_ENGINE_INTERNAL_VALIDATE_H_
