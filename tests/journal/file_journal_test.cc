// The journal's write path: durability callbacks, group commit, fencing,
// fail-stop on I/O errors, segment rolling.
#include "journal/file_journal.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <future>
#include <thread>

#include "absl/strings/str_cat.h"
#include "journal/fault_injection_file_system.h"
#include "journal/segment_reader.h"
#include "tests/journal/journal_test_util.h"
#include "tests/journal/test_dir.h"

namespace dispatchd::journal {
namespace {

using ::dispatchd::testing::AppendSync;
using ::dispatchd::testing::ReadAll;
using ::dispatchd::testing::TestDir;
using ::dispatchd::testing::TestRecords;

std::unique_ptr<FileJournal> OpenOrDie(FileJournalOptions options, RecoveryReport* report = nullptr) {
  auto j = FileJournal::Open(options, report);
  EXPECT_TRUE(j.ok()) << j.status();
  return j.ok() ? std::move(*j) : nullptr;
}

TEST(FileJournalTest, AppendedRecordsAreReadBackAfterReopen) {
  TestDir dir;
  {
    auto j = OpenOrDie({.dir = dir.path()});
    ASSERT_TRUE(AppendSync(*j, TestRecords(1, 3)).ok());
    ASSERT_TRUE(AppendSync(*j, TestRecords(4, 2)).ok());
    EXPECT_EQ(j->durable_sequence(), 5u);
  }
  RecoveryReport report;
  auto j = OpenOrDie({.dir = dir.path()}, &report);
  EXPECT_EQ(report.records, 5u);
  EXPECT_EQ(report.last_sequence, 5u);
  EXPECT_TRUE(report.notes.empty());
  EXPECT_EQ(j->next_sequence(), 6u);
  std::vector<Record> all = ReadAll(*j);
  ASSERT_EQ(all.size(), 5u);
  EXPECT_EQ(all[4].payload, "event-5");
  EXPECT_EQ(ReadAll(*j, 4).size(), 2u);
}

TEST(FileJournalTest, AppendAtTheWrongSequenceIsFencedAndWritesNothing) {
  TestDir dir;
  auto j = OpenOrDie({.dir = dir.path()});
  ASSERT_TRUE(AppendSync(*j, TestRecords(1, 2)).ok());
  absl::Status st = AppendSync(*j, TestRecords(2, 1));  // A stale writer.
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(st.message()), ::testing::HasSubstr("next sequence is 3"));
  EXPECT_TRUE(j->status().ok());
  EXPECT_EQ(ReadAll(*j).size(), 2u);
}

TEST(FileJournalTest, ConcurrentAppendsAreAllDurableInOrder) {
  TestDir dir;
  auto j = OpenOrDie({.dir = dir.path()});
  std::mutex order_mu;
  std::vector<uint64_t> acked;
  std::atomic<int> done{0};
  constexpr int kBatches = 500;
  std::mutex append_mu;  // Sequences are handed out in order, as the engine does.
  uint64_t next = 1;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kBatches / 4; ++i) {
        std::lock_guard<std::mutex> lock(append_mu);
        uint64_t first = next++;
        j->Append(TestRecords(first, 1), [&, first](absl::Status st) {
          EXPECT_TRUE(st.ok());
          std::lock_guard<std::mutex> l(order_mu);
          acked.push_back(first);
          ++done;
        });
      }
    });
  }
  for (auto& t : threads) t.join();
  while (done.load() < kBatches) std::this_thread::yield();
  for (size_t i = 0; i < acked.size(); ++i) EXPECT_EQ(acked[i], i + 1);
  EXPECT_EQ(ReadAll(*j).size(), static_cast<size_t>(kBatches));
}

TEST(FileJournalTest, RollsToNewSegmentsAndReadsAcrossThem) {
  TestDir dir;
  {
    auto j = OpenOrDie({.dir = dir.path(), .segment_bytes = 200});
    for (uint64_t s = 1; s <= 40; s += 4) ASSERT_TRUE(AppendSync(*j, TestRecords(s, 4)).ok());
  }
  RecoveryReport report;
  auto j = OpenOrDie({.dir = dir.path(), .segment_bytes = 200}, &report);
  EXPECT_GT(report.segments, 3u);
  EXPECT_EQ(report.last_sequence, 40u);
  std::vector<Record> from_17 = ReadAll(*j, 17);
  ASSERT_EQ(from_17.size(), 24u);
  EXPECT_EQ(from_17.front().sequence, 17u);
  ASSERT_TRUE(AppendSync(*j, TestRecords(41, 1)).ok());
}

