// Journal: the append-only log that dispatchd's state is the fold of.
//
// The interface is shaped so that a replicated log can stand in for the
// local file log later: a batch is appended at an expected sequence (a
// stale writer is fenced), the caller learns when it is durable, and any
// reader can read from a sequence on.
//
// Thread safety: all methods are thread-safe. Callbacks run on the
// journal's own thread, one at a time, in append order.
#ifndef DISPATCHD_JOURNAL_JOURNAL_H_
#define DISPATCHD_JOURNAL_JOURNAL_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "journal/record_format.h"

namespace dispatchd::journal {

struct Record {
  uint64_t sequence = 0;
  RecordType type = RecordType::kEvent;
  std::string payload;
  friend bool operator==(const Record&, const Record&) = default;
};

// Records already framed (record_format.h: EncodeRecord or FrameRecord)
// and laid back to back, as they go on disk: `count` records with
// sequences first_sequence, first_sequence + 1, ... A writer that frames
// its own records serialises each payload once, straight into `bytes`.
struct FramedBatch {
  std::string bytes;
  uint64_t first_sequence = 0;
  uint64_t count = 0;
};

// Called once per Append with OK when every record of the batch is durable,
// or with the error that poisoned the journal.
using DurableCallback = std::function<void(absl::Status)>;

class Journal {
 public:
  virtual ~Journal() = default;

  // Appends `records` (non-empty, sequences consecutive). The first must be
  // the sequence after the last one appended so far, else `done` gets
  // FAILED_PRECONDITION and nothing is written. Once poisoned, every append
  // fails with the poisoning error: a journal never retries and acks.
  virtual void Append(std::vector<Record> records, DurableCallback done) = 0;
  // As Append, for records framed by the caller. Their headers must chain
  // (consecutive sequences from first_sequence, lengths that fill `bytes`
  // exactly, known types); otherwise `done` gets INVALID_ARGUMENT and
  // nothing is written. Checksums are the caller's: they are not checked.
  // The bytes are copied before AppendFramed returns, so the caller may
  // reuse its buffer.
  virtual void AppendFramed(const FramedBatch& batch, DurableCallback done) = 0;
  // As AppendFramed, but when nothing else is queued or being written the
  // calling thread writes and syncs the batch itself, and `done` runs on it
  // before this returns: a lone append skips the hand-off to a writer
  // thread. Otherwise (and by default) it is AppendFramed.
  virtual void AppendFramedHere(const FramedBatch& batch, DurableCallback done) {
    AppendFramed(batch, std::move(done));
  }

  // The sequence the next appended record must carry.
  virtual uint64_t next_sequence() const = 0;
  // The last sequence known durable (0: none).
  virtual uint64_t durable_sequence() const = 0;
  // The oldest sequence still held (1 unless older records were dropped by
  // retention); next_sequence() when the journal holds no record.
  virtual uint64_t first_sequence() const = 0;
  // OK, or the error that poisoned the journal (fail-stop).
  virtual absl::Status status() const = 0;

  // Calls `fn` for each durable record with sequence >= `from`, in order,
  // stopping early (and returning its status) if `fn` returns an error.
  // The record `fn` gets lives only for that call. OUT_OF_RANGE if records
  // from `from` on were dropped by retention.
  virtual absl::Status Read(uint64_t from,
                            const std::function<absl::Status(const Record&)>& fn) const = 0;
};

}  // namespace dispatchd::journal

#endif  // DISPATCHD_JOURNAL_JOURNAL_H_
