// Recovery: torn tails are cut off (with a copy kept), damage anywhere else
// refuses to start naming file and offset, and never does recovery crash or
// keep a record after the damage. Also how a read from the middle of a
// segment checks what it hands out.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <future>

#include "absl/strings/str_cat.h"
#include "journal/file_journal.h"
#include "journal/record_format.h"
#include "journal/segment_reader.h"
#include "tests/journal/journal_test_util.h"
#include "tests/journal/test_dir.h"

namespace dispatchd::journal {
namespace {

using ::dispatchd::testing::AppendSync;
using ::dispatchd::testing::TestDir;
using ::testing::HasSubstr;

std::string SegmentPath(const std::string& dir, uint64_t first) {
  return JoinPath(dir, SegmentFileName(first));
}

// Writes records 1..n (payloads of varying size) into `dir` and closes.
void WriteLog(const std::string& dir, int n, uint64_t segment_bytes = 64u << 20) {
  auto j = FileJournal::Open({.dir = dir, .segment_bytes = segment_bytes}, nullptr);
  ASSERT_TRUE(j.ok()) << j.status();
  for (int i = 1; i <= n; ++i) {
    ASSERT_TRUE(AppendSync(**j, {{static_cast<uint64_t>(i), RecordType::kEvent,
                                  std::string(i % 7 + 1, 'a' + i)}})
                    .ok());
  }
}

// Writes records 1..30 into segments of 150 bytes and lists them (at
// least four; fewer fails the test).
std::vector<SegmentFile> WriteSegments(const std::string& dir) {
  WriteLog(dir, 30, /*segment_bytes=*/150);
  absl::StatusOr<std::vector<SegmentFile>> found = ListSegments(PosixFileSystem(), dir);
  EXPECT_TRUE(found.ok()) << found.status();
  if (!found.ok()) return {};
  EXPECT_GE(found->size(), 4u);
  return *std::move(found);
}

std::string Read(const std::string& path) { return *PosixFileSystem()->ReadFile(path); }

// The segment's bytes up to its last record, without the zeros the
// journal preallocates after it.
std::string Records(const std::string& path) {
  std::string data = Read(path);
  SegmentScan scan;
  EXPECT_TRUE(ScanSegment(data, nullptr, &scan).ok());
  EXPECT_EQ(scan.end, SegmentScan::End::kClean) << scan.problem;
  data.resize(scan.end_offset);
  return data;
}

void Write(const std::string& path, const std::string& data) {
  std::filesystem::remove(path);
  auto f = PosixFileSystem()->NewWritableFile(path);
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Append(data).ok());
  ASSERT_TRUE((*f)->Close().ok());
}

// Offsets at which each record ends, from the clean segment's bytes.
std::vector<uint64_t> RecordEnds(const std::string& data) {
  std::vector<uint64_t> ends;
  uint64_t pos = kSegmentHeaderSize;
  while (pos < data.size()) {
    pos += kRecordHeaderSize + DecodeRecordHeader(data.data() + pos).length;
    ends.push_back(pos);
  }
  return ends;
}

// Records wholly inside the first `size` bytes.
uint64_t WholeRecordsBefore(const std::vector<uint64_t>& ends, uint64_t size) {
  uint64_t n = 0;
  for (uint64_t e : ends) n += e <= size ? 1 : 0;
  return n;
}

TEST(RecoveryTest, TruncationAtEveryOffsetKeepsExactlyTheWholeRecords) {
  TestDir base;
  WriteLog(base.path(), 12);
  const std::string clean = Records(SegmentPath(base.path(), 1));
  const std::vector<uint64_t> ends = RecordEnds(clean);
  ASSERT_EQ(ends.size(), 12u);
  for (uint64_t size = 0; size < clean.size(); ++size) {
    SCOPED_TRACE(absl::StrCat("size ", size));
    TestDir dir;
    Write(SegmentPath(dir.path(), 1), clean.substr(0, size));
    RecoveryReport report;
    auto j = FileJournal::Open({.dir = dir.path()}, &report);
    ASSERT_TRUE(j.ok()) << j.status();
    const uint64_t whole = WholeRecordsBefore(ends, size);
    EXPECT_EQ(report.last_sequence, whole);
    const bool cut = size != kSegmentHeaderSize && (whole == 0 || ends[whole - 1] != size);
    EXPECT_EQ(report.notes.size(), cut ? 1u : 0u);
    if (cut) {
      EXPECT_THAT(report.notes[0], HasSubstr("torn"));
    }
    EXPECT_EQ((*j)->next_sequence(), whole + 1);  // And it appends after them.
  }
}

TEST(RecoveryTest, TornTailIsCopiedAsideBeforeItIsCut) {
  TestDir dir;
  WriteLog(dir.path(), 3);
  const std::string path = SegmentPath(dir.path(), 1);
  std::string data = Records(path);
  Write(path, data.substr(0, data.size() - 2));
  RecoveryReport report;
  ASSERT_TRUE(FileJournal::Open({.dir = dir.path()}, &report).ok());
  const uint64_t cut_at = RecordEnds(data)[1];
  const std::string copy = absl::StrCat(path, ".torn-", cut_at);
  EXPECT_EQ(Read(copy), data.substr(cut_at, data.size() - 2 - cut_at));
  EXPECT_THAT(report.notes[0], HasSubstr(absl::StrCat("offset ", cut_at)));
  EXPECT_EQ(Records(path).size(), cut_at);  // Zeros may follow.
}

// Segments of 1 MiB or more are read through a mapping of the file
// (FileSystem::MapFile); cutting the torn tail off such a segment must keep
// the same records as with a copy, and the journal must go on appending
// to it and reading it back.
TEST(RecoveryTest, TornTailOfAMappedSegmentIsCutAndTheJournalGoesOn) {
  TestDir dir;
  const std::string payload(48 << 10, 'p');
  {
    auto j = FileJournal::Open({.dir = dir.path()}, nullptr);
    ASSERT_TRUE(j.ok()) << j.status();
    for (uint64_t i = 1; i <= 30; ++i) {  // About 1.4 MiB.
      ASSERT_TRUE(AppendSync(**j, {{i, RecordType::kEvent, payload}}).ok());
    }
  }
  const std::string path = SegmentPath(dir.path(), 1);
  const std::string data = Records(path);
  ASSERT_GE(data.size(), 1u << 20);
  ASSERT_TRUE(PosixFileSystem()->MapFile(path)->mapped());
  Write(path, data.substr(0, data.size() - 100));
  RecoveryReport report;
  auto j = FileJournal::Open({.dir = dir.path()}, &report);
  ASSERT_TRUE(j.ok()) << j.status();
  EXPECT_EQ(report.last_sequence, 29u);
  ASSERT_EQ(report.notes.size(), 1u);
  EXPECT_THAT(report.notes[0], HasSubstr("torn"));
  const uint64_t cut_at = RecordEnds(data)[28];
  EXPECT_EQ(Records(path).size(), cut_at);  // Zeros may follow.
  EXPECT_EQ(Read(absl::StrCat(path, ".torn-", cut_at)),
            data.substr(cut_at, data.size() - 100 - cut_at));
  ASSERT_TRUE(AppendSync(**j, {{30, RecordType::kEvent, "after"}}).ok());
  std::vector<uint64_t> read;
  std::string last;
  ASSERT_TRUE((*j)->Read(1,
                         [&](const Record& r) {
                           read.push_back(r.sequence);
                           last = std::string(r.payload);
                           return absl::OkStatus();
                         })
                  .ok());
  ASSERT_EQ(read.size(), 30u);
  EXPECT_EQ(read.back(), 30u);
  EXPECT_EQ(last, "after");
}

// Every single-bit flip either is caught (the log refuses to start, naming
// the file) or is in the last record, which is then treated as torn; no
// record at or after the damage is ever kept.
TEST(RecoveryTest, EveryBitFlipIsDetectedAndNoDamagedRecordIsKept) {
  TestDir base;
  WriteLog(base.path(), 6);
  const std::string clean = Records(SegmentPath(base.path(), 1));
  const std::vector<uint64_t> ends = RecordEnds(clean);
  for (uint64_t byte = 0; byte < clean.size(); ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      SCOPED_TRACE(absl::StrCat("byte ", byte, " bit ", bit));
      TestDir dir;
      std::string damaged = clean;
      damaged[byte] = static_cast<char>(damaged[byte] ^ (1 << bit));
      Write(SegmentPath(dir.path(), 1), damaged);
      RecoveryReport report;
      auto j = FileJournal::Open({.dir = dir.path()}, &report);
      const uint64_t intact = WholeRecordsBefore(ends, byte);
      if (j.ok()) {
        // Taken for a torn write (a flipped length now runs past the end,
        // or the final record fails its checksum): cut off, with a note.
        EXPECT_EQ(report.last_sequence, intact);
        EXPECT_EQ(report.notes.size(), 1u);
      } else {
        EXPECT_EQ(j.status().code(), absl::StatusCode::kDataLoss);
        EXPECT_THAT(std::string(j.status().message()), HasSubstr(SegmentFileName(1)));
      }
    }
  }
}

