// FileJournal: the Journal kept in segment files in one directory, with
// group commit and crash recovery.
//
// Group commit: Append encodes the batch on the caller's thread (or the
// caller frames it itself: AppendFramed) and appends its bytes to one
// queued buffer; one writer thread takes everything queued, writes it with
// one write and makes it durable with one fdatasync, then runs the
// callbacks in order. The more appends are in flight, the more each fsync
// covers.
//
// Fail-stop: the first failed write, fsync, open or rename poisons the
// journal; the failed batch and every later one get that error. Nothing
// is acknowledged that is not on disk, and nothing is retried.
//
// Segments are preallocated: records go into zeros already durable, so a
// sync commits only data. Each write marks its first and last record.
//
// Recovery (Open): every segment is read and checked, except those a
// snapshot covers, whose headers only are (FileJournalOptions::
// trust_through; CheckTrusted reads them later). A write at the end of
// the last segment that never became durable (segment_reader.h says how
// that is told) is torn: a copy of it is kept beside the segment as
// "<segment>.torn-<offset>", the segment is truncated at the write's
// start, and recovery goes on. Anything else that is wrong — a bad checksum or sequence in the
// middle, a missing segment, a damaged header — fails Open with DATA_LOSS
// naming the file and offset, unless the operator has set
// `discard_after_corruption`, which keeps the records before the damage
// and moves the rest aside.
//
// Retention: every segment is kept unless DropSegmentsThrough is called
// (dispatchd does so after a snapshot, when the operator asks for it). The
// log may then start past sequence 1; recovery accepts that and reports
// the first sequence held, and whoever loads the log must hold the state
// before it (a snapshot).
//
// Thread safety: thread-safe.
#ifndef DISPATCHD_JOURNAL_FILE_JOURNAL_H_
#define DISPATCHD_JOURNAL_FILE_JOURNAL_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "journal/file_system.h"
#include "journal/journal.h"

namespace dispatchd::journal {

struct FileJournalOptions {
  std::string dir;                       // Created if missing.
  FileSystem* fs = PosixFileSystem();    // Not owned; must outlive the journal.
  uint64_t segment_bytes = 64u << 20;    // Roll to a new segment past this size.
  bool discard_after_corruption = false; // Operator's explicit choice.
  std::function<void(const std::string&)> log;  // Recovery notes; may be empty.
  // Segments before the last whose records all have a sequence of this or
  // less are taken on trust at Open: only their headers are read (each
  // must name the first sequence its file name does, following on from
  // the segment before). A snapshot covers them (dispatchd passes its
  // newest snapshot's sequence), so a start needs none of their records.
  // Read still checksums every record it hands out, and CheckTrusted reads
  // them all later. 0: Open reads and checks every segment. Ignored with
  // discard_after_corruption, which must find the damage to cut there.
  uint64_t trust_through = 0;
};

// What recovery found.
struct RecoveryReport {
  uint64_t segments = 0;
  uint64_t records = 0;
  uint64_t first_sequence = 1;  // The oldest record held (retention may drop older).
  uint64_t last_sequence = 0;
  // Of `segments`, how many were taken on trust (trust_through): only
  // their headers were read.
  uint64_t trusted_segments = 0;
  std::vector<std::string> notes;  // Torn tails truncated, data discarded.
};

class FileJournal final : public Journal {
 public:
  // Recovers the journal in `options.dir` and opens it for appending.
  // DATA_LOSS on corruption (see above); other errors from the file system.
  static absl::StatusOr<std::unique_ptr<FileJournal>> Open(const FileJournalOptions& options,
                                                           RecoveryReport* report);
  // Writes what is queued (or fails it, if poisoned), then stops.
  ~FileJournal() override;

  void Append(std::vector<Record> records, DurableCallback done) override;
  void AppendFramed(const FramedBatch& batch, DurableCallback done) override;
  void AppendFramedHere(const FramedBatch& batch, DurableCallback done) override;
  uint64_t next_sequence() const override;
  uint64_t durable_sequence() const override;
  uint64_t first_sequence() const override;
  absl::Status status() const override;
  absl::Status Read(uint64_t from,
                    const std::function<absl::Status(const Record&)>& fn) const override;

  // Deletes the oldest segments whose records all have sequence <=
  // `sequence` (they are covered by a snapshot of the state after it),
  // oldest first, so a crash midway leaves a log without holes. The
  // segment being written is never deleted. Returns how many were
  // deleted; an error leaves the remaining segments as they are.
  absl::StatusOr<int> DropSegmentsThrough(uint64_t sequence);

  // Reads and checks every record of the segments Open took on trust
  // (FileJournalOptions::trust_through), oldest first, asking `stop`
  // before each one and giving up (OK) once it says true. OK when all are
  // intact or retention dropped them meanwhile; otherwise DATA_LOSS naming
  // the first damaged segment and offset. A snapshot covers these records,
  // so the state served does not depend on them; a full replay does.
  absl::Status CheckTrusted(const std::function<bool()>& stop) const;
  size_t trusted_segments() const { return trusted_.size(); }

