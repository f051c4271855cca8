// dispatchctl's ConsoleService commands: board (and the live board),
// events (and --follow), explain, stats.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "base/status_macros.h"
#include "clients/dispatchctl/commands.h"
#include "clients/dispatchctl/format.h"
#include "clients/dispatchctl/stream_stopper.h"
#include "dispatch/v1/events.pb.h"
#include "services/event_text.h"

namespace dispatchd::ctl {
namespace {

namespace v1 = ::dispatch::v1;

std::string Rpc(const char* method) { return absl::StrCat("dispatch.v1.ConsoleService.", method); }

void PrintZoneBoard(std::ostream& out, const v1::ZoneBoard& z) {
  std::vector<std::string> counts;
  for (const v1::QueuedCount& q : z.queued()) {
    if (q.count() > 0) counts.push_back(absl::StrCat(Name(q.urgency()), " ", q.count()));
  }
  out << "== " << z.zone_id() << " (" << z.name()
      << ")  queued: " << (counts.empty() ? "none" : absl::StrJoin(counts, ", ")) << "\n";
  for (const v1::Request& r : z.queued_requests()) {
    out << "  queue   " << RequestLine(r) << "  SLA " << TimeText(r.sla_deadline()) << "\n";
  }
  for (const v1::Request& r : z.in_progress()) out << "  in hand " << RequestLine(r) << "\n";
  for (const v1::TechnicianOnBoard& t : z.technicians()) {
    out << "  tech    " << t.technician_id() << " " << Name(t.state())
        << (t.request_id().empty() ? "" : " " + t.request_id()) << "  " << t.name() << "\n";
  }
  for (const v1::Shortage& s : z.shortages()) {
    out << "  short   " << s.request_id() << " needs " << s.sku() << " x" << s.needed() << ", "
        << s.on_hand() << " on hand\n";
  }
}

void PrintBoard(Invocation& inv, const v1::GetBoardResponse& board) {
  inv.Print(board, [&] {
    inv.out() << "board at event #" << board.last_sequence() << "\n";
    for (const v1::ZoneBoard& z : board.zones()) PrintZoneBoard(inv.out(), z);
    inv.out().flush();
  });
}

absl::StatusOr<v1::GetBoardResponse> FetchBoard(Client* c, const std::string& zone) {
  v1::GetBoardRequest req;
  req.set_zone_id(zone);
  return c->Unary(c->console(), &v1::ConsoleService::Stub::GetBoard, req);
}

// The live board: redrawn after every event until Ctrl-C or end of input.
// One stream's worth of a live board: fetches the board, then redraws it
// on every event after it until the stream ends. `*delivered`: whether
// anything was drawn.
absl::Status WatchBoardOnce(Invocation& inv, Client* c, StreamStopper& stopper,
                            bool* delivered) {
  ASSIGN_OR_RETURN(v1::GetBoardResponse board, FetchBoard(c, inv.Get("zone")));
  auto redraw = [&] {
    if (!inv.json()) inv.out() << "\x1b[H\x1b[2J";  // Home, clear screen.
    PrintBoard(inv, board);
    if (!inv.json()) inv.out() << "(live: Ctrl-C or Ctrl-D to leave)" << std::endl;
  };
  redraw();
  *delivered = true;
  std::unique_ptr<grpc::ClientContext> context = c->NewContext(/*stream=*/true);
  v1::WatchEventsRequest req;
  req.set_from_sequence(board.last_sequence() + 1);
  auto reader = c->console().WatchEvents(context.get(), req);
  stopper.Watch(context.get());
  v1::Event event;
  absl::Status failed;
  while (reader->Read(&event)) {
    if (event.sequence() <= board.last_sequence()) continue;
    absl::StatusOr<v1::GetBoardResponse> next = FetchBoard(c, inv.Get("zone"));
    if (!next.ok()) {
      failed = next.status();
      context->TryCancel();
      break;
    }
    board = *std::move(next);
    redraw();
  }
  grpc::Status status = reader->Finish();
  stopper.Watch(nullptr);
  if (!failed.ok()) return failed;
  if (status.ok()) return absl::UnavailableError("the daemon ended the stream");
  return FromGrpc(status);
}

// A live board that outlives daemon restarts and network drops: a lost
// stream is reopened with backoff (with a note below the stale board, or
// on stderr with --json) and the board fetched
// again, so nothing in between is missed. Ends on Ctrl-C or end of input,
// or on an error that reopening would not change.
absl::Status WatchBoard(Invocation& inv, Client* c) {
  StreamStopper stopper(&inv.io(), /*on_end_of_input=*/true);
  ReopenBackoff backoff;
  while (true) {
    bool delivered = false;
    const absl::Status status = WatchBoardOnce(inv, c, stopper, &delivered);
    if (stopper.done()) return absl::OkStatus();
    if (!StreamWorthReopening(status.code())) return status;
    const absl::Duration wait = backoff.Next(delivered);
    (inv.json() ? *inv.io().err : inv.out()) << "* board stream lost (" << absl::StatusCodeToString(status.code()) << ": "
              << status.message() << "); reconnecting in " << absl::FormatDuration(wait)
              << std::endl;
    for (absl::Time until = absl::Now() + wait; absl::Now() < until && !stopper.done();) {
      absl::SleepFor(absl::Milliseconds(20));
    }
    if (stopper.done()) return absl::OkStatus();
  }
}

absl::Status Board(Invocation& inv) {
  ASSIGN_OR_RETURN(Client * c, inv.client());
  if (inv.Has("watch")) return WatchBoard(inv, c);
  ASSIGN_OR_RETURN(v1::GetBoardResponse board, FetchBoard(c, inv.Get("zone")));
  PrintBoard(inv, board);
  return absl::OkStatus();
}

absl::Status Events(Invocation& inv) {
  ASSIGN_OR_RETURN(uint32_t from, inv.Uint("from", 1));
  ASSIGN_OR_RETURN(Client * c, inv.client());
  const bool follow = inv.Has("follow");
  uint64_t last = 0;  // Without --follow: stop at the last event there is now.
  if (!follow) {
    ASSIGN_OR_RETURN(
        v1::GetStateDigestResponse digest,
        c->Unary(c->admin(), &v1::AdminService::Stub::GetStateDigest, v1::GetStateDigestRequest()));
    last = digest.last_sequence();
    if (std::max<uint64_t>(from, 1) > last) return absl::OkStatus();
  }
  StreamStopper stopper(&inv.io(), /*on_end_of_input=*/false);
  std::unique_ptr<grpc::ClientContext> context = c->NewContext(/*stream=*/true);
  v1::WatchEventsRequest req;
  req.set_from_sequence(from);
  auto reader = c->console().WatchEvents(context.get(), req);
  stopper.Watch(context.get());
  v1::Event event;
  bool caught_up = false;
  while (reader->Read(&event)) {
    inv.Print(event, [&] { inv.out() << services::EventLineWithTime(event) << "\n"; });
    inv.out().flush();
    if (!follow && event.sequence() >= last) {
      caught_up = true;
      context->TryCancel();
      break;
    }
  }
  grpc::Status status = reader->Finish();
  stopper.Watch(nullptr);
  if (caught_up || stopper.done()) return absl::OkStatus();
  return FromGrpc(status);
}

absl::Status Explain(Invocation& inv) {
  v1::ExplainAssignmentRequest req;
  req.set_request_id(inv.args()[0]);
  ASSIGN_OR_RETURN(Client * c, inv.client());
  ASSIGN_OR_RETURN(v1::ExplainAssignmentResponse reply,
                   c->Unary(c->console(), &v1::ConsoleService::Stub::ExplainAssignment, req));
  inv.Print(reply, [&] {
    std::ostream& out = inv.out();
    out << reply.request_id() << " " << Name(reply.state())
        << (reply.technician_id().empty() ? "" : " -> " + reply.technician_id()) << "\n";
    const v1::Decision& d = reply.decision();
    if (!d.rule().empty()) out << "decision: [" << d.rule() << "] " << d.detail() << "\n";
    if (!d.candidates().empty()) {
      Table table({"  CANDIDATE", "TRAVEL MIN", "OVERQUAL", "SCORE"});
      for (const v1::Candidate& k : d.candidates()) {
        table.Add({"  " + k.technician_id(), absl::StrCat(k.travel_minutes()),
                   absl::StrCat(k.overqualification()), absl::StrCat(k.score())});
      }
      table.Print(out);
      if (d.candidates_omitted() > 0) out << "  (" << d.candidates_omitted() << " more)\n";
    }
    for (const v1::Exclusion& x : d.exclusions()) {
      out << "  excluded " << x.technician_id() << ": " << x.reason() << "\n";
    }
    if (d.exclusions_omitted() > 0) out << "  (" << d.exclusions_omitted() << " more excluded)\n";
    if (!reply.waiting_reason().empty()) out << "waiting: " << reply.waiting_reason() << "\n";
    for (const std::string& line : reply.deliveries()) out << "delivery: " << line << "\n";
    if (!reply.history().empty()) out << "history:\n";
    for (const std::string& line : reply.history()) out << "  " << line << "\n";
  });
  return absl::OkStatus();
}

std::vector<std::string> KpiRow(const std::string& scope, const v1::Kpis& k) {
  return {scope,
          absl::StrCat(k.submitted()),
          absl::StrCat(k.open()),
          absl::StrCat(k.completed()),
          absl::StrCat(k.resolved()),
          absl::StrCat(k.cancelled()),
          absl::StrFormat("%.1f", k.mean_response_minutes()),
          absl::StrFormat("%.1f", k.mean_completion_minutes()),
          absl::StrFormat("%.0f%%", 100 * k.resolution_rate()),
          absl::StrFormat("%.0f%%", 100 * k.sla_hit_rate()),
          k.feedback_count()
              ? absl::StrFormat("%.1f (%u)", k.feedback_average(), k.feedback_count())
              : "-"};
}

absl::Status Stats(Invocation& inv) {
  v1::GetStatsRequest req;
  req.set_zone_id(inv.Get("zone"));
  req.set_technician_id(inv.Get("technician"));
  ASSIGN_OR_RETURN(Client * c, inv.client());
  ASSIGN_OR_RETURN(v1::GetStatsResponse reply,
                   c->Unary(c->console(), &v1::ConsoleService::Stub::GetStats, req));
  inv.Print(reply, [&] {
    Table table({"SCOPE", "SUBMITTED", "OPEN", "COMPLETED", "RESOLVED", "CANCELLED", "RESPONSE MIN",
                 "COMPLETION MIN", "RESOLVED%", "SLA HIT", "FEEDBACK"});
    table.Add(KpiRow("site", reply.site()));
    for (const v1::ZoneKpis& z : reply.zones()) table.Add(KpiRow("zone " + z.zone_id(), z.kpis()));
    for (const v1::TechnicianKpis& t : reply.technicians()) {
      table.Add(KpiRow("tech " + t.technician_id(), t.kpis()));
    }
    table.Print(inv.out());
    inv.out() << absl::StrFormat("targets: mean response %.0f min, %.0f%% resolved\n",
                                 reply.target_mean_response_minutes(),
                                 100 * reply.target_resolution_rate());
  });
  return absl::OkStatus();
}

absl::Status AssetHistory(Invocation& inv) {
  v1::GetAssetHistoryRequest req;
  req.set_asset_tag(inv.args()[0]);
  ASSIGN_OR_RETURN(Client * c, inv.client());
  ASSIGN_OR_RETURN(v1::GetAssetHistoryResponse reply,
                   c->Unary(c->console(), &v1::ConsoleService::Stub::GetAssetHistory, req));
  inv.Print(reply, [&] {
    if (reply.repairs().empty()) {
      inv.out() << "no repairs of " << reply.asset_tag() << "\n";
      return;
    }
    Table table(
        {"REQUEST", "COMPLETED", "TECHNICIAN", "CATEGORY", "RESOLVED", "MATERIALS", "NOTES"});
    for (const v1::AssetRepair& r : reply.repairs()) {
      table.Add({r.request_id(), TimeText(r.completed_at()), r.technician_id(), r.category(),
                 r.resolved() ? "yes" : "no",
                 r.materials_used().empty() ? "-" : MaterialsText(r.materials_used()),
                 r.notes().empty() ? "-" : r.notes()});
    }
    table.Print(inv.out());
  });
  return absl::OkStatus();
}

}  // namespace

void AddConsoleCommands(std::vector<Command>* commands) {
  commands->push_back({{"board"},
                       "",
                       0,
                       0,
                       "the dispatch board per zone",
                       {{"zone", "ZONE", "only this zone"},
                        {"watch", "", "keep a live board, redrawn on every event"}},
                       {Rpc("GetBoard"), Rpc("WatchEvents")},
                       Board});
  commands->push_back({{"events"},
                       "",
                       0,
                       0,
                       "the event log, one line per event",
                       {{"from", "N", "first sequence (default 1)"},
                        {"follow", "", "keep streaming new events until Ctrl-C"}},
                       {Rpc("WatchEvents"), "dispatch.v1.AdminService.GetStateDigest"},
                       Events});
  commands->push_back({{"explain"},
                       "<request_id>",
                       1,
                       1,
                       "why a request went (or did not go) to whom",
                       {},
                       {Rpc("ExplainAssignment")},
                       Explain});
  commands->push_back(
      {{"stats"},
       "",
       0,
       0,
       "key performance indicators",
       {{"zone", "ZONE", "only this zone"}, {"technician", "ID", "only this technician"}},
       {Rpc("GetStats")},
       Stats});
  commands->push_back({{"asset", "history"},
                       "<asset_tag>",
                       1,
                       1,
                       "an asset's completed repairs, oldest first",
                       {},
                       {Rpc("GetAssetHistory")},
                       AssetHistory});
}

}  // namespace dispatchd::ctl
