#include "services/memory_event_log.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"

namespace dispatchd::services {

absl::Status MemoryEventLog::CheckBatch(
    const std::vector<::dispatch::v1::Event>& events) const {
  if (events.empty()) return absl::InvalidArgumentError("event log: empty batch");
  uint64_t expected = size_ + 1;
  for (const ::dispatch::v1::Event& e : events) {
    if (e.sequence() != expected) {
      return absl::FailedPreconditionError(absl::StrCat(
          "event log: expected sequence ", expected, ", got ", e.sequence()));
    }
    ++expected;
  }
  return absl::OkStatus();
}

void MemoryEventLog::Append(std::vector<::dispatch::v1::Event> events,
                            DurableCallback done) {
  AppendShared(std::make_shared<const std::vector<::dispatch::v1::Event>>(std::move(events)),
               std::move(done));
}

void MemoryEventLog::AppendShared(EventBatch events, DurableCallback done) {
  absl::Status status;
  {
    absl::MutexLock lock(&mu_);
    status = CheckBatch(*events);
    if (status.ok()) {
      size_ += events->size();
      batches_.push_back(std::move(events));
    }
  }
  done(status);
}

uint64_t MemoryEventLog::next_sequence() const {
  absl::ReaderMutexLock lock(&mu_);
  return size_ + 1;
}

uint64_t MemoryEventLog::durable_sequence() const {
  absl::ReaderMutexLock lock(&mu_);
  return size_;
}

absl::StatusOr<std::vector<::dispatch::v1::Event>> MemoryEventLog::Read(
    uint64_t from, size_t max_events) const {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<::dispatch::v1::Event> out;
  const uint64_t first = std::max<uint64_t>(from, 1);
  if (first > size_ || max_events == 0) return out;
  out.reserve(std::min<uint64_t>(max_events, size_ - first + 1));
  CopyFromBatches(batches_, first, max_events, &out);
  return out;
}

}  // namespace dispatchd::services
