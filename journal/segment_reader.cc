#include "journal/segment_reader.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <optional>
#include <system_error>
#include <thread>

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

// Checks record checksums of one segment on its own thread, from the first
// record boundary at or after `from_offset` to the end or the first record
// that fails (which it leaves to the scanning thread to report), staying at
// most `max_lead` bytes ahead of the scanning thread, so that a reader who
// stops early has not had a whole segment checked for nothing.
class Checker {
 public:
  Checker(std::string_view data, size_t from_offset, size_t max_lead)
      : data_(data),
        max_lead_(max_lead),
        thread_([this, from_offset] { Run(from_offset); }) {}
  ~Checker() {
    stop_.store(true, std::memory_order_relaxed);
    thread_.join();
  }
  Checker(const Checker&) = delete;
  Checker& operator=(const Checker&) = delete;

  // True if the record at [pos, pos + total) was checked and its checksum
  // matches; waits while the checker is behind it. False for a record it
  // will not check (before its start, or after it stopped).
  bool Checked(size_t pos, size_t total) {
    reader_.store(pos, std::memory_order_relaxed);
    const size_t start = start_.load(std::memory_order_acquire);
    if (start == kUnknown || pos < start) return false;
    uint64_t end = end_.load(std::memory_order_acquire);
    while ((end & ~kDone) < pos + total) {
      if ((end & kDone) != 0) return false;
      end_.wait(end, std::memory_order_acquire);
      end = end_.load(std::memory_order_acquire);
    }
    return true;
  }

 private:
  static constexpr size_t kUnknown = SIZE_MAX;
  static constexpr uint64_t kDone = uint64_t{1} << 63;  // In end_: no further progress.
  static constexpr size_t kPublishBytes = 64 << 10;

  // The header of the record framed at `pos`, if a whole one fits there.
  std::optional<RecordHeader> RecordAt(size_t pos) const {
    if (data_.size() - pos < kRecordHeaderSize) return std::nullopt;
    const RecordHeader h = DecodeRecordHeader(data_.data() + pos);
    if (h.length > kMaxPayloadSize || data_.size() - pos - kRecordHeaderSize < h.length) {
      return std::nullopt;
    }
    return h;
  }

  void Run(size_t from_offset) {
    size_t pos = kSegmentHeaderSize;
    while (pos < from_offset) {
      const std::optional<RecordHeader> h = RecordAt(pos);
      if (!h) {
        Publish(pos | kDone);
        return;
      }
      pos += kRecordHeaderSize + h->length;
    }
    end_.store(pos, std::memory_order_relaxed);
    start_.store(pos, std::memory_order_release);
    size_t published = pos;
    while (pos < data_.size() && !stop_.load(std::memory_order_relaxed)) {
      if (pos - std::min(pos, reader_.load(std::memory_order_relaxed)) > max_lead_) {
        Publish(pos);  // The reader may be waiting for the last bytes checked.
        published = pos;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        continue;
      }
      const std::optional<RecordHeader> h = RecordAt(pos);
      if (!h || !RecordChecksumMatches(data_.data() + pos, *h)) break;
      pos += kRecordHeaderSize + h->length;
      if (pos - published >= kPublishBytes) {
        Publish(pos);
        published = pos;
      }
    }
    Publish(pos | kDone);
  }

  void Publish(uint64_t end) {
    end_.store(end, std::memory_order_release);
    end_.notify_all();
  }

  const std::string_view data_;
  const size_t max_lead_;
  std::atomic<size_t> reader_{0};  // Where the scanning thread has got to.
  std::atomic<size_t> start_{kUnknown};
  std::atomic<uint64_t> end_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;  // Last: started once the members above exist.
};

constexpr size_t kAheadAfterRecords = 1024;
constexpr size_t kAheadMaxLead = 8 << 20;

// Starts a checker in `*checker`. A thread that cannot be started (the
// process is out of threads) is no error: the scan checks alone.
void StartChecker(std::optional<Checker>* checker, std::string_view data, size_t from_offset,
                  size_t max_lead) {
  try {
    checker->emplace(data, from_offset, max_lead);
  } catch (const std::system_error&) {
    checker->reset();
  }
}

}  // namespace

absl::Status ScanSegment(std::string_view data,
                         const std::function<absl::Status(const Record&)>& fn,
                         SegmentScan* scan, uint64_t check_from, ChecksumHelp help) {
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
  std::optional<Checker> checker;
  constexpr size_t kHalfAtLeast = 1 << 20;  // Smaller segments are not worth a thread.
  if (help == ChecksumHelp::kHalf && data.size() >= kHalfAtLeast) {
    StartChecker(&checker, data, data.size() / 2, /*max_lead=*/SIZE_MAX);
  }
  uint64_t passed = 0;  // Records given to fn.
  Record rec;           // Handed to fn, one record at a time.
  while (pos < data.size()) {
    const size_t left = data.size() - pos;
    if (left < kRecordHeaderSize) {
      StopAt(scan, SegmentScan::End::kTorn, pos, "incomplete record header");
      return absl::OkStatus();
    }
    const char* p = data.data() + pos;
    const RecordHeader h = DecodeRecordHeader(p);
    const uint8_t type = h.type;
    const uint64_t sequence = h.sequence;
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
    if (sequence < check_from && sequence == expected && IsKnownRecordType(type)) {
      scan->last_sequence = sequence;  // Skipped: framed, not checksummed.
      ++scan->records;
      ++expected;
      pos += total;
      continue;
    }
    const bool checked = checker.has_value() && checker->Checked(pos, total);
    if (!checked && !RecordChecksumMatches(p, h)) {
      const bool at_end = total == left;
      StopAt(scan, at_end ? SegmentScan::End::kTorn : SegmentScan::End::kCorrupt, pos,
             "record checksum mismatch");
      return absl::OkStatus();
    }
    if (!IsKnownRecordType(type) || sequence != expected) {
      StopAt(scan, SegmentScan::End::kCorrupt, pos,
             IsKnownRecordType(type)
                 ? absl::StrFormat("record sequence %u where %u was expected", sequence, expected)
                 : absl::StrFormat("unknown record type %u", type));
      return absl::OkStatus();
    }
    if (fn) {
      rec.sequence = sequence;
      rec.type = static_cast<RecordType>(type);
      rec.payload.assign(p + kRecordHeaderSize, h.length);  // Its buffer is reused.
      if (absl::Status st = fn(rec); !st.ok()) return st;
      if (++passed == kAheadAfterRecords && help == ChecksumHelp::kAhead) {
        StartChecker(&checker, data, pos + total, kAheadMaxLead);
      }
    }
    scan->last_sequence = sequence;
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

SegmentScan CheckSegment(const SegmentFile& seg, std::string_view data, uint64_t last,
                         ChecksumHelp help) {
  SegmentScan scan;
  (void)ScanSegment(data, nullptr, &scan, 0, help);  // No callback: cannot fail.
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
