// EngineRunner: the single writer. The engine is owned by a strand: work
// (commands, queries, durability notices, stream starts, timer ticks) runs
// one item at a time, in the order queued, so the domain needs no locks
// (DESIGN.md, principle 1). "The engine thread" below means whichever
// thread is draining the strand at the moment: a caller that finds the
// strand idle runs its own work at once, on its own thread, then hands
// whatever others queued meanwhile to the runner's own thread; a caller
// that finds it busy waits up to 50 us (asleep) for the round to end and
// then runs its own work and what is queued, or else only queues (so a
// long round never holds gRPC's threads). So an uncontended call costs no
// thread hand-off: with an in-memory log a gRPC thread handles the command
// and finishes the reply itself, and the journal's writer publishes a
// durable batch and answers its calls right after fdatasync (unless more
// batches wait for its next one: then the runner's thread does it). Under
// load gRPC's two threads mostly take turns, and the runner's thread
// drains what a long round left queued. The replies of a round go out
// after it, from the thread that ran it, once the strand is free again.
//
// Durable before visible (principle 2). After Handle, the runner encodes the
// batch, appends it to the EventLog and parks every effect behind it:
//   - the caller's reply is built at once, on the engine thread, from the
//     state right after the command, but `done` runs only once the log says
//     the batch is durable;
//   - query replies wait for the events their state includes;
//   - console events, technician updates and the request index see a batch
//     only once it is durable, in sequence order.
// If the log fails, the runner is poisoned: pending and later calls fail
// UNAVAILABLE with the log's error, and streams end. Nothing is retried.
//
// Timers: after each command the runner re-arms one steady_timer (on its
// own thread) for engine.NextTimer() and handles cmd::Tick when it fires.
//
// Thread safety: public methods are thread-safe unless noted. `build`
// runs on the engine thread (the strand); `done` runs right after the
// round that answered it, on the thread that ran the round, while the
// strand may already run the next round on another thread, so the replies
// of different rounds have no order. Neither may block or call the
// blocking test hooks; both may call the runner's other methods (from
// `build`, that work is queued and runs after it).
#ifndef DISPATCHD_SERVICES_ENGINE_RUNNER_H_
#define DISPATCHD_SERVICES_ENGINE_RUNNER_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "boost/asio/executor_work_guard.hpp"
#include "boost/asio/io_context.hpp"
#include "boost/asio/steady_timer.hpp"
#include "boost/asio/thread_pool.hpp"
#include "dispatch/v1/events.pb.h"
#include "engine/clock.h"
#include "engine/engine.h"
#include "services/assignment_updates.h"
#include "services/event_log.h"
#include "services/request_index.h"
#include "services/snapshot_feed.h"
#include "services/stream_hub.h"

namespace dispatchd::services {

// The start of the log's history that the request index does not hold
// yet: a start replays the log into the engine and leaves indexing the
// replayed events to a background thread (EngineRunner::Start).
struct UnindexedHistory {
  uint64_t through = 0;  // Events up to here are not in the index; 0: none.
  std::string problem;   // Empty while they are being indexed; else why not.
};

// What a query may read, on the engine thread.
struct EngineView {
  const engine::Engine& engine;
  const RequestIndex& requests;  // Durable events only.
  const EventLog& log;
  const UnindexedHistory& unindexed;  // What `requests` lacks for now.
};

class EngineRunner {
 public:
  struct Options {
    // The engine's clock; nullptr: the system clock. Must outlive the runner.
    const engine::Clock* clock = nullptr;
    // False: timers fire only through FireTimersNow (tests drive time).
    bool run_timers = true;
    // Calls taken but not yet answered (queued for the engine or waiting
    // for durability) beyond which new ones are refused at once with
    // RESOURCE_EXHAUSTED, so overload costs a retry, not unbounded memory.
    size_t max_pending_calls = 20000;
    // A call that waited this long for the engine thread is answered
    // DEADLINE_EXCEEDED instead of being handled (0: no cap).
    absl::Duration max_queue_wait = absl::Seconds(10);
  };

  // Builds the reply from the command's result; runs on the engine thread.
  using BuildFn = absl::AnyInvocable<absl::Status(const absl::StatusOr<engine::Outcome>&,
                                                  const engine::Engine&)>;
  using QueryFn = absl::AnyInvocable<absl::Status(const EngineView&)>;
  // Gets the build's status, or the log's error; runs right after the
  // round that answered it, on the thread that ran the round, off the
  // strand (see Thread safety above).
  using DoneFn = absl::AnyInvocable<void(absl::Status)>;
  // Sees each durable event once, in order, on the engine thread.
  using EventObserver = std::function<void(const ::dispatch::v1::Event&)>;
  // Sees each durable batch once, in order, on the engine thread, after
  // the event observers; may keep the (immutable, shared) batch.
  using BatchObserver = std::function<void(const EventBatch&)>;