TEST(RecoveryTest, MidLogCorruptionRefusesToStartNamingFileAndOffset) {
  TestDir dir;
  WriteLog(dir.path(), 5);
  const std::string path = SegmentPath(dir.path(), 1);
  std::string data = Records(path);
  const std::vector<uint64_t> ends = RecordEnds(data);
  data[ends[1] + kRecordHeaderSize] ^= 0x01;  // Third record's payload.
  Write(path, data);
  auto j = FileJournal::Open({.dir = dir.path()}, nullptr);
  ASSERT_FALSE(j.ok());
  EXPECT_EQ(j.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(j.status().message()),
              HasSubstr(absl::StrCat(SegmentFileName(1), " at offset ", ends[1])));
  EXPECT_EQ(Read(path), data);  // Refusing changes nothing.

  // The operator's explicit choice keeps the records before the damage.
  RecoveryReport report;
  auto kept = FileJournal::Open({.dir = dir.path(), .discard_after_corruption = true}, &report);
  ASSERT_TRUE(kept.ok()) << kept.status();
  EXPECT_EQ(report.last_sequence, 2u);
  EXPECT_TRUE(std::filesystem::exists(absl::StrCat(path, ".discarded-", ends[1])));
}

TEST(RecoveryTest, AMissingSegmentRefusesToStart) {
  TestDir dir;
  const std::vector<SegmentFile> found = WriteSegments(dir.path());
  ASSERT_GE(found.size(), 4u);
  std::filesystem::remove(found[1].path);
  auto j = FileJournal::Open({.dir = dir.path()}, nullptr);
  ASSERT_FALSE(j.ok());
  EXPECT_EQ(j.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(j.status().message()), HasSubstr("missing"));
}

