// EventLog: where dispatchd's events are kept, in dispatch.v1.Event form.
// The seam between the engine runner and persistence: today an in-memory
// log, later the file journal, and one day a replicated log. So it assumes
// no local file: a batch is appended at an expected sequence (a stale
// writer is fenced), the caller learns when the batch is durable, and
// anyone can read durable events from a sequence on.
//
// Thread safety: implementations are thread-safe.
#ifndef DISPATCHD_SERVICES_EVENT_LOG_H_
#define DISPATCHD_SERVICES_EVENT_LOG_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "dispatch/v1/events.pb.h"

namespace dispatchd::services {

// One appended batch, immutable once appended and shared by whoever reads
// it: the log (a memory log, a journal's tail), the runner's streams and
// request index. Sharing it saves a deep copy of every event per append.
using EventBatch = std::shared_ptr<const std::vector<::dispatch::v1::Event>>;

// The batch of `batches` (consecutive and ascending, none empty) that holds
// `sequence`, or end() if none does. For logs that keep appended batches.
inline std::deque<EventBatch>::const_iterator BatchHolding(const std::deque<EventBatch>& batches,
                                                           uint64_t sequence) {
  if (batches.empty() || sequence < batches.front()->front().sequence() ||
      sequence > batches.back()->back().sequence()) {
    return batches.end();
  }
  auto it = std::upper_bound(
      batches.begin(), batches.end(), sequence,
      [](uint64_t s, const EventBatch& b) { return s < b->front().sequence(); });
  return --it;
}

// Appends to `*out` the events of `batches` (as above) from sequence `from`
// on, in order, until `*out` holds `max_events`; nothing if no batch holds
// `from`.
inline void CopyFromBatches(const std::deque<EventBatch>& batches, uint64_t from,
                            size_t max_events, std::vector<::dispatch::v1::Event>* out) {
  auto it = BatchHolding(batches, from);
  if (it == batches.end()) return;
  for (size_t i = from - (*it)->front().sequence(); it != batches.end() && out->size() < max_events;
       ++it, i = 0) {
    for (; i < (*it)->size() && out->size() < max_events; ++i) out->push_back((**it)[i]);
  }
}

class EventLog {
 public:
  // Called exactly once per Append: OK when every event of the batch is
  // durable, otherwise the error that failed the batch. Implementations
  // call these in append order; one may run before Append returns, on the
  // appending thread, or later on another thread. The callee must not call
  // back into the log's Append from inside the callback.
  using DurableCallback = std::function<void(absl::Status)>;

  virtual ~EventLog() = default;

  // Appends `events`: non-empty, sequences consecutive, the first equal to
  // next_sequence(). Otherwise `done` gets FAILED_PRECONDITION (a stale or
  // confused writer) and nothing is appended. Once the log has failed, every
  // append fails with that error: a log never acknowledges after a failure.
  virtual void Append(std::vector<::dispatch::v1::Event> events,
                      DurableCallback done) = 0;

  // As Append, for a batch others keep reading (the engine runner's). A
  // log that can keep the shared batch itself overrides this; the default
  // copies it into Append. REQUIRES: `events` not null.
  virtual void AppendShared(EventBatch events, DurableCallback done) {
    Append(std::vector<::dispatch::v1::Event>(*events), std::move(done));
  }
  // As AppendShared, from a caller that is alone (no other append is
  // waiting on it): a log with a writer thread may write and sync the batch
  // on the calling thread instead, so `done` may run before this returns.
  // `done` must then not append. The default is AppendShared.
  virtual void AppendSharedAlone(EventBatch events, DurableCallback done) {
    AppendShared(std::move(events), std::move(done));
  }

  // The sequence the next appended event must carry (1 for an empty log).
  virtual uint64_t next_sequence() const = 0;

  // The last sequence known durable (0: none).
  virtual uint64_t durable_sequence() const = 0;

  // The oldest event still held: 1 unless retention dropped older ones
  // (their state then lives in a snapshot).
  virtual uint64_t first_sequence() const { return 1; }

  // Up to `max_events` durable events with sequence >= `from`, in order.
  // Empty when `from` is past the durable end; OUT_OF_RANGE when events
  // from `from` on were dropped by retention.
  virtual absl::StatusOr<std::vector<::dispatch::v1::Event>> Read(
      uint64_t from, size_t max_events) const = 0;

  // The durable events with the given sequences (ascending), in order; a
  // sequence with no event is skipped. One pass over the part of the log
  // they span, however many there are. OUT_OF_RANGE when retention dropped
  // any of them.
  virtual absl::StatusOr<std::vector<::dispatch::v1::Event>> ReadSome(
      const std::vector<uint64_t>& ascending) const {
    std::vector<::dispatch::v1::Event> out;
    if (ascending.empty()) return out;
    size_t next = 0;
    absl::Status scanned =
        Scan(ascending.front(), [&](const ::dispatch::v1::Event& e) -> absl::Status {
          while (next < ascending.size() && ascending[next] < e.sequence()) ++next;
          if (next < ascending.size() && ascending[next] == e.sequence()) {
            out.push_back(e);
            ++next;
          }
          // Past the last one wanted: stop reading.
          return next == ascending.size() ? absl::CancelledError() : absl::OkStatus();
        });
    if (!scanned.ok() && !absl::IsCancelled(scanned)) return scanned;
    return out;
  }

  // Calls `fn` for every durable event with sequence >= `from`, in order,
  // stopping at the first non-OK status from `fn` (returned). One pass
  // over the log: recovery and history indexing use it instead of Read
  // in chunks. The default reads in chunks; logs that can stream override.
  // The event passed to `fn` lives only for that call: copy what is kept.
  virtual absl::Status Scan(
      uint64_t from, const std::function<absl::Status(const ::dispatch::v1::Event&)>& fn) const {
    constexpr size_t kChunk = 4096;
    while (true) {
      absl::StatusOr<std::vector<::dispatch::v1::Event>> chunk = Read(from, kChunk);
      if (!chunk.ok()) return chunk.status();
      for (const ::dispatch::v1::Event& e : *chunk) {
        if (absl::Status st = fn(e); !st.ok()) return st;
      }
      if (chunk->size() < kChunk) return absl::OkStatus();
      from = chunk->back().sequence() + 1;
    }
  }
};

}  // namespace dispatchd::services

#endif  // DISPATCHD_SERVICES_EVENT_LOG_H_
