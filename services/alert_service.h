// AlertService: sensors, building systems and people raising emergencies.
// A thin adapter over cmd::RaiseAlert / cmd::ResolveAlert; the engine
// deduplicates by key.
//
// Thread safety: thread-safe; methods run on gRPC threads.
#ifndef DISPATCHD_SERVICES_ALERT_SERVICE_H_
#define DISPATCHD_SERVICES_ALERT_SERVICE_H_

#include "dispatch/v1/alerts.grpc.pb.h"
#include "services/engine_runner.h"

namespace dispatchd::services {

class AlertServiceImpl final : public ::dispatch::v1::AlertService::CallbackService {
 public:
  // "*runner" must outlive the service.
  explicit AlertServiceImpl(EngineRunner* runner) : runner_(runner) {}

  grpc::ServerUnaryReactor* RaiseAlert(grpc::CallbackServerContext* ctx,
                                       const ::dispatch::v1::RaiseAlertRequest* request,
                                       ::dispatch::v1::RaiseAlertResponse* response) override;
  grpc::ServerUnaryReactor* ResolveAlert(
      grpc::CallbackServerContext* ctx, const ::dispatch::v1::ResolveAlertRequest* request,
      ::dispatch::v1::ResolveAlertResponse* response) override;

 private:
  EngineRunner* const runner_;
};

}  // namespace dispatchd::services

#endif  // DISPATCHD_SERVICES_ALERT_SERVICE_H_