// Retention may leave a log starting past 1, but a hole after its start is
// still damage.
TEST(RecoveryTest, ALogStartingLaterIsAcceptedButAHoleAfterItsStartIsNot) {
  TestDir dir;
  const std::vector<SegmentFile> found = WriteSegments(dir.path());
  ASSERT_GE(found.size(), 4u);
  std::filesystem::remove(found[0].path);
  RecoveryReport report;
  {
    auto j = FileJournal::Open({.dir = dir.path()}, &report);
    ASSERT_TRUE(j.ok()) << j.status();
    EXPECT_EQ(report.first_sequence, found[1].first_sequence);
    EXPECT_EQ(report.last_sequence, 30u);
  }
  std::filesystem::remove(found[2].path);
  auto j = FileJournal::Open({.dir = dir.path()}, nullptr);
  ASSERT_FALSE(j.ok());
  EXPECT_EQ(j.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(j.status().message()), HasSubstr("missing"));
}

TEST(RecoveryTest, ATornTailInAnEarlierSegmentIsCorruption) {
  TestDir dir;
  WriteLog(dir.path(), 30, /*segment_bytes=*/150);
  const std::string first = SegmentPath(dir.path(), 1);
  std::string data = Records(first);
  Write(first, data.substr(0, data.size() - 3));
  auto j = FileJournal::Open({.dir = dir.path()}, nullptr);
  ASSERT_FALSE(j.ok());
  EXPECT_EQ(j.status().code(), absl::StatusCode::kDataLoss);
}

