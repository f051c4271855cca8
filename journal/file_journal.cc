#include "journal/file_journal.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/status_macros.h"
#include "journal/segment_reader.h"

namespace dispatchd::journal {

FileJournal::FileJournal(const FileJournalOptions& options) : options_(options) {}

absl::StatusOr<std::unique_ptr<FileJournal>> FileJournal::Open(const FileJournalOptions& options,
                                                               RecoveryReport* report) {
  RecoveryReport ignored;
  if (report == nullptr) report = &ignored;
  *report = RecoveryReport{};
  std::unique_ptr<FileJournal> journal(new FileJournal(options));
  RETURN_IF_ERROR(journal->Recover(report));
  journal->writer_ = std::thread([j = journal.get()] { j->WriterLoop(); });
  return journal;
}

FileJournal::~FileJournal() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (writer_.joinable()) writer_.join();
  absl::MutexLock lock(&io_mu_);
  if (file_ != nullptr) (void)file_->Close();
}

void FileJournal::Append(std::vector<Record> records, DurableCallback done) {
  FramedBatch batch;
  batch.first_sequence = records.empty() ? 0 : records.front().sequence;
  batch.count = records.size();
  absl::Status shape;
  for (size_t i = 0; i < records.size(); ++i) {
    if (records[i].sequence != batch.first_sequence + i) {
      shape = absl::InvalidArgumentError("journal append: sequences not consecutive");
      break;
    }
  }
  if (shape.ok()) {
    for (const Record& r : records) EncodeRecord(r.type, r.sequence, r.payload, &batch.bytes);
  }
  Enqueue(batch, std::move(shape), std::move(done), /*here=*/false);
}

namespace {

// INVALID_ARGUMENT unless `batch` holds exactly its `count` records, with
// consecutive sequences and known types. Reads only the headers.
absl::Status CheckFraming(const FramedBatch& batch) {
  const std::string& b = batch.bytes;
  size_t offset = 0;
  for (uint64_t i = 0; i < batch.count; ++i) {
    if (b.size() - offset < kRecordHeaderSize) {
      return absl::InvalidArgumentError(absl::StrCat(
          "journal append: framed batch ends inside record ", batch.first_sequence + i));
    }
    const RecordHeader h = DecodeRecordHeader(b.data() + offset);
    if (!IsKnownRecordType(h.type) || h.sequence != batch.first_sequence + i ||
        h.length > kMaxPayloadSize || b.size() - offset - kRecordHeaderSize < h.length) {
      return absl::InvalidArgumentError(absl::StrCat("journal append: framed record ",
                                                     batch.first_sequence + i, " is malformed"));
    }
    offset += kRecordHeaderSize + h.length;
  }
  if (offset != b.size()) {
    return absl::InvalidArgumentError("journal append: bytes after the framed records");
  }
  return absl::OkStatus();
}

}  // namespace

void FileJournal::AppendFramed(const FramedBatch& batch, DurableCallback done) {
  Enqueue(batch, CheckFraming(batch), std::move(done), /*here=*/false);
}

void FileJournal::AppendFramedHere(const FramedBatch& batch, DurableCallback done) {
  Enqueue(batch, CheckFraming(batch), std::move(done), /*here=*/true);
}

void FileJournal::Enqueue(const FramedBatch& batch, absl::Status shape, DurableCallback done,
                          bool here) {
  absl::Status rejected;
  {
    absl::MutexLock lock(&mu_);
    if (!poison_.ok()) {
      rejected = poison_;
    } else if (batch.count == 0 || batch.first_sequence != next_sequence_) {
      rejected = absl::FailedPreconditionError(
          absl::StrCat("journal append at sequence ", batch.count == 0 ? 0 : batch.first_sequence,
                       " but the next sequence is ", next_sequence_));
    } else if (!shape.ok()) {
      rejected = std::move(shape);
    } else {
      here = here && !writing_ && waiters_.empty() && !stopping_;
      queued_bytes_.append(batch.bytes);
      next_sequence_ += batch.count;
      waiters_.push_back(Waiter{next_sequence_ - 1, std::move(done)});
      if (!here) return;
      writing_ = true;  // Set before unlocking: the writer thread stays asleep.
    }
  }
  if (!rejected.ok()) return done(rejected);
  WriteQueued();
}

void FileJournal::WriterLoop() {
  while (true) {
    bool extend;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](FileJournal* j) ABSL_EXCLUSIVE_LOCKS_REQUIRED(j->mu_) {
            return !j->writing_ && (j->stopping_ || !j->waiters_.empty() || j->extend_wanted_);
          },
          this));
      if (stopping_ && waiters_.empty()) return;  // Nothing left to write.
      writing_ = true;
      extend = std::exchange(extend_wanted_, false);
    }
    if (!extend) {
      WriteQueued();
      continue;
    }
    ExtendSegment();
    absl::MutexLock lock(&mu_);
    writing_ = false;
  }
}

