#include "services/inventory_service.h"

#include <string>

#include "services/codec.h"
#include "services/request_codec.h"
#include "services/service_util.h"

namespace dispatchd::services {
namespace {

// NOT_FOUND naming `field` unless `zone_id` is empty or a known zone.
absl::Status CheckZoneFilter(const engine::Engine& engine, const std::string& zone_id,
                             absl::string_view field) {
  if (zone_id.empty() || engine.FindZone(zone_id) != nullptr) return absl::OkStatus();
  return NotFound(field, "zone", zone_id);
}

}  // namespace

grpc::ServerUnaryReactor* InventoryServiceImpl::AdjustStock(
    grpc::CallbackServerContext* ctx, const v1::AdjustStockRequest* request,
    v1::AdjustStockResponse* response) {
  return RunCommand<v1::AdjustStockResponse>(
      ctx, runner_, ToCommand(*request), response,
      [depot = request->depot_zone_id(), sku = request->sku()](
          const engine::Outcome&, const engine::Engine& engine,
          v1::AdjustStockResponse* resp) {
        v1::StockLevel* level = resp->mutable_level();
        level->set_depot_zone_id(depot);
        level->set_sku(sku);
        for (const engine::StockLevel& l : engine.GetStock(depot, sku)) {
          StockLevelToProto(l, level);
        }
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* InventoryServiceImpl::GetStock(grpc::CallbackServerContext* ctx,
                                                         const v1::GetStockRequest* request,
                                                         v1::GetStockResponse* response) {
  return RunQuery<v1::GetStockResponse>(
      ctx, runner_, response,
      [depot = request->depot_zone_id(), sku = request->sku()](
          const EngineView& view, v1::GetStockResponse* resp) {
        if (absl::Status s = CheckZoneFilter(view.engine, depot, "depot_zone_id"); !s.ok()) {
          return s;
        }
        for (const engine::StockLevel& l : view.engine.GetStock(depot, sku)) {
          StockLevelToProto(l, resp->add_levels());
        }
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* InventoryServiceImpl::ListShortages(
    grpc::CallbackServerContext* ctx, const v1::ListShortagesRequest* request,
    v1::ListShortagesResponse* response) {
  return RunQuery<v1::ListShortagesResponse>(
      ctx, runner_, response,
      [zone = request->zone_id()](const EngineView& view, v1::ListShortagesResponse* resp) {
        if (absl::Status s = CheckZoneFilter(view.engine, zone, "zone_id"); !s.ok()) return s;
        for (const engine::Shortage& s : view.engine.ListShortages(zone)) {
          ShortageToProto(s, resp->add_shortages());
        }
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* InventoryServiceImpl::ListDeliveries(
    grpc::CallbackServerContext* ctx, const v1::ListDeliveriesRequest* request,
    v1::ListDeliveriesResponse* response) {
  absl::StatusOr<std::optional<engine::DeliveryState>> state =
      DeliveryStateFilterFromProto(request->state());
  if (!state.ok()) return FinishNow(ctx, state.status());
  engine::DeliveryFilter filter{request->zone_id(), request->location(), *state};
  return RunQuery<v1::ListDeliveriesResponse>(
      ctx, runner_, response,
      [filter = std::move(filter)](const EngineView& view, v1::ListDeliveriesResponse* resp) {
        if (absl::Status s = CheckZoneFilter(view.engine, filter.zone_id, "zone_id"); !s.ok()) {
          return s;
        }
        for (const engine::Delivery* d : view.engine.ListDeliveries(filter)) {
          DeliveryToProto(*d, resp->add_deliveries());
        }
        return absl::OkStatus();
      });
}

}  // namespace dispatchd::services
