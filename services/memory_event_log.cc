#include "services/memory_event_log.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace dispatchd::services {

absl::Status MemoryEventLog::CheckBatch(
    const std::vector<::dispatch::v1::Event>& events) const {
  if (events.empty()) return absl::InvalidArgumentError("event log: empty batch");
  uint64_t expected = events_.size() + 1;
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
  absl::Status status;
  {
    absl::MutexLock lock(&mu_);
    status = CheckBatch(events);
    if (status.ok()) {
      for (::dispatch::v1::Event& e : events) events_.push_back(std::move(e));
    }
  }
  done(status);
}

uint64_t MemoryEventLog::next_sequence() const {
  absl::ReaderMutexLock lock(&mu_);
  return events_.size() + 1;
}

uint64_t MemoryEventLog::durable_sequence() const {
  absl::ReaderMutexLock lock(&mu_);
  return events_.size();
}

absl::StatusOr<std::vector<::dispatch::v1::Event>> MemoryEventLog::Read(
    uint64_t from, size_t max_events) const {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<::dispatch::v1::Event> out;
  const uint64_t first = std::max<uint64_t>(from, 1);
  if (first > events_.size()) return out;
  const size_t begin = first - 1;
  const size_t end = std::min(events_.size(), begin + max_events);
  out.assign(events_.begin() + begin, events_.begin() + end);
  return out;
}

}  // namespace dispatchd::services
