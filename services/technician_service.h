// TechnicianService: the technician app's side — registration, shifts,
// location, the WatchAssignments stream, and acting on offered jobs. A thin
// adapter: each call becomes one engine command or query.
//
// Thread safety: thread-safe; methods run on gRPC threads.
#ifndef DISPATCHD_SERVICES_TECHNICIAN_SERVICE_H_
#define DISPATCHD_SERVICES_TECHNICIAN_SERVICE_H_

#include <cstddef>

#include "dispatch/v1/technicians.grpc.pb.h"
#include "services/engine_runner.h"

namespace dispatchd::services {

class TechnicianServiceImpl final
    : public ::dispatch::v1::TechnicianService::CallbackService {
 public:
  // "*runner" must outlive the service. `stream_capacity`: updates a slow
  // WatchAssignments consumer may have waiting before its stream is ended.
  TechnicianServiceImpl(EngineRunner* runner, size_t stream_capacity)
      : runner_(runner), stream_capacity_(stream_capacity) {}

#define DISPATCHD_UNARY(Method)                                                      \
  grpc::ServerUnaryReactor* Method(grpc::CallbackServerContext* ctx,                 \
                                   const ::dispatch::v1::Method##Request* request,   \
                                   ::dispatch::v1::Method##Response* response) override;
  DISPATCHD_UNARY(RegisterTechnician)
  DISPATCHD_UNARY(UpdateTechnician)
  DISPATCHD_UNARY(StartShift)
  DISPATCHD_UNARY(EndShift)
  DISPATCHD_UNARY(ReportLocation)
  DISPATCHD_UNARY(AcceptAssignment)
  DISPATCHD_UNARY(DeclineAssignment)
  DISPATCHD_UNARY(StartWork)
  DISPATCHD_UNARY(CompleteWork)
  DISPATCHD_UNARY(PutOnHold)
  DISPATCHD_UNARY(GetTechnician)
  DISPATCHD_UNARY(ListTechnicians)
#undef DISPATCHD_UNARY

  grpc::ServerWriteReactor<::dispatch::v1::AssignmentUpdates>* WatchAssignments(
      grpc::CallbackServerContext* ctx,
      const ::dispatch::v1::WatchAssignmentsRequest* request) override;

 private:
  EngineRunner* const runner_;
  const size_t stream_capacity_;
};

}  // namespace dispatchd::services

#endif  // DISPATCHD_SERVICES_TECHNICIAN_SERVICE_H_
