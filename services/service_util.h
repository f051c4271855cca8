// The two shapes every unary dispatch.v1 method takes: run a command, or run
// a query, on the engine thread, fill the response there, and finish the
// call once what it shows is durable.
//
//   return RunCommand(ctx, runner_, ToCommand(*request), response,
//                     [](const engine::Outcome& out, const engine::Engine& e,
//                        v1::FooResponse* resp) { ...; return absl::OkStatus(); });
//
// Thread safety: call from gRPC threads. `fill` runs on the engine thread;
// gRPC owns `response` until the call finishes, which happens after `fill`.
#ifndef DISPATCHD_SERVICES_SERVICE_UTIL_H_
#define DISPATCHD_SERVICES_SERVICE_UTIL_H_

#include <string>
#include <utility>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "engine/commands.h"
#include "engine/engine.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/server_callback.h"
#include "services/access.h"
#include "services/codec.h"
#include "services/engine_runner.h"

namespace dispatchd::services {

// Finishes the call now with `status` (e.g. bad input caught before the
// engine). Nothing reaches the engine.
// A call refused by access control (services/access.h) finishes with that
// verdict instead, whatever else was wrong with it.
inline grpc::ServerUnaryReactor* FinishNow(grpc::CallbackServerContext* ctx,
                                           const absl::Status& status) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  absl::Status denied = CallAccess(ctx);
  reactor->Finish(ToGrpcStatus(denied.ok() ? status : denied));
  return reactor;
}

template <typename Response>
using FillFromOutcome = absl::AnyInvocable<absl::Status(
    const engine::Outcome&, const engine::Engine&, Response*)>;

// Handles `command` (or finishes with its error); on success fills
// `response` with `fill`.
template <typename Response>
grpc::ServerUnaryReactor* RunCommand(grpc::CallbackServerContext* ctx, EngineRunner* runner,
                                     absl::StatusOr<engine::Command> command,
                                     Response* response, FillFromOutcome<Response> fill) {
  if (!command.ok()) return FinishNow(ctx, command.status());
  if (absl::Status denied = CallAccess(ctx); !denied.ok()) return FinishNow(ctx, denied);
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  runner->Submit(
      *std::move(command),
      [response, fill = std::move(fill)](const absl::StatusOr<engine::Outcome>& outcome,
                                         const engine::Engine& engine) mutable {
        if (!outcome.ok()) return outcome.status();
        return fill(*outcome, engine, response);
      },
      [reactor](absl::Status status) { reactor->Finish(ToGrpcStatus(status)); });
  return reactor;
}

template <typename Response>
using FillFromView = absl::AnyInvocable<absl::Status(const EngineView&, Response*)>;

// Fills `response` from the engine's state with `fill`.
template <typename Response>
grpc::ServerUnaryReactor* RunQuery(grpc::CallbackServerContext* ctx, EngineRunner* runner,
                                   Response* response, FillFromView<Response> fill) {
  if (absl::Status denied = CallAccess(ctx); !denied.ok()) return FinishNow(ctx, denied);
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  runner->Query(
      [response, fill = std::move(fill)](const EngineView& view) mutable {
        return fill(view, response);
      },
      [reactor](absl::Status status) { reactor->Finish(ToGrpcStatus(status)); });
  return reactor;
}

// NOT_FOUND "<field>: unknown <what> '<id>'", worded as the engine does.
inline absl::Status NotFound(absl::string_view field, absl::string_view what,
                             absl::string_view id) {
  return absl::NotFoundError(absl::StrCat(field, ": unknown ", what, " '", id, "'"));
}

}  // namespace dispatchd::services

#endif  // DISPATCHD_SERVICES_SERVICE_UTIL_H_
