#include "services/journal_event_log.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "google/protobuf/arena.h"
#include "journal/record_format.h"

namespace dispatchd::services {

using ::dispatch::v1::Event;

namespace {

// Frames `events` as journal records into `*framed` (its buffer reused),
// serialising each event once, in place.
absl::Status Frame(const std::vector<Event>& events, journal::FramedBatch* framed) {
  framed->first_sequence = events.empty() ? 0 : events.front().sequence();
  framed->count = events.size();
  size_t total = 0;
  for (const Event& e : events) {
    const size_t size = e.ByteSizeLong();  // Caches the sizes for below.
    if (size > journal::kMaxPayloadSize) {
      return absl::InvalidArgumentError(absl::StrCat(
          "event ", e.sequence(), " is ", size, " bytes, over the journal's record limit"));
    }
    total += journal::kRecordHeaderSize + size;
  }
  constexpr size_t kKeepBytes = 1u << 20;  // A burst's buffer is not kept.
  if (framed->bytes.capacity() > kKeepBytes && total <= kKeepBytes) {
    std::string().swap(framed->bytes);
  }
  framed->bytes.resize(total);
  char* record = framed->bytes.data();
  for (const Event& e : events) {
    const auto size = static_cast<uint32_t>(e.GetCachedSize());
    e.SerializeWithCachedSizesToArray(
        reinterpret_cast<uint8_t*>(record + journal::kRecordHeaderSize));
    journal::FrameRecord(journal::RecordType::kEvent, e.sequence(), size, record);
    record += journal::kRecordHeaderSize + size;
  }
  return absl::OkStatus();
}

}  // namespace

JournalEventLog::JournalEventLog(std::unique_ptr<journal::Journal> journal,
                                 size_t tail_capacity)
    : journal_(std::move(journal)),
      tail_capacity_(tail_capacity),
      remembered_through_(journal_->durable_sequence()) {}

void JournalEventLog::Append(std::vector<Event> events, DurableCallback done) {
  AppendShared(std::make_shared<const std::vector<Event>>(std::move(events)), std::move(done));
}

void JournalEventLog::AppendShared(EventBatch events, DurableCallback done) {
  absl::ReleasableMutexLock frame_lock(&frame_mu_);
  if (absl::Status framed = Frame(*events, &frame_); !framed.ok()) {
    frame_lock.Release();
    return done(framed);
  }
  if (!events->empty()) {
    // Before the journal sees it: its writer may call back at once.
    absl::MutexLock lock(&mu_);
    appended_.push_back(events);
  }
  // The journal copies the bytes before it returns (or calls back, if it
  // refuses the batch at once: Forget and `done` take no frame_mu_).
  journal_->AppendFramed(frame_, [this, events, done = std::move(done)](absl::Status status) {
    if (status.ok()) {
      Remember();
    } else {
      Forget(events);
    }
    done(status);
  });
}

void JournalEventLog::Remember() {
  const uint64_t durable = journal_->durable_sequence();
  absl::MutexLock lock(&mu_);
  while (!appended_.empty() && appended_.front()->back().sequence() <= durable) {
    EventBatch batch = std::move(appended_.front());
    appended_.pop_front();
    // A refused batch (its Forget may not have run yet) is not durable.
    if (batch->front().sequence() <= remembered_through_) continue;
    if (batch->front().sequence() != remembered_through_ + 1) {
      tail_.clear();  // Not consecutive: start over.
      tail_events_ = 0;
    }
    remembered_through_ = batch->back().sequence();
    tail_events_ += batch->size();
    tail_.push_back(std::move(batch));
  }
  while (!tail_.empty() && tail_events_ - tail_.front()->size() >= tail_capacity_) {
    tail_events_ -= tail_.front()->size();
    tail_.pop_front();
  }
}

void JournalEventLog::Forget(const EventBatch& events) {
  absl::MutexLock lock(&mu_);
  auto it = std::find(appended_.begin(), appended_.end(), events);
  if (it != appended_.end()) appended_.erase(it);
}

const Event* JournalEventLog::FindInTail(uint64_t sequence) const {
  auto it = BatchHolding(tail_, sequence);
  if (it == tail_.end()) return nullptr;
  return &(**it)[sequence - (*it)->front().sequence()];
}

uint64_t JournalEventLog::next_sequence() const { return journal_->next_sequence(); }

uint64_t JournalEventLog::durable_sequence() const { return journal_->durable_sequence(); }

uint64_t JournalEventLog::first_sequence() const { return journal_->first_sequence(); }

absl::Status JournalEventLog::Scan(uint64_t from,
                                   const std::function<absl::Status(const Event&)>& fn) const {
  // A scan reads the whole log (recovery, history indexing): events are
  // parsed into an arena that is emptied every kArenaEvents, so a field
  // costs no malloc and no free. Its first block is reused after each reset.
  constexpr size_t kArenaEvents = 128;
  constexpr size_t kBlockBytes = 64 << 10;
  std::unique_ptr<char[]> block(new char[kBlockBytes]);
  google::protobuf::ArenaOptions options;
  options.initial_block = block.get();
  options.initial_block_size = kBlockBytes;
  options.max_block_size = kBlockBytes;
  google::protobuf::Arena arena(options);
  size_t parsed = 0;
  return journal_->Read(from, [&](const journal::Record& r) -> absl::Status {
    if (++parsed % kArenaEvents == 0) arena.Reset();
    Event* e = google::protobuf::Arena::CreateMessage<Event>(&arena);
    if (!e->ParseFromString(r.payload) || e->sequence() != r.sequence) {
      return absl::DataLossError(absl::StrCat("journal record ", r.sequence,
                                              " is not a valid event"));
    }
    return fn(*e);
  });
}

absl::StatusOr<std::vector<Event>> JournalEventLog::ReadSome(
    const std::vector<uint64_t>& ascending) const {
  std::vector<uint64_t> older;
  std::vector<Event> recent;
  {
    absl::MutexLock lock(&mu_);
    const uint64_t tail_from = tail_.empty() ? UINT64_MAX : tail_.front()->front().sequence();
    for (uint64_t sequence : ascending) {
      if (sequence < tail_from) {
        older.push_back(sequence);
      } else if (const Event* e = FindInTail(sequence); e != nullptr) {
        recent.push_back(*e);
      }
    }
  }
  ASSIGN_OR_RETURN(std::vector<Event> out, EventLog::ReadSome(older));
  for (Event& e : recent) out.push_back(std::move(e));
  return out;
}

absl::StatusOr<std::vector<Event>> JournalEventLog::Read(uint64_t from,
                                                         size_t max_events) const {
  std::vector<Event> out;
  if (max_events == 0) return out;
  if (from == 0) from = 1;
  {
    absl::MutexLock lock(&mu_);
    if (!tail_.empty() && from >= tail_.front()->front().sequence()) {
      CopyFromBatches(tail_, from, max_events, &out);
      return out;
    }
  }
  absl::Status read = journal_->Read(from, [&](const journal::Record& r) -> absl::Status {
    if (out.size() == max_events) return absl::CancelledError();
    Event e;
    if (!e.ParseFromString(r.payload) || e.sequence() != r.sequence) {
      return absl::DataLossError(absl::StrCat("journal record ", r.sequence,
                                              " is not a valid event"));
    }
    out.push_back(std::move(e));
    return absl::OkStatus();
  });
  if (!read.ok() && !absl::IsCancelled(read)) return read;
  return out;
}

}  // namespace dispatchd::services
