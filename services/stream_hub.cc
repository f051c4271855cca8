#include "services/stream_hub.h"

#include <algorithm>
#include <utility>

namespace dispatchd::services {

EventStream::EventStream(const EventLog* log, uint64_t from_sequence, size_t capacity)
    : QueuedWriter(capacity), log_(log), next_sequence_(std::max<uint64_t>(from_sequence, 1)) {}

void EventStream::RefillLocked() {
  if (live_) return;
  absl::StatusOr<std::vector<::dispatch::v1::Event>> chunk =
      log_->Read(next_sequence_, capacity());
  if (!chunk.ok()) {
    FinishLocked(grpc::Status(grpc::StatusCode::INTERNAL,
                              absl::StrCat("reading the event log: ", chunk.status().message())));
    return;
  }
  if (chunk->empty()) {
    live_ = true;  // Caught up: the hub's next batch continues from here.
    return;
  }
  next_sequence_ = chunk->back().sequence() + 1;
  for (::dispatch::v1::Event& e : *chunk) {
    if (!AppendLocked(std::move(e))) return;
  }
}

void EventStream::PublishLive(const std::vector<::dispatch::v1::Event>& batch) {
  {
    absl::MutexLock lock(&mu_);
    if (!live_) return;
    for (const ::dispatch::v1::Event& e : batch) {
      if (e.sequence() < next_sequence_) continue;  // Read from the log already.
      if (e.sequence() > next_sequence_) {          // A gap: back to the log.
        live_ = false;
        break;
      }
      if (!AppendLocked(e)) break;
      ++next_sequence_;
    }
  }
  Pump();
}

void StreamHub::AddEventStream(std::shared_ptr<EventStream> stream) {
  const void* key = stream.get();
  event_streams_.emplace(key, std::move(stream));
}

void StreamHub::AddAssignmentStream(const std::string& technician_id,
                                    uint64_t after_sequence,
                                    std::shared_ptr<AssignmentStream> stream) {
  const void* key = stream.get();
  by_technician_[technician_id].push_back(key);
  assignment_streams_.emplace(key, Watcher{technician_id, after_sequence, std::move(stream)});
}

void StreamHub::Remove(const void* stream) {
  event_streams_.erase(stream);
  auto it = assignment_streams_.find(stream);
  if (it == assignment_streams_.end()) return;
  auto t = by_technician_.find(it->second.technician_id);
  if (t != by_technician_.end()) {
    std::erase(t->second, stream);
    if (t->second.empty()) by_technician_.erase(t);
  }
  assignment_streams_.erase(it);
}

void StreamHub::Publish(const std::vector<::dispatch::v1::Event>& events,
                        std::vector<TechnicianUpdates> updates) {
  for (auto& [key, stream] : event_streams_) stream->PublishLive(events);
  for (TechnicianUpdates& u : updates) {
    auto t = by_technician_.find(u.technician_id);
    if (t == by_technician_.end() || u.message.updates().empty()) continue;
    // A stream's snapshot is taken between commands, so one command's
    // updates are all past it or all in it.
    const uint64_t sequence = u.message.updates(0).sequence();
    const std::vector<const void*>& keys = t->second;
    for (size_t i = 0; i < keys.size(); ++i) {
      const Watcher& w = assignment_streams_.at(keys[i]);
      if (sequence <= w.after_sequence) continue;
      if (i + 1 == keys.size()) {
        w.stream->Push(std::move(u.message));
      } else {
        w.stream->Push(u.message);
      }
    }
  }
}

void StreamHub::CloseAll(const grpc::Status& status) {
  for (auto& [key, stream] : event_streams_) stream->Close(status);
  for (auto& [key, watcher] : assignment_streams_) watcher.stream->Close(status);
  event_streams_.clear();
  assignment_streams_.clear();
  by_technician_.clear();
}

}  // namespace dispatchd::services