// A record damaged on disk after Open (bit rot, a stray write) ends a read
// with DATA_LOSS; the records after it are not handed out as if the log
// simply went on, with a hole.
TEST(FileJournalTest, ARecordDamagedAfterOpenFailsTheReadInsteadOfSkippingAhead) {
  TestDir dir;
  auto j = OpenOrDie({.dir = dir.path(), .segment_bytes = 200});
  for (uint64_t s = 1; s <= 40; s += 4) ASSERT_TRUE(AppendSync(*j, TestRecords(s, 4)).ok());
  auto segments = ListSegments(PosixFileSystem(), dir.path());
  ASSERT_TRUE(segments.ok()) << segments.status();
  ASSERT_GT(segments->size(), 2u);
  const std::string first = segments->front().path;
  {
    std::fstream f(first, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(0, std::ios::end);
    const std::streamoff middle = f.tellg() / 2;
    f.seekg(middle);
    char byte = 0;
    f.read(&byte, 1);
    byte = static_cast<char>(byte ^ 0x5a);
    f.seekp(middle);
    f.write(&byte, 1);
  }
  std::vector<uint64_t> seen;
  absl::Status read = j->Read(1, [&](const Record& r) {
    seen.push_back(r.sequence);
    return absl::OkStatus();
  });
  EXPECT_EQ(read.code(), absl::StatusCode::kDataLoss) << read;
  EXPECT_THAT(read.message(), ::testing::HasSubstr("cannot be read"));
  ASSERT_FALSE(seen.empty());
  EXPECT_LT(seen.back(), (*segments)[1].first_sequence)
      << "records after the damage were handed out";
  for (size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i], i + 1) << "a hole in what was read";
}

// Retention: segments a snapshot covers are deleted oldest first, the one
// being written never; the log then starts later, reopens as such, refuses
// reads of what is gone, and still refuses a hole in what is left.
TEST(FileJournalTest, DroppingCoveredSegmentsKeepsTheRestReadableAcrossReopen) {
  TestDir dir;
  std::vector<uint64_t> firsts;
  {
    auto j = OpenOrDie({.dir = dir.path(), .segment_bytes = 200});
    for (uint64_t s = 1; s <= 40; s += 4) ASSERT_TRUE(AppendSync(*j, TestRecords(s, 4)).ok());
    auto segments = ListSegments(PosixFileSystem(), dir.path());
    ASSERT_TRUE(segments.ok());
    for (const SegmentFile& f : *segments) firsts.push_back(f.first_sequence);
    ASSERT_GE(firsts.size(), 4u);
    // A snapshot covers up to the middle of the third segment: the first two go.
    const uint64_t covered = firsts[2] + 1;
    absl::StatusOr<int> dropped = j->DropSegmentsThrough(covered);
    ASSERT_TRUE(dropped.ok()) << dropped.status();
    EXPECT_EQ(*dropped, 2);
    EXPECT_EQ(j->first_sequence(), firsts[2]);
    // Dropping again, or through everything, never touches the live segment.
    ASSERT_TRUE(j->DropSegmentsThrough(covered).ok());
    ASSERT_TRUE(j->DropSegmentsThrough(1000).ok());
    EXPECT_EQ(j->first_sequence(), firsts.back());
    ASSERT_TRUE(AppendSync(*j, TestRecords(41, 1)).ok());
  }
  RecoveryReport report;
  auto j = OpenOrDie({.dir = dir.path(), .segment_bytes = 200}, &report);
  EXPECT_EQ(report.first_sequence, firsts.back());
  EXPECT_EQ(report.last_sequence, 41u);
  EXPECT_EQ(j->first_sequence(), firsts.back());
  std::vector<Record> rest = ReadAll(*j, firsts.back());
  ASSERT_EQ(rest.size(), 41 - firsts.back() + 1);
  EXPECT_EQ(rest.front().sequence, firsts.back());
  absl::Status gone = j->Read(1, [](const Record&) { return absl::OkStatus(); });
  EXPECT_EQ(gone.code(), absl::StatusCode::kOutOfRange) << gone;
  EXPECT_THAT(std::string(gone.message()), ::testing::HasSubstr("dropped by retention"));
  ASSERT_TRUE(AppendSync(*j, TestRecords(42, 1)).ok());
}

