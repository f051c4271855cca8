// Folding of the setup events: zones, policy, technicians, shifts, stock.
// Each On() checks that the event fits the state, then changes it.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "engine/internal/state.h"
#include "engine/internal/validate.h"

namespace dispatchd::engine {

absl::Status Engine::State::On(const ev::ZoneUpserted& e, absl::Time) {
  RETURN_IF_ERROR(internal::CheckZoneShape(e.zone));
  for (const Neighbor& n : e.zone.neighbors) {
    RETURN_IF_ERROR(GetZone("zone.neighbors.zone_id", n.zone_id).status());
  }
  std::optional<uint32_t> index = ZoneIndex(e.zone.zone_id);
  if (!index) {
    index = static_cast<uint32_t>(zones_.size());
    zones_.emplace_back().index = *index;
    zone_index_.emplace(e.zone.zone_id, *index);
    zones_by_id_.emplace(e.zone.zone_id, *index);
    stats_.EnsureZone(*index);
  }
  ZoneRec& z = zones_[*index];
  for (const Neighbor& old : z.pub.neighbors) {  // Drop stale reverse links.
    std::vector<Neighbor>& back = zones_[zone_index_.at(old.zone_id)].pub.neighbors;
    std::erase_if(back, [&](const Neighbor& n) { return n.zone_id == e.zone.zone_id; });
  }
  z.pub = e.zone;
  for (const Neighbor& link : z.pub.neighbors) {  // Mirror every link.
    zones_[zone_index_.at(link.zone_id)].pub.neighbors.push_back(
        {e.zone.zone_id, link.travel_minutes});
  }
  graph_dirty_ = true;  // Rebuilt on first use: a bulk load rebuilds once.
  return absl::OkStatus();
}

absl::Status Engine::State::On(const ev::PolicySet& e, absl::Time) {
  RETURN_IF_ERROR(internal::CheckPolicy(e.policy));
  policy_ = e.policy;
  for (ZoneRec& z : zones_) MarkSurgeDirty(z);  // Thresholds may differ.
  return absl::OkStatus();
}

absl::Status Engine::State::On(const ev::TechnicianRegistered& e, absl::Time) {
  RETURN_IF_ERROR(internal::CheckTechnicianId("technician_id", e.technician_id));
  if (Tech(e.technician_id) != nullptr) {
    return absl::AlreadyExistsError(
        absl::StrCat("technician '", e.technician_id, "' already exists"));
  }
  ASSIGN_OR_RETURN(const uint32_t home, GetZone("home_zone_id", e.home_zone_id));
  RETURN_IF_ERROR(internal::CheckTechnicianSkills("skills", e.skills));
  RETURN_IF_ERROR(skills_.CheckRoom(e.skills));
  const auto index = static_cast<uint32_t>(techs_.size());
  TechRec& t = techs_.emplace_back();
  t.index = index;
  t.home = t.current = home;
  t.skills = skills_.Build(e.skills);
  t.pub.technician_id = e.technician_id;
  t.pub.name = e.name;
  t.pub.home_zone_id = t.pub.current_zone_id = e.home_zone_id;
  t.pub.skills = e.skills;
  t.pub.state = TechnicianState::kOffShift;
  tech_index_.Insert(index);
  techs_by_id_.emplace(e.technician_id, index);
  stats_.EnsureTechnician(index);
  IndexTech(t);
  return absl::OkStatus();
}

absl::Status Engine::State::On(const ev::TechnicianUpdated& e, absl::Time) {
  ASSIGN_OR_RETURN(TechRec * t, GetTech("technician_id", e.technician_id));
  ASSIGN_OR_RETURN(const uint32_t home, GetZone("home_zone_id", e.home_zone_id));
  RETURN_IF_ERROR(internal::CheckTechnicianSkills("skills", e.skills));
  RETURN_IF_ERROR(skills_.CheckRoom(e.skills));
  const internal::SkillSet skills = skills_.Build(e.skills);
  MutateTech(*t, [&](TechRec& x) {
    x.pub.name = e.name;
    x.pub.home_zone_id = e.home_zone_id;
    x.home = home;
    x.pub.skills = e.skills;
    x.skills = skills;
  });
  return absl::OkStatus();
}

absl::Status Engine::State::On(const ev::ShiftStarted& e, absl::Time t) {
  ASSIGN_OR_RETURN(TechRec * tech, GetTech("technician_id", e.technician_id));
  ASSIGN_OR_RETURN(const uint32_t zone, GetZone("zone_id", e.zone_id));
  if (tech->pub.state != TechnicianState::kOffShift) {
    return absl::FailedPreconditionError(
        absl::StrCat("technician '", e.technician_id, "' is already on shift"));
  }
  MutateTech(*tech, [&](TechRec& x) {
    x.pub.state = TechnicianState::kAvailable;
    x.current = zone;
    x.pub.current_zone_id = e.zone_id;
    x.available_since = t;
  });
  return absl::OkStatus();
}

absl::Status Engine::State::On(const ev::ShiftEnded& e, absl::Time) {
  ASSIGN_OR_RETURN(TechRec * tech, GetTech("technician_id", e.technician_id));
  if (tech->pub.state != TechnicianState::kAvailable) {
    return absl::FailedPreconditionError(absl::StrCat(
        "technician '", e.technician_id, "' is not free to end the shift"));
  }
  MutateTech(*tech, [](TechRec& x) { x.pub.state = TechnicianState::kOffShift; });
  return absl::OkStatus();
}

absl::Status Engine::State::On(const ev::LocationReported& e, absl::Time) {
  ASSIGN_OR_RETURN(TechRec * tech, GetTech("technician_id", e.technician_id));
  ASSIGN_OR_RETURN(const uint32_t zone, GetZone("zone_id", e.zone_id));
  MutateTech(*tech, [&](TechRec& x) {
    x.current = zone;
    x.pub.current_zone_id = e.zone_id;
  });
  return absl::OkStatus();
}

absl::Status Engine::State::On(const ev::StockAdjusted& e, absl::Time) {
  RETURN_IF_ERROR(GetZone("depot_zone_id", e.depot_zone_id).status());
  RETURN_IF_ERROR(internal::CheckPresent("sku", e.sku));
  if (e.delta == 0) return absl::InvalidArgumentError("delta: must not be 0");
  auto key = std::make_pair(e.depot_zone_id, e.sku);
  auto it = stock_.find(key);
  const int64_t before = it == stock_.end() ? 0 : it->second;
  if (before + e.delta != e.on_hand || e.on_hand < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("stock of '", e.sku, "' at '", e.depot_zone_id, "' is ",
                     before, "; cannot change by ", e.delta, " to ", e.on_hand));
  }
  auto held = stock_reserved_.find(key);
  if (held != stock_reserved_.end() && e.on_hand < held->second) {
    return absl::FailedPreconditionError(absl::StrCat(
        "stock of '", e.sku, "' at '", e.depot_zone_id, "' cannot fall to ", e.on_hand,
        " below the ", held->second, " reserved"));
  }
  stock_[key] = e.on_hand;
  stock_total_[e.sku] += e.delta;
  return absl::OkStatus();
}

}  // namespace dispatchd::engine
