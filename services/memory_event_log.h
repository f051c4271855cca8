// MemoryEventLog: an EventLog in memory, durable the moment it is appended.
// Used by `dispatchd --in_memory` and by tests. Everything is lost when the
// process ends.
//
// It keeps the appended batches themselves (EventBatch), shared with the
// engine runner that appended them, not copies of their events.
//
// Thread safety: thread-safe. Append runs `done` on the calling thread
// before returning, with no lock held.
#ifndef DISPATCHD_SERVICES_MEMORY_EVENT_LOG_H_
#define DISPATCHD_SERVICES_MEMORY_EVENT_LOG_H_

#include <cstdint>
#include <deque>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "services/event_log.h"

namespace dispatchd::services {

class MemoryEventLog final : public EventLog {
 public:
  MemoryEventLog() = default;
  MemoryEventLog(const MemoryEventLog&) = delete;
  MemoryEventLog& operator=(const MemoryEventLog&) = delete;

  void Append(std::vector<::dispatch::v1::Event> events, DurableCallback done) override;
  void AppendShared(EventBatch events, DurableCallback done) override;
  uint64_t next_sequence() const override;
  uint64_t durable_sequence() const override;
  absl::StatusOr<std::vector<::dispatch::v1::Event>> Read(
      uint64_t from, size_t max_events) const override;

 private:
  absl::Status CheckBatch(const std::vector<::dispatch::v1::Event>& events) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  // The batches in order; together they hold sequences 1..size_ without a
  // gap. A deque: growing never moves the batches already held.
  std::deque<EventBatch> batches_ ABSL_GUARDED_BY(mu_);
  uint64_t size_ ABSL_GUARDED_BY(mu_) = 0;  // Events held.
};

}  // namespace dispatchd::services

#endif  // DISPATCHD_SERVICES_MEMORY_EVENT_LOG_H_
