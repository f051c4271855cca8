// The server streams and the hub that feeds them durable changes.
//
// EventStream (ConsoleService.WatchEvents) first catches up from the
// EventLog, one chunk per drained queue, then switches to live events from
// the hub. The switch is made under the stream's lock with a sequence
// cursor: live events at or below the cursor are dropped (already read
// from the log), and a live event past it sends the stream back to the log,
// so a watcher sees every sequence once, in order, with no gap.
//
// AssignmentStream (TechnicianService.WatchAssignments) receives the
// technician's snapshot as one message, then, for every command after the
// snapshot that concerns them, one message with that command's updates.
//
// StreamHub keeps the live streams and fans durable batches out to them.
//
// Thread safety: EventStream and AssignmentStream are thread-safe (see
// QueuedWriter). StreamHub is not: engine thread only.
#ifndef DISPATCHD_SERVICES_STREAM_HUB_H_
#define DISPATCHD_SERVICES_STREAM_HUB_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "dispatch/v1/events.pb.h"
#include "dispatch/v1/technicians.pb.h"
#include "services/assignment_updates.h"
#include "services/event_log.h"
#include "services/queued_writer.h"

namespace dispatchd::services {

using AssignmentStream = QueuedWriter<::dispatch::v1::AssignmentUpdates>;

class EventStream final : public QueuedWriter<::dispatch::v1::Event> {
 public:
  // Streams events from `from_sequence` (0 is taken as 1). "*log" must
  // outlive the stream's last write.
  EventStream(const EventLog* log, uint64_t from_sequence, size_t capacity);

  // Begins the catch-up. REQUIRES: the stream is already in the hub, so no
  // live event can fall between the log's end and the first live batch.
  void Start() { Pump(); }

  // Offers a durable batch (consecutive sequences). Dropped while catching
  // up: the log has it.
  void PublishLive(const std::vector<::dispatch::v1::Event>& batch);

 private:
  void RefillLocked() override;

  const EventLog* const log_;
  uint64_t next_sequence_ ABSL_GUARDED_BY(mu_);
  bool live_ ABSL_GUARDED_BY(mu_) = false;
};

class StreamHub {
 public:
  StreamHub() = default;
  StreamHub(const StreamHub&) = delete;
  StreamHub& operator=(const StreamHub&) = delete;

  void AddEventStream(std::shared_ptr<EventStream> stream);
  // The stream gets updates with sequence > `after_sequence` (its snapshot's).
  void AddAssignmentStream(const std::string& technician_id, uint64_t after_sequence,
                           std::shared_ptr<AssignmentStream> stream);
  // Forgets the stream (event or assignment) at `stream`; no-op if unknown.
  void Remove(const void* stream);

  // Fans a durable batch (one command's) out: `events` to every event
  // stream, each of `updates` as one message to its technician's streams
  // (moved to the last of them, copied to the others).
  void Publish(const std::vector<::dispatch::v1::Event>& events,
               std::vector<TechnicianUpdates> updates);

  // Finishes every stream with `status` and forgets them.
  void CloseAll(const grpc::Status& status);

  size_t size() const { return event_streams_.size() + assignment_streams_.size(); }

 private:
  struct Watcher {
    std::string technician_id;
    uint64_t after_sequence = 0;
    std::shared_ptr<AssignmentStream> stream;
  };

  absl::flat_hash_map<const void*, std::shared_ptr<EventStream>> event_streams_;
  absl::flat_hash_map<const void*, Watcher> assignment_streams_;
  // technician id -> keys into assignment_streams_.
  absl::flat_hash_map<std::string, std::vector<const void*>> by_technician_;
};

}  // namespace dispatchd::services

#endif  // DISPATCHD_SERVICES_STREAM_HUB_H_
