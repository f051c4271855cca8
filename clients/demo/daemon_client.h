// DaemonClient: the demo's connection to dispatchd — one insecure channel and
// a stub per dispatch.v1 service — plus a registry of the calls in flight, so
// that CancelAll ends every one of them (streams included) at once.
//
//   ASSIGN_OR_RETURN(auto daemon, DaemonClient::Connect("127.0.0.1:50051",
//                                                        absl::Seconds(5)));
//   absl::StatusOr<dispatch::v1::ListZonesResponse> zones = daemon->Unary(
//       daemon->admin(), &dispatch::v1::AdminService::Stub::ListZones,
//       dispatch::v1::ListZonesRequest(), "ListZones");
//
// Thread safety: thread-safe. Stubs may be used from any thread.
#ifndef DISPATCHD_CLIENTS_DEMO_DAEMON_CLIENT_H_
#define DISPATCHD_CLIENTS_DEMO_DAEMON_CLIENT_H_

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "dispatch/v1/admin.grpc.pb.h"
#include "dispatch/v1/alerts.grpc.pb.h"
#include "dispatch/v1/inventory.grpc.pb.h"
#include "dispatch/v1/requests.grpc.pb.h"
#include "dispatch/v1/technicians.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace dispatchd::demo {

// `status` as an absl::Status with the same code; the message starts with
// `what` (e.g. "RegisterTechnician T-ELEC-01: ").
absl::Status FromGrpc(const grpc::Status& status, absl::string_view what);

class DaemonClient {
 public:
  // Deadline of a unary call.
  static constexpr absl::Duration kCallTimeout = absl::Seconds(5);

  // Opens a channel to `target` and waits until it is ready. UNAVAILABLE if
  // it is not within `timeout`. A non-empty `token` is sent with every call
  // as "authorization: Bearer <token>".
  static absl::StatusOr<std::unique_ptr<DaemonClient>> Connect(const std::string& target,
                                                               absl::Duration timeout,
                                                               std::string token = "");

  dispatch::v1::AdminService::Stub& admin() { return *admin_; }
  dispatch::v1::AlertService::Stub& alerts() { return *alerts_; }
  dispatch::v1::InventoryService::Stub& inventory() { return *inventory_; }
  dispatch::v1::RequestService::Stub& requests() { return *requests_; }
  dispatch::v1::TechnicianService::Stub& technicians() { return *technicians_; }

  // Cancels every call in flight, and every call started from now on.
  void CancelAll();

  // The context of one call, registered with the client while it lives so
  // that CancelAll reaches it.
  class Call {
   public:
    // `timeout`: the call's deadline from now; absl::InfiniteDuration() for
    // none (a stream). "*client" must outlive the call.
    explicit Call(DaemonClient* client, absl::Duration timeout = kCallTimeout);
    ~Call();
    Call(const Call&) = delete;
    Call& operator=(const Call&) = delete;

    grpc::ClientContext* context() { return &context_; }

   private:
    DaemonClient* const client_;
    grpc::ClientContext context_;
  };

  // Makes one unary call with a fresh Call; a failure is FromGrpc(status, what).
  template <typename Stub, typename Req, typename Resp>
  absl::StatusOr<Resp> Unary(Stub& stub,
                             grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
                             const Req& request, absl::string_view what) {
    Call call(this);
    Resp response;
    grpc::Status status = (stub.*method)(call.context(), request, &response);
    if (!status.ok()) return FromGrpc(status, what);
    return response;
  }

 private:
  explicit DaemonClient(std::shared_ptr<grpc::Channel> channel);

  void Register(grpc::ClientContext* context);
  void Unregister(grpc::ClientContext* context);

  const std::shared_ptr<grpc::Channel> channel_;
  std::string authorization_;  // Metadata value; empty: none. Set once by Connect.
  const std::unique_ptr<dispatch::v1::AdminService::Stub> admin_;
  const std::unique_ptr<dispatch::v1::AlertService::Stub> alerts_;
  const std::unique_ptr<dispatch::v1::InventoryService::Stub> inventory_;
  const std::unique_ptr<dispatch::v1::RequestService::Stub> requests_;
  const std::unique_ptr<dispatch::v1::TechnicianService::Stub> technicians_;

  absl::Mutex mu_;
  absl::flat_hash_set<grpc::ClientContext*> in_flight_ ABSL_GUARDED_BY(mu_);
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace dispatchd::demo

#endif  // DISPATCHD_CLIENTS_DEMO_DAEMON_CLIENT_H_
