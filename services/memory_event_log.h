// MemoryEventLog: an EventLog in memory, durable the moment it is appended.
// Used until persistence lands, and by tests. Everything is lost when the
// process ends.
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
  uint64_t next_sequence() const override;
  uint64_t durable_sequence() const override;
  absl::StatusOr<std::vector<::dispatch::v1::Event>> Read(
      uint64_t from, size_t max_events) const override;

 private:
  absl::Status CheckBatch(const std::vector<::dispatch::v1::Event>& events) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  // events_[i] has sequence i + 1.
  // A deque: growing never moves the events already held (a vector's
  // doubling moved hundreds of thousands of them at once, a pause every
  // caller felt).
  std::deque<::dispatch::v1::Event> events_ ABSL_GUARDED_BY(mu_);
};

}  // namespace dispatchd::services

#endif  // DISPATCHD_SERVICES_MEMORY_EVENT_LOG_H_
