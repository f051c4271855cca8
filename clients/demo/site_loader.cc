#include "clients/demo/site_loader.h"

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/status_macros.h"

namespace dispatchd::demo {
namespace {

namespace v1 = dispatch::v1;

// Each zone's links, both directions, in the order the config lists them.
absl::flat_hash_map<std::string, std::vector<v1::Neighbor>> SymmetricLinks(
    const dispatch::demo::DemoCampus& campus) {
  absl::flat_hash_map<std::string, std::vector<v1::Neighbor>> links;
  auto add = [&links](const std::string& from, const std::string& to, uint32_t minutes) {
    for (const auto& n : links[from]) {
      if (n.zone_id() == to) return;
    }
    v1::Neighbor n;
    n.set_zone_id(to);
    n.set_travel_minutes(minutes);
    links[from].push_back(std::move(n));
  };
  for (const auto& zone : campus.zones()) {
    for (const auto& n : zone.neighbors()) {
      add(zone.zone_id(), n.zone_id(), n.travel_minutes());
      add(n.zone_id(), zone.zone_id(), n.travel_minutes());
    }
  }
  return links;
}

absl::Status LoadZones(const DemoContext& ctx) {
  DaemonClient& d = *ctx.daemon;
  for (const auto& zone : ctx.campus->zones()) {
    v1::UpsertZoneRequest bare;
    bare.set_zone_id(zone.zone_id());
    bare.set_name(zone.name());
    RETURN_IF_ERROR(d.Unary(d.admin(), &v1::AdminService::Stub::UpsertZone, bare,
                            absl::StrCat("UpsertZone ", zone.zone_id()))
                        .status());
  }
  auto links = SymmetricLinks(*ctx.campus);
  for (const auto& zone : ctx.campus->zones()) {
    v1::UpsertZoneRequest linked;
    linked.set_zone_id(zone.zone_id());
    linked.set_name(zone.name());
    for (const auto& n : links[zone.zone_id()]) *linked.add_neighbors() = n;
    RETURN_IF_ERROR(d.Unary(d.admin(), &v1::AdminService::Stub::UpsertZone, linked,
                            absl::StrCat("UpsertZone ", zone.zone_id(), " (links)"))
                        .status());
  }
  return absl::OkStatus();
}

absl::Status LoadTechnicians(const DemoContext& ctx) {
  DaemonClient& d = *ctx.daemon;
  for (const auto& tech : ctx.campus->technicians()) {
    v1::RegisterTechnicianRequest req;
    req.set_technician_id(tech.technician_id());
    req.set_name(tech.name());
    req.set_home_zone_id(tech.home_zone_id());
    *req.mutable_skills() = tech.skills();
    RETURN_IF_ERROR(d.Unary(d.technicians(), &v1::TechnicianService::Stub::RegisterTechnician, req,
                            absl::StrCat("RegisterTechnician ", tech.technician_id()))
                        .status());
  }
  return absl::OkStatus();
}

absl::Status LoadStock(const DemoContext& ctx) {
  DaemonClient& d = *ctx.daemon;
  for (const auto& depot : ctx.campus->depots()) {
    for (const auto& line : depot.stock()) {
      v1::AdjustStockRequest req;
      req.set_depot_zone_id(depot.zone_id());
      req.set_sku(line.sku());
      req.set_delta(line.quantity());
      req.set_reason("demo: opening stock");
      RETURN_IF_ERROR(d.Unary(d.inventory(), &v1::InventoryService::Stub::AdjustStock, req,
                              absl::StrCat("AdjustStock ", depot.zone_id(), " ", line.sku()))
                          .status());
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<bool> LoadSiteIfEmpty(const DemoContext& ctx) {
  DaemonClient& d = *ctx.daemon;
  ASSIGN_OR_RETURN(v1::ListZonesResponse existing,
                   (d.Unary(d.admin(), &v1::AdminService::Stub::ListZones, v1::ListZonesRequest(),
                            "ListZones")));
  if (existing.zones_size() > 0) {
    ctx.log->Printf("site already has %d zones: leaving it as it is", existing.zones_size());
    return false;
  }
  v1::SetPolicyRequest policy;
  *policy.mutable_policy() = ctx.campus->policy();
  RETURN_IF_ERROR(
      d.Unary(d.admin(), &v1::AdminService::Stub::SetPolicy, policy, "SetPolicy").status());
  RETURN_IF_ERROR(LoadZones(ctx));
  RETURN_IF_ERROR(LoadTechnicians(ctx));
  RETURN_IF_ERROR(LoadStock(ctx));
  int skus = 0;
  for (const auto& depot : ctx.campus->depots()) skus += depot.stock_size();
  ctx.log->Printf("loaded %s: %d zones, %d technicians, %d stock lines in %d depots",
                  ctx.campus->name(), ctx.campus->zones_size(), ctx.campus->technicians_size(),
                  skus, ctx.campus->depots_size());
  return true;
}

void Restock(const DemoContext& ctx, int delivery_number) {
  DaemonClient& d = *ctx.daemon;
  const std::string reason = absl::StrFormat("demo delivery D-%04d", delivery_number);
  for (const auto& depot : ctx.campus->depots()) {
    v1::GetStockRequest query;
    query.set_depot_zone_id(depot.zone_id());
    auto levels = d.Unary(d.inventory(), &v1::InventoryService::Stub::GetStock, query,
                          absl::StrCat("GetStock ", depot.zone_id()));
    if (!levels.ok()) return ctx.LogFailure(levels.status());
    absl::flat_hash_map<std::string, int64_t> on_hand;
    for (const auto& level : levels->levels()) on_hand[level.sku()] = level.on_hand();
    int64_t units = 0;
    int lines = 0;
    for (const auto& line : depot.stock()) {
      const int64_t missing = static_cast<int64_t>(line.quantity()) - on_hand[line.sku()];
      if (missing <= 0) continue;
      v1::AdjustStockRequest req;
      req.set_depot_zone_id(depot.zone_id());
      req.set_sku(line.sku());
      req.set_delta(missing);
      req.set_reason(reason);
      auto done = d.Unary(d.inventory(), &v1::InventoryService::Stub::AdjustStock, req,
                          absl::StrCat("AdjustStock ", depot.zone_id(), " ", line.sku()));
      if (!done.ok()) return ctx.LogFailure(done.status());
      units += missing;
      ++lines;
    }
    if (lines > 0) {
      ctx.log->Printf("stock  %s to depot %s: +%d units over %d skus", reason, depot.zone_id(),
                      units, lines);
    }
  }
}

}  // namespace dispatchd::demo
