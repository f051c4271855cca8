// ChecksumHelp: a second thread that checks record checksums beside a
// segment scan (recovery) or ahead of it (a long read). Whatever it finds,
// the scan must report exactly what the scanning thread alone reports:
// the same records handed out, the same end, offset and problem.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "journal/record_format.h"
#include "journal/segment_reader.h"

namespace dispatchd::journal {
namespace {

struct HelpSegment {
  std::string bytes;
  std::vector<size_t> offsets;  // offsets[i]: where record i + 1 starts.
};

// `n` records of about 300 bytes: 6,000 of them pass the 1 MiB under which
// recovery checks a segment on one thread.
HelpSegment MakeHelpSegment(int n) {
  HelpSegment seg;
  EncodeSegmentHeader(1, 0, &seg.bytes);
  for (int i = 1; i <= n; ++i) {
    seg.offsets.push_back(seg.bytes.size());
    EncodeRecord(RecordType::kEvent, i, absl::StrCat(i, ":", std::string(290 + i % 13, 'p')),
                 &seg.bytes);
  }
  return seg;
}

struct HelpScan {
  std::vector<uint64_t> seen;
  absl::Status status;
  SegmentScan scan;
};

// Scans with `help`; `fn` stops the scan after `stop_after` records if set.
HelpScan ScanWithHelp(const std::string& bytes, ChecksumHelp help, uint64_t stop_after = 0) {
  HelpScan out;
  out.status = ScanSegment(
      bytes,
      [&](const Record& r) -> absl::Status {
        out.seen.push_back(r.sequence);
        if (out.seen.size() == stop_after) return absl::CancelledError("enough");
        return absl::OkStatus();
      },
      &out.scan, 0, help);
  return out;
}

void ExpectTheSameScan(const HelpScan& helped, const HelpScan& alone) {
  EXPECT_EQ(helped.seen, alone.seen);
  EXPECT_EQ(helped.status, alone.status);
  EXPECT_EQ(helped.scan.end, alone.scan.end);
  EXPECT_EQ(helped.scan.end_offset, alone.scan.end_offset);
  EXPECT_EQ(helped.scan.last_sequence, alone.scan.last_sequence);
  EXPECT_EQ(helped.scan.records, alone.scan.records);
  EXPECT_EQ(helped.scan.problem, alone.scan.problem);
}

TEST(ChecksumHelpTest, AHelpedScanReportsExactlyWhatAScanAloneReports) {
  const HelpSegment seg = MakeHelpSegment(6000);
  ASSERT_GT(seg.bytes.size(), size_t{1} << 20);
  struct Damage {
    std::string name;
    std::string bytes;
  };
  std::vector<Damage> cases;
  cases.push_back({"clean", seg.bytes});
  // A flipped payload byte: before the ahead-checker starts (record 10),
  // where it checks (1,500), in the second half (5,000).
  for (int record : {10, 1500, 5000}) {
    std::string b = seg.bytes;
    b[seg.offsets[record - 1] + kRecordHeaderSize + 3] ^= 0x20;
    cases.push_back({absl::StrCat("payload of record ", record), b});
  }
  {
    std::string b = seg.bytes;  // A length no record may have, in the second half.
    b[seg.offsets[4499] + 7] = static_cast<char>(0x7f);
    cases.push_back({"length of record 4500", b});
  }
  cases.push_back({"torn last record", seg.bytes.substr(0, seg.bytes.size() - 5)});
  for (const Damage& d : cases) {
    SCOPED_TRACE(d.name);
    const HelpScan alone = ScanWithHelp(d.bytes, ChecksumHelp::kNone);
    ExpectTheSameScan(ScanWithHelp(d.bytes, ChecksumHelp::kHalf), alone);
    ExpectTheSameScan(ScanWithHelp(d.bytes, ChecksumHelp::kAhead), alone);
  }
}

TEST(ChecksumHelpTest, DamageIsFoundWhateverThreadChecksIt) {
  HelpSegment seg = MakeHelpSegment(6000);
  seg.bytes[seg.offsets[4999] + kRecordHeaderSize] ^= 0x01;
  for (ChecksumHelp help : {ChecksumHelp::kHalf, ChecksumHelp::kAhead}) {
    const HelpScan helped = ScanWithHelp(seg.bytes, help);
    EXPECT_EQ(helped.seen.size(), 4999u);
    EXPECT_EQ(helped.scan.end, SegmentScan::End::kCorrupt);
    EXPECT_EQ(helped.scan.end_offset, seg.offsets[4999]);
    EXPECT_EQ(helped.scan.problem, "record checksum mismatch");
  }
}

TEST(ChecksumHelpTest, AReaderThatStopsEarlyIsNotHeldByItsHelper) {
  const HelpSegment seg = MakeHelpSegment(6000);
  for (ChecksumHelp help : {ChecksumHelp::kHalf, ChecksumHelp::kAhead}) {
    const HelpScan stopped = ScanWithHelp(seg.bytes, help, /*stop_after=*/2000);
    EXPECT_EQ(stopped.seen.size(), 2000u);
    EXPECT_EQ(stopped.status, absl::CancelledError("enough"));
  }
}

}  // namespace
}  // namespace dispatchd::journal
