#include "services/request_service.h"

#include <string>

#include "base/status_macros.h"
#include "services/codec.h"
#include "services/request_codec.h"
#include "services/service_util.h"

namespace dispatchd::services {
namespace {

// The response's `request` field, as the engine holds it now.
template <typename Response>
FillFromOutcome<Response> FillRequest(std::string request_id) {
  return [request_id = std::move(request_id)](const engine::Outcome& out,
                                               const engine::Engine& engine,
                                               Response* response) {
    const std::string& id = request_id.empty() ? out.request_id : request_id;
    const engine::Request* r = engine.FindRequest(id);
    if (r == nullptr) return NotFound("request_id", "request", id);
    RequestToProto(*r, response->mutable_request());
    return absl::OkStatus();
  };
}

}  // namespace

grpc::ServerUnaryReactor* RequestServiceImpl::SubmitRequest(
    grpc::CallbackServerContext* ctx, const v1::SubmitRequestRequest* request,
    v1::SubmitRequestResponse* response) {
  return RunCommand(ctx, runner_, ToCommand(*request), response,
                    FillRequest<v1::SubmitRequestResponse>(""));
}

grpc::ServerUnaryReactor* RequestServiceImpl::GetRequest(
    grpc::CallbackServerContext* ctx, const v1::GetRequestRequest* request,
    v1::GetRequestResponse* response) {
  if (absl::Status s = RequireNonEmpty(request->request_id(), "request_id"); !s.ok()) {
    return FinishNow(ctx, s);
  }
  return RunQuery<v1::GetRequestResponse>(
      ctx, runner_, response,
      [id = request->request_id()](const EngineView& view, v1::GetRequestResponse* resp) {
        const engine::Request* r = view.engine.FindRequest(id);
        if (r == nullptr) return NotFound("request_id", "request", id);
        RequestToProto(*r, resp->mutable_request());
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* RequestServiceImpl::ListRequests(
    grpc::CallbackServerContext* ctx, const v1::ListRequestsRequest* request,
    v1::ListRequestsResponse* response) {
  absl::StatusOr<ListRequestsQuery> query = ToQuery(*request);
  if (!query.ok()) return FinishNow(ctx, query.status());
  return RunQuery<v1::ListRequestsResponse>(
      ctx, runner_, response,
      [q = *std::move(query)](const EngineView& view,
                              v1::ListRequestsResponse* resp) -> absl::Status {
        if (!q.filter.zone_id.empty() && view.engine.FindZone(q.filter.zone_id) == nullptr) {
          return NotFound("zone_id", "zone", q.filter.zone_id);
        }
        ASSIGN_OR_RETURN(engine::RequestPage page,
                         view.engine.ListRequests(q.filter, q.page_token, q.page_size));
        for (const engine::Request* r : page.requests) {
          RequestToProto(*r, resp->add_requests());
        }
        resp->set_next_page_token(page.next_page_token);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* RequestServiceImpl::CancelRequest(
    grpc::CallbackServerContext* ctx, const v1::CancelRequestRequest* request,
    v1::CancelRequestResponse* response) {
  return RunCommand(ctx, runner_, ToCommand(*request), response,
                    FillRequest<v1::CancelRequestResponse>(request->request_id()));
}

grpc::ServerUnaryReactor* RequestServiceImpl::ChangeUrgency(
    grpc::CallbackServerContext* ctx, const v1::ChangeUrgencyRequest* request,
    v1::ChangeUrgencyResponse* response) {
  return RunCommand(ctx, runner_, ToCommand(*request), response,
                    FillRequest<v1::ChangeUrgencyResponse>(request->request_id()));
}

grpc::ServerUnaryReactor* RequestServiceImpl::AssignRequest(
    grpc::CallbackServerContext* ctx, const v1::AssignRequestRequest* request,
    v1::AssignRequestResponse* response) {
  return RunCommand(ctx, runner_, ToCommand(*request), response,
                    FillRequest<v1::AssignRequestResponse>(request->request_id()));
}

grpc::ServerUnaryReactor* RequestServiceImpl::RecordFeedback(
    grpc::CallbackServerContext* ctx, const v1::RecordFeedbackRequest* request,
    v1::RecordFeedbackResponse* response) {
  return RunCommand(ctx, runner_, ToCommand(*request), response,
                    FillRequest<v1::RecordFeedbackResponse>(request->request_id()));
}

}  // namespace dispatchd::services
