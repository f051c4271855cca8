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
  // Utilisation up to now: per technician, summed per home zone and site.
  const absl::Time now = clock_->Now();
  struct Clocked {
    absl::Duration shift, work;
    double Ratio() const {
      return shift > absl::ZeroDuration() ? absl::FDivDuration(work, shift) : 0;
    }
  };
  auto clocked = [&](const TechRec& t) {
    Clocked c{t.shift_total, t.work_total};
    if (t.pub.state != TechnicianState::kOffShift && now > t.shift_since) {
      c.shift += now - t.shift_since;
    }
    if (t.pub.state == TechnicianState::kWorking && now > t.work_since) {
      c.work += now - t.work_since;
    }
    return c;
  };
  Clocked site;
  std::vector<Clocked> per_zone(zones_.size());
  for (const TechRec& t : techs_) {
    const Clocked c = clocked(t);
    site.shift += c.shift;
    site.work += c.work;
    per_zone[t.home].shift += c.shift;
    per_zone[t.home].work += c.work;
  }
  Stats stats;
  stats.site = stats_.site().ToKpis();
  stats.site.utilisation = site.Ratio();
  for (const auto& [id, index] : zones_by_id_) {
    if (zone && index != *zone) continue;
    stats.zones.emplace_back(id, stats_.zone(index).ToKpis());
    stats.zones.back().second.utilisation = per_zone[index].Ratio();
  }
  for (const auto& [id, index] : techs_by_id_) {
    if (tech != nullptr && index != tech->index) continue;
    if (tech == nullptr && zone && techs_[index].home != *zone) continue;
    stats.technicians.emplace_back(id, stats_.technician(index).ToKpis());
    stats.technicians.back().second.utilisation = clocked(techs_[index]).Ratio();
  }
  return stats;
}

}  // namespace dispatchd::engine
