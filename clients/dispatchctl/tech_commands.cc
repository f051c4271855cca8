// dispatchctl's technician side: `tech watch`, the reference client for the
// phone app (a stream of the technician's assignments that survives drops,
// plus commands read from stdin), and the same actions one at a time
// (`tech accept`, `tech decline`, ...).
//
// tech watch runs two threads: the watcher holds WatchAssignments open and
// reconnects with backoff; the calling thread reads commands. Both print
// through one mutex and share one JobView.
#include <algorithm>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "base/status_macros.h"
#include "clients/dispatchctl/commands.h"
#include "clients/dispatchctl/format.h"
#include "clients/dispatchctl/job_view.h"

namespace dispatchd::ctl {
namespace {

namespace v1 = ::dispatch::v1;

std::string Rpc(const char* method) {
  return absl::StrCat("dispatch.v1.TechnicianService.", method);
}

// A technician's action on one job.
struct Action {
  std::string verb;  // accept, decline, start, complete, hold.
  std::string request_id;
  std::string reason;  // decline, hold.
  bool resolved = true;
  std::vector<v1::MaterialLine> used;
  std::string notes;
};

absl::StatusOr<v1::Request> Perform(Client* c, const std::string& technician, const Action& a) {
  auto& stub = c->technicians();
  if (a.verb == "accept") {
    v1::AcceptAssignmentRequest req;
    req.set_technician_id(technician);
    req.set_request_id(a.request_id);
    ASSIGN_OR_RETURN(auto reply,
                     c->Unary(stub, &v1::TechnicianService::Stub::AcceptAssignment, req));
    return reply.request();
  }
  if (a.verb == "decline") {
    v1::DeclineAssignmentRequest req;
    req.set_technician_id(technician);
    req.set_request_id(a.request_id);
    req.set_reason(a.reason);
    ASSIGN_OR_RETURN(auto reply,
                     c->Unary(stub, &v1::TechnicianService::Stub::DeclineAssignment, req));
    return reply.request();
  }
  if (a.verb == "start") {
    v1::StartWorkRequest req;
    req.set_technician_id(technician);
    req.set_request_id(a.request_id);
    ASSIGN_OR_RETURN(auto reply, c->Unary(stub, &v1::TechnicianService::Stub::StartWork, req));
    return reply.request();
  }
  if (a.verb == "complete") {
    v1::CompleteWorkRequest req;
    req.set_technician_id(technician);
    req.set_request_id(a.request_id);
    req.set_resolved(a.resolved);
    for (const v1::MaterialLine& m : a.used) *req.add_materials_used() = m;
    req.set_notes(a.notes);
    ASSIGN_OR_RETURN(auto reply, c->Unary(stub, &v1::TechnicianService::Stub::CompleteWork, req));
    return reply.request();
  }
  v1::PutOnHoldRequest req;
  req.set_technician_id(technician);
  req.set_request_id(a.request_id);
  req.set_reason(a.reason);
  ASSIGN_OR_RETURN(auto reply, c->Unary(stub, &v1::TechnicianService::Stub::PutOnHold, req));
  return reply.request();
}

// Reads complete's options from `words` (after the verb and any id):
// --unresolved, --used SKU=QTY (repeatable), --notes TEXT... (the rest).
absl::Status ParseCompletion(const std::vector<std::string>& words, size_t i, Action* a) {
  for (; i < words.size(); ++i) {
    const std::string& w = words[i];
    if (w == "--unresolved") {
      a->resolved = false;
    } else if (w == "--used" || absl::StartsWith(w, "--used=")) {
      std::string text = w == "--used" ? (i + 1 < words.size() ? words[++i] : "") : w.substr(7);
      ASSIGN_OR_RETURN(v1::MaterialLine line, ParseMaterial(text));
      a->used.push_back(line);
    } else if (w == "--notes" || absl::StartsWith(w, "--notes=")) {
      std::vector<std::string> rest(words.begin() + i + 1, words.end());
      if (w != "--notes") rest.insert(rest.begin(), w.substr(8));
      a->notes = absl::StrJoin(rest, " ");
      return absl::OkStatus();
    } else {
      return UsageError(absl::StrCat("complete: unknown option '", w,
                                     "' (--unresolved, --used SKU=QTY, --notes TEXT)"));
    }
  }
  return absl::OkStatus();
}

constexpr char kWatchHelp[] =
    "commands: accept [R], decline [R] <reason>, start [R],\n"
    "  complete [R] [--unresolved] [--used SKU=QTY ...] [--notes TEXT],\n"
    "  hold [R] <reason>, jobs, help, quit (R: request id; default: the job it applies to)";

class TechWatch {
 public:
  TechWatch(Invocation& inv, Client* client, std::string technician)
      : inv_(inv), client_(client), technician_(technician), view_(std::move(technician)) {}

