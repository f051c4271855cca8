// HeldHistoryLog: an EventLog over a MemoryEventLog whose scans after the
// first (recovery's) wait until Release, then fail with `scan_error` if it
// is set: the background indexing of a start's history, held where a test
// can look at the daemon meanwhile. ReadSome (ExplainAssignment reading a
// request's events) goes straight to the inner log and is never held.
//
// Thread safety: as MemoryEventLog; set scan_error before Release.
#ifndef DISPATCHD_TESTS_SERVICES_HELD_HISTORY_LOG_H_
#define DISPATCHD_TESTS_SERVICES_HELD_HISTORY_LOG_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/notification.h"
#include "services/event_log.h"
#include "services/memory_event_log.h"

namespace dispatchd::services {

class HeldHistoryLog final : public EventLog {
 public:
  // `inner` must outlive this log.
  explicit HeldHistoryLog(MemoryEventLog* inner) : inner_(inner) {}
  void Append(std::vector<::dispatch::v1::Event> events, DurableCallback done) override {
    inner_->Append(std::move(events), std::move(done));
  }
  uint64_t next_sequence() const override { return inner_->next_sequence(); }
  uint64_t durable_sequence() const override { return inner_->durable_sequence(); }
  absl::StatusOr<std::vector<::dispatch::v1::Event>> Read(uint64_t from,
                                                          size_t max_events) const override {
    return inner_->Read(from, max_events);
  }
  absl::StatusOr<std::vector<::dispatch::v1::Event>> ReadSome(
      const std::vector<uint64_t>& ascending) const override {
    return inner_->ReadSome(ascending);
  }
  absl::Status Scan(uint64_t from, const std::function<absl::Status(
                                       const ::dispatch::v1::Event&)>& fn) const override {
    if (scans_.fetch_add(1) > 0) {
      released_.WaitForNotification();
      if (!scan_error.ok()) return scan_error;
    }
    return inner_->Scan(from, fn);
  }
  void Release() { released_.Notify(); }
  absl::Status scan_error;  // Set before Release.

 private:
  MemoryEventLog* const inner_;
  mutable std::atomic<int> scans_{0};
  absl::Notification released_;
};

}  // namespace dispatchd::services

#endif  // DISPATCHD_TESTS_SERVICES_HELD_HISTORY_LOG_H_
