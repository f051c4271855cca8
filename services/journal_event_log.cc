#include "services/journal_event_log.h"

#include <algorithm>
#include <deque>
#include <memory>
#include <optional>
#include <system_error>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
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
  AppendSharedTo(std::move(events), std::move(done), /*here=*/false);
}

void JournalEventLog::AppendSharedAlone(EventBatch events, DurableCallback done) {
  AppendSharedTo(std::move(events), std::move(done), /*here=*/true);
}

void JournalEventLog::AppendSharedTo(EventBatch events, DurableCallback done, bool here) {
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
  // The journal copies the bytes before it returns, or calls back before
  // it returns (it refused the batch at once, or wrote it here): the
  // callback, Forget and `done` take no frame_mu_.
  auto durable = [this, events, done = std::move(done)](absl::Status status) {
    if (status.ok()) {
      Remember();
    } else {
      Forget(events);
    }
    done(status);
  };
  if (here) {
    journal_->AppendFramedHere(frame_, std::move(durable));
  } else {
    journal_->AppendFramed(frame_, std::move(durable));
  }
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

namespace {

// Events parsed into an arena, handed from the reading thread to the
// scanning one and back. Only the reading thread empties the arena, so
// every parsed field is freed on the thread that allocated it.
class ParsedBatch {
 public:
  static constexpr size_t kEvents = 128;

  ParsedBatch() : block_(new char[kBlockBytes]), arena_(ArenaOptionsFor(block_.get())) {
    events_.reserve(kEvents);
  }

  // Parses `r` into the arena; DATA_LOSS if it is not the event it claims.
  absl::Status Add(const journal::Record& r) {
    Event* e = google::protobuf::Arena::CreateMessage<Event>(&arena_);
    if (!e->ParseFromString(r.payload) || e->sequence() != r.sequence) {
      return absl::DataLossError(absl::StrCat("journal record ", r.sequence,
                                              " is not a valid event"));
    }
    events_.push_back(e);
    return absl::OkStatus();
  }
  bool full() const { return events_.size() == kEvents; }
  const std::vector<const Event*>& events() const { return events_; }
  void Clear() {
    events_.clear();
    arena_.Reset();  // Keeps the first block for the next batch.
  }

 private:
  static constexpr size_t kBlockBytes = 64 << 10;
  static google::protobuf::ArenaOptions ArenaOptionsFor(char* block) {
    google::protobuf::ArenaOptions options;
    options.initial_block = block;
    options.initial_block_size = kBlockBytes;
    options.max_block_size = kBlockBytes;
    return options;
  }

  std::unique_ptr<char[]> block_;
  google::protobuf::Arena arena_;
  std::vector<const Event*> events_;
};

// Runs fn over each batch's events; the first non-OK status ends the scan.
absl::Status ForEachEvent(const ParsedBatch& batch,
                          const std::function<absl::Status(const Event&)>& fn) {
  for (const Event* e : batch.events()) RETURN_IF_ERROR(fn(*e));
  return absl::OkStatus();
}

// A scan split over two threads: the reading thread reads, checks and
// parses the journal into batches while the caller's thread runs `fn`
// over the previous ones. kBatches circulate, so the reader stays at most
// that far ahead: 8,192 events keep a replaying caller busy while the
// reader loads the next segment file (with 4 batches it waited 0.7 s of
// a 5 s start).
class PipelinedScan {
 public:
  PipelinedScan() : batches_(kBatches) {
    for (ParsedBatch& b : batches_) empty_.push_back(&b);
  }

  // The reading thread's part: `read` calls `add` once per record.
  void Read(const std::function<absl::Status(
                const std::function<absl::Status(const journal::Record&)>&)>& read) {
    ParsedBatch* batch = TakeEmpty();
    absl::Status status =
        batch == nullptr ? absl::CancelledError()
                         : read([&](const journal::Record& r) -> absl::Status {
                             if (batch->full()) {
                               Hand(batch, /*last=*/false, absl::OkStatus());
                               batch = TakeEmpty();
                               if (batch == nullptr) return absl::CancelledError();
                             }
                             return batch->Add(r);
                           });
    if (batch != nullptr) Hand(batch, /*last=*/true, std::move(status));
  }

  // The caller's part: what the scan returns.
  absl::Status Consume(const std::function<absl::Status(const Event&)>& fn) {
    while (true) {
      ParsedBatch* batch;
      bool last;
      absl::Status end;
      {
        absl::MutexLock lock(&mu_);
        mu_.Await(absl::Condition(
            +[](std::deque<ParsedBatch*>* full) { return !full->empty(); }, &full_));
        batch = full_.front();
        full_.pop_front();
        last = batch == last_;
        end = last_status_;
      }
      absl::Status st = ForEachEvent(*batch, fn);
      if (st.ok() && last) st = std::move(end);
      absl::MutexLock lock(&mu_);
      empty_.push_back(batch);
      if (!st.ok() || last) {
        stopped_ = true;  // A reader still reading stops at its next batch.
        return st;
      }
    }
  }

 private:
  static constexpr size_t kBatches = 64;  // 4 MiB of first blocks.

  ParsedBatch* TakeEmpty() {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](PipelinedScan* s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu_) {
          return s->stopped_ || !s->empty_.empty();
        },
        this));
    if (stopped_) return nullptr;
    ParsedBatch* batch = empty_.back();
    empty_.pop_back();
    batch->Clear();
    return batch;
  }

  void Hand(ParsedBatch* batch, bool last, absl::Status status) {
    absl::MutexLock lock(&mu_);
    if (last) {
      last_ = batch;
      last_status_ = std::move(status);
    }
    full_.push_back(batch);
  }

  std::vector<ParsedBatch> batches_;
  absl::Mutex mu_;
  std::vector<ParsedBatch*> empty_ ABSL_GUARDED_BY(mu_);
  std::deque<ParsedBatch*> full_ ABSL_GUARDED_BY(mu_);
  const ParsedBatch* last_ ABSL_GUARDED_BY(mu_) = nullptr;
  absl::Status last_status_ ABSL_GUARDED_BY(mu_);
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace

absl::Status JournalEventLog::Scan(uint64_t from,
                                   const std::function<absl::Status(const Event&)>& fn) const {
  auto read = [this, from](const std::function<absl::Status(const journal::Record&)>& add) {
    return journal_->Read(from, add);
  };
  // A long scan (recovery, history indexing, the follower catching up)
  // reads and parses on a second thread, off the thread that folds. A
  // short one, or one whose thread cannot start, does it all here, parsing
  // into one batch emptied whenever it fills (no malloc or free per field
  // either way).
  constexpr uint64_t kPipelineFrom = 4096;  // Events; fewer are not worth a thread.
  const uint64_t durable = journal_->durable_sequence();
  if (durable >= from && durable - from >= kPipelineFrom) {
    PipelinedScan scan;
    std::optional<std::thread> reader;
    try {
      reader.emplace([&scan, &read] { scan.Read(read); });
    } catch (const std::system_error&) {
      reader.reset();
    }
    if (reader) {
      absl::Status result = scan.Consume(fn);
      reader->join();
      return result;
    }
  }
  ParsedBatch batch;
  absl::Status read_status = read([&](const journal::Record& r) -> absl::Status {
    if (batch.full()) {
      RETURN_IF_ERROR(ForEachEvent(batch, fn));
      batch.Clear();
    }
    return batch.Add(r);
  });
  // What was parsed before the read ended (or failed) still goes to fn.
  RETURN_IF_ERROR(ForEachEvent(batch, fn));
  return read_status;
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