  // "*log" must outlive the runner.
  EngineRunner(EventLog* log, Options options);
  ~EngineRunner();  // Stops.
  EngineRunner(const EngineRunner&) = delete;
  EngineRunner& operator=(const EngineRunner&) = delete;

  // REQUIRES: before Start.
  void AddObserver(EventObserver observer);
  // REQUIRES: before Start.
  void AddBatchObserver(BatchObserver observer);
  // Rebuilds the engine from every durable event in the log (recovery).
  // Returns the number of events replayed, or DATA_LOSS naming the first
  // event that cannot be decoded or does not fit the state. Observers do
  // not see replayed events. REQUIRES: before Start.
  // With `snapshot`, the engine first loads it and replays only the events
  // after it; a snapshot the log does not reach is DATA_LOSS. The request
  // index behind ExplainAssignment's history is not built here: Start
  // indexes the log up to here in the background (EngineView::unindexed).
  // With `feed` instead, the snapshot is loaded in parts as another thread
  // decodes it (SnapshotFeed::LoadInto); none may come.
  absl::StatusOr<uint64_t> Recover(std::optional<engine::StateImage> snapshot = std::nullopt,
                                   SnapshotFeed* feed = nullptr);
  // The engine, for a look right after Recover. REQUIRES: before Start.
  const engine::Engine& engine_before_start() const { return engine_; }
  // Called once, on the engine thread, when the log fails (fail-stop).
  // REQUIRES: before Start.
  void OnPoison(std::function<void(const absl::Status&)> handler);
  void Start();
  // Ends every stream UNAVAILABLE, waits for the strand to go idle and
  // joins the runner's thread. Work still queued, or queued later, is
  // dropped, so stop the gRPC server first. Idempotent.
  void Stop();

  // Handles `command` on the engine thread, then `build`, then — once the
  // events it produced (or the state it saw) are durable — `done`. Past
  // max_pending_calls, `done` gets RESOURCE_EXHAUSTED at once, on the
  // calling thread, and nothing is handled.
  void Submit(engine::Command command, BuildFn build, DoneFn done);
  // Runs `build` on the engine thread; `done` once what it read is durable.
  void Query(QueryFn build, DoneFn done);
  // Runs `read` on the log reader thread, never the engine thread: for
  // reads of old events (a request's history) that may go to disk.
  // Reads run one at a time, in the order asked; Stop waits for them.
  void ReadLog(absl::AnyInvocable<void(const EventLog&)> read);

  // Starts `stream` for `technician_id`: the snapshot of their open work,
  // then live updates, no gap, no duplicate. NOT_FOUND ends the stream if
  // the technician is unknown.
  void WatchAssignments(std::string technician_id, std::shared_ptr<AssignmentStream> stream);
  // Starts `stream` (which reads from its from_sequence). OUT_OF_RANGE ends
  // it if from_sequence is past the next event.
  void WatchEvents(uint64_t from_sequence, std::shared_ptr<EventStream> stream);
  // Forgets a stream that has ended.
  void Unsubscribe(const void* stream);
  // Finishes every stream with `status`; later Watch calls end likewise.
  void CloseStreams(grpc::Status status);

  // --- Blocking helpers (tests, start-up). Not from the engine thread. ---

  // Handles cmd::Tick now, as if the timer had fired.
  void FireTimersNow();
  // Runs `fn` on the engine thread and waits for it (e.g. to move a
  // ManualClock without racing the engine).
  void RunOnEngineThread(absl::AnyInvocable<void()> fn);
  uint64_t last_sequence();

 private:
  struct Batch {
    uint64_t last_sequence = 0;
    EventBatch events;  // Shared with the log: never copied.
    std::vector<TechnicianUpdates> updates;
  };
  struct Delivery {
    uint64_t after_sequence = 0;
    DoneFn done;
  };
  struct Answered {
    DoneFn done;
    absl::Status status;
  };

  // Counts the call as pending and wraps `done` to uncount it; false (and
  // `done` answered RESOURCE_EXHAUSTED) when too many are pending.
  bool Admit(DoneFn& done);
  // DEADLINE_EXCEEDED if work posted at `posted` waited past the cap.
  absl::Status CheckQueueWait(absl::Time posted) const;

