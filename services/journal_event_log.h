// JournalEventLog: the EventLog kept in a journal::Journal (the file log),
// one dispatch.v1.Event per record. Durable means fsynced by the journal's
// group commit; a journal failure fails the batch and every later one.
//
// An append serialises each event once, straight into the framed batch the
// journal writes (journal::FramedBatch), and keeps the batch itself
// (EventBatch, shared with the engine runner) until it is durable; it then
// joins a bounded in-memory tail that serves reads of recent events. Older
// ones are read from the journal's files.
//
// Thread safety: thread-safe. `done` callbacks run on the journal's writer
// thread (or on the caller's, for a batch refused at once). When a
// callback runs, every batch up to the journal's durable_sequence() is
// already in the tail, so a reader told of durability by any one of them
// finds them all.
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
  // Keeps at least `tail_capacity` of the newest durable events in memory
  // (whole batches: up to one batch more).
  explicit JournalEventLog(std::unique_ptr<journal::Journal> journal,
                           size_t tail_capacity = 65536);

  void Append(std::vector<::dispatch::v1::Event> events, DurableCallback done) override;
  void AppendShared(EventBatch events, DurableCallback done) override;
  // Writes on the calling thread when the journal is idle
  // (journal::Journal::AppendFramedHere).
  void AppendSharedAlone(EventBatch events, DurableCallback done) override;
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
  void AppendSharedTo(EventBatch events, DurableCallback done, bool here);
  // Moves the appended batches the journal now holds durable into the tail.
  void Remember();
  // Forgets `events` (refused by the journal) from the appended batches.
  void Forget(const EventBatch& events);
  // The event with `sequence`, or nullptr if the tail does not hold it.
  const ::dispatch::v1::Event* FindInTail(uint64_t sequence) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);

  const std::unique_ptr<journal::Journal> journal_;
  const size_t tail_capacity_;
  // Where appends are framed: reused, so an append allocates no buffer
  // (the journal copies the bytes into its own queue).
  absl::Mutex frame_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  journal::FramedBatch frame_ ABSL_GUARDED_BY(frame_mu_);
  mutable absl::Mutex mu_;
  // Appended, not yet known durable; in order.
  std::deque<EventBatch> appended_ ABSL_GUARDED_BY(mu_);
  // Durable batches, consecutive: the newest tail_capacity_ events or more.
  std::deque<EventBatch> tail_ ABSL_GUARDED_BY(mu_);
  size_t tail_events_ ABSL_GUARDED_BY(mu_) = 0;
  // The last sequence moved to the tail (or durable when opened): an
  // appended batch at or below it was refused, never remembered.
  uint64_t remembered_through_ ABSL_GUARDED_BY(mu_);
};

}  // namespace dispatchd::services

#endif  // DISPATCHD_SERVICES_JOURNAL_EVENT_LOG_H_
