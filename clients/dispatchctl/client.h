// Client: dispatchctl's connection to dispatchd — one channel (plaintext,
// TLS, or mutual TLS), a stub per dispatch.v1 service, and the bearer token
// that goes with every call as `authorization: Bearer <token>` metadata.
//
//   ASSIGN_OR_RETURN(std::unique_ptr<Client> client, Client::Create(options));
//   ASSIGN_OR_RETURN(v1::GetRequestResponse got,
//                    client->Unary(client->requests(),
//                                  &v1::RequestService::Stub::GetRequest, request));
//
// Thread safety: thread-safe; stubs and NewContext may be used from any
// thread.
#ifndef DISPATCHD_CLIENTS_DISPATCHCTL_CLIENT_H_
#define DISPATCHD_CLIENTS_DISPATCHCTL_CLIENT_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "dispatch/v1/admin.grpc.pb.h"
#include "dispatch/v1/alerts.grpc.pb.h"
#include "dispatch/v1/console.grpc.pb.h"
#include "dispatch/v1/inventory.grpc.pb.h"
#include "dispatch/v1/requests.grpc.pb.h"
#include "dispatch/v1/technicians.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace dispatchd::ctl {

struct ConnectionOptions {
  std::string server = "127.0.0.1:50051";  // host:port.
  std::string token;                       // Sent as "authorization: Bearer <token>"; empty: none.
  std::string tls_ca;    // PEM file of the CA that signed the server; enables TLS.
  std::string tls_cert;  // PEM client certificate, for mutual TLS (with tls_key).
  std::string tls_key;   // PEM private key of tls_cert.
  absl::Duration call_timeout = absl::Seconds(10);  // Deadline of a unary call.
};

// `status` as an absl::Status with the same code and the server's message.
absl::Status FromGrpc(const grpc::Status& status);

// Whether a live stream that ended with `code` is worth opening again (the
// daemon restarted, the network dropped); not when the answer would be the
// same (unknown id, bad argument, wrong or missing credentials, no such
// method).
bool StreamWorthReopening(absl::StatusCode code);

// Waits before reopening a live stream: 250 ms, doubling up to 5 s, back to
// 250 ms after a stream that delivered something.
class ReopenBackoff {
 public:
  absl::Duration Next(bool delivered);

 private:
  absl::Duration next_ = absl::Milliseconds(250);
};

class Client {
 public:
  // Builds the channel; does not wait for it. INVALID_ARGUMENT if a TLS file
  // cannot be read, or only one of tls_cert and tls_key is given.
  static absl::StatusOr<std::unique_ptr<Client>> Create(const ConnectionOptions& options);

  const std::string& target() const { return options_.server; }

  dispatch::v1::AdminService::Stub& admin() { return *admin_; }
  dispatch::v1::AlertService::Stub& alerts() { return *alerts_; }
  dispatch::v1::ConsoleService::Stub& console() { return *console_; }
  dispatch::v1::InventoryService::Stub& inventory() { return *inventory_; }
  dispatch::v1::RequestService::Stub& requests() { return *requests_; }
  dispatch::v1::TechnicianService::Stub& technicians() { return *technicians_; }

  // A context carrying the token; with the unary deadline, or none when
  // `stream` (a stream lives until cancelled).
  std::unique_ptr<grpc::ClientContext> NewContext(bool stream = false) const;

  // One unary call; a failure keeps the server's code and message.
  template <typename Stub, typename Req, typename Resp>
  absl::StatusOr<Resp> Unary(Stub& stub,
                             grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
                             const Req& request) {
    std::unique_ptr<grpc::ClientContext> context = NewContext();
    Resp response;
    grpc::Status status = (stub.*method)(context.get(), request, &response);
    if (!status.ok()) return FromGrpc(status);
    return response;
  }

 private:
  Client(ConnectionOptions options, std::shared_ptr<grpc::Channel> channel);

  const ConnectionOptions options_;
  const std::shared_ptr<grpc::Channel> channel_;
  const std::unique_ptr<dispatch::v1::AdminService::Stub> admin_;
  const std::unique_ptr<dispatch::v1::AlertService::Stub> alerts_;
  const std::unique_ptr<dispatch::v1::ConsoleService::Stub> console_;
  const std::unique_ptr<dispatch::v1::InventoryService::Stub> inventory_;
  const std::unique_ptr<dispatch::v1::RequestService::Stub> requests_;
  const std::unique_ptr<dispatch::v1::TechnicianService::Stub> technicians_;
};

}  // namespace dispatchd::ctl

#endif  // DISPATCHD_CLIENTS_DISPATCHCTL_CLIENT_H_