  // Runs `work` on the strand: at once on this thread if the strand is
  // idle, else after what is queued. Never blocks on the engine.
  void RunExclusive(absl::AnyInvocable<void()> work);
  // Runs what is queued, one round; if more was queued meanwhile, posts the
  // next round to the runner's thread. So a gRPC thread (with I/O to
  // serve) or the journal's writer (with the next fdatasync) never lingers,
  // and timers get their turn between rounds. REQUIRES: draining_ set.
  void DrainRound();
  // Arms timer_ for `deadline` (nullopt: disarms). Runner thread only.
  void ArmTimer(std::optional<absl::Time> deadline);

  // All below: engine thread (strand) only.
  void HandleCommand(const engine::Command& command, BuildFn* build, DoneFn* done);
  void AppendBatch(const std::vector<engine::Event>& events);
  // The log's durable callback for the batch ending at `last`; any thread.
  // Callbacks of one fdatasync share one publish: the first schedules it
  // for everything the log reports durable, the rest find it done or on
  // its way and return.
  void LogCallback(uint64_t last, const absl::Status& status);
  void OnDurable(uint64_t sequence, const absl::Status& status);
  void Poison(const absl::Status& status);
  void DeliverWhenDurable(uint64_t sequence, DoneFn done);
  // Runs `done(status)` at the end of the round, once the strand is free.
  void Answer(DoneFn done, absl::Status status);
  void RunDeliveries();
  void RescheduleTimer();
  void StartAssignmentStream(const std::string& technician_id,
                             std::shared_ptr<AssignmentStream> stream);
  // The events up to `through` were replayed (or covered by the snapshot)
  // but not indexed, so ExplainAssignment's history lacks them. Indexes
  // them on a background thread, then merges the result on the engine
  // thread a slice at a time (a short pause each, not one long one).
  void IndexOlderHistory(uint64_t through);
  void MergeOlderHistory(std::shared_ptr<RequestIndex> older);

  // Constant after construction.
  EventLog* const log_;
  const Options options_;
  engine::SystemClock system_clock_;
  const engine::Clock* const clock_;
  std::vector<EventObserver> observers_;  // Fixed once started.
  std::vector<BatchObserver> batch_observers_;  // Likewise.
  std::function<void(const absl::Status&)> on_poison_;  // Fixed once started.

  std::atomic<size_t> pending_{0};
  // Coalescing of durable callbacks (LogCallback): the highest sequence a
  // callback reported durable, the highest published (OnDurable), and
  // whether a publish is scheduled but not yet started.
  std::atomic<uint64_t> reported_durable_{0};
  std::atomic<uint64_t> published_durable_{0};
  std::atomic<bool> publish_scheduled_{false};
  std::atomic<bool> stopping_{false};
  std::thread history_thread_;

  // Log reads off the engine thread (ReadLog).
  boost::asio::thread_pool readers_{1};

  // The strand's queue.
  absl::Mutex queue_mu_;
  std::vector<absl::AnyInvocable<void()>> queue_ ABSL_GUARDED_BY(queue_mu_);
  bool draining_ ABSL_GUARDED_BY(queue_mu_) = false;  // A thread runs the strand.
  int waiting_ ABSL_GUARDED_BY(queue_mu_) = 0;        // Callers waiting for it (RunExclusive).
  int answering_ ABSL_GUARDED_BY(queue_mu_) = 0;      // Threads sending a round's replies.
  bool stopped_ ABSL_GUARDED_BY(queue_mu_) = false;   // Work is dropped.

  // The runner's own thread: timers, and every round after the first.
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::thread thread_;
  boost::asio::steady_timer timer_;  // Runner thread only.

  // Engine thread (strand) only.
  engine::Engine engine_;
  std::optional<absl::Time> timer_deadline_;  // What timer_ was last armed for.
  uint64_t durable_sequence_ = 0;
  std::deque<Batch> in_flight_;       // Appended, not yet durable; in order.
  std::deque<Delivery> deliveries_;   // Non-decreasing after_sequence.
  std::vector<Answered> answers_;     // Replies of this round, sent after it.
  RequestIndex requests_;
  UnindexedHistory unindexed_;
  StreamHub hub_;
  absl::Status poisoned_;
  std::optional<grpc::Status> streams_closed_;
};

}  // namespace dispatchd::services

#endif  // DISPATCHD_SERVICES_ENGINE_RUNNER_H_
