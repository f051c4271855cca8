#include "services/alert_service.h"

#include "services/codec.h"
#include "services/request_codec.h"
#include "services/service_util.h"

namespace dispatchd::services {

grpc::ServerUnaryReactor* AlertServiceImpl::RaiseAlert(grpc::CallbackServerContext* ctx,
                                                       const v1::RaiseAlertRequest* request,
                                                       v1::RaiseAlertResponse* response) {
  return RunCommand<v1::RaiseAlertResponse>(
      ctx, runner_, ToCommand(*request), response,
      [](const engine::Outcome& out, const engine::Engine& engine,
         v1::RaiseAlertResponse* resp) {
        const engine::Request* r = engine.FindRequest(out.request_id);
        if (r == nullptr) return NotFound("request_id", "request", out.request_id);
        resp->set_request_id(out.request_id);
        resp->set_duplicate(out.duplicate);
        RequestToProto(*r, resp->mutable_request());
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* AlertServiceImpl::ResolveAlert(
    grpc::CallbackServerContext* ctx, const v1::ResolveAlertRequest* request,
    v1::ResolveAlertResponse* response) {
  return RunCommand<v1::ResolveAlertResponse>(
      ctx, runner_, ToCommand(*request), response,
      [key = request->dedupe_key()](const engine::Outcome& out, const engine::Engine& engine,
                                    v1::ResolveAlertResponse* resp) {
        const engine::Request* r = engine.FindAlert(key);
        if (r == nullptr) r = engine.FindRequest(out.request_id);
        if (r == nullptr) return NotFound("dedupe_key", "alert", key);
        RequestToProto(*r, resp->mutable_request());
        return absl::OkStatus();
      });
}

}  // namespace dispatchd::services