// Segments a snapshot covers (trust_through) are taken on trust at Open:
// damage inside one does not stop a start that needs none of its records,
// but CheckTrusted finds it, naming file and offset, and so does a read
// that reaches it.
TEST(RecoveryTest, SegmentsASnapshotCoversAreCheckedAfterOpen) {
  TestDir dir;
  const std::vector<SegmentFile> found = WriteSegments(dir.path());
  ASSERT_GE(found.size(), 4u);
  const uint64_t covered = found[2].first_sequence - 1;  // The first two segments.
  {
    RecoveryReport report;
    auto j = FileJournal::Open({.dir = dir.path(), .trust_through = covered}, &report);
    ASSERT_TRUE(j.ok()) << j.status();
    EXPECT_EQ(report.trusted_segments, 2u);
    EXPECT_EQ(report.records, 30u);
    EXPECT_EQ(report.last_sequence, 30u);
    EXPECT_TRUE((*j)->CheckTrusted([] { return false; }).ok());
  }

  const std::string second = found[1].path;
  const std::string clean = Records(second);
  std::string damaged = clean;
  const std::vector<uint64_t> ends = RecordEnds(clean);
  damaged[ends[0] + kRecordHeaderSize] ^= 0x01;  // Its second record's payload.
  Write(second, damaged);
  RecoveryReport report;
  auto j = FileJournal::Open({.dir = dir.path(), .trust_through = covered}, &report);
  ASSERT_TRUE(j.ok()) << j.status();
  EXPECT_EQ(report.trusted_segments, 2u);
  std::vector<uint64_t> read;
  ASSERT_TRUE((*j)->Read(covered + 1,
                         [&](const Record& r) {
                           read.push_back(r.sequence);
                           return absl::OkStatus();
                         })
                  .ok());
  EXPECT_EQ(read.size(), 30 - covered);

  const absl::Status checked = (*j)->CheckTrusted([] { return false; });
  EXPECT_EQ(checked.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(
      std::string(checked.message()),
      HasSubstr(absl::StrCat(SegmentFileName(found[1].first_sequence), " at offset ", ends[0])));
  EXPECT_TRUE((*j)->CheckTrusted([] { return true; }).ok());  // Asked to stop at once.
  const absl::Status from_start = (*j)->Read(1, [](const Record&) { return absl::OkStatus(); });
  EXPECT_EQ(from_start.code(), absl::StatusCode::kDataLoss);
  j->reset();

  // Without trust, or with the operator's discard, Open reads it all.
  auto refused = FileJournal::Open({.dir = dir.path()}, nullptr);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kDataLoss);
  RecoveryReport kept;
  auto discarded = FileJournal::Open(
      {.dir = dir.path(), .discard_after_corruption = true, .trust_through = covered}, &kept);
  ASSERT_TRUE(discarded.ok()) << discarded.status();
  EXPECT_EQ(kept.trusted_segments, 0u);
  EXPECT_EQ(kept.last_sequence, found[1].first_sequence);
}

// A segment taken on trust still has its header read: one that is damaged
// or names the wrong first sequence refuses the start. A segment missing
// between trusted ones is found by CheckTrusted (the one before it ends
// too early).
TEST(RecoveryTest, TrustedSegmentsHaveTheirHeadersCheckedAndHolesFoundLater) {
  TestDir dir;
  const std::vector<SegmentFile> found = WriteSegments(dir.path());
  ASSERT_GE(found.size(), 4u);
  const uint64_t covered = found[3].first_sequence - 1;
  const std::string first = found[0].path;
  const std::string clean = Read(first);
  std::string damaged = clean;
  damaged[9] ^= 0x01;  // The header's first sequence.
  Write(first, damaged);
  auto j = FileJournal::Open({.dir = dir.path(), .trust_through = covered}, nullptr);
  ASSERT_FALSE(j.ok());
  EXPECT_EQ(j.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(j.status().message()), HasSubstr(SegmentFileName(1)));
  Write(first, clean);

  std::filesystem::remove(found[1].path);
  j = FileJournal::Open({.dir = dir.path(), .trust_through = covered}, nullptr);
  ASSERT_TRUE(j.ok()) << j.status();
  const absl::Status checked = (*j)->CheckTrusted([] { return false; });
  EXPECT_EQ(checked.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(checked.message()),
              HasSubstr(absl::StrCat("the next starts at ", found[2].first_sequence)));
}

// Preallocated segments (format version 2). The journal writes what is
// queued with one write and one fdatasync, and starts a write only once the
// one before is durable; zeros follow the last write.

