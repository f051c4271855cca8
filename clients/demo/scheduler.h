// Scheduler: one thread that runs tasks at their due time, in due-time order
// (ties in the order posted). All of the demo's decisions run on it, so the
// demo's own state needs no locks: the same single-writer idea as the daemon.
//
//   Scheduler s;
//   s.Start();
//   s.PostAfter(absl::Seconds(2), [] { ... });
//   s.Stop();  // Drops what has not run; waits for a running task.
//
// Thread safety: Post* and Stop may be called from any thread, Post* also
// from a task. Stop must not be called from a task.
#ifndef DISPATCHD_CLIENTS_DEMO_SCHEDULER_H_
#define DISPATCHD_CLIENTS_DEMO_SCHEDULER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace dispatchd::demo {

class Scheduler {
 public:
  using Task = std::function<void()>;

  Scheduler() = default;
  ~Scheduler() { Stop(); }
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Starts the thread. REQUIRES: not started before.
  void Start();

  // Runs `task` at wall time `when` (at once if that has passed). After
  // Stop, tasks are dropped.
  void PostAt(absl::Time when, Task task);
  void PostAfter(absl::Duration delay, Task task);
  void Post(Task task) { PostAt(absl::InfinitePast(), std::move(task)); }

  // Drops the tasks not yet run and waits for a running one to return.
  // Idempotent.
  void Stop();

 private:
  using Key = std::pair<absl::Time, uint64_t>;  // Due time, then post order.

  void Run();

  absl::Mutex mu_;
  absl::CondVar cv_;
  std::map<Key, Task> tasks_ ABSL_GUARDED_BY(mu_);
  uint64_t next_order_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace dispatchd::demo

#endif  // DISPATCHD_CLIENTS_DEMO_SCHEDULER_H_
