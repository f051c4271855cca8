// Parses a segment file's bytes into records, telling a clean end, a torn
// tail and corruption apart.
//
// Thread safety: pure functions.
#ifndef DISPATCHD_JOURNAL_SEGMENT_READER_H_
#define DISPATCHD_JOURNAL_SEGMENT_READER_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "journal/file_system.h"
#include "journal/journal.h"

namespace dispatchd::journal {

struct SegmentScan {
  enum class End {
    kClean,    // Every byte belongs to a valid record (or, in version 2, is
               // a zero after the last whole write).
    kTorn,     // The bytes from `end_offset` on are a write never acknowledged.
    kCorrupt,  // A record at `end_offset` fails its checks, and (version 2)
               // a later write vouches that it was acknowledged.
  };
  End end = End::kClean;
  uint32_t version = 0;         // From the header.
  uint64_t first_sequence = 0;  // From the header.
  uint64_t last_sequence = 0;   // Last valid record; first_sequence - 1 if none.
  uint64_t records = 0;
  // Where the valid prefix ends: the file size when clean, or in version 2
  // where the zeros after the last write begin.
  uint64_t end_offset = 0;
  std::string problem;  // What is wrong at end_offset, in words.
};

// Scans `data` (a whole segment). Calls `fn` for each valid record in order
// (fn may be empty; the record it gets lives only for that call); a non-OK
// status from fn stops the scan and is returned. A header that is
// incomplete, or a file of zeros only, is a torn tail at offset 0; a
// header that fails its checks is corruption at offset 0.
//
// Version 2 (preallocated, writes marked): the records end where zeros
// begin after a whole write. A record that fails its checks, or a write
// whose end is missing, is a torn write, cut at the write's start, unless
// a valid record starting a later write lies after it: the writer starts
// a write only once the one before is durable, so that is corruption.
// `fn` gets a write's records once its end mark is read, or (corruption)
// those before the damage: never those of a torn write, which recovery
// cuts off.
//
// Version 1 (no marks, no zeros): an incomplete record at the end, or a
// last record whose checksum fails, is torn; anything else is corruption.
// Records with a sequence below `check_from` are framed and their sequence
// checked, but neither checksummed nor passed to `fn`: a reader that wants
// the records from `check_from` on skips the ones before at the cost of
// reading their headers.
absl::Status ScanSegment(std::string_view data,
                         const std::function<absl::Status(const Record&)>& fn,
                         SegmentScan* scan, uint64_t check_from = 0);

// `data` without the zeros it ends in, but no shorter than `keep` bytes.
std::string_view WithoutTrailingZeros(std::string_view data, size_t keep);

struct SegmentFile {
  uint64_t first_sequence = 0;  // From the file name.
  std::string path;
};

// The segment files in `dir`, by first sequence.
absl::StatusOr<std::vector<SegmentFile>> ListSegments(FileSystem* fs, const std::string& dir);

// Scans `data`, the bytes of `seg`, and also checks that the segment
// continues a log whose last record is `last`: its header must name the
// same first sequence as its file name, and that must be last + 1.
// Either failing is corruption at offset 0.
SegmentScan CheckSegment(const SegmentFile& seg, std::string_view data, uint64_t last);

}  // namespace dispatchd::journal

#endif  // DISPATCHD_JOURNAL_SEGMENT_READER_H_
