#include "services/console_service.h"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "base/status_macros.h"
#include "services/codec.h"
#include "services/event_text.h"
#include "services/request_codec.h"
#include "services/service_util.h"
#include "services/stream_hub.h"

namespace dispatchd::services {
namespace {

void BoardToProto(const engine::ZoneBoard& board, v1::ZoneBoard* out) {
  out->set_zone_id(board.zone->zone_id);
  out->set_name(board.zone->name);
  for (int u = engine::kUrgencyCount; u >= 1; --u) {  // Most urgent first.
    v1::QueuedCount* c = out->add_queued();
    c->set_urgency(static_cast<v1::Urgency>(u));
    c->set_count(board.queued_counts[u - 1]);
  }
  for (const engine::Request* r : board.queued) RequestToProto(*r, out->add_queued_requests());
  for (const engine::Request* r : board.in_progress) RequestToProto(*r, out->add_in_progress());
  for (const engine::Technician* t : board.technicians) {
    v1::TechnicianOnBoard* p = out->add_technicians();
    p->set_technician_id(t->technician_id);
    p->set_name(t->name);
    p->set_state(TechnicianStateToProto(t->state));
    p->set_request_id(t->request_id);
  }
  for (const engine::Shortage& s : board.shortages) ShortageToProto(s, out->add_shortages());
  out->set_in_surge(board.in_surge);
  out->set_queued_total(board.queued_total);
  out->set_at_risk(board.at_risk);
}

bool HeldByTechnician(engine::RequestState s) {
  return s == engine::RequestState::kOffered || s == engine::RequestState::kAssigned ||
         s == engine::RequestState::kInProgress || s == engine::RequestState::kOnHold;
}

// One line per logged event of the request, oldest first. Events that
// journal retention has dropped are summed up in one line. A log that
// cannot be read (a record damaged on disk since start-up) costs only the
// history: the rest of the answer is the engine's own current state, so
// the dispatcher gets it with a line saying what could not be read, and
// the operator a line on stderr.
void FillHistory(const EventLog& log, std::vector<uint64_t> sequences,
                 v1::ExplainAssignmentResponse* resp) {
  const uint64_t first = log.first_sequence();
  const auto kept = std::lower_bound(sequences.begin(), sequences.end(), first);
  const size_t dropped = static_cast<size_t>(kept - sequences.begin());
  if (dropped > 0) {
    resp->add_history(absl::StrCat("(", dropped, " earlier event(s), before #", first,
                                   ", were dropped by journal retention)"));
    sequences.erase(sequences.begin(), kept);
  }
  absl::StatusOr<std::vector<v1::Event>> events = log.ReadSome(sequences);
  if (!events.ok()) {
    const std::string what = absl::StrCat(absl::StatusCodeToString(events.status().code()), ": ",
                                          events.status().message());
    std::fprintf(stderr, "dispatchd: ExplainAssignment %s: history unreadable: %s\n",
                 resp->request_id().c_str(), what.c_str());
    resp->add_history(absl::StrCat("(history unreadable, ", sequences.size(),
                                   " event(s) not shown: ", what, ")"));
    return;
  }
  for (const v1::Event& e : *events) resp->add_history(EventLineWithTime(e));
}

// Says so while the events logged before this start are not all in the
// request index yet (indexed in the background after a start), or could
// not be indexed: the history below may lack some of them.
void NoteUnindexedHistory(const UnindexedHistory& unindexed,
                          v1::ExplainAssignmentResponse* resp) {
  if (unindexed.through == 0) return;
  resp->add_history(
      unindexed.problem.empty()
          ? absl::StrCat("(events up to #", unindexed.through,
                         ", logged before this start, are still being indexed: this history "
                         "may lack some of them; ask again in a moment)")
          : absl::StrCat("(events up to #", unindexed.through,
                         ", logged before this start, could not be indexed (", unindexed.problem,
                         "): this history may lack some of them)"));
}

// Everything but the history, which FillHistory adds off the engine thread.
absl::Status FillExplanation(const EngineView& view, const std::string& request_id,
                             v1::ExplainAssignmentResponse* resp) {
  ASSIGN_OR_RETURN(engine::Explanation x, view.engine.Explain(request_id));
  const engine::Request& r = *x.request;
  resp->set_request_id(r.request_id);
  resp->set_state(RequestStateToProto(r.state));
  if (HeldByTechnician(r.state)) resp->set_technician_id(r.technician_id);
  if (r.decision) DecisionToProto(*r.decision, resp->mutable_decision());
  resp->set_waiting_reason(x.waiting_reason);
  for (const std::string& line : x.deliveries) resp->add_deliveries(line);
  return absl::OkStatus();
}

}  // namespace

grpc::ServerUnaryReactor* ConsoleServiceImpl::GetBoard(grpc::CallbackServerContext* ctx,
                                                       const v1::GetBoardRequest* request,
                                                       v1::GetBoardResponse* response) {
  return RunQuery<v1::GetBoardResponse>(
      ctx, runner_, response,
      [zone = request->zone_id()](const EngineView& view,
                                  v1::GetBoardResponse* resp) -> absl::Status {
        if (!zone.empty() && view.engine.FindZone(zone) == nullptr) {
          return NotFound("zone_id", "zone", zone);
        }
        ASSIGN_OR_RETURN(std::vector<engine::ZoneBoard> boards, view.engine.GetBoard(zone));
        for (const engine::ZoneBoard& b : boards) BoardToProto(b, resp->add_zones());
        resp->set_last_sequence(view.engine.last_sequence());
        return absl::OkStatus();
      });
}

grpc::ServerWriteReactor<v1::Event>* ConsoleServiceImpl::WatchEvents(
    grpc::CallbackServerContext* ctx, const v1::WatchEventsRequest* request) {
  auto stream = std::make_shared<EventStream>(log_, request->from_sequence(), stream_capacity_);
  EngineRunner* runner = runner_;
  const void* key = stream.get();
  stream->Hold(stream, [runner, key] { runner->Unsubscribe(key); });
  if (absl::Status denied = CallAccess(ctx); !denied.ok()) {
    stream->Close(ToGrpcStatus(denied));
  } else {
    runner_->WatchEvents(request->from_sequence(), stream);
  }
  return stream.get();
}

// The explanation comes from the engine's state on the engine thread; the
// request's history is read from the log on the reader thread, since old
// events may have to come from disk and the engine must not wait for that.
grpc::ServerUnaryReactor* ConsoleServiceImpl::ExplainAssignment(
    grpc::CallbackServerContext* ctx, const v1::ExplainAssignmentRequest* request,
    v1::ExplainAssignmentResponse* response) {
  if (absl::Status s = RequireNonEmpty(request->request_id(), "request_id"); !s.ok()) {
    return FinishNow(ctx, s);
  }
  if (absl::Status denied = CallAccess(ctx); !denied.ok()) return FinishNow(ctx, denied);
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  auto sequences = std::make_shared<std::vector<uint64_t>>();
  runner_->Query(
      [id = request->request_id(), response, sequences](const EngineView& view) {
        RETURN_IF_ERROR(FillExplanation(view, id, response));
        *sequences = view.requests.SequencesOf(id);
        // A request's older events are merged in all at once: one indexed
        // up to the start already has them all.
        if (sequences->empty() || sequences->front() > view.unindexed.through) {
          NoteUnindexedHistory(view.unindexed, response);
        }
        return absl::OkStatus();
      },
      [runner = runner_, reactor, response, sequences](absl::Status status) {
        if (!status.ok()) return reactor->Finish(ToGrpcStatus(status));
        runner->ReadLog([reactor, response, sequences](const EventLog& log) {
          FillHistory(log, std::move(*sequences), response);
          reactor->Finish(grpc::Status::OK);
        });
      });
  return reactor;
}

grpc::ServerUnaryReactor* ConsoleServiceImpl::GetStats(grpc::CallbackServerContext* ctx,
                                                       const v1::GetStatsRequest* request,
                                                       v1::GetStatsResponse* response) {
  return RunQuery<v1::GetStatsResponse>(
      ctx, runner_, response,
      [zone = request->zone_id(), tech = request->technician_id()](
          const EngineView& view, v1::GetStatsResponse* resp) -> absl::Status {
        ASSIGN_OR_RETURN(engine::Stats stats, view.engine.GetStats(zone, tech));
        KpisToProto(stats.site, resp->mutable_site());
        for (const auto& [id, kpis] : stats.zones) {
          v1::ZoneKpis* z = resp->add_zones();
          z->set_zone_id(id);
          KpisToProto(kpis, z->mutable_kpis());
        }
        for (const auto& [id, kpis] : stats.technicians) {
          v1::TechnicianKpis* t = resp->add_technicians();
          t->set_technician_id(id);
          KpisToProto(kpis, t->mutable_kpis());
        }
        resp->set_target_mean_response_minutes(kTargetMeanResponseMinutes);
        resp->set_target_resolution_rate(kTargetResolutionRate);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* ConsoleServiceImpl::GetAssetHistory(
    grpc::CallbackServerContext* ctx, const v1::GetAssetHistoryRequest* request,
    v1::GetAssetHistoryResponse* response) {
  if (absl::Status s = RequireNonEmpty(request->asset_tag(), "asset_tag"); !s.ok()) {
    return FinishNow(ctx, s);
  }
  return RunQuery<v1::GetAssetHistoryResponse>(
      ctx, runner_, response,
      [tag = request->asset_tag()](const EngineView& view,
                                   v1::GetAssetHistoryResponse* resp) -> absl::Status {
        resp->set_asset_tag(tag);
        for (const engine::Request* r : view.engine.GetAssetHistory(tag)) {
          v1::AssetRepair* p = resp->add_repairs();
          p->set_request_id(r->request_id);
          p->set_technician_id(r->technician_id);
          if (r->rare->completed_at) TimeToProto(*r->rare->completed_at, p->mutable_completed_at());
          p->set_category(r->spec.category);
          p->set_description(r->spec.description);
          MaterialsToProto(r->rare->materials_used, p->mutable_materials_used());
          p->set_resolved(r->resolved);
          p->set_notes(r->rare->completion_notes);
        }
        return absl::OkStatus();
      });
}

}  // namespace dispatchd::services