// Appends one batch per entry of `sizes` (records 1, 2, ... in order), each
// waited for, so each is one write. Returns where each write starts in the
// segment, and the segment's records (without the zeros after them).
std::vector<uint64_t> WriteBatches(const std::string& dir, const std::vector<int>& sizes,
                                   std::string* records) {
  {
    auto j = FileJournal::Open({.dir = dir}, nullptr);
    EXPECT_TRUE(j.ok()) << j.status();
    if (!j.ok()) return {};
    uint64_t seq = 1;
    for (int n : sizes) {
      std::vector<Record> batch;
      for (int i = 0; i < n; ++i, ++seq) {
        batch.push_back({seq, RecordType::kEvent, absl::StrCat("event-", seq)});
      }
      EXPECT_TRUE(AppendSync(**j, std::move(batch)).ok());
    }
  }
  *records = Records(SegmentPath(dir, 1));
  const std::vector<uint64_t> ends = RecordEnds(*records);
  std::vector<uint64_t> starts;
  size_t record = 0;
  for (int n : sizes) {
    starts.push_back(record == 0 ? kSegmentHeaderSize : ends[record - 1]);
    record += n;
  }
  return starts;
}

// The segment as a crash may leave it: `records`, with `[from, to)` zeroed
// (a part of a write that never reached the disk), then preallocated zeros.
void WriteWithHole(const std::string& path, std::string records, uint64_t from, uint64_t to) {
  std::fill(records.begin() + from, records.begin() + to, '\0');
  Write(path, records + std::string(4096, '\0'));
}

TEST(PreallocatedSegmentTest, AppendsGoAfterTheRecordsNotAfterTheZeros) {
  TestDir dir;
  std::string records;
  WriteBatches(dir.path(), {2, 1}, &records);
  const std::string path = SegmentPath(dir.path(), 1);
  const std::string file = Read(path);
  ASSERT_GT(file.size(), records.size());  // Zeros written ahead.
  EXPECT_EQ(file.find_first_not_of('\0', records.size()), std::string::npos);
  {
    RecoveryReport report;
    auto j = FileJournal::Open({.dir = dir.path()}, &report);
    ASSERT_TRUE(j.ok()) << j.status();
    EXPECT_EQ(report.last_sequence, 3u);
    EXPECT_TRUE(report.notes.empty());
    ASSERT_TRUE(AppendSync(**j, {{4, RecordType::kEvent, "four"}}).ok());
  }
  RecoveryReport report;
  auto j = FileJournal::Open({.dir = dir.path()}, &report);
  ASSERT_TRUE(j.ok()) << j.status();
  EXPECT_EQ(report.last_sequence, 4u);
  EXPECT_TRUE(report.notes.empty());
}

// The disk may keep a later page of an unacknowledged write and lose an
// earlier one. Nothing of that write is kept, not even its records before
// the hole: it was never acknowledged, and a command's events go whole.
TEST(PreallocatedSegmentTest, ATornWriteIsCutWholeEvenWhenItsLaterPartReachedTheDisk) {
  TestDir dir;
  std::string records;
  const std::vector<uint64_t> starts = WriteBatches(dir.path(), {2, 3}, &records);
  const std::vector<uint64_t> ends = RecordEnds(records);
  for (const auto& [from, to] : std::vector<std::pair<uint64_t, uint64_t>>{
           {starts[1], ends[2]},           // Its first record lost, the rest kept.
           {ends[3], ends[4]},             // Its last record (the end mark) lost.
           {ends[2] + 3, ends[2] + 9}}) {  // Part of its middle record lost.
    SCOPED_TRACE(absl::StrCat("zeros from ", from, " to ", to));
    TestDir crashed;
    const std::string crashed_path = SegmentPath(crashed.path(), 1);
    WriteWithHole(crashed_path, records, from, to);
    RecoveryReport report;
    auto j = FileJournal::Open({.dir = crashed.path()}, &report);
    ASSERT_TRUE(j.ok()) << j.status();
    EXPECT_EQ(report.last_sequence, 2u);
    ASSERT_EQ(report.notes.size(), 1u);
    EXPECT_THAT(report.notes[0], HasSubstr("never made durable"));
    EXPECT_TRUE(std::filesystem::exists(absl::StrCat(crashed_path, ".torn-", starts[1])));
    EXPECT_TRUE(AppendSync(**j, {{3, RecordType::kEvent, "again"}}).ok());
  }
}