void FileJournal::ExtendSegment() {
  if (!status().ok()) return;
  absl::Status st;
  {
    absl::MutexLock io(&io_mu_);
    if (!RunwayShort()) return;  // A roll made room, or the disk is full.
    const uint64_t target = segment_size_ + RunwayBytes();
    st = file_->Preallocate(target);
    if (absl::IsResourceExhausted(st)) {
      // Not a failure of anything acknowledged or queued: appends go on
      // into the zeros left, then fail as appends do when the disk is
      // full. (A failed sync, below, poisons: it may have lost pages.)
      full_disk_ = true;
      if (options_.log) {
        options_.log(absl::StrCat("journal: the disk is full; ", allocated_ - segment_size_,
                                  " bytes preallocated are left (", st.message(), ")"));
      }
      return;
    }
    if (st.ok()) st = file_->Sync();
    if (st.ok()) allocated_ = target;
  }
  if (!st.ok()) Poison(st);
}

uint64_t FileJournal::RunwayBytes() const {
  constexpr uint64_t kRunway = 1u << 20;
  return std::min<uint64_t>(kRunway, options_.segment_bytes);
}

bool FileJournal::RunwayShort() const {
  return !full_disk_ && allocated_ - segment_size_ < RunwayBytes() / 2;
}

void FileJournal::WriteQueued() {
  absl::Status poison;
  {
    absl::MutexLock lock(&mu_);
    write_bytes_.swap(queued_bytes_);
    write_waiters_.swap(waiters_);
    poison = poison_;
  }
  if (poison.ok()) {
    MarkWrite(write_bytes_.data(), write_bytes_.size());
    poison = WriteBatch(write_bytes_, write_waiters_.back().last_sequence);
  }
  for (Waiter& w : write_waiters_) w.done(poison);
  write_waiters_.clear();
  write_bytes_.clear();
  constexpr size_t kKeepBytes = 1u << 20;  // A burst's buffer is not kept.
  if (write_bytes_.capacity() > kKeepBytes) std::string().swap(write_bytes_);
  // Hand the emptied buffer back for the next appends to fill.
  absl::MutexLock lock(&mu_);
  if (queued_bytes_.empty() && queued_bytes_.capacity() < write_bytes_.capacity()) {
    queued_bytes_.swap(write_bytes_);
  }
  writing_ = false;
}

absl::Status FileJournal::WriteBatch(const std::string& bytes, uint64_t last_sequence) {
  absl::Status written;
  absl::Status rolled;
  bool extend = false;
  {
    absl::MutexLock io(&io_mu_);
    written = file_->Append(bytes);
    if (written.ok()) written = file_->Sync();
    if (written.ok()) {
      segment_size_ += bytes.size();
      allocated_ = std::max(allocated_, segment_size_);
      if (segment_size_ >= options_.segment_bytes) rolled = OpenSegment(last_sequence + 1);
      extend = RunwayShort();
    }
  }
  if (written.ok()) {
    absl::MutexLock lock(&mu_);
    durable_sequence_ = last_sequence;
    // The writer thread writes more zeros ahead, off the appenders' path.
    if (extend) extend_wanted_ = true;
  }
  // The batch is durable even if the roll failed; later batches are not.
  if (!written.ok() || !rolled.ok()) Poison(written.ok() ? rolled : written);
  return written.ok() ? absl::OkStatus() : status();
}

void FileJournal::Poison(const absl::Status& cause) {
  absl::MutexLock lock(&mu_);
  if (!poison_.ok()) return;
  poison_ = absl::Status(cause.code(), absl::StrCat("journal poisoned: ", cause.message()));
  if (options_.log) options_.log(std::string(poison_.message()));
}

absl::Status FileJournal::OpenSegment(uint64_t first_sequence) {
  if (file_ != nullptr) {
    RETURN_IF_ERROR(file_->Close());
    file_.reset();
  }
  const std::string path = JoinPath(options_.dir, SegmentFileName(first_sequence));
  ASSIGN_OR_RETURN(file_, options_.fs->NewWritableFile(path));
  std::string header;
  EncodeSegmentHeader(first_sequence, absl::ToUnixMicros(absl::Now()), &header);
  RETURN_IF_ERROR(file_->Append(header));
  // One sync makes the header and the zeros after it durable; a crash
  // before it leaves a file that recovery moves aside. On a full disk the
  // segment starts without zeros ahead (ExtendSegment).
  const absl::Status zeros = file_->Preallocate(header.size() + RunwayBytes());
  full_disk_ = absl::IsResourceExhausted(zeros);
  if (!full_disk_) RETURN_IF_ERROR(zeros);
  RETURN_IF_ERROR(file_->Sync());
  RETURN_IF_ERROR(options_.fs->SyncDir(options_.dir));
  segment_size_ = header.size();
  allocated_ = full_disk_ ? header.size() : header.size() + RunwayBytes();
  absl::MutexLock lock(&mu_);
  segments_.push_back(Segment{first_sequence, path});
  return absl::OkStatus();
}

