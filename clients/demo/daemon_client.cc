#include "clients/demo/daemon_client.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace dispatchd::demo {

absl::Status FromGrpc(const grpc::Status& status, absl::string_view what) {
  if (status.ok()) return absl::OkStatus();
  // gRPC and Abseil status codes are the same numbers.
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      absl::StrCat(what, ": ", status.error_message()));
}

absl::StatusOr<std::unique_ptr<DaemonClient>> DaemonClient::Connect(const std::string& target,
                                                                    absl::Duration timeout,
                                                                    std::string token) {
  auto channel = grpc::CreateChannel(target, grpc::InsecureChannelCredentials());
  if (!channel->WaitForConnected(absl::ToChronoTime(absl::Now() + timeout))) {
    return absl::UnavailableError(absl::StrCat(
        "dispatchd at ", target, " is not reachable (waited ", absl::FormatDuration(timeout), ")"));
  }
  std::unique_ptr<DaemonClient> client(new DaemonClient(std::move(channel)));
  if (!token.empty()) client->authorization_ = absl::StrCat("Bearer ", token);
  return client;
}

DaemonClient::DaemonClient(std::shared_ptr<grpc::Channel> channel)
    : channel_(std::move(channel)),
      admin_(dispatch::v1::AdminService::NewStub(channel_)),
      alerts_(dispatch::v1::AlertService::NewStub(channel_)),
      inventory_(dispatch::v1::InventoryService::NewStub(channel_)),
      requests_(dispatch::v1::RequestService::NewStub(channel_)),
      technicians_(dispatch::v1::TechnicianService::NewStub(channel_)) {}

void DaemonClient::CancelAll() {
  absl::MutexLock lock(&mu_);
  cancelled_ = true;
  for (grpc::ClientContext* context : in_flight_) context->TryCancel();
}

void DaemonClient::Register(grpc::ClientContext* context) {
  absl::MutexLock lock(&mu_);
  in_flight_.insert(context);
  // A context cancelled before its call starts fails that call at once.
  if (cancelled_) context->TryCancel();
}

void DaemonClient::Unregister(grpc::ClientContext* context) {
  absl::MutexLock lock(&mu_);
  in_flight_.erase(context);
}

DaemonClient::Call::Call(DaemonClient* client, absl::Duration timeout) : client_(client) {
  if (timeout != absl::InfiniteDuration()) {
    context_.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  }
  if (!client_->authorization_.empty())
    context_.AddMetadata("authorization", client_->authorization_);
  client_->Register(&context_);
}

DaemonClient::Call::~Call() { client_->Unregister(&context_); }

}  // namespace dispatchd::demo
