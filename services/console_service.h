// ConsoleService: what the dispatcher watches — the board, the live event
// stream, why a request went where, the KPIs, and an asset's history. A thin adapter over the
// engine's queries, the event log and the request index.
//
// Thread safety: thread-safe; methods run on gRPC threads.
#ifndef DISPATCHD_SERVICES_CONSOLE_SERVICE_H_
#define DISPATCHD_SERVICES_CONSOLE_SERVICE_H_

#include <cstddef>

#include "dispatch/v1/console.grpc.pb.h"
#include "services/engine_runner.h"
#include "services/event_log.h"

namespace dispatchd::services {

// The office's targets (DESIGN.md): first response within 2 hours on
// average, 95 % of jobs resolved.
inline constexpr double kTargetMeanResponseMinutes = 120;
inline constexpr double kTargetResolutionRate = 0.95;

class ConsoleServiceImpl final : public ::dispatch::v1::ConsoleService::CallbackService {
 public:
  // "*runner" and "*log" must outlive the service. `stream_capacity`:
  // events a slow WatchEvents consumer may have waiting before its stream
  // is ended (also the catch-up chunk size).
  ConsoleServiceImpl(EngineRunner* runner, const EventLog* log, size_t stream_capacity)
      : runner_(runner), log_(log), stream_capacity_(stream_capacity) {}

  grpc::ServerUnaryReactor* GetBoard(grpc::CallbackServerContext* ctx,
                                     const ::dispatch::v1::GetBoardRequest* request,
                                     ::dispatch::v1::GetBoardResponse* response) override;
  grpc::ServerWriteReactor<::dispatch::v1::Event>* WatchEvents(
      grpc::CallbackServerContext* ctx,
      const ::dispatch::v1::WatchEventsRequest* request) override;
  grpc::ServerUnaryReactor* ExplainAssignment(
      grpc::CallbackServerContext* ctx,
      const ::dispatch::v1::ExplainAssignmentRequest* request,
      ::dispatch::v1::ExplainAssignmentResponse* response) override;
  grpc::ServerUnaryReactor* GetStats(grpc::CallbackServerContext* ctx,
                                     const ::dispatch::v1::GetStatsRequest* request,
                                     ::dispatch::v1::GetStatsResponse* response) override;
  grpc::ServerUnaryReactor* GetAssetHistory(
      grpc::CallbackServerContext* ctx, const ::dispatch::v1::GetAssetHistoryRequest* request,
      ::dispatch::v1::GetAssetHistoryResponse* response) override;

 private:
  EngineRunner* const runner_;
  const EventLog* const log_;
  const size_t stream_capacity_;
};

}  // namespace dispatchd::services

#endif  // DISPATCHD_SERVICES_CONSOLE_SERVICE_H_
