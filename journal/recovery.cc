// FileJournal::Recover: reads every segment at start-up (or only the
// headers of those a snapshot covers, see trust_through), cuts off a torn
// tail, and refuses a log that is damaged anywhere else. CheckTrusted
// reads the segments taken on trust later.
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/status_macros.h"
#include "journal/file_journal.h"
#include "journal/segment_reader.h"

namespace dispatchd::journal {
namespace {

using End = SegmentScan::End;

absl::Status Damaged(const std::string& path, uint64_t offset, std::string_view problem) {
  return absl::DataLossError(absl::StrFormat(
      "journal damaged: %s at offset %u: %s (refusing to start; an operator may accept "
      "losing everything after the last good record with --discard_after_corruption)",
      path, offset, problem));
}

}  // namespace

void FileJournal::Note(std::string note, RecoveryReport* report) {
  if (options_.log) options_.log(note);
  report->notes.push_back(std::move(note));
}

absl::Status FileJournal::Recover(RecoveryReport* report) {
  FileSystem* fs = options_.fs;
  RETURN_IF_ERROR(fs->CreateDirs(options_.dir));
  ASSIGN_OR_RETURN(std::vector<SegmentFile> found, ListSegments(fs, options_.dir));
  std::vector<Segment> kept;
  // Retention may have dropped the oldest segments: the log starts where
  // the first segment left starts. Holes after it are damage.
  uint64_t last = found.empty() ? 0 : found.front().first_sequence - 1;
  const uint64_t first = last + 1;
  uint64_t tail_size = 0;       // Where the last segment's records end.
  uint64_t tail_file_size = 0;  // Its size, zeros after the records included.
  uint32_t tail_version = 0;
  const bool trusting = options_.trust_through > 0 && !options_.discard_after_corruption;
  for (size_t i = 0; i < found.size(); ++i) {
    const SegmentFile& seg = found[i];
    if (trusting && i + 1 < found.size() &&
        found[i + 1].first_sequence - 1 <= options_.trust_through) {
      // Covered by a snapshot: its header only (CheckTrusted reads the rest).
      ASSIGN_OR_RETURN(const std::string head, fs->ReadHead(seg.path, kSegmentHeaderSize));
      const SegmentScan scan = CheckSegment(seg, head, last);
      if (scan.end != End::kClean) return Damaged(seg.path, scan.end_offset, scan.problem);
      const uint64_t next_first = found[i + 1].first_sequence;
      kept.push_back({seg.first_sequence, seg.path});
      trusted_.push_back({seg.first_sequence, next_first, seg.path});
      report->records += next_first - seg.first_sequence;
      ++report->trusted_segments;
      last = next_first - 1;
      continue;
    }
    ASSIGN_OR_RETURN(const FileBytes bytes, fs->MapFile(seg.path));
    const std::string_view data = bytes.view();
    SegmentScan scan = CheckSegment(seg, data, last);
    const bool torn_tail = scan.end == End::kTorn && i + 1 == found.size();
    if (scan.end != End::kClean && !torn_tail) {
      if (!options_.discard_after_corruption) {
        return Damaged(seg.path, scan.end_offset, scan.problem);
      }
      RETURN_IF_ERROR(
          MoveTailAside(seg.path, scan.end_offset, data, "discarded", scan.problem, report));
      for (size_t j = i + 1; j < found.size(); ++j) {
        RETURN_IF_ERROR(fs->Rename(found[j].path, found[j].path + ".discarded"));
        Note(absl::StrCat("discarded ", found[j].path, " after the damage"), report);
      }
      RETURN_IF_ERROR(fs->SyncDir(options_.dir));
    } else if (torn_tail) {
      RETURN_IF_ERROR(MoveTailAside(seg.path, scan.end_offset, data, "torn", scan.problem, report));
    }
    if (scan.end_offset == 0 && scan.end != End::kClean) break;  // Nothing survives.
    kept.push_back({seg.first_sequence, seg.path});
    last = scan.last_sequence;
    report->records += scan.records;
    tail_size = scan.end_offset;
    tail_file_size = scan.end == End::kClean ? data.size() : scan.end_offset;
    tail_version = scan.version;
    if (scan.end != End::kClean) break;
  }
  report->segments = kept.size();
  report->first_sequence = kept.empty() ? last + 1 : first;
  report->last_sequence = last;
  absl::MutexLock io(&io_mu_);
  {
    absl::MutexLock lock(&mu_);
    segments_ = kept;
    next_sequence_ = last + 1;
    durable_sequence_ = last;
    first_sequence_ = report->first_sequence;
  }
  if (!kept.empty() && tail_version < kFormatVersion) {
    // Appends go to a new segment of the current version. A last old
    // segment without records would have its name: it goes.
    if (last + 1 == kept.back().first_sequence) {
      RETURN_IF_ERROR(fs->RemoveFile(kept.back().path));
      kept.pop_back();
      --report->segments;
      absl::MutexLock lock(&mu_);
      segments_ = kept;
    }
    Note(absl::StrFormat("appending to a new segment of format version %u after version %u",
                         kFormatVersion, tail_version),
         report);
    return OpenSegment(last + 1);
  }
  if (kept.empty()) return OpenSegment(last + 1);
  ASSIGN_OR_RETURN(file_, fs->OpenForWrite(kept.back().path, tail_size));
  segment_size_ = tail_size;
  allocated_ = tail_file_size;
  if (RunwayShort()) {
    absl::MutexLock lock(&mu_);
    extend_wanted_ = true;
  }
  return absl::OkStatus();
}

absl::Status FileJournal::CheckTrusted(const std::function<bool()>& stop) const {
  for (const TrustedSegment& seg : trusted_) {
    if (stop()) return absl::OkStatus();
    absl::StatusOr<FileBytes> bytes = options_.fs->MapFile(seg.path);
    if (absl::IsNotFound(bytes.status())) continue;  // Dropped by retention.
    RETURN_IF_ERROR(bytes.status());
    SegmentScan scan =
        CheckSegment({seg.first_sequence, seg.path}, bytes->view(), seg.first_sequence - 1);
    if (scan.end == End::kClean) {
      if (scan.last_sequence == seg.next_first - 1) continue;  // Intact.
      scan.end_offset = bytes->view().size();
      scan.problem = absl::StrFormat("the segment ends after record %u, the next starts at %u",
                                     scan.last_sequence, seg.next_first);
    }
    return absl::DataLossError(absl::StrFormat(
        "journal damaged: %s at offset %u: %s (events %u to %u; a snapshot covers them, so "
        "the state served is intact, but a replay from the start would fail here; run "
        "dispatch-journal verify)",
        seg.path, scan.end_offset, scan.problem, seg.first_sequence, seg.next_first - 1));
  }
  return absl::OkStatus();
}

absl::Status FileJournal::MoveTailAside(const std::string& path, uint64_t offset,
                                        std::string_view data, std::string_view tag,
                                        std::string_view why, RecoveryReport* report) {
  const std::string copy = absl::StrCat(path, ".", std::string(tag), "-", offset);
  data = WithoutTrailingZeros(data, offset);  // Preallocated zeros hold nothing.
  RETURN_IF_ERROR(WriteFileAtomically(options_.fs, copy, data.substr(offset)));
  if (offset == 0) {
    RETURN_IF_ERROR(options_.fs->RemoveFile(path));
  } else {
    RETURN_IF_ERROR(options_.fs->Truncate(path, offset));
  }
  RETURN_IF_ERROR(options_.fs->SyncDir(options_.dir));
  Note(absl::StrFormat("%s: %u bytes from offset %u cut off (%s: %s), a copy kept in %s", path,
                       data.size() - offset, offset, tag, why, copy),
       report);
  return absl::OkStatus();
}

}  // namespace dispatchd::journal
