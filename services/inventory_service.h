// InventoryService: the materials depots. A thin adapter over
// cmd::AdjustStock and the engine's stock and delivery queries.
//
// Thread safety: thread-safe; methods run on gRPC threads.
#ifndef DISPATCHD_SERVICES_INVENTORY_SERVICE_H_
#define DISPATCHD_SERVICES_INVENTORY_SERVICE_H_

#include "dispatch/v1/inventory.grpc.pb.h"
#include "services/engine_runner.h"

namespace dispatchd::services {

class InventoryServiceImpl final : public ::dispatch::v1::InventoryService::CallbackService {
 public:
  // "*runner" must outlive the service.
  explicit InventoryServiceImpl(EngineRunner* runner) : runner_(runner) {}

  grpc::ServerUnaryReactor* AdjustStock(grpc::CallbackServerContext* ctx,
                                        const ::dispatch::v1::AdjustStockRequest* request,
                                        ::dispatch::v1::AdjustStockResponse* response) override;
  grpc::ServerUnaryReactor* GetStock(grpc::CallbackServerContext* ctx,
                                     const ::dispatch::v1::GetStockRequest* request,
                                     ::dispatch::v1::GetStockResponse* response) override;
  grpc::ServerUnaryReactor* ListShortages(
      grpc::CallbackServerContext* ctx, const ::dispatch::v1::ListShortagesRequest* request,
      ::dispatch::v1::ListShortagesResponse* response) override;
  grpc::ServerUnaryReactor* ListDeliveries(
      grpc::CallbackServerContext* ctx, const ::dispatch::v1::ListDeliveriesRequest* request,
      ::dispatch::v1::ListDeliveriesResponse* response) override;

 private:
  EngineRunner* const runner_;
};

}  // namespace dispatchd::services

#endif  // DISPATCHD_SERVICES_INVENTORY_SERVICE_H_
