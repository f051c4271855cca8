#include "bench/noop_server.h"

#include <atomic>

#include "absl/strings/str_cat.h"
#include "dispatch/v1/requests.grpc.pb.h"

namespace dispatchd::bench {

class NoopServer::Service final : public dispatch::v1::RequestService::CallbackService {
 public:
  grpc::ServerUnaryReactor* SubmitRequest(grpc::CallbackServerContext* ctx,
                                          const dispatch::v1::SubmitRequestRequest* req,
                                          dispatch::v1::SubmitRequestResponse* resp) override {
    dispatch::v1::Request* r = resp->mutable_request();
    r->set_request_id(absl::StrCat("R-", next_.fetch_add(1)));
    r->set_zone_id(req->zone_id());
    r->set_state(dispatch::v1::REQUEST_STATE_QUEUED);
    auto* reactor = ctx->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

 private:
  std::atomic<uint64_t> next_{1};
};

NoopServer::NoopServer(const std::string& address) : service_(std::make_unique<Service>()) {
  grpc::ServerBuilder builder;
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &port_);
  builder.RegisterService(service_.get());
  server_ = builder.BuildAndStart();
}

NoopServer::~NoopServer() {
  if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
}

}  // namespace dispatchd::bench
