// Appends of records framed by the caller (AppendFramed): the bytes on
// disk are those Append writes, and a batch whose framing does not hold
// together is refused without writing anything.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <future>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "journal/file_journal.h"
#include "journal/record_format.h"
#include "tests/journal/journal_test_util.h"
#include "tests/journal/test_dir.h"

namespace dispatchd::journal {
namespace {

using ::dispatchd::testing::ReadAll;
using ::dispatchd::testing::TestDir;
using ::dispatchd::testing::TestRecords;

FramedBatch FrameTestRecords(const std::vector<Record>& records) {
  FramedBatch batch;
  batch.first_sequence = records.empty() ? 0 : records.front().sequence;
  batch.count = records.size();
  for (const Record& r : records) EncodeRecord(r.type, r.sequence, r.payload, &batch.bytes);
  return batch;
}

absl::Status AppendFramedSync(Journal& j, FramedBatch batch) {
  std::promise<absl::Status> p;
  j.AppendFramed(batch, [&p](absl::Status st) { p.set_value(st); });
  return p.get_future().get();
}

std::unique_ptr<FileJournal> OpenFramedOrDie(const std::string& dir) {
  auto j = FileJournal::Open({.dir = dir}, nullptr);
  EXPECT_TRUE(j.ok()) << j.status();
  return j.ok() ? std::move(*j) : nullptr;
}

TEST(FramedAppendTest, FrameRecordWritesTheBytesEncodeRecordWrites) {
  const std::string payload = "a serialized event";
  std::string encoded;
  EncodeRecord(RecordType::kEvent, 42, payload, &encoded);

  std::string in_place(kRecordHeaderSize + payload.size(), '\0');
  std::memcpy(in_place.data() + kRecordHeaderSize, payload.data(), payload.size());
  FrameRecord(RecordType::kEvent, 42, static_cast<uint32_t>(payload.size()), in_place.data());
  EXPECT_EQ(in_place, encoded);
}

TEST(FramedAppendTest, AFramedBatchIsReadBackAfterReopen) {
  TestDir dir;
  std::vector<Record> all = TestRecords(1, 5);
  {
    auto j = OpenFramedOrDie(dir.path());
    ASSERT_TRUE(AppendFramedSync(*j, FrameTestRecords({all.begin(), all.begin() + 3})).ok());
    std::promise<absl::Status> p;
    j->Append({all.begin() + 3, all.end()}, [&p](absl::Status st) { p.set_value(st); });
    ASSERT_TRUE(p.get_future().get().ok());
    EXPECT_EQ(j->durable_sequence(), 5u);
    EXPECT_EQ(ReadAll(*j), all);
  }
  auto reopened = OpenFramedOrDie(dir.path());
  EXPECT_EQ(ReadAll(*reopened), all);
}

TEST(FramedAppendTest, AFramedBatchThatDoesNotHoldTogetherIsRefusedAndNothingIsWritten) {
  TestDir dir;
  const std::vector<Record> good = TestRecords(1, 3);
  {
    auto j = OpenFramedOrDie(dir.path());
    FramedBatch short_count = FrameTestRecords(good);
    short_count.count = 4;  // Says four, holds three.
    FramedBatch trailing = FrameTestRecords(good);
    trailing.bytes += "junk";
    FramedBatch gap = FrameTestRecords({good[0], good[2]});  // Sequences 1, 3.
    FramedBatch cut = FrameTestRecords(good);
    cut.bytes.resize(cut.bytes.size() - 1);
    for (FramedBatch* bad : {&short_count, &trailing, &gap, &cut}) {
      absl::Status st = AppendFramedSync(*j, std::move(*bad));
      EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << st;
    }
    FramedBatch stale = FrameTestRecords(TestRecords(2, 1));
    EXPECT_EQ(AppendFramedSync(*j, std::move(stale)).code(),
              absl::StatusCode::kFailedPrecondition);
    EXPECT_EQ(j->next_sequence(), 1u);
    // Refusals do not poison: the right batch still goes in.
    ASSERT_TRUE(AppendFramedSync(*j, FrameTestRecords(good)).ok());
  }
  auto reopened = OpenFramedOrDie(dir.path());
  EXPECT_EQ(ReadAll(*reopened), good);
}

}  // namespace
}  // namespace dispatchd::journal