// A write that started after the damaged one proves the damaged one was
// durable, so acknowledged: that is corruption, not a torn write.
TEST(PreallocatedSegmentTest, AHoleWithALaterWriteAfterItRefusesToStart) {
  TestDir dir;
  std::string records;
  const std::vector<uint64_t> starts = WriteBatches(dir.path(), {2, 3, 1}, &records);
  const std::vector<uint64_t> ends = RecordEnds(records);
  const std::string path = SegmentPath(dir.path(), 1);
  WriteWithHole(path, records, starts[1], ends[2]);
  const std::string before = Read(path);
  auto j = FileJournal::Open({.dir = dir.path()}, nullptr);
  ASSERT_FALSE(j.ok());
  EXPECT_EQ(j.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(j.status().message()),
              HasSubstr(absl::StrCat(SegmentFileName(1), " at offset ", starts[1])));
  EXPECT_EQ(Read(path), before);  // Refusing changes nothing.
}

TEST(PreallocatedSegmentTest, StrayBytesInTheZerosAreCutOffAndEveryRecordKept) {
  TestDir dir;
  std::string records;
  WriteBatches(dir.path(), {2, 1}, &records);
  const std::string path = SegmentPath(dir.path(), 1);
  std::string file = records + std::string(8192, '\0');
  file[records.size() + 1000] = 'x';
  Write(path, file);
  RecoveryReport report;
  auto j = FileJournal::Open({.dir = dir.path()}, &report);
  ASSERT_TRUE(j.ok()) << j.status();
  EXPECT_EQ(report.last_sequence, 3u);
  ASSERT_EQ(report.notes.size(), 1u);
  EXPECT_EQ(Read(absl::StrCat(path, ".torn-", records.size())), file.substr(records.size(), 1001));
}

// A crash while a segment is created may leave a file of zeros: its header
// never reached the disk. It holds nothing and is moved aside.
TEST(PreallocatedSegmentTest, ASegmentOfZerosOnlyIsMovedAside) {
  TestDir dir;
  const std::vector<SegmentFile> found = WriteSegments(dir.path());
  ASSERT_GE(found.size(), 2u);
  Write(found.back().path, std::string(4096, '\0'));
  RecoveryReport report;
  auto j = FileJournal::Open({.dir = dir.path()}, &report);
  ASSERT_TRUE(j.ok()) << j.status();
  EXPECT_EQ(report.last_sequence, found.back().first_sequence - 1);
  ASSERT_EQ(report.notes.size(), 1u);
  EXPECT_THAT(report.notes[0], HasSubstr("torn"));
}

// A segment header of the first format version, and records without marks.
std::string Version1Segment(uint64_t first, uint64_t last) {
  std::string data;
  EncodeSegmentHeader(first, 0, &data);
  data.resize(4);
  PutFixed32(&data, 1);
  PutFixed64(&data, first);
  PutFixed64(&data, 0);
  PutFixed32(&data, 0);
  PutFixed32(&data, Crc32c(data));
  for (uint64_t seq = first; seq <= last; ++seq) {
    EncodeRecord(RecordType::kEvent, seq, absl::StrCat("old-", seq), &data);
  }
  return data;
}

TEST(PreallocatedSegmentTest, AVersion1SegmentIsReadAndAppendsGoToANewSegment) {
  for (uint64_t last : {0u, 3u}) {  // With no records, the old segment is replaced.
    SCOPED_TRACE(absl::StrCat("last ", last));
    TestDir dir;
    Write(SegmentPath(dir.path(), 1), Version1Segment(1, last));
    {
      RecoveryReport report;
      auto j = FileJournal::Open({.dir = dir.path()}, &report);
      ASSERT_TRUE(j.ok()) << j.status();
      EXPECT_EQ(report.last_sequence, last);
      ASSERT_TRUE(AppendSync(**j, {{last + 1, RecordType::kEvent, "new"}}).ok());
    }
    EXPECT_TRUE(std::filesystem::exists(SegmentPath(dir.path(), last + 1)));
    auto j = FileJournal::Open({.dir = dir.path()}, nullptr);
    ASSERT_TRUE(j.ok()) << j.status();
    std::vector<std::string> payloads;
    ASSERT_TRUE((*j)->Read(1,
                           [&](const Record& r) {
                             payloads.push_back(r.payload);
                             return absl::OkStatus();
                           })
                    .ok());
    ASSERT_EQ(payloads.size(), last + 1);
    EXPECT_EQ(payloads.back(), "new");
    if (last > 0) {
      EXPECT_EQ(payloads.front(), "old-1");
    }
  }
}