  absl::Status Run();

 private:
  void Say(const std::string& line);
  void Note(const std::string& line);
  void Show(const std::optional<std::string>& line, const google::protobuf::Message& message);
  bool Stopping();
  void Stop();

  void WatchLoop();
  // One connection: re-reads open jobs, then streams. OK if stopped; the
  // stream's status otherwise.
  absl::Status WatchOnce(bool* connected);
  // A unary call of the watcher's: waits for the channel to be ready (the
  // daemon may be restarting) up to the call deadline; Stop cancels it.
  template <typename Stub, typename Req, typename Resp>
  absl::StatusOr<Resp> WatcherCall(Stub& stub,
                                   grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&,
                                                                Resp*),
                                   const Req& request);
  void Command(const std::string& line);
  absl::StatusOr<Action> ParseAction(const std::vector<std::string>& words);

  Invocation& inv_;
  Client* const client_;
  const std::string technician_;

  absl::Mutex mu_;
  JobView view_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  grpc::ClientContext* current_ ABSL_GUARDED_BY(mu_) = nullptr;  // The watcher's call.
  absl::Status fatal_ ABSL_GUARDED_BY(mu_);
  absl::Mutex out_mu_;
};

void TechWatch::Say(const std::string& line) {
  absl::MutexLock lock(&out_mu_);
  inv_.out() << line << std::endl;
}

void TechWatch::Note(const std::string& line) {
  absl::MutexLock lock(&out_mu_);
  (inv_.json() ? *inv_.io().err : inv_.out()) << "* " << line << std::endl;
}

void TechWatch::Show(const std::optional<std::string>& line,
                     const google::protobuf::Message& message) {
  if (!line) return;
  absl::MutexLock lock(&out_mu_);
  inv_.Print(message, [&] { inv_.out() << *line << "\n"; });
  inv_.out().flush();
}

bool TechWatch::Stopping() {
  absl::MutexLock lock(&mu_);
  return stopping_;
}

void TechWatch::Stop() {
  absl::MutexLock lock(&mu_);
  stopping_ = true;
  if (current_ != nullptr) current_->TryCancel();
}

template <typename Stub, typename Req, typename Resp>
absl::StatusOr<Resp> TechWatch::WatcherCall(Stub& stub,
                                            grpc::Status (Stub::*method)(grpc::ClientContext*,
                                                                         const Req&, Resp*),
                                            const Req& request) {
  std::unique_ptr<grpc::ClientContext> context = client_->NewContext();
  context->set_wait_for_ready(true);
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return absl::CancelledError("stopping");
    current_ = context.get();
  }
  Resp response;
  grpc::Status status = (stub.*method)(context.get(), request, &response);
  absl::MutexLock lock(&mu_);
  current_ = nullptr;
  if (!status.ok()) return FromGrpc(status);
  return response;
}

absl::Status TechWatch::WatchOnce(bool* connected) {
  // Jobs that closed while the stream was down are not in the snapshot:
  // re-read the ones still open in the view. This also proves the daemon
  // is back before the stream is opened.
  std::vector<std::string> open;
  {
    absl::MutexLock lock(&mu_);
    open = view_.OpenJobIds();
  }
  v1::GetTechnicianRequest who;
  who.set_technician_id(technician_);
  RETURN_IF_ERROR(
      WatcherCall(client_->technicians(), &v1::TechnicianService::Stub::GetTechnician, who)
          .status());
  for (const std::string& id : open) {
    v1::GetRequestRequest req;
    req.set_request_id(id);
    ASSIGN_OR_RETURN(v1::GetRequestResponse got,
                     WatcherCall(client_->requests(), &v1::RequestService::Stub::GetRequest, req));
    absl::MutexLock lock(&mu_);
    Show(view_.ApplyRequest(got.request(), "while the stream was down"), got);
  }

  std::unique_ptr<grpc::ClientContext> context = client_->NewContext(/*stream=*/true);
  context->set_wait_for_ready(true);
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return absl::OkStatus();
    current_ = context.get();
  }
  v1::WatchAssignmentsRequest req;
  req.set_technician_id(technician_);
  auto reader = client_->technicians().WatchAssignments(context.get(), req);
  reader->WaitForInitialMetadata();
  Note(absl::StrCat("watching the assignments of ", technician_));
  {
    absl::MutexLock lock(&mu_);
    view_.ForgetEchoes();  // The snapshot restates what they would have.
  }
  v1::AssignmentUpdates message;  // The snapshot first, then one per change.
  while (reader->Read(&message)) {
    *connected = true;
    absl::MutexLock lock(&mu_);
    for (const v1::AssignmentUpdate& update : message.updates()) {
      Show(view_.Apply(update), update);
    }
  }
  grpc::Status status = reader->Finish();
  absl::MutexLock lock(&mu_);
  current_ = nullptr;
  if (stopping_) return absl::OkStatus();
  if (status.ok()) return absl::UnavailableError("the daemon ended the stream");
  return FromGrpc(status);
}