uint64_t FileJournal::next_sequence() const {
  absl::MutexLock lock(&mu_);
  return next_sequence_;
}

uint64_t FileJournal::durable_sequence() const {
  absl::MutexLock lock(&mu_);
  return durable_sequence_;
}

uint64_t FileJournal::first_sequence() const {
  absl::MutexLock lock(&mu_);
  return first_sequence_;
}

absl::StatusOr<int> FileJournal::DropSegmentsThrough(uint64_t sequence) {
  std::vector<Segment> victims;
  uint64_t new_first;
  {
    absl::MutexLock lock(&mu_);
    // Segment i holds [first_i, first_{i+1} - 1]; the last one is being written.
    while (segments_.size() > 1 && segments_[1].first_sequence <= sequence + 1 &&
           segments_[1].first_sequence <= durable_sequence_ + 1) {
      victims.push_back(segments_.front());
      segments_.erase(segments_.begin());
    }
    if (victims.empty()) return 0;
    first_sequence_ = new_first = segments_.front().first_sequence;
  }
  // Oldest first, each made durable before the next: a crash leaves a
  // suffix of the log, never a hole. A file that survives an error here is
  // found again at the next start and still fits.
  int dropped = 0;
  for (const Segment& victim : victims) {
    RETURN_IF_ERROR(options_.fs->RemoveFile(victim.path));
    RETURN_IF_ERROR(options_.fs->SyncDir(options_.dir));
    ++dropped;
  }
  if (options_.log) {
    options_.log(absl::StrCat("retention: dropped ", dropped,
                              " segment(s) covered by a snapshot; the log now starts at ",
                              new_first));
  }
  return dropped;
}

absl::Status FileJournal::status() const {
  absl::MutexLock lock(&mu_);
  return poison_;
}

absl::Status FileJournal::Read(uint64_t from,
                               const std::function<absl::Status(const Record&)>& fn) const {
  std::vector<Segment> segments;
  uint64_t durable;
  uint64_t first;
  {
    absl::MutexLock lock(&mu_);
    segments = segments_;
    durable = durable_sequence_;
    first = first_sequence_;
  }
  auto dropped = [&] {
    return absl::OutOfRangeError(absl::StrCat("journal records before sequence ", first,
                                              " were dropped by retention (asked from ", from,
                                              ")"));
  };
  if (from < first && from <= durable) return dropped();
  for (size_t i = 0; i < segments.size(); ++i) {
    const uint64_t next_first =
        i + 1 < segments.size() ? segments[i + 1].first_sequence : durable + 1;
    if (next_first <= from || segments[i].first_sequence > durable) continue;
    absl::StatusOr<FileBytes> data = options_.fs->MapFile(segments[i].path);
    if (absl::IsNotFound(data.status())) {  // Dropped by retention while we read.
      first = first_sequence();
      return dropped();
    }
    if (!data.ok()) return data.status();
    SegmentScan scan;
    bool past_durable = false;
    absl::Status st = ScanSegment(
        data->view(),
        [&](const Record& r) -> absl::Status {
          if (r.sequence > durable) {
            past_durable = true;
            return absl::OutOfRangeError("past the durable sequence");
          }
          return r.sequence >= from ? fn(r) : absl::OkStatus();
        },
        &scan, /*check_from=*/from);
    if (past_durable) return absl::OkStatus();
    RETURN_IF_ERROR(st);
    // A segment that ends early was damaged since Open checked it (or
    // was taken on trust, trust_through): say so, rather than go on to
    // the next segment and hand out a log with a hole in it.
    const uint64_t expected_last = std::min(next_first - 1, durable);
    if (scan.last_sequence < expected_last) {
      return absl::DataLossError(absl::StrCat("journal segment ", segments[i].path, ": records ",
                                              scan.last_sequence + 1, " to ", expected_last,
                                              " cannot be read (", scan.problem, " at offset ",
                                              scan.end_offset, "); run dispatch-journal verify"));
    }
  }
  return absl::OkStatus();
}

}  // namespace dispatchd::journal
