#include "clients/demo/scheduler.h"

#include "absl/time/clock.h"

namespace dispatchd::demo {

void Scheduler::Start() {
  thread_ = std::thread([this] { Run(); });
}

void Scheduler::PostAt(absl::Time when, Task task) {
  absl::MutexLock lock(&mu_);
  if (stopping_) return;
  const bool earliest = tasks_.empty() || when < tasks_.begin()->first.first;
  tasks_.emplace(Key{when, next_order_++}, std::move(task));
  if (earliest) cv_.Signal();
}

void Scheduler::PostAfter(absl::Duration delay, Task task) {
  PostAt(absl::Now() + delay, std::move(task));
}

void Scheduler::Stop() {
  std::map<Key, Task> dropped;  // Destroyed outside the lock.
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    dropped.swap(tasks_);
    cv_.Signal();
  }
  if (thread_.joinable()) thread_.join();
}

void Scheduler::Run() {
  while (true) {
    Task task;
    {
      absl::MutexLock lock(&mu_);
      while (true) {
        if (stopping_) return;
        if (tasks_.empty()) {
          cv_.Wait(&mu_);
          continue;
        }
        const absl::Time due = tasks_.begin()->first.first;
        if (due <= absl::Now()) break;
        cv_.WaitWithDeadline(&mu_, due);
      }
      task = std::move(tasks_.begin()->second);
      tasks_.erase(tasks_.begin());
    }
    task();
  }
}

}  // namespace dispatchd::demo
