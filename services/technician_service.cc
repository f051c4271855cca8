#include "services/technician_service.h"

#include <memory>
#include <string>

#include "services/codec.h"
#include "services/request_codec.h"
#include "services/service_util.h"
#include "services/stream_hub.h"

namespace dispatchd::services {
namespace {

template <typename Response>
FillFromOutcome<Response> FillTechnician(std::string technician_id) {
  return [id = std::move(technician_id)](const engine::Outcome&, const engine::Engine& engine,
                                         Response* response) {
    const engine::Technician* t = engine.FindTechnician(id);
    if (t == nullptr) return NotFound("technician_id", "technician", id);
    TechnicianToProto(*t, response->mutable_technician());
    return absl::OkStatus();
  };
}

template <typename Response>
FillFromOutcome<Response> FillRequest(std::string request_id) {
  return [id = std::move(request_id)](const engine::Outcome&, const engine::Engine& engine,
                                      Response* response) {
    const engine::Request* r = engine.FindRequest(id);
    if (r == nullptr) return NotFound("request_id", "request", id);
    RequestToProto(*r, response->mutable_request());
    return absl::OkStatus();
  };
}

}  // namespace

// Identity, shift and location: reply with the technician.
#define DISPATCHD_TECHNICIAN_COMMAND(Method)                                           \
  grpc::ServerUnaryReactor* TechnicianServiceImpl::Method(                             \
      grpc::CallbackServerContext* ctx, const v1::Method##Request* request,            \
      v1::Method##Response* response) {                                                \
    return RunCommand(ctx, runner_, ToCommand(*request), response,                     \
                      FillTechnician<v1::Method##Response>(request->technician_id())); \
  }
DISPATCHD_TECHNICIAN_COMMAND(RegisterTechnician)
DISPATCHD_TECHNICIAN_COMMAND(UpdateTechnician)
DISPATCHD_TECHNICIAN_COMMAND(StartShift)
DISPATCHD_TECHNICIAN_COMMAND(EndShift)
DISPATCHD_TECHNICIAN_COMMAND(ReportLocation)
#undef DISPATCHD_TECHNICIAN_COMMAND

// Acting on a job: reply with the job.
#define DISPATCHD_JOB_COMMAND(Method)                                            \
  grpc::ServerUnaryReactor* TechnicianServiceImpl::Method(                       \
      grpc::CallbackServerContext* ctx, const v1::Method##Request* request,      \
      v1::Method##Response* response) {                                          \
    return RunCommand(ctx, runner_, ToCommand(*request), response,               \
                      FillRequest<v1::Method##Response>(request->request_id())); \
  }
DISPATCHD_JOB_COMMAND(AcceptAssignment)
DISPATCHD_JOB_COMMAND(DeclineAssignment)
DISPATCHD_JOB_COMMAND(StartWork)
DISPATCHD_JOB_COMMAND(CompleteWork)
DISPATCHD_JOB_COMMAND(PutOnHold)
#undef DISPATCHD_JOB_COMMAND

grpc::ServerUnaryReactor* TechnicianServiceImpl::GetTechnician(
    grpc::CallbackServerContext* ctx, const v1::GetTechnicianRequest* request,
    v1::GetTechnicianResponse* response) {
  if (absl::Status s = RequireNonEmpty(request->technician_id(), "technician_id"); !s.ok()) {
    return FinishNow(ctx, s);
  }
  return RunQuery<v1::GetTechnicianResponse>(
      ctx, runner_, response,
      [id = request->technician_id()](const EngineView& view,
                                      v1::GetTechnicianResponse* resp) {
        const engine::Technician* t = view.engine.FindTechnician(id);
        if (t == nullptr) return NotFound("technician_id", "technician", id);
        TechnicianToProto(*t, resp->mutable_technician());
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* TechnicianServiceImpl::ListTechnicians(
    grpc::CallbackServerContext* ctx, const v1::ListTechniciansRequest* request,
    v1::ListTechniciansResponse* response) {
  return RunQuery<v1::ListTechniciansResponse>(
      ctx, runner_, response,
      [zone = request->zone_id()](const EngineView& view, v1::ListTechniciansResponse* resp) {
        if (!zone.empty() && view.engine.FindZone(zone) == nullptr) {
          return NotFound("zone_id", "zone", zone);
        }
        for (const engine::Technician* t : view.engine.ListTechnicians(zone)) {
          TechnicianToProto(*t, resp->add_technicians());
        }
        return absl::OkStatus();
      });
}

grpc::ServerWriteReactor<v1::AssignmentUpdates>* TechnicianServiceImpl::WatchAssignments(
    grpc::CallbackServerContext* ctx, const v1::WatchAssignmentsRequest* request) {
  auto stream = std::make_shared<AssignmentStream>(stream_capacity_);
  EngineRunner* runner = runner_;
  const void* key = stream.get();
  stream->Hold(stream, [runner, key] { runner->Unsubscribe(key); });
  if (absl::Status denied = CallAccess(ctx); !denied.ok()) {
    stream->Close(ToGrpcStatus(denied));
  } else if (request->technician_id().empty()) {
    stream->Close(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                               "technician_id: required"));
  } else {
    runner_->WatchAssignments(request->technician_id(), stream);
  }
  return stream.get();
}

}  // namespace dispatchd::services