// A reader from the middle of a segment (dispatchd replaying the tail after
// a snapshot) frames the records before its start without checksumming
// them (recovery did), yet never gets a damaged record from its start on.
TEST(SegmentScanTest, AScanFromTheMiddleChecksEveryRecordItHandsOut) {
  std::string data;
  EncodeSegmentHeader(1, 0, &data);
  std::vector<size_t> offsets;
  for (uint64_t seq = 1; seq <= 5; ++seq) {  // One write each.
    offsets.push_back(data.size());
    EncodeRecord(RecordType::kEvent, seq, absl::StrCat("event-", seq), &data);
    MarkWrite(data.data() + offsets.back(), data.size() - offsets.back());
  }
  auto scan_from = [](const std::string& bytes, uint64_t from, SegmentScan* scan) {
    std::vector<uint64_t> seen;
    EXPECT_TRUE(ScanSegment(
                    bytes,
                    [&](const Record& r) {
                      seen.push_back(r.sequence);
                      return absl::OkStatus();
                    },
                    scan, from)
                    .ok());
    return seen;
  };
  data[offsets[1] + kRecordHeaderSize] ^= 0x01;  // Record 2's payload, after recovery.
  SegmentScan scan;
  EXPECT_THAT(scan_from(data, 3, &scan), ::testing::ElementsAre(3, 4, 5));
  EXPECT_EQ(scan.end, SegmentScan::End::kClean);
  EXPECT_THAT(scan_from(data, 0, &scan), ::testing::ElementsAre(1));  // Checks all.
  EXPECT_EQ(scan.end, SegmentScan::End::kCorrupt);

  data[offsets[3] + kRecordHeaderSize] ^= 0x01;  // Record 4: wanted, so checked.
  EXPECT_THAT(scan_from(data, 3, &scan), ::testing::ElementsAre(3));
  EXPECT_EQ(scan.end, SegmentScan::End::kCorrupt);
  EXPECT_EQ(scan.end_offset, offsets[3]);
}

// What a reader is handed is what recovery keeps: the records of a torn
// write (here its last record is damaged, and no write follows) never
// reach it, though the ones before the damage are intact.
TEST(SegmentScanTest, ARecordOfATornWriteIsNeverHandedOut) {
  std::string data;
  EncodeSegmentHeader(1, 0, &data);
  std::vector<size_t> starts;  // Of the writes: {1}, {2}, {3, 4, 5}.
  std::vector<size_t> records;
  for (uint64_t seq = 1; seq <= 5; ++seq) {
    if (seq <= 3) starts.push_back(data.size());
    records.push_back(data.size());
    EncodeRecord(RecordType::kEvent, seq, absl::StrCat("event-", seq), &data);
  }
  for (size_t w = 0; w < starts.size(); ++w) {
    const size_t end = w + 1 < starts.size() ? starts[w + 1] : data.size();
    MarkWrite(data.data() + starts[w], end - starts[w]);
  }
  data[records[4] + kRecordHeaderSize] ^= 0x01;  // Record 5's payload.
  data += std::string(64, '\0');
  std::vector<uint64_t> seen;
  SegmentScan scan;
  ASSERT_TRUE(ScanSegment(
                  data,
                  [&](const Record& r) {
                    seen.push_back(r.sequence);
                    return absl::OkStatus();
                  },
                  &scan)
                  .ok());
  EXPECT_THAT(seen, ::testing::ElementsAre(1, 2));
  EXPECT_EQ(scan.end, SegmentScan::End::kTorn);
  EXPECT_EQ(scan.end_offset, starts[2]);
  EXPECT_EQ(scan.last_sequence, 2u);
  EXPECT_EQ(scan.records, 2u);
}

}  // namespace
}  // namespace dispatchd::journal