void TechWatch::WatchLoop() {
  ReopenBackoff backoff;
  bool tried = false;
  while (!Stopping()) {
    Note(absl::StrCat(tried ? "reconnecting" : "connecting", " to ", client_->target(), " as ",
                      technician_));
    bool got_updates = false;
    const absl::Status status = WatchOnce(&got_updates);
    if (Stopping()) break;
    if (!StreamWorthReopening(status.code())) {
      absl::MutexLock lock(&mu_);
      fatal_ = status;
      break;
    }
    tried = true;
    const absl::Duration wait = backoff.Next(got_updates);
    Note(absl::StrCat("stream lost (", absl::StatusCodeToString(status.code()), ": ",
                      status.message(), "); retrying in ", absl::FormatDuration(wait)));
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(&stopping_), wait);
  }
  inv_.io().stop->store(true);  // Unblocks the command reader.
}

absl::StatusOr<Action> TechWatch::ParseAction(const std::vector<std::string>& words) {
  Action a;
  a.verb = words[0];
  size_t i = 1;
  {
    absl::MutexLock lock(&mu_);
    if (i < words.size() && (view_.Knows(words[i]) || absl::StartsWith(words[i], "R-"))) {
      a.request_id = words[i++];
    } else if (a.verb == "accept" || a.verb == "decline") {
      a.request_id = view_.FirstIn({v1::REQUEST_STATE_OFFERED}).value_or("");
    } else if (a.verb == "start") {
      a.request_id =
          view_.FirstIn({v1::REQUEST_STATE_ASSIGNED, v1::REQUEST_STATE_ON_HOLD}).value_or("");
    } else {
      a.request_id = view_.FirstIn({v1::REQUEST_STATE_IN_PROGRESS}).value_or("");
    }
  }
  if (a.request_id.empty()) return UsageError(absl::StrCat(a.verb, ": no job to ", a.verb));
  if (a.verb == "complete") {
    RETURN_IF_ERROR(ParseCompletion(words, i, &a));
  } else if (a.verb == "decline" || a.verb == "hold") {
    a.reason = absl::StrJoin(words.begin() + i, words.end(), " ");
    if (a.reason.empty()) return UsageError(absl::StrCat(a.verb, " needs a reason"));
  } else if (i < words.size()) {
    return UsageError(absl::StrCat(a.verb, " takes only a request id"));
  }
  return a;
}

void TechWatch::Command(const std::string& line) {
  std::vector<std::string> words = absl::StrSplit(line, ' ', absl::SkipWhitespace());
  if (words.empty()) return;
  const std::string& verb = words[0];
  if (verb == "help") return Say(kWatchHelp);
  if (verb == "jobs") {
    std::vector<std::string> lines;
    {
      absl::MutexLock lock(&mu_);
      lines = view_.OpenJobLines();
    }
    if (lines.empty()) Say("no open jobs");
    for (const std::string& l : lines) Say(l);
    return;
  }
  if (verb != "accept" && verb != "decline" && verb != "start" && verb != "complete" &&
      verb != "hold") {
    return Say(absl::StrCat("! unknown command '", verb, "'; ", kWatchHelp));
  }
  absl::StatusOr<Action> action = ParseAction(words);
  if (!action.ok()) return Say(absl::StrCat("! ", action.status().message()));
  absl::StatusOr<v1::Request> done = Perform(client_, technician_, *action);
  if (!done.ok()) {
    return Say(absl::StrCat("! ", verb, " ", action->request_id, ": ",
                            absl::StatusCodeToString(done.status().code()), ": ",
                            done.status().message()));
  }
  const v1::AssignmentChange change = verb == "accept"    ? v1::ASSIGNMENT_CHANGE_ACCEPTED
                                      : verb == "decline" ? v1::ASSIGNMENT_CHANGE_WITHDRAWN
                                      : verb == "start"   ? v1::ASSIGNMENT_CHANGE_STARTED
                                      : verb == "hold"    ? v1::ASSIGNMENT_CHANGE_ON_HOLD
                                                          : v1::ASSIGNMENT_CHANGE_COMPLETED;
  absl::MutexLock lock(&mu_);
  Show(view_.ApplyRequest(*done, "", change), *done);
}

