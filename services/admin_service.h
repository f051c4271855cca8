// AdminService: the site's zones and the office's policy. A thin adapter
// over cmd::UpsertZone / cmd::SetPolicy and the engine's queries.
//
// Thread safety: thread-safe; methods run on gRPC threads.
#ifndef DISPATCHD_SERVICES_ADMIN_SERVICE_H_
#define DISPATCHD_SERVICES_ADMIN_SERVICE_H_

#include "dispatch/v1/admin.grpc.pb.h"
#include "services/engine_runner.h"

namespace dispatchd::services {

class AdminServiceImpl final : public ::dispatch::v1::AdminService::CallbackService {
 public:
  // "*runner" must outlive the service.
  explicit AdminServiceImpl(EngineRunner* runner) : runner_(runner) {}

  grpc::ServerUnaryReactor* UpsertZone(grpc::CallbackServerContext* ctx,
                                       const ::dispatch::v1::UpsertZoneRequest* request,
                                       ::dispatch::v1::UpsertZoneResponse* response) override;
  grpc::ServerUnaryReactor* ListZones(grpc::CallbackServerContext* ctx,
                                      const ::dispatch::v1::ListZonesRequest* request,
                                      ::dispatch::v1::ListZonesResponse* response) override;
  grpc::ServerUnaryReactor* GetStateDigest(
      grpc::CallbackServerContext* ctx, const ::dispatch::v1::GetStateDigestRequest* request,
      ::dispatch::v1::GetStateDigestResponse* response) override;
  grpc::ServerUnaryReactor* GetPolicy(grpc::CallbackServerContext* ctx,
                                      const ::dispatch::v1::GetPolicyRequest* request,
                                      ::dispatch::v1::GetPolicyResponse* response) override;
  grpc::ServerUnaryReactor* SetPolicy(grpc::CallbackServerContext* ctx,
                                      const ::dispatch::v1::SetPolicyRequest* request,
                                      ::dispatch::v1::SetPolicyResponse* response) override;

 private:
  EngineRunner* const runner_;
};

}  // namespace dispatchd::services

#endif  // DISPATCHD_SERVICES_ADMIN_SERVICE_H_