// For every k, the k-th write or fsync fails: that batch and every later one
// is refused, nothing is acknowledged that a power cut would lose, and a
// restart sees exactly the acknowledged records.
TEST(FileJournalTest, AFailedWriteOrSyncPoisonsTheJournalAndNothingUnsyncedIsAcked) {
  for (FsOp op : {FsOp::kWrite, FsOp::kSync}) {
    for (int k = 1; k <= 6; ++k) {
      for (bool persistent : {false, true}) {
        SCOPED_TRACE(absl::StrCat("op ", static_cast<int>(op), " k ", k, " persistent ", persistent));
        TestDir dir;
        FaultInjectionFileSystem fs;
        uint64_t acked = 0;
        {
          auto j = OpenOrDie({.dir = dir.path(), .fs = &fs, .segment_bytes = 150});
          fs.FailNth(op, k, persistent);
          bool failed = false;
          for (uint64_t s = 1; s <= 30; s += 3) {
            absl::Status st = AppendSync(*j, TestRecords(s, 3));
            if (st.ok()) {
              EXPECT_FALSE(failed) << "acknowledged after a failure";
              acked = s + 2;
            } else {
              failed = true;
              EXPECT_THAT(std::string(st.message()), ::testing::HasSubstr("injected"));
              EXPECT_FALSE(j->status().ok());
            }
          }
          EXPECT_TRUE(failed);
        }
        fs.DropUnsyncedData();  // Power cut.
        fs.ClearFaults();
        RecoveryReport report;
        auto j = OpenOrDie({.dir = dir.path(), .fs = &fs}, &report);
        // Exactly the acknowledged records survive the power cut.
        EXPECT_EQ(report.last_sequence, acked);
      }
    }
  }
}

TEST(FileJournalTest, AFullDiskFailsTheAppendAndRecoveryCutsThePartialRecord) {
  TestDir dir;
  FaultInjectionFileSystem fs;
  uint64_t acked = 0;
  {
    // Full before the segment is made: it gets no zeros ahead beyond
    // these 300 bytes, so appends soon have to grow the file.
    fs.FillDiskAfter(300);
    auto j = OpenOrDie({.dir = dir.path(), .fs = &fs});
    for (uint64_t s = 1; s <= 50; ++s) {
      absl::Status st = AppendSync(*j, TestRecords(s, 1));
      if (!st.ok()) {
        EXPECT_EQ(st.code(), absl::StatusCode::kResourceExhausted);
        break;
      }
      acked = s;
    }
  }
  ASSERT_GT(acked, 0u);
  fs.ClearFaults();
  RecoveryReport report;
  auto j = OpenOrDie({.dir = dir.path(), .fs = &fs}, &report);
  EXPECT_EQ(report.last_sequence, acked);
  EXPECT_EQ(report.notes.size(), 1u);  // The partial record was cut off.
}

// Writing zeros ahead takes space before appends need it; a disk too full
// for them is no reason to refuse appends while zeros already written are
// left. The journal says so in its log, then fails as appends do.
TEST(FileJournalTest, AFullDiskLeavesTheZerosAheadToAppendsBeforeItFails) {
  TestDir dir;
  FaultInjectionFileSystem fs;
  std::vector<std::string> log;
  // A new segment gets this many zeros ahead (its whole size, being small);
  // more are wanted once half of them are used, and the disk has no room.
  constexpr uint64_t kSegment = 8192;
  uint64_t acked = 0;
  absl::Status failed;
  {
    auto j = OpenOrDie({.dir = dir.path(),
                        .fs = &fs,
                        .segment_bytes = kSegment,
                        .log = [&log](const std::string& line) { log.push_back(line); }});
    fs.FillDiskAfter(0);
    for (uint64_t s = 1; s <= 10'000 && failed.ok(); ++s) {
      failed = AppendSync(*j, TestRecords(s, 1));
      if (failed.ok()) acked = s;
    }
  }
  EXPECT_EQ(failed.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(log, ::testing::Contains(::testing::HasSubstr("the disk is full")));
  fs.ClearFaults();
  RecoveryReport report;
  auto j = OpenOrDie({.dir = dir.path(), .fs = &fs}, &report);
  EXPECT_EQ(report.last_sequence, acked);
  // The appends went on to the segment's end (where the roll to a new
  // segment failed), not only through the first half of the zeros.
  SegmentScan scan;
  const std::string bytes = *PosixFileSystem()->ReadFile(JoinPath(dir.path(), SegmentFileName(1)));
  ASSERT_TRUE(ScanSegment(bytes, nullptr, &scan).ok());
  EXPECT_GE(scan.end_offset, kSegment);
  EXPECT_EQ(scan.last_sequence, acked);
}

TEST(FileJournalTest, AFailedSegmentRollPoisonsTheJournal) {
  for (FsOp op : {FsOp::kOpen, FsOp::kSyncDir}) {
    TestDir dir;
    FaultInjectionFileSystem fs;
    auto j = OpenOrDie({.dir = dir.path(), .fs = &fs, .segment_bytes = 100});
    fs.FailNth(op, 1, false);
    absl::Status st;
    for (uint64_t s = 1; s <= 20 && st.ok(); s += 2) st = AppendSync(*j, TestRecords(s, 2));
    EXPECT_FALSE(st.ok());
    EXPECT_FALSE(j->status().ok());
    EXPECT_FALSE(AppendSync(*j, TestRecords(j->next_sequence(), 1)).ok());
  }
}

}  // namespace
}  // namespace dispatchd::journal