absl::Status TechWatch::Run() {
  std::thread watcher([this] { WatchLoop(); });
  while (std::optional<std::string> line = inv_.io().read_line()) {
    if (*line == "quit" || *line == "exit") break;
    Command(*line);
  }
  Stop();
  watcher.join();
  absl::MutexLock lock(&mu_);
  return fatal_;
}

absl::Status Watch(Invocation& inv) {
  ASSIGN_OR_RETURN(std::string id, inv.Required("id"));
  ASSIGN_OR_RETURN(Client * c, inv.client());
  TechWatch watch(inv, c, id);
  return watch.Run();
}

// tech accept/decline/start/complete/hold --id T <request_id> ...
absl::Status OneAction(Invocation& inv) {
  ASSIGN_OR_RETURN(std::string id, inv.Required("id"));
  Action a;
  a.verb = inv.command().path.back();
  a.request_id = inv.args()[0];
  a.reason = inv.Get("reason");
  if ((a.verb == "decline" || a.verb == "hold") && a.reason.empty()) {
    return UsageError("--reason is required");
  }
  a.resolved = !inv.Has("unresolved");
  a.notes = inv.Get("notes");
  for (const std::string& m : inv.GetAll("used")) {
    ASSIGN_OR_RETURN(v1::MaterialLine line, ParseMaterial(m));
    a.used.push_back(line);
  }
  ASSIGN_OR_RETURN(Client * c, inv.client());
  ASSIGN_OR_RETURN(v1::Request r, Perform(c, id, a));
  inv.Print(r, [&] { inv.out() << RequestLine(r) << "\n"; });
  return absl::OkStatus();
}

}  // namespace

void AddTechWatchCommands(std::vector<Command>* commands) {
  const FlagSpec id{"id", "TECHNICIAN", "the technician (required)"};
  commands->push_back(
      {{"tech", "watch"},
       "",
       0,
       0,
       "a technician's live assignments; reads accept/decline/start/complete/hold from stdin",
       {id},
       {Rpc("WatchAssignments"), Rpc("GetTechnician"), "dispatch.v1.RequestService.GetRequest",
        Rpc("AcceptAssignment"), Rpc("DeclineAssignment"), Rpc("StartWork"), Rpc("CompleteWork"),
        Rpc("PutOnHold")},
       Watch});
  commands->push_back({{"tech", "accept"},
                       "<request_id>",
                       1,
                       1,
                       "accept an offer",
                       {id},
                       {Rpc("AcceptAssignment")},
                       OneAction});
  commands->push_back({{"tech", "decline"},
                       "<request_id>",
                       1,
                       1,
                       "decline an offer (not offered again)",
                       {id, {"reason", "TEXT", "why (required)"}},
                       {Rpc("DeclineAssignment")},
                       OneAction});
  commands->push_back({{"tech", "start"},
                       "<request_id>",
                       1,
                       1,
                       "start (or resume) work on site",
                       {id},
                       {Rpc("StartWork")},
                       OneAction});
  commands->push_back({{"tech", "complete"},
                       "<request_id>",
                       1,
                       1,
                       "close a job",
                       {id,
                        {"unresolved", "", "the problem is not fixed"},
                        {"used", "SKU=QTY", "material used", true},
                        {"notes", "TEXT", "what was done"}},
                       {Rpc("CompleteWork")},
                       OneAction});
  commands->push_back({{"tech", "hold"},
                       "<request_id>",
                       1,
                       1,
                       "pause a job, e.g. waiting for parts",
                       {id, {"reason", "TEXT", "why (required)"}},
                       {Rpc("PutOnHold")},
                       OneAction});
}

}  // namespace dispatchd::ctl
