// Snapshotter: takes snapshots without stalling the engine thread.
//
// It keeps a follower engine on its own thread that applies the same
// durable events as the live one (handed over by Follow, which only queues
// the shared batch), and every `every_events` events or `every` time it
// exports the follower's image and writes it through the SnapshotStore.
// The engine thread's whole cost is queueing a pointer: the follower is not
// woken per event but by a full queue, a snapshot asked for, or a timer
// (it trails the live engine by up to a second when quiet). At start dispatchd
// primes it the way the live engine recovered — the snapshot it loaded, if
// any, plus the journal after it — on the follower's own thread once the
// daemon serves (PrimeFrom), so start-up does not wait for it. Prime
// starts it from an image of a live engine instead.
//
// A failed snapshot is logged and retried at the next threshold; the
// journal, not the snapshot, is what acknowledges, so nothing is lost.
//
// Thread safety: Follow may be called from one thread (the engine thread);
// the rest from any.
#ifndef DISPATCHD_SERVICES_SNAPSHOTTER_H_
#define DISPATCHD_SERVICES_SNAPSHOTTER_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "dispatch/v1/events.pb.h"
#include "engine/engine.h"
#include "services/event_log.h"
#include "services/snapshot_store.h"

namespace dispatchd::services {

struct SnapshotterOptions {
  uint64_t every_events = 100000;  // 0: never by count.
  absl::Duration every = absl::Minutes(10);  // Zero: never by time.
  std::function<void(const std::string&)> log;
  // After each snapshot written, with the last sequence of the oldest one
  // kept (journal retention drops what it covers). On the follower thread.
  std::function<void(uint64_t covered)> after_snapshot;
};

class Snapshotter {
 public:
  // "*store" must outlive this.
  Snapshotter(SnapshotStore* store, SnapshotterOptions options);
  ~Snapshotter();  // Stops the thread; queued events are dropped.

  // Starts the follower from the recovered live engine's image, so the log
  // is replayed once at start, not twice. REQUIRES: before Start, with the
  // image taken before the live engine handled anything new.
  absl::Status Prime(const engine::StateImage& recovered);
  // Starts the follower the way the live engine recovered: from the
  // snapshot file `snapshot_path` of the store (the one the live engine
  // loaded; empty: none, a full replay) plus the events of `*log` after it,
  // up to `through` (the live engine's last sequence after recovery). The
  // work happens on the follower thread once started, at its low priority,
  // so start-up waits neither for an export of the live state nor for a
  // second load or replay of it, and the live engine can take the decoded
  // image's contents instead of copying them. If the follower cannot catch
  // up (the file is gone or damaged since, or the log does not reach
  // `through`), it stops and takes no snapshots (as when it cannot apply an
  // event). "*log" must outlive this.
  // REQUIRES: before Start, instead of Prime.
  void PrimeFrom(std::string snapshot_path, const EventLog* log, uint64_t through);
  // Starts the thread.
  void Start();
  // Queues a durable batch (the next in sequence); the follower reads it
  // on its own thread, so it is shared, not copied.
  void Follow(EventBatch batch);
  // Has the follower thread take a snapshot of everything followed so far
  // and waits for it. The snapshot is taken where the periodic ones are,
  // on the low-priority follower thread, never on the caller's.
  // REQUIRES: Start was called.
  absl::Status SnapshotNow();

 private:
  // The follower thread wakes once this many events are queued, or
  // kFollowLag after it last found some queued, or for SnapshotNow.
  static constexpr size_t kWakeAt = 1024;
  static constexpr absl::Duration kFollowLag = absl::Milliseconds(50);

  void Loop();
  absl::Status Take() ABSL_EXCLUSIVE_LOCKS_REQUIRED(engine_mu_);
  // Applies the events the follower has not seen yet, in order.
  absl::Status FollowBatches(const std::deque<EventBatch>& batches)
      ABSL_LOCKS_EXCLUDED(engine_mu_);
  absl::Status ApplyOne(const ::dispatch::v1::Event& event)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(engine_mu_);
  // Does what PrimeFrom asked for, if anything; on the follower thread.
  absl::Status CatchUp() ABSL_LOCKS_EXCLUDED(engine_mu_);

  SnapshotStore* const store_;
  const SnapshotterOptions options_;
  engine::SystemClock clock_;

  absl::Mutex engine_mu_ ABSL_ACQUIRED_AFTER(mu_);  // The follower thread's.
  engine::Engine follower_ ABSL_GUARDED_BY(engine_mu_);
  uint64_t since_snapshot_ ABSL_GUARDED_BY(engine_mu_) = 0;
  absl::Time last_snapshot_ ABSL_GUARDED_BY(engine_mu_);
  // Set by PrimeFrom (a log: a catch-up is due), consumed by CatchUp.
  std::string catch_up_snapshot_ ABSL_GUARDED_BY(engine_mu_);  // A path; empty: none.
  const EventLog* catch_up_log_ ABSL_GUARDED_BY(engine_mu_) = nullptr;
  uint64_t catch_up_through_ ABSL_GUARDED_BY(engine_mu_) = 0;
  std::atomic<bool> quitting_{false};  // Ends a catch-up early.

  absl::Mutex mu_;
  std::deque<EventBatch> queue_ ABSL_GUARDED_BY(mu_);
  size_t queued_events_ ABSL_GUARDED_BY(mu_) = 0;  // In queue_'s batches.
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // SnapshotNow tickets: asked for, and answered with the status of the
  // snapshot that answered them.
  uint64_t asked_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t answered_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status answer_ ABSL_GUARDED_BY(mu_);
  // Set when the follower stops for good (its state left the live one's).
  absl::Status stopped_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace dispatchd::services

#endif  // DISPATCHD_SERVICES_SNAPSHOTTER_H_
