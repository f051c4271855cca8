#include "services/journal_event_log.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"

namespace dispatchd::services {

using ::dispatch::v1::Event;

JournalEventLog::JournalEventLog(std::unique_ptr<journal::Journal> journal,
                                 size_t tail_capacity)
    : journal_(std::move(journal)), tail_capacity_(tail_capacity) {}

void JournalEventLog::Append(std::vector<Event> events, DurableCallback done) {
  std::vector<journal::Record> records;
  records.reserve(events.size());
  for (const Event& e : events) {
    journal::Record r;
    r.sequence = e.sequence();
    r.type = journal::RecordType::kEvent;
    if (!e.SerializeToString(&r.payload)) {
      return done(absl::InternalError(absl::StrCat("cannot serialize event ", e.sequence())));
    }
    records.push_back(std::move(r));
  }
  journal_->Append(std::move(records),
                   [this, events = std::move(events), done = std::move(done)](
                       absl::Status status) mutable {
                     if (status.ok()) Remember(std::move(events));
                     done(status);
                   });
}

void JournalEventLog::Remember(std::vector<Event> events) {
  absl::MutexLock lock(&mu_);
  for (Event& e : events) {
    if (!tail_.empty() && tail_.back().sequence() + 1 != e.sequence()) tail_.clear();
    tail_.push_back(std::move(e));
  }
  while (tail_.size() > tail_capacity_) tail_.pop_front();
}

uint64_t JournalEventLog::next_sequence() const { return journal_->next_sequence(); }

uint64_t JournalEventLog::durable_sequence() const { return journal_->durable_sequence(); }

uint64_t JournalEventLog::first_sequence() const { return journal_->first_sequence(); }

absl::Status JournalEventLog::Scan(uint64_t from,
                                   const std::function<absl::Status(const Event&)>& fn) const {
  return journal_->Read(from, [&fn](const journal::Record& r) -> absl::Status {
    Event e;
    if (!e.ParseFromString(r.payload) || e.sequence() != r.sequence) {
      return absl::DataLossError(absl::StrCat("journal record ", r.sequence,
                                              " is not a valid event"));
    }
    return fn(e);
  });
}

absl::StatusOr<std::vector<Event>> JournalEventLog::ReadSome(
    const std::vector<uint64_t>& ascending) const {
  std::vector<uint64_t> older;
  std::vector<Event> recent;
  {
    absl::MutexLock lock(&mu_);
    const uint64_t tail_from = tail_.empty() ? UINT64_MAX : tail_.front().sequence();
    for (uint64_t sequence : ascending) {
      if (sequence < tail_from) {
        older.push_back(sequence);
      } else if (sequence - tail_from < tail_.size()) {
        recent.push_back(tail_[sequence - tail_from]);
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
    if (!tail_.empty() && from >= tail_.front().sequence()) {
      for (size_t i = from - tail_.front().sequence(); i < tail_.size() && out.size() < max_events;
           ++i) {
        out.push_back(tail_[i]);
      }
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
