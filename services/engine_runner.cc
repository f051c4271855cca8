#include "services/engine_runner.h"

#include <algorithm>
#include <cstdio>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "base/background_thread.h"
#include "base/status_macros.h"
#include "boost/asio/post.hpp"
#include "services/codec.h"
#include "services/event_codec.h"

namespace dispatchd::services {

namespace asio = boost::asio;

namespace {
// The runner whose strand this thread is draining, if any.
thread_local const EngineRunner* draining_here = nullptr;

// How long a caller waits for a busy strand before leaving its work queued.
constexpr absl::Duration kWaitFor = absl::Microseconds(50);
}  // namespace

EngineRunner::EngineRunner(EventLog* log, Options options)
    : log_(log),
      options_(options),
      clock_(options.clock != nullptr ? options.clock : &system_clock_),
      work_(asio::make_work_guard(io_)),
      timer_(io_),
      engine_(clock_),
      durable_sequence_(log->durable_sequence()) {}

EngineRunner::~EngineRunner() { Stop(); }

void EngineRunner::AddObserver(EventObserver observer) {
  observers_.push_back(std::move(observer));
}

void EngineRunner::AddBatchObserver(BatchObserver observer) {
  batch_observers_.push_back(std::move(observer));
}

void EngineRunner::OnPoison(std::function<void(const absl::Status&)> handler) {
  on_poison_ = std::move(handler);
}

absl::StatusOr<uint64_t> EngineRunner::Recover(std::optional<engine::StateImage> snapshot,
                                               SnapshotFeed* feed) {
  uint64_t replayed = 0;
  auto fits = [this](uint64_t last_sequence) {
    if (last_sequence <= log_->durable_sequence()) return absl::OkStatus();
    return absl::DataLossError(absl::StrCat("the snapshot includes events up to ", last_sequence,
                                            " but the journal ends at ",
                                            log_->durable_sequence(),
                                            ": they do not belong together"));
  };
  bool loaded_one = false;
  if (snapshot) {
    RETURN_IF_ERROR(fits(snapshot->last_sequence));
    absl::Status loaded = engine_.LoadImage(*std::move(snapshot));
    if (!loaded.ok()) return absl::DataLossError(absl::StrCat("snapshot: ", loaded.message()));
    loaded_one = true;
  } else if (feed != nullptr) {
    ASSIGN_OR_RETURN(loaded_one, feed->LoadInto(engine_, fits));
  }
  // Retention drops only segments a kept snapshot covers; a log that starts
  // later than the state we hold has lost segments (or the snapshot).
  if (const uint64_t first = log_->first_sequence(); first > engine_.last_sequence() + 1) {
    return absl::DataLossError(absl::StrCat(
        "the journal starts at event ", first, " but ",
        !loaded_one ? std::string("no snapshot was loaded")
                    : absl::StrCat("the snapshot ends at event ", engine_.last_sequence()),
        ": events ", engine_.last_sequence() + 1, " to ", first - 1,
        " are missing (a lost segment or snapshot)"));
  }
  absl::Status scanned =
      log_->Scan(engine_.last_sequence() + 1, [&](const ::dispatch::v1::Event& e) {
        if (absl::Status applied = ApplyRecorded(e, engine_); !applied.ok()) {
          return absl::DataLossError(absl::StrCat("replaying event ", e.sequence(),
                                                  " of the log: ", applied.message()));
        }
        ++replayed;
        return absl::OkStatus();
      });
  if (!scanned.ok()) return scanned;
  durable_sequence_ = engine_.last_sequence();
  // The request index is built after the start, in the background: the
  // daemon serves sooner, and only ExplainAssignment's history waits.
  if (log_->first_sequence() <= durable_sequence_) unindexed_.through = durable_sequence_;
  if (durable_sequence_ != log_->durable_sequence()) {
    return absl::DataLossError(absl::StrCat("the log holds events up to ",
                                            log_->durable_sequence(), " but replay stopped at ",
                                            durable_sequence_));
  }
  return replayed;
}

void EngineRunner::Start() {
  const uint64_t unindexed_through = unindexed_.through;  // Before the strand runs.
  thread_ = std::thread([this] { io_.run(); });
  // Timers that fell due while the daemon was down fire at once.
  RunExclusive([this] { RescheduleTimer(); });
  if (unindexed_through > 0) {
    history_thread_ = std::thread([this, unindexed_through] {
      IndexOlderHistory(unindexed_through);
    });
  }
}

void EngineRunner::IndexOlderHistory(uint64_t through) {
  // Background work, so the daemon serves while this reads the journal.
  base::RunInBackground();
  auto older = std::make_shared<RequestIndex>();
  absl::Status scanned =
      log_->Scan(log_->first_sequence(), [&](const ::dispatch::v1::Event& e) -> absl::Status {
        if (e.sequence() > through || stopping_) return absl::CancelledError();  // Done.
        older->Add(e);
        return absl::OkStatus();
      });
  if (!scanned.ok() && !absl::IsCancelled(scanned)) {
    std::string problem = absl::StrCat(absl::StatusCodeToString(scanned.code()), ": ",
                                       scanned.message());
    std::fprintf(stderr, "dispatchd: history up to event %llu not indexed: %s\n",
                 static_cast<unsigned long long>(through), problem.c_str());
    if (!stopping_) {
      RunExclusive([this, problem = std::move(problem)] { unindexed_.problem = problem; });
    }
    return;
  }
  if (!stopping_) RunExclusive([this, older] { MergeOlderHistory(older); });
}

void EngineRunner::MergeOlderHistory(std::shared_ptr<RequestIndex> older) {
  constexpr size_t kSlice = 2048;  // Requests per pause of the engine thread.
  if (!requests_.MergeOlder(older.get(), kSlice)) {
    RunExclusive([this, older] { MergeOlderHistory(older); });
  } else {
    unindexed_ = UnindexedHistory{};
  }
}

void EngineRunner::Stop() {
  stopping_ = true;
  if (history_thread_.joinable()) history_thread_.join();
  if (thread_.joinable()) {
    absl::Notification closed;
    RunExclusive([this, &closed] {
      hub_.CloseAll(grpc::Status(grpc::StatusCode::UNAVAILABLE, "dispatchd is shutting down"));
      {
        absl::MutexLock lock(&queue_mu_);
        stopped_ = true;
      }
      closed.Notify();
    });
    closed.WaitForNotification();
    {
      // The round running ends and sends its replies; nothing starts.
      absl::MutexLock lock(&queue_mu_);
      queue_mu_.Await(absl::Condition(
          +[](EngineRunner* r) ABSL_EXCLUSIVE_LOCKS_REQUIRED(r->queue_mu_) {
            return !r->draining_ && r->answering_ == 0;
          },
          this));
    }
    asio::post(io_, [this] {
      timer_.cancel();
      io_.stop();
    });
    thread_.join();
  }
  readers_.join();  // After the strand: it may have handed reads over.
}

void EngineRunner::RunExclusive(absl::AnyInvocable<void()> work) {
  {
    absl::MutexLock lock(&queue_mu_);
    if (stopped_) return;  // `work` is dropped outside the lock, below.
    if (draining_ && draining_here != this) {
      // Another thread's round usually ends within microseconds: wait that
      // long (asleep) to run here, rather than leave the work to the
      // runner's thread, a wake-up and a reply sent from a third thread.
      // Work queued from work on the strand must wait for it: no wait.
      ++waiting_;
      queue_mu_.AwaitWithTimeout(absl::Condition(
                                     +[](bool* draining) { return !*draining; }, &draining_),
                                 kWaitFor);
      --waiting_;
      if (stopped_) return;
    }
    queue_.push_back(std::move(work));
    if (draining_) return;  // The draining thread runs it after what it holds.
    draining_ = true;
  }
  DrainRound();
}

void EngineRunner::DrainRound() {
  std::vector<absl::AnyInvocable<void()>> round;
  {
    absl::MutexLock lock(&queue_mu_);
    if (stopped_) {
      draining_ = false;
      return;
    }
    round.swap(queue_);
  }
  const EngineRunner* const outer = draining_here;
  draining_here = this;
  for (absl::AnyInvocable<void()>& work : round) work();
  draining_here = outer;
  std::vector<Answered> answers;
  answers.swap(answers_);
  {
    absl::MutexLock lock(&queue_mu_);
    if (!answers.empty()) ++answering_;
    if (queue_.empty() || stopped_ || waiting_ > 0) {
      // Idle, or a waiting caller takes the strand with what is queued.
      draining_ = false;
    } else {
      // More came in meanwhile: the runner's thread takes the next round,
      // still marked busy, after any timer that fell due.
      asio::post(io_, [this] { DrainRound(); });
    }
  }
  // The replies go out once the strand is free for the next caller.
  if (answers.empty()) return;
  for (Answered& a : answers) a.done(std::move(a.status));
  answers.clear();
  absl::MutexLock lock(&queue_mu_);
  --answering_;
}

void EngineRunner::Answer(DoneFn done, absl::Status status) {
  answers_.push_back(Answered{std::move(done), std::move(status)});
}

void EngineRunner::ReadLog(absl::AnyInvocable<void(const EventLog&)> read) {
  asio::post(readers_, [this, read = std::move(read)]() mutable { read(*log_); });
}

bool EngineRunner::Admit(DoneFn& done) {
  if (!done) return true;  // Internal work (no caller waits) is not counted.
  const size_t before = pending_.fetch_add(1, std::memory_order_relaxed);
  if (before >= options_.max_pending_calls) {
    pending_.fetch_sub(1, std::memory_order_relaxed);
    done(absl::ResourceExhaustedError(
        absl::StrCat("dispatchd is overloaded: ", before,
                     " calls are waiting for the engine; retry with backoff")));
    return false;
  }
  done = [this, inner = std::move(done)](absl::Status status) mutable {
    pending_.fetch_sub(1, std::memory_order_relaxed);
    inner(std::move(status));
  };
  return true;
}

absl::Status EngineRunner::CheckQueueWait(absl::Time posted) const {
  if (options_.max_queue_wait <= absl::ZeroDuration()) return absl::OkStatus();
  const absl::Duration waited = absl::Now() - posted;
  if (waited <= options_.max_queue_wait) return absl::OkStatus();
  return absl::DeadlineExceededError(absl::StrCat(
      "waited ", absl::FormatDuration(waited), " for the engine (cap ",
      absl::FormatDuration(options_.max_queue_wait), "); nothing was done, retry later"));
}

void EngineRunner::Submit(engine::Command command, BuildFn build, DoneFn done) {
  if (!Admit(done)) return;
  RunExclusive([this, posted = absl::Now(), command = std::move(command), build = std::move(build),
                done = std::move(done)]() mutable {
    if (absl::Status late = CheckQueueWait(posted); !late.ok()) {
      return Answer(std::move(done), late);
    }
    HandleCommand(command, &build, &done);
  });
}

void EngineRunner::Query(QueryFn build, DoneFn done) {
  if (!Admit(done)) return;
  RunExclusive([this, posted = absl::Now(), build = std::move(build),
                done = std::move(done)]() mutable {
    if (!poisoned_.ok()) return Answer(std::move(done), poisoned_);
    if (absl::Status late = CheckQueueWait(posted); !late.ok()) {
      return Answer(std::move(done), late);
    }
    absl::Status reply = build(EngineView{engine_, requests_, *log_, unindexed_});
    DeliverWhenDurable(engine_.last_sequence(),
                       [reply = std::move(reply), done = std::move(done)](
                           absl::Status durable) mutable {
                         done(durable.ok() ? reply : durable);
                       });
  });
}

void EngineRunner::HandleCommand(const engine::Command& command, BuildFn* build,
                                 DoneFn* done) {
  if (!poisoned_.ok()) {
    if (*done) Answer(std::move(*done), poisoned_);
    return;
  }
  absl::StatusOr<engine::Outcome> outcome = engine_.Handle(command);
  absl::Status reply = *build ? (*build)(outcome, engine_) : outcome.status();
  if (outcome.ok() && !outcome->events.empty()) AppendBatch(outcome->events);
  if (*done) {
    DeliverWhenDurable(engine_.last_sequence(),
                       [reply = std::move(reply), done = std::move(*done)](
                           absl::Status durable) mutable {
                         done(durable.ok() ? reply : durable);
                       });
  } else if (!reply.ok() && !absl::IsFailedPrecondition(reply)) {
    std::fprintf(stderr, "dispatchd: engine: %s\n", std::string(reply.message()).c_str());
  }
  RescheduleTimer();
}

void EngineRunner::AppendBatch(const std::vector<engine::Event>& events) {
  Batch batch;
  batch.last_sequence = events.back().sequence;
  batch.events = std::make_shared<const std::vector<::dispatch::v1::Event>>(EventsToProto(events));
  batch.updates = AssignmentUpdatesFor(events, engine_);
  EventBatch shared = batch.events;
  const uint64_t last = batch.last_sequence;
  in_flight_.push_back(std::move(batch));
  auto durable = [this, last](absl::Status status) { LogCallback(last, status); };
  bool alone = pending_.load(std::memory_order_relaxed) <= 1;  // Under load: false, no lock.
  if (alone) {
    absl::MutexLock lock(&queue_mu_);
    alone = queue_.empty() && waiting_ == 0;  // Nor a caller about to take it.
  }
  if (alone) {
    // Nothing waits for the strand and at most this call for a reply: the
    // log may write and sync here, and the reply go out from this thread
    // (a gRPC thread, for a call), without waking the journal's writer.
    log_->AppendSharedAlone(std::move(shared), std::move(durable));
  } else {
    log_->AppendShared(std::move(shared), std::move(durable));
  }
}

void EngineRunner::LogCallback(uint64_t last, const absl::Status& status) {
  // A log that is durable at once calls back right here, on the engine
  // thread: publish now, so a reply never waits for another round.
  if (draining_here == this) return OnDurable(last, status);
  if (!status.ok()) {
    return RunExclusive([this, last, status] { OnDurable(last, status); });
  }
  // The journal's writer calls back once per append, in order, after one
  // fdatasync covered them all. One publish serves them: it covers what
  // the log reports durable, which is at least `last`.
  if (last <= published_durable_.load()) return;  // An earlier one published it.
  uint64_t durable = std::max(last, log_->durable_sequence());
  uint64_t reported = reported_durable_.load();
  while (reported < durable && !reported_durable_.compare_exchange_weak(reported, durable)) {
  }
  if (publish_scheduled_.exchange(true)) return;  // It will read reported_durable_.
  auto publish = [this] {
    // Cleared before reading: a callback that raises reported_durable_
    // after the read finds no publish scheduled and schedules one.
    publish_scheduled_.store(false);
    OnDurable(reported_durable_.load(), absl::OkStatus());
  };
  // The writer publishes and answers itself (the strand permitting; see
  // RunExclusive), even when more batches wait for its next fdatasync:
  // handing the publish to the runner's thread cost a wake-up per sync,
  // while the appends that arrive meanwhile join the next sync.
  RunExclusive(std::move(publish));
}

void EngineRunner::OnDurable(uint64_t sequence, const absl::Status& status) {
  if (!status.ok()) return Poison(status);
  while (!in_flight_.empty() && in_flight_.front().last_sequence <= sequence) {
    Batch batch = std::move(in_flight_.front());
    in_flight_.pop_front();
    durable_sequence_ = batch.last_sequence;
    for (const ::dispatch::v1::Event& e : *batch.events) {
      requests_.Add(e);
      for (const EventObserver& observer : observers_) observer(e);
    }
    for (const BatchObserver& observer : batch_observers_) observer(batch.events);
    // Streams first: a technician's phone waits on its stream, while the
    // callers whose replies follow are already waiting on the network.
    hub_.Publish(*batch.events, std::move(batch.updates));
    RunDeliveries();
  }
  published_durable_.store(durable_sequence_);  // Only ever grows, here.
}

void EngineRunner::Poison(const absl::Status& status) {
  if (!poisoned_.ok()) return;
  poisoned_ = absl::UnavailableError(absl::StrCat("event log failed: ", status.message()));
  std::fprintf(stderr, "dispatchd: %s; refusing all further work\n",
               std::string(poisoned_.message()).c_str());
  in_flight_.clear();
  std::deque<Delivery> pending = std::move(deliveries_);
  deliveries_.clear();
  for (Delivery& d : pending) Answer(std::move(d.done), poisoned_);
  hub_.CloseAll(ToGrpcStatus(poisoned_));
  if (on_poison_) on_poison_(poisoned_);
}

void EngineRunner::DeliverWhenDurable(uint64_t sequence, DoneFn done) {
  if (!poisoned_.ok()) return Answer(std::move(done), poisoned_);
  if (sequence <= durable_sequence_ && deliveries_.empty()) {
    return Answer(std::move(done), absl::OkStatus());
  }
  deliveries_.push_back(Delivery{sequence, std::move(done)});
  RunDeliveries();
}

void EngineRunner::RunDeliveries() {
  while (!deliveries_.empty() && deliveries_.front().after_sequence <= durable_sequence_) {
    Answer(std::move(deliveries_.front().done), absl::OkStatus());
    deliveries_.pop_front();
  }
}

void EngineRunner::RescheduleTimer() {
  if (!options_.run_timers) return;
  const std::optional<absl::Time> next = engine_.NextTimer();
  if (next == timer_deadline_) return;
  timer_deadline_ = next;
  // timer_ belongs to the runner's thread; re-arms reach it in order.
  asio::post(io_, [this, next] { ArmTimer(next); });
}

void EngineRunner::ArmTimer(std::optional<absl::Time> deadline) {
  if (!deadline) {
    timer_.cancel();
    return;
  }
  const absl::Duration wait = std::max(absl::ZeroDuration(), *deadline - clock_->Now());
  timer_.expires_after(absl::ToChronoNanoseconds(wait));
  timer_.async_wait([this](const boost::system::error_code& error) {
    if (error) return;  // Re-armed or cancelled.
    RunExclusive([this] {
      // A Tick with nothing due is harmless, so a fire that raced a re-arm
      // needs no special case; handling it re-arms for what is next.
      timer_deadline_.reset();
      BuildFn no_build;
      DoneFn no_done;
      HandleCommand(engine::cmd::Tick{}, &no_build, &no_done);
    });
  });
}

void EngineRunner::WatchAssignments(std::string technician_id,
                                    std::shared_ptr<AssignmentStream> stream) {
  RunExclusive([this, technician_id = std::move(technician_id),
                   stream = std::move(stream)]() mutable {
    StartAssignmentStream(technician_id, std::move(stream));
  });
}

void EngineRunner::StartAssignmentStream(const std::string& technician_id,
                                         std::shared_ptr<AssignmentStream> stream) {
  if (streams_closed_) return stream->Close(*streams_closed_);
  if (!poisoned_.ok()) return stream->Close(ToGrpcStatus(poisoned_));
  if (engine_.FindTechnician(technician_id) == nullptr) {
    return stream->Close(grpc::Status(
        grpc::StatusCode::NOT_FOUND,
        absl::StrCat("technician_id: unknown technician '", technician_id, "'")));
  }
  // The snapshot and the subscription are taken at the same sequence: the
  // stream gets live updates only above it.
  const uint64_t at = engine_.last_sequence();
  ::dispatch::v1::AssignmentUpdates snapshot = AssignmentSnapshot(technician_id, engine_);
  hub_.AddAssignmentStream(technician_id, at, stream);
  stream->SendHeaders();  // Tells the client it is subscribed.
  DeliverWhenDurable(at, [stream, snapshot = std::move(snapshot)](absl::Status s) mutable {
    if (s.ok()) {
      stream->Push(std::move(snapshot));
    } else {
      stream->Close(ToGrpcStatus(s));
    }
  });
}

void EngineRunner::WatchEvents(uint64_t from_sequence, std::shared_ptr<EventStream> stream) {
  RunExclusive([this, from_sequence, stream = std::move(stream)] {
    if (streams_closed_) return stream->Close(*streams_closed_);
    if (!poisoned_.ok()) return stream->Close(ToGrpcStatus(poisoned_));
    const uint64_t next = engine_.last_sequence() + 1;
    if (from_sequence > next) {
      return stream->Close(grpc::Status(
          grpc::StatusCode::OUT_OF_RANGE,
          absl::StrCat("from_sequence: ", from_sequence, " is past the next event, ", next)));
    }
    hub_.AddEventStream(stream);
    stream->SendHeaders();  // Tells the client it is subscribed.
    stream->Start();
  });
}

void EngineRunner::Unsubscribe(const void* stream) {
  RunExclusive([this, stream] { hub_.Remove(stream); });
}

void EngineRunner::CloseStreams(grpc::Status status) {
  RunExclusive([this, status] {
    streams_closed_ = status;
    hub_.CloseAll(status);
  });
}

void EngineRunner::FireTimersNow() {
  RunOnEngineThread([this] {
    // As when the timer fires: re-armed for whatever is due after it,
    // even at the same deadline (a Tick leaves a backlog due).
    timer_deadline_.reset();
    BuildFn no_build;
    DoneFn no_done;
    HandleCommand(engine::cmd::Tick{}, &no_build, &no_done);
  });
}

void EngineRunner::RunOnEngineThread(absl::AnyInvocable<void()> fn) {
  absl::Notification done;
  RunExclusive([&fn, &done] {
    fn();
    done.Notify();
  });
  done.WaitForNotification();
}

uint64_t EngineRunner::last_sequence() {
  uint64_t last = 0;
  RunOnEngineThread([this, &last] { last = engine_.last_sequence(); });
  return last;
}

}  // namespace dispatchd::services
