#include "clients/demo/technician_player.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "clients/demo/demo_config.h"

namespace dispatchd::demo {
namespace {

namespace v1 = dispatch::v1;

// After a failed shift change, try again this much later (wall time).
constexpr absl::Duration kShiftRetry = absl::Seconds(10);

uint32_t TravelFor(const v1::Decision& decision, const std::string& technician_id) {
  for (const auto& c : decision.candidates()) {
    if (c.technician_id() == technician_id) return c.travel_minutes();
  }
  return 0;
}

std::string StateLabel(v1::RequestState state) {
  const std::string& name = v1::RequestState_Name(state);
  return std::string(absl::StripPrefix(name, "REQUEST_STATE_"));
}

}  // namespace

TechnicianPlayer::TechnicianPlayer(const DemoContext& ctx,
                                   const dispatch::demo::DemoTechnician& tech, bool on_shift)
    : ctx_(ctx), tech_(tech), id_(tech.technician_id()), on_shift_(on_shift) {}

void TechnicianPlayer::StartWatching() {
  watcher_ = std::thread([this] { WatchLoop(); });
}

void TechnicianPlayer::JoinWatcher() {
  if (watcher_.joinable()) watcher_.join();
}

// --- The stream (watcher thread). ---

void TechnicianPlayer::WatchLoop() {
  absl::Duration backoff = absl::Seconds(1);
  bool reported = false;  // One line per outage, not one per retry.
  while (!ctx_.stopping->HasBeenNotified()) {
    // The snapshot that opens the stream restates every open job: forget
    // what we thought we had and take it from there.
    ctx_.scheduler->Post([this] { job_ = Job{}; });
    DaemonClient::Call call(ctx_.daemon, absl::InfiniteDuration());
    v1::WatchAssignmentsRequest request;
    request.set_technician_id(id_);
    auto reader = ctx_.daemon->technicians().WatchAssignments(call.context(), request);
    v1::AssignmentUpdates message;
    while (reader->Read(&message)) {
      backoff = absl::Seconds(1);
      reported = false;
      ctx_.scheduler->Post([this, message] {
        for (const v1::AssignmentUpdate& update : message.updates()) OnUpdate(update);
      });
    }
    const grpc::Status status = reader->Finish();
    if (ctx_.stopping->HasBeenNotified()) break;
    if (!reported) {
      ctx_.log->Printf("! %-10s assignment stream ended (%s); reconnecting", id_,
                       FromGrpc(status, "WatchAssignments").ToString());
      reported = true;
    }
    ctx_.stopping->WaitForNotificationWithTimeout(backoff);
    backoff = std::min(backoff * 2, absl::Seconds(10));
  }
}

// --- Reacting to updates (scheduler thread). ---

void TechnicianPlayer::OnUpdate(const v1::AssignmentUpdate& update) {
  LogUpdate(update);
  Observe(update.request(), update.has_decision() ? &update.decision() : nullptr);
}

void TechnicianPlayer::LogUpdate(const v1::AssignmentUpdate& u) {
  const v1::Request& r = u.request();
  const std::string& rid = r.request_id();
  switch (u.change()) {
    case v1::ASSIGNMENT_CHANGE_OPEN:
      return ctx_.log->Printf("%-10s resumes %s (%s)", id_, rid, StateLabel(r.state()));
    case v1::ASSIGNMENT_CHANGE_OFFERED:
      return ctx_.log->Printf("%-10s offered %s (%s)", id_, rid, u.decision().rule());
    case v1::ASSIGNMENT_CHANGE_ASSIGNED:
      return ctx_.log->Printf("%-10s assigned %s by a dispatcher: %s", id_, rid, u.reason());
    case v1::ASSIGNMENT_CHANGE_ON_HOLD:
      return ctx_.log->Printf("%-10s put %s on hold: %s", id_, rid, r.hold_reason());
    case v1::ASSIGNMENT_CHANGE_WITHDRAWN:
      if (rid == declined_request_id_) {  // The echo of our own decline.
        declined_request_id_.clear();
        return;
      }
      return ctx_.log->Printf("%-10s lost %s: %s", id_, rid, u.reason());
    case v1::ASSIGNMENT_CHANGE_UPDATED:
      return ctx_.log->Printf("%-10s update on %s: %s", id_, rid, u.reason());
    default:
      // ACCEPTED, STARTED, COMPLETED echo the player's own calls, which
      // log their outcome themselves (so lines come in cause order).
      return;
  }
}

TechnicianPlayer::Stage TechnicianPlayer::StageOf(const v1::Request& request) const {
  if (request.technician_id() != id_) return Stage::kNone;
  switch (request.state()) {
    case v1::REQUEST_STATE_OFFERED:
      return Stage::kOffered;
    case v1::REQUEST_STATE_ASSIGNED:
      return Stage::kAssigned;
    case v1::REQUEST_STATE_IN_PROGRESS:
      return Stage::kWorking;
    default:
      return Stage::kNone;  // Queued, on hold, closed, or someone else's.
  }
}

void TechnicianPlayer::Observe(const v1::Request& request, const v1::Decision* decision) {
  const Stage stage = StageOf(request);
  const bool same = request.request_id() == job_.request_id;
  if (stage == Stage::kNone) {
    if (same) {
      job_ = Job{};
      EndShiftIfDue();
    }
    return;
  }
  // A job only moves forward; an older view of it (a late update) is news
  // of nothing.
  if (same && stage <= job_.stage) {
    job_.request = request;
    return;
  }
  if (!same) job_.travel_minutes = 0;
  if (decision != nullptr) job_.travel_minutes = TravelFor(*decision, id_);
  job_.request_id = request.request_id();
  job_.request = request;
  job_.stage = stage;
  job_.token = ++next_token_;

  const auto& b = ctx_.campus->behaviour();
  std::mt19937& rng = *ctx_.rng;
  switch (stage) {
    case Stage::kOffered: {
      // Answer well inside the offer timeout, unless choosing not to answer.
      const uint32_t timeout = std::max(ctx_.campus->policy().offer_timeout_seconds(), 10u);
      ScheduleAction(std::min(ctx_.clock->WallDuration(
                                  Uniform(rng, b.reply_minutes_min(), b.reply_minutes_max())),
                              absl::Seconds(timeout) / 2),
                     &TechnicianPlayer::Reply);
      break;
    }
    case Stage::kAssigned:
      ScheduleAction(ctx_.clock->WallDuration(b.walk_minutes() + job_.travel_minutes),
                     &TechnicianPlayer::StartWork);
      break;
    case Stage::kWorking: {
      const uint32_t estimate =
          request.estimated_minutes() > 0 ? request.estimated_minutes() : b.default_work_minutes();
      const double factor = Uniform(rng, 1 - b.duration_jitter(), 1 + b.duration_jitter());
      ScheduleAction(ctx_.clock->WallDuration(estimate * factor), &TechnicianPlayer::Complete);
      break;
    }
    case Stage::kNone:
      break;
  }
}

void TechnicianPlayer::ScheduleAction(absl::Duration delay, Action action) {
  ctx_.scheduler->PostAfter(delay, [this, token = job_.token, action] {
    if (token == job_.token) (this->*action)();
  });
}

void TechnicianPlayer::ActionFailed(uint64_t token, const absl::Status& status) {
  ctx_.LogFailure(status);
  // The daemon says the job is not where we thought (it expired, was
  // withdrawn while the stream was down, ...): drop it; the stream will
  // bring whatever is really ours.
  if (token == job_.token && (absl::IsFailedPrecondition(status) || absl::IsNotFound(status))) {
    job_ = Job{};
    EndShiftIfDue();
  }
}

// --- The technician's actions (scheduler thread). ---

void TechnicianPlayer::Reply() {
  const auto& b = ctx_.campus->behaviour();
  if (shift_over_) return Decline("end of my shift");
  const double draw = Uniform(*ctx_.rng, 0, 1);
  if (draw < b.decline_share()) return Decline(PickOne(*ctx_.rng, b.decline_reasons()));
  if (draw < b.decline_share() + b.ignore_share()) {
    ctx_.log->Printf("%-10s does not answer the offer of %s (phone in the locker)", id_,
                     job_.request_id);
    return;  // The offer lapses at the daemon's offer timeout.
  }
  Accept();
}

void TechnicianPlayer::Accept() {
  v1::AcceptAssignmentRequest req;
  req.set_technician_id(id_);
  req.set_request_id(job_.request_id);
  const uint64_t token = job_.token;
  auto done =
      ctx_.daemon->Unary(ctx_.daemon->technicians(), &v1::TechnicianService::Stub::AcceptAssignment,
                         req, absl::StrCat("AcceptAssignment ", id_, " ", req.request_id()));
  if (!done.ok()) return ActionFailed(token, done.status());
  ctx_.log->Printf("%-10s accepted %s", id_, req.request_id());
  Observe(done->request(), nullptr);
}

void TechnicianPlayer::Decline(const std::string& reason) {
  v1::DeclineAssignmentRequest req;
  req.set_technician_id(id_);
  req.set_request_id(job_.request_id);
  req.set_reason(reason);
  const uint64_t token = job_.token;
  auto done = ctx_.daemon->Unary(ctx_.daemon->technicians(),
                                 &v1::TechnicianService::Stub::DeclineAssignment, req,
                                 absl::StrCat("DeclineAssignment ", id_, " ", req.request_id()));
  if (!done.ok()) return ActionFailed(token, done.status());
  ctx_.log->Printf("%-10s declined %s: %s", id_, req.request_id(), reason);
  declined_request_id_ = req.request_id();
  Observe(done->request(), nullptr);
}

void TechnicianPlayer::StartWork() {
  v1::StartWorkRequest req;
  req.set_technician_id(id_);
  req.set_request_id(job_.request_id);
  const uint64_t token = job_.token;
  auto done =
      ctx_.daemon->Unary(ctx_.daemon->technicians(), &v1::TechnicianService::Stub::StartWork, req,
                         absl::StrCat("StartWork ", id_, " ", req.request_id()));
  if (!done.ok()) return ActionFailed(token, done.status());
  ctx_.log->Printf("%-10s started %s on site", id_, req.request_id());
  Observe(done->request(), nullptr);
}

void TechnicianPlayer::Complete() {
  const auto& b = ctx_.campus->behaviour();
  v1::CompleteWorkRequest req;
  req.set_technician_id(id_);
  req.set_request_id(job_.request_id);
  req.set_resolved(Chance(*ctx_.rng, b.resolved_share()));
  *req.mutable_materials_used() = job_.request.materials();
  req.set_notes(req.resolved() ? "fixed and tested" : PickOne(*ctx_.rng, b.unresolved_notes()));
  const uint64_t token = job_.token;
  auto done =
      ctx_.daemon->Unary(ctx_.daemon->technicians(), &v1::TechnicianService::Stub::CompleteWork,
                         req, absl::StrCat("CompleteWork ", id_, " ", req.request_id()));
  if (!done.ok()) return ActionFailed(token, done.status());
  ctx_.log->Printf("%-10s completed %s (%s)", id_, req.request_id(),
                   req.resolved() ? "resolved" : absl::StrCat("not resolved: ", req.notes()));
  // The requester rates the work a little later.
  ctx_.scheduler->PostAfter(ctx_.clock->WallDuration(b.feedback_delay_minutes()),
                            [this, id = req.request_id()] { GiveFeedback(id); });
  Observe(done->request(), nullptr);
}

void TechnicianPlayer::GiveFeedback(const std::string& request_id) {
  const auto& b = ctx_.campus->behaviour();
  std::discrete_distribution<int> pick(b.rating_weights().begin(), b.rating_weights().end());
  v1::RecordFeedbackRequest req;
  req.set_request_id(request_id);
  req.set_rating(1 + pick(*ctx_.rng));
  if (!b.feedback_comments().empty()) req.set_comment(PickOne(*ctx_.rng, b.feedback_comments()));
  auto done = ctx_.daemon->Unary(ctx_.daemon->requests(), &v1::RequestService::Stub::RecordFeedback,
                                 req, absl::StrCat("RecordFeedback ", request_id));
  if (!done.ok()) return ctx_.LogFailure(done.status());
  ctx_.log->Printf("rated %s %d/5 \"%s\" (work by %s)", request_id, req.rating(), req.comment(),
                   id_);
}

// --- Shifts (scheduler thread). ---

void TechnicianPlayer::CheckShift() {
  const double minute = ctx_.clock->MinuteOfDay(absl::Now());
  const bool due = HoursCover(tech_.shift().start_hour(), tech_.shift().end_hour(), minute);
  shift_over_ = !due;
  if (due && !on_shift_ && absl::Now() >= next_shift_attempt_) StartShift();
  if (!due) EndShiftIfDue();
}

void TechnicianPlayer::StartShift() {
  v1::StartShiftRequest req;
  req.set_technician_id(id_);  // Starts in the home zone.
  auto done =
      ctx_.daemon->Unary(ctx_.daemon->technicians(), &v1::TechnicianService::Stub::StartShift, req,
                         absl::StrCat("StartShift ", id_));
  if (!done.ok()) {
    next_shift_attempt_ = absl::Now() + kShiftRetry;
    return ctx_.LogFailure(done.status());
  }
  on_shift_ = true;
  ctx_.log->Printf("%-10s starts the %02d-%02d shift in %s (%s)", id_, tech_.shift().start_hour(),
                   tech_.shift().end_hour(), tech_.home_zone_id(), tech_.name());
}

void TechnicianPlayer::EndShiftIfDue() {
  if (!on_shift_ || !shift_over_ || job_.stage != Stage::kNone ||
      absl::Now() < next_shift_attempt_) {
    return;
  }
  v1::EndShiftRequest req;
  req.set_technician_id(id_);
  auto done = ctx_.daemon->Unary(ctx_.daemon->technicians(), &v1::TechnicianService::Stub::EndShift,
                                 req, absl::StrCat("EndShift ", id_));
  if (!done.ok()) {
    next_shift_attempt_ = absl::Now() + kShiftRetry;
    // FAILED_PRECONDITION: still working on a job the player has not heard
    // of yet (its snapshot is on the way); try again once it is done.
    if (!absl::IsFailedPrecondition(done.status())) ctx_.LogFailure(done.status());
    return;
  }
  on_shift_ = false;
  ctx_.log->Printf("%-10s ends the shift (%s)", id_, tech_.name());
}

}  // namespace dispatchd::demo
