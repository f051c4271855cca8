#include "journal/segment_reader.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_format.h"

namespace dispatchd::journal {
namespace {

// Checks the segment header; on success sets scan->first_sequence.
bool CheckHeader(std::string_view data, SegmentScan* scan) {
  if (std::memcmp(data.data(), kSegmentMagic, 4) != 0) {
    scan->problem = "bad segment magic";
    return false;
  }
  if (DecodeFixed32(data.data() + 28) != Crc32c(data.substr(0, 28))) {
    scan->problem = "segment header checksum mismatch";
    return false;
  }
  if (uint32_t v = DecodeFixed32(data.data() + 4); v != kFormatVersion) {
    scan->problem = absl::StrFormat("unsupported segment version %u", v);
    return false;
  }
  scan->first_sequence = DecodeFixed64(data.data() + 8);
  if (scan->first_sequence == 0) {
    scan->problem = "segment first sequence is 0";
    return false;
  }
  return true;
}

void StopAt(SegmentScan* scan, SegmentScan::End end, uint64_t offset, std::string problem) {
  scan->end = end;
  scan->end_offset = offset;
  scan->problem = std::move(problem);
}

}  // namespace

absl::Status ScanSegment(std::string_view data,
                         const std::function<absl::Status(const Record&)>& fn,
                         SegmentScan* scan, uint64_t check_from) {
  *scan = SegmentScan{};
  if (data.size() < kSegmentHeaderSize) {
    StopAt(scan, SegmentScan::End::kTorn, 0, "incomplete segment header");
    return absl::OkStatus();
  }
  if (!CheckHeader(data, scan)) {
    StopAt(scan, SegmentScan::End::kCorrupt, 0, scan->problem);
    return absl::OkStatus();
  }
  uint64_t expected = scan->first_sequence;
  scan->last_sequence = expected - 1;
  size_t pos = kSegmentHeaderSize;
  Record rec;  // Handed to fn, one record at a time.
  while (pos < data.size()) {
    const size_t left = data.size() - pos;
    if (left < kRecordHeaderSize) {
      StopAt(scan, SegmentScan::End::kTorn, pos, "incomplete record header");
      return absl::OkStatus();
    }
    const char* p = data.data() + pos;
    const RecordHeader h = DecodeRecordHeader(p);
    if (h.length > kMaxPayloadSize) {
      StopAt(scan, SegmentScan::End::kCorrupt, pos,
             absl::StrFormat("record length %u exceeds the maximum", h.length));
      return absl::OkStatus();
    }
    const size_t total = kRecordHeaderSize + h.length;
    if (total > left) {
      StopAt(scan, SegmentScan::End::kTorn, pos, "incomplete record");
      return absl::OkStatus();
    }
    if (h.sequence < check_from && h.sequence == expected && IsKnownRecordType(h.type)) {
      scan->last_sequence = h.sequence;  // Skipped: framed, not checksummed.
      ++scan->records;
      ++expected;
      pos += total;
      continue;
    }
    if (!RecordChecksumMatches(p, h)) {
      const bool at_end = total == left;
      StopAt(scan, at_end ? SegmentScan::End::kTorn : SegmentScan::End::kCorrupt, pos,
             "record checksum mismatch");
      return absl::OkStatus();
    }
    if (!IsKnownRecordType(h.type) || h.sequence != expected) {
      StopAt(scan, SegmentScan::End::kCorrupt, pos,
             IsKnownRecordType(h.type)
                 ? absl::StrFormat("record sequence %u where %u was expected", h.sequence,
                                   expected)
                 : absl::StrFormat("unknown record type %u", h.type));
      return absl::OkStatus();
    }
    if (fn) {
      rec.sequence = h.sequence;
      rec.type = static_cast<RecordType>(h.type);
      rec.payload.assign(p + kRecordHeaderSize, h.length);  // Its buffer is reused.
      if (absl::Status st = fn(rec); !st.ok()) return st;
    }
    scan->last_sequence = h.sequence;
    ++scan->records;
    ++expected;
    pos += total;
  }
  scan->end_offset = pos;
  return absl::OkStatus();
}

absl::StatusOr<std::vector<SegmentFile>> ListSegments(FileSystem* fs, const std::string& dir) {
  absl::StatusOr<std::vector<std::string>> names = fs->ListDir(dir);
  if (!names.ok()) return names.status();
  std::vector<SegmentFile> found;
  for (const std::string& name : *names) {
    uint64_t first;
    if (ParseSegmentFileName(name, &first)) found.push_back({first, JoinPath(dir, name)});
  }
  std::sort(found.begin(), found.end(), [](const SegmentFile& a, const SegmentFile& b) {
    return a.first_sequence < b.first_sequence;
  });
  return found;
}

SegmentScan CheckSegment(const SegmentFile& seg, std::string_view data, uint64_t last) {
  SegmentScan scan;
  (void)ScanSegment(data, nullptr, &scan);  // No callback: cannot fail.
  if (scan.end_offset == 0 && scan.end != SegmentScan::End::kClean) return scan;  // Header.
  std::string problem;
  if (scan.first_sequence != seg.first_sequence) {
    problem = absl::StrFormat("header says first sequence %u, the file name %u",
                              scan.first_sequence, seg.first_sequence);
  } else if (seg.first_sequence != last + 1) {
    problem = absl::StrFormat("records %u to %u are missing", last + 1, seg.first_sequence - 1);
  }
  if (!problem.empty()) {
    scan.end = SegmentScan::End::kCorrupt;
    scan.end_offset = 0;
    scan.problem = std::move(problem);
  }
  return scan;
}

}  // namespace dispatchd::journal
