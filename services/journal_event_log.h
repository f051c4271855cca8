// JournalEventLog: the EventLog kept in a journal::Journal (the file log),
// one dispatch.v1.Event per record. Durable means fsynced by the journal's
// group commit; a journal failure fails the batch and every later one.
//
// Reads of recent events are served from a bounded in-memory tail, older
// ones from the journal's files.
//
// Thread safety: thread-safe. `done` callbacks run on the journal's writer
// thread (or on the caller's, for a batch refused at once).
#ifndef DISPATCHD_SERVICES_JOURNAL_EVENT_LOG_H_
#define DISPATCHD_SERVICES_JOURNAL_EVENT_LOG_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "journal/journal.h"
#include "services/event_log.h"

namespace dispatchd::services {

class JournalEventLog final : public EventLog {
 public:
  // Keeps up to `tail_capacity` of the newest durable events in memory.
  explicit JournalEventLog(std::unique_ptr<journal::Journal> journal,
                           size_t tail_capacity = 65536);

  void Append(std::vector<::dispatch::v1::Event> events, DurableCallback done) override;
  uint64_t next_sequence() const override;
  uint64_t durable_sequence() const override;
  uint64_t first_sequence() const override;
  // The recent ones from the in-memory tail, older ones in one scan.
  absl::StatusOr<std::vector<::dispatch::v1::Event>> ReadSome(
      const std::vector<uint64_t>& ascending) const override;
  absl::StatusOr<std::vector<::dispatch::v1::Event>> Read(
      uint64_t from, size_t max_events) const override;
  // Streams the journal's files once (Read re-reads a segment per call).
  absl::Status Scan(uint64_t from, const std::function<absl::Status(const ::dispatch::v1::Event&)>&
                                       fn) const override;

  // OK, or the error that poisoned the journal.
  absl::Status status() const { return journal_->status(); }

 private:
  void Remember(std::vector<::dispatch::v1::Event> events);

  const std::unique_ptr<journal::Journal> journal_;
  const size_t tail_capacity_;
  mutable absl::Mutex mu_;
  std::deque<::dispatch::v1::Event> tail_ ABSL_GUARDED_BY(mu_);  // Consecutive.
};

}  // namespace dispatchd::services

#endif  // DISPATCHD_SERVICES_JOURNAL_EVENT_LOG_H_