 private:
  struct Segment {
    uint64_t first_sequence = 0;
    std::string path;
  };
  // A segment Open took on trust: its records are first_sequence ..
  // next_first - 1.
  struct TrustedSegment {
    uint64_t first_sequence = 0;
    uint64_t next_first = 0;
    std::string path;
  };
  struct Waiter {
    uint64_t last_sequence = 0;
    DurableCallback done;
  };

  explicit FileJournal(const FileJournalOptions& options);
  absl::Status Recover(RecoveryReport* report);
  absl::Status OpenSegment(uint64_t first_sequence) ABSL_EXCLUSIVE_LOCKS_REQUIRED(io_mu_);
  // Queues `batch` (or answers `done` with the error), checking it fits:
  // poison first, then the expected sequence, then `shape` (the batch's
  // own defects, found by the caller). With `here`, writes the queue on
  // this thread if no other batch is queued or being written.
  void Enqueue(const FramedBatch& batch, absl::Status shape, DurableCallback done, bool here);
  void WriterLoop();
  // Writes zeros ahead of the segment's last record (RunwayBytes of
  // them) and syncs them, so that appends write into space already
  // durable. Only the thread that set `writing_` calls it. Poisons the
  // journal on failure, except for a full disk (see full_disk_).
  void ExtendSegment() ABSL_LOCKS_EXCLUDED(mu_, io_mu_);
  uint64_t RunwayBytes() const;
  // Fewer than half of RunwayBytes of zeros are left ahead, and the disk
  // has not refused more.
  bool RunwayShort() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(io_mu_);
  // Writes and syncs everything queued, then answers its waiters. Only the
  // thread that set `writing_` calls it; it clears `writing_`.
  void WriteQueued() ABSL_LOCKS_EXCLUDED(mu_);
  // Writes and syncs one batch; OK once it is durable. Poisons the journal
  // on any failure, including a failed roll to the next segment.
  absl::Status WriteBatch(const std::string& bytes, uint64_t last_sequence);
  void Poison(const absl::Status& cause) ABSL_LOCKS_EXCLUDED(mu_);
  // Copies data[offset..], without the zeros it ends in, to
  // "<path>.<tag>-<offset>", then truncates `path` to `offset` (removes it
  // when 0); notes it, saying `why`.
  absl::Status MoveTailAside(const std::string& path, uint64_t offset, std::string_view data,
                             std::string_view tag, std::string_view why, RecoveryReport* report);
  void Note(std::string note, RecoveryReport* report);

  const FileJournalOptions options_;
  std::vector<TrustedSegment> trusted_;  // Set by Open, then constant.

  // Held by the writer while it touches the file; by Open before it starts.
  absl::Mutex io_mu_ ABSL_ACQUIRED_AFTER(mu_);
  std::unique_ptr<WritableFile> file_ ABSL_GUARDED_BY(io_mu_);
  uint64_t segment_size_ ABSL_GUARDED_BY(io_mu_) = 0;  // Where the next write goes.
  uint64_t allocated_ ABSL_GUARDED_BY(io_mu_) = 0;     // The file's size, zeros included.
  // Writing zeros ahead failed for lack of space: not tried again in this
  // segment. Appends go on, into what is left and then growing the file.
  bool full_disk_ ABSL_GUARDED_BY(io_mu_) = false;

  mutable absl::Mutex mu_;
  std::vector<Segment> segments_ ABSL_GUARDED_BY(mu_);
  // What is queued for the writer: the records' bytes back to back, and
  // one waiter per append, in order.
  std::string queued_bytes_ ABSL_GUARDED_BY(mu_);
  std::vector<Waiter> waiters_ ABSL_GUARDED_BY(mu_);
  uint64_t next_sequence_ ABSL_GUARDED_BY(mu_) = 1;
  uint64_t durable_sequence_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t first_sequence_ ABSL_GUARDED_BY(mu_) = 1;
  absl::Status poison_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // A thread (the writer, or an appender writing its own batch) is writing
  // and answering a batch; batches are written one at a time, in order.
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  // The runway of zeros in the segment is short: the writer thread
  // extends it (ExtendSegment) when it next holds the writer role.
  bool extend_wanted_ ABSL_GUARDED_BY(mu_) = false;
  // The batch being written, owned by the thread that set writing_; kept
  // between batches so a steady load does not allocate per fdatasync.
  std::string write_bytes_;
  std::vector<Waiter> write_waiters_;

  std::thread writer_;
};

}  // namespace dispatchd::journal

#endif  // DISPATCHD_JOURNAL_FILE_JOURNAL_H_
