#include "services/admin_service.h"

#include "services/codec.h"
#include "services/request_codec.h"
#include "services/service_util.h"

namespace dispatchd::services {

grpc::ServerUnaryReactor* AdminServiceImpl::UpsertZone(grpc::CallbackServerContext* ctx,
                                                       const v1::UpsertZoneRequest* request,
                                                       v1::UpsertZoneResponse* response) {
  return RunCommand<v1::UpsertZoneResponse>(
      ctx, runner_, ToCommand(*request), response,
      [id = request->zone_id()](const engine::Outcome&, const engine::Engine& engine,
                                v1::UpsertZoneResponse* resp) {
        const engine::Zone* zone = engine.FindZone(id);
        if (zone == nullptr) return NotFound("zone_id", "zone", id);
        ZoneToProto(*zone, resp->mutable_zone());
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* AdminServiceImpl::ListZones(grpc::CallbackServerContext* ctx,
                                                      const v1::ListZonesRequest* request,
                                                      v1::ListZonesResponse* response) {
  return RunQuery<v1::ListZonesResponse>(
      ctx, runner_, response, [](const EngineView& view, v1::ListZonesResponse* resp) {
        for (const engine::Zone* z : view.engine.ListZones()) ZoneToProto(*z, resp->add_zones());
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* AdminServiceImpl::GetPolicy(grpc::CallbackServerContext* ctx,
                                                      const v1::GetPolicyRequest* request,
                                                      v1::GetPolicyResponse* response) {
  return RunQuery<v1::GetPolicyResponse>(
      ctx, runner_, response, [](const EngineView& view, v1::GetPolicyResponse* resp) {
        PolicyToProto(view.engine.policy(), resp->mutable_policy());
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* AdminServiceImpl::SetPolicy(grpc::CallbackServerContext* ctx,
                                                      const v1::SetPolicyRequest* request,
                                                      v1::SetPolicyResponse* response) {
  return RunCommand<v1::SetPolicyResponse>(
      ctx, runner_, ToCommand(*request), response,
      [](const engine::Outcome&, const engine::Engine& engine, v1::SetPolicyResponse* resp) {
        PolicyToProto(engine.policy(), resp->mutable_policy());
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* AdminServiceImpl::GetStateDigest(
    grpc::CallbackServerContext* ctx, const v1::GetStateDigestRequest* request,
    v1::GetStateDigestResponse* response) {
  return RunQuery<v1::GetStateDigestResponse>(
      ctx, runner_, response, [](const EngineView& view, v1::GetStateDigestResponse* resp) {
        resp->set_digest(view.engine.Digest());
        resp->set_last_sequence(view.engine.last_sequence());
        return absl::OkStatus();
      });
}

}  // namespace dispatchd::services
