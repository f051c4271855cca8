// RequestService: repair requests in, dispatcher steering. A thin adapter:
// each call becomes one engine command or query on the engine thread.
//
// Thread safety: thread-safe; methods run on gRPC threads.
#ifndef DISPATCHD_SERVICES_REQUEST_SERVICE_H_
#define DISPATCHD_SERVICES_REQUEST_SERVICE_H_

#include "dispatch/v1/requests.grpc.pb.h"
#include "services/engine_runner.h"

namespace dispatchd::services {

class RequestServiceImpl final : public ::dispatch::v1::RequestService::CallbackService {
 public:
  // "*runner" must outlive the service.
  explicit RequestServiceImpl(EngineRunner* runner) : runner_(runner) {}

  grpc::ServerUnaryReactor* SubmitRequest(
      grpc::CallbackServerContext* ctx, const ::dispatch::v1::SubmitRequestRequest* request,
      ::dispatch::v1::SubmitRequestResponse* response) override;
  grpc::ServerUnaryReactor* GetRequest(grpc::CallbackServerContext* ctx,
                                       const ::dispatch::v1::GetRequestRequest* request,
                                       ::dispatch::v1::GetRequestResponse* response) override;
  grpc::ServerUnaryReactor* ListRequests(
      grpc::CallbackServerContext* ctx, const ::dispatch::v1::ListRequestsRequest* request,
      ::dispatch::v1::ListRequestsResponse* response) override;
  grpc::ServerUnaryReactor* CancelRequest(
      grpc::CallbackServerContext* ctx, const ::dispatch::v1::CancelRequestRequest* request,
      ::dispatch::v1::CancelRequestResponse* response) override;
  grpc::ServerUnaryReactor* ChangeUrgency(
      grpc::CallbackServerContext* ctx, const ::dispatch::v1::ChangeUrgencyRequest* request,
      ::dispatch::v1::ChangeUrgencyResponse* response) override;
  grpc::ServerUnaryReactor* AssignRequest(
      grpc::CallbackServerContext* ctx, const ::dispatch::v1::AssignRequestRequest* request,
      ::dispatch::v1::AssignRequestResponse* response) override;
  grpc::ServerUnaryReactor* RecordFeedback(
      grpc::CallbackServerContext* ctx, const ::dispatch::v1::RecordFeedbackRequest* request,
      ::dispatch::v1::RecordFeedbackResponse* response) override;

 private:
  EngineRunner* const runner_;
};

}  // namespace dispatchd::services

#endif  // DISPATCHD_SERVICES_REQUEST_SERVICE_H_
