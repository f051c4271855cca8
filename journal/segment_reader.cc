#include "journal/segment_reader.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_format.h"
#include "base/status_macros.h"

namespace dispatchd::journal {
namespace {

// Checks the segment header; on success sets scan->first_sequence and
// scan->version.
bool CheckHeader(std::string_view data, SegmentScan* scan) {
  if (std::memcmp(data.data(), kSegmentMagic, 4) != 0) {
    scan->problem = "bad segment magic";
    return false;
  }
  if (DecodeFixed32(data.data() + 28) != Crc32c(data.substr(0, 28))) {
    scan->problem = "segment header checksum mismatch";
    return false;
  }
  const uint32_t version = DecodeFixed32(data.data() + 4);
  if (version < kOldestFormatVersion || version > kFormatVersion) {
    scan->problem = absl::StrFormat("unsupported segment version %u", version);
    return false;
  }
  scan->version = version;
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

bool AllZero(std::string_view data) {
  static constexpr char kZeros[4096] = {};
  while (!data.empty()) {
    const size_t n = std::min(data.size(), sizeof kZeros);
    if (std::memcmp(data.data(), kZeros, n) != 0) return false;
    data.remove_prefix(n);
  }
  return true;
}

// True if a valid record marked as starting a write, with a sequence past
// `expected`, begins anywhere in data[from..]. The writer starts a write
// only once the one before is durable, so such a record proves that the
// write holding `expected` was durable (and acknowledged).
bool LaterWriteAfter(std::string_view data, size_t from, uint64_t expected) {
  const size_t end = WithoutTrailingZeros(data, from).size();  // Zeros hold no record.
  for (size_t pos = from; pos < end && data.size() - pos >= kRecordHeaderSize; ++pos) {
    const char* p = data.data() + pos;
    const auto type = static_cast<uint8_t>(p[8]);
    if ((type & kWriteStartFlag) == 0 || !IsKnownRecordType(RecordTypeOf(type))) continue;
    const RecordHeader h = DecodeRecordHeader(p);
    if (h.sequence <= expected || h.length > kMaxPayloadSize ||
        h.length > data.size() - pos - kRecordHeaderSize) {
      continue;
    }
    if (RecordChecksumMatches(p, h)) return true;
  }
  return false;
}

// What can be wrong with a record, as far as telling a torn version 1
// tail from corruption needs.
enum class Flaw { kNone, kIncomplete, kChecksum, kOther };

// Checks the record at data[pos..], whose sequence should be `expected`.
// Sets *h and *total (header plus payload) as far as it read them, and
// *problem when there is a flaw. With `checksum` false, a record framed
// right is taken without its checksum (see check_from). In a `marked`
// (version 2) segment the type byte also holds the write flags.
Flaw CheckRecord(std::string_view data, size_t pos, uint64_t expected, bool checksum, bool marked,
                 RecordHeader* h, size_t* total, std::string* problem) {
  const size_t left = data.size() - pos;
  if (left < kRecordHeaderSize) {
    *problem = "incomplete record header";
    return Flaw::kIncomplete;
  }
  const char* p = data.data() + pos;
  *h = DecodeRecordHeader(p);
  if (h->length > kMaxPayloadSize) {
    *problem = absl::StrFormat("record length %u exceeds the maximum", h->length);
    return Flaw::kOther;
  }
  *total = kRecordHeaderSize + h->length;
  if (*total > left) {
    *problem = "incomplete record";
    return Flaw::kIncomplete;
  }
  const uint8_t type = marked ? RecordTypeOf(h->type) : h->type;
  if (!checksum && h->sequence == expected && IsKnownRecordType(type)) return Flaw::kNone;
  if (!RecordChecksumMatches(p, *h)) {
    *problem = "record checksum mismatch";
    return Flaw::kChecksum;
  }
  if (!IsKnownRecordType(type)) {
    *problem = absl::StrFormat("unknown record type %u", type);
    return Flaw::kOther;
  }
  if (h->sequence != expected) {
    *problem = absl::StrFormat("record sequence %u where %u was expected", h->sequence, expected);
    return Flaw::kOther;
  }
  return Flaw::kNone;
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
    // A new segment's header and zeros are made durable by one fdatasync;
    // a file of zeros only is one whose creation a crash cut short.
    const bool never_written = AllZero(data);
    StopAt(scan, never_written ? SegmentScan::End::kTorn : SegmentScan::End::kCorrupt, 0,
           never_written ? "segment header never written" : scan->problem);
    return absl::OkStatus();
  }
  const bool marked = scan->version >= 2;  // Writes marked, zeros after the last.
  uint64_t expected = scan->first_sequence;
  scan->last_sequence = expected - 1;
  size_t pos = kSegmentHeaderSize;
  // Version 2: where the last whole write ends, and the records up to it.
  size_t write_end = pos;
  uint64_t records_at_write_end = 0;
  // Hands the records in data[from, to) to fn, those from check_from on.
  Record rec;  // One record at a time: its buffer is reused.
  auto hand_out = [&](size_t from, size_t to) -> absl::Status {
    if (!fn) return absl::OkStatus();
    for (size_t at = from; at < to;) {
      const RecordHeader r = DecodeRecordHeader(data.data() + at);
      if (r.sequence >= check_from) {
        rec.sequence = r.sequence;
        rec.type = static_cast<RecordType>(RecordTypeOf(r.type));
        rec.payload.assign(data.data() + at + kRecordHeaderSize, r.length);
        RETURN_IF_ERROR(fn(rec));
      }
      at += kRecordHeaderSize + r.length;
    }
    return absl::OkStatus();
  };
  // Version 2: a torn write is cut at its start (nothing of it was
  // acknowledged); damage with a later write after it is corruption, and
  // the records of its write before the damage are still handed out.
  auto stop_marked = [&](std::string problem) -> absl::Status {
    const bool rest_zero = AllZero(data.substr(pos));  // By blocks: the common case.
    if (pos == write_end && rest_zero) {
      scan->end_offset = pos;  // Clean: the preallocated rest of the file.
      return absl::OkStatus();
    }
    const size_t nonzero = rest_zero ? std::string_view::npos : data.find_first_not_of('\0', pos);
    const bool zeros_here = nonzero >= pos + kRecordHeaderSize;  // Not even a header.
    if (LaterWriteAfter(data, pos + 1, expected)) {
      RETURN_IF_ERROR(hand_out(write_end, pos));
      StopAt(scan, SegmentScan::End::kCorrupt, pos,
             zeros_here ? "zeros where a record should be, with later records after them"
                        : std::move(problem));
      return absl::OkStatus();
    }
    const uint64_t dropped = scan->records - records_at_write_end;
    scan->records = records_at_write_end;
    scan->last_sequence -= dropped;
    StopAt(scan, SegmentScan::End::kTorn, write_end,
           pos == write_end && zeros_here
               ? absl::StrFormat("a write never made durable: zeros at offset %u, then bytes "
                                 "at offset %u",
                                 pos, nonzero)
               : absl::StrFormat("a write never made durable: %s at offset %u", problem, pos));
    return absl::OkStatus();
  };
  while (pos < data.size()) {
    RecordHeader h;
    size_t total = 0;
    std::string problem;
    Flaw flaw = CheckRecord(data, pos, expected, /*checksum=*/expected >= check_from, marked, &h,
                            &total, &problem);
    if (marked && flaw == Flaw::kNone && ((h.type & kWriteStartFlag) != 0) != (pos == write_end)) {
      flaw = Flaw::kOther;
      problem = pos == write_end ? "record does not start a write where the last one ended"
                                 : "a write starts inside another";
    }
    if (flaw != Flaw::kNone) {
      if (marked) return stop_marked(std::move(problem));
      // Version 1: an incomplete record, or a last one failing its
      // checksum, is a torn tail; anything else is corruption.
      const bool torn =
          flaw == Flaw::kIncomplete || (flaw == Flaw::kChecksum && pos + total == data.size());
      StopAt(scan, torn ? SegmentScan::End::kTorn : SegmentScan::End::kCorrupt, pos,
             std::move(problem));
      return absl::OkStatus();
    }
    // A record goes to fn once it is known to be kept: in version 2, once
    // its write's end mark is read (a torn write's records never go).
    const size_t hand_from = marked ? write_end : pos;
    scan->last_sequence = h.sequence;
    ++scan->records;
    ++expected;
    pos += total;
    if (marked && (h.type & kWriteEndFlag) == 0) continue;
    RETURN_IF_ERROR(hand_out(hand_from, pos));
    write_end = pos;
    records_at_write_end = scan->records;
  }
  if (marked && pos != write_end) return stop_marked("the file ends inside a write");
  scan->end_offset = pos;
  return absl::OkStatus();
}

std::string_view WithoutTrailingZeros(std::string_view data, size_t keep) {
  while (data.size() > keep && data.back() == 0) data.remove_suffix(1);
  return data;
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
