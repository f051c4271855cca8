// GetStats: reads the KPI sums StatsBook keeps as events are applied.
#include "absl/strings/str_cat.h"
#include "engine/internal/state.h"

namespace dispatchd::engine {

absl::StatusOr<Stats> Engine::State::GetStats(std::string_view zone_id,
                                              std::string_view technician_id) const {
  std::optional<uint32_t> zone;
  if (!zone_id.empty()) {
    zone = ZoneIndex(zone_id);
    if (!zone) return absl::NotFoundError(absl::StrCat("zone_id: unknown zone '", internal::Sv(zone_id), "'"));
  }
  const TechRec* tech = nullptr;
  if (!technician_id.empty()) {
    tech = Tech(technician_id);
    if (tech == nullptr) {
      return absl::NotFoundError(
          absl::StrCat("technician_id: unknown technician '", internal::Sv(technician_id), "'"));
    }
  }
  Stats stats;
  stats.site = stats_.site().ToKpis();
  for (const auto& [id, index] : zones_by_id_) {
    if (zone && index != *zone) continue;
    stats.zones.emplace_back(id, stats_.zone(index).ToKpis());
  }
  for (const auto& [id, index] : techs_by_id_) {
    if (tech != nullptr && index != tech->index) continue;
    if (tech == nullptr && zone && techs_[index].home != *zone) continue;
    stats.technicians.emplace_back(id, stats_.technician(index).ToKpis());
  }
  return stats;
}

}  // namespace dispatchd::engine
