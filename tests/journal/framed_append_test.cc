// Appends of records framed by the caller (AppendFramed): the bytes on
// disk are those Append writes, and a batch whose framing does not hold
// together is refused without writing anything.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "journal/fault_injection_file_system.h"
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

// AppendFramedHere: alone, the caller writes and syncs the batch itself and
// its callback has run, durable, when the call returns; behind a batch
// being written it waits its turn like any append; a failed sync poisons
// the journal and acknowledges nothing.
TEST(FramedAppendTest, ALoneAppendHereIsDurableWhenItReturns) {
  TestDir dir;
  const std::vector<Record> all = TestRecords(1, 5);
  {
    auto j = OpenFramedOrDie(dir.path());
    ASSERT_NE(j, nullptr);
    for (auto [from, to] : {std::pair<int, int>{0, 3}, {3, 5}}) {
      std::optional<absl::Status> got;
      std::thread::id on;
      j->AppendFramedHere(FrameTestRecords({all.begin() + from, all.begin() + to}),
                          [&](absl::Status st) {
                            got = st;
                            on = std::this_thread::get_id();
                          });
      ASSERT_TRUE(got.has_value()) << "records to " << to << " not answered on return";
      EXPECT_TRUE(got->ok()) << *got;
      EXPECT_EQ(on, std::this_thread::get_id());
      EXPECT_EQ(j->durable_sequence(), static_cast<uint64_t>(to));
    }
  }
  auto reopened = OpenFramedOrDie(dir.path());
  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(ReadAll(*reopened), all);
}

TEST(FramedAppendTest, AnAppendHereWaitsBehindABatchBeingWritten) {
  TestDir dir;
  auto j = OpenFramedOrDie(dir.path());
  ASSERT_NE(j, nullptr);
  const std::vector<Record> all = TestRecords(1, 3);
  // The writer thread answers the first batch and is held in its callback,
  // so that batch is still being written when the second comes.
  absl::Notification answering;
  absl::Notification release;
  std::vector<int> order;
  std::mutex order_mu;
  j->AppendFramed(FrameTestRecords({all.begin(), all.begin() + 2}), [&](absl::Status st) {
    EXPECT_TRUE(st.ok()) << st;
    {
      std::lock_guard<std::mutex> lock(order_mu);
      order.push_back(1);
    }
    answering.Notify();
    release.WaitForNotification();
  });
  answering.WaitForNotification();
  std::promise<absl::Status> second;
  j->AppendFramedHere(FrameTestRecords({all.begin() + 2, all.end()}), [&](absl::Status st) {
    {
      std::lock_guard<std::mutex> lock(order_mu);
      order.push_back(2);
    }
    second.set_value(st);
  });
  std::future<absl::Status> second_done = second.get_future();
  EXPECT_EQ(second_done.wait_for(std::chrono::milliseconds(50)), std::future_status::timeout)
      << "written here while another batch was being written";
  release.Notify();
  EXPECT_TRUE(second_done.get().ok());
  EXPECT_EQ(j->durable_sequence(), 3u);
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
  EXPECT_EQ(ReadAll(*j), all);
}

TEST(FramedAppendTest, AnAppendHereWhoseSyncFailsPoisonsAndAcknowledgesNothing) {
  TestDir dir;
  FaultInjectionFileSystem fs;
  auto j = FileJournal::Open({.dir = dir.path(), .fs = &fs}, nullptr);
  ASSERT_TRUE(j.ok()) << j.status();
  fs.FailNth(FsOp::kSync, 1, /*persistent=*/false);
  std::optional<absl::Status> got;
  (*j)->AppendFramedHere(FrameTestRecords(TestRecords(1, 2)), [&](absl::Status st) { got = st; });
  ASSERT_TRUE(got.has_value());
  EXPECT_FALSE(got->ok());
  EXPECT_EQ((*j)->durable_sequence(), 0u);
  EXPECT_FALSE((*j)->status().ok());
  // Poisoned: the next append, here or queued, is refused with the cause.
  std::optional<absl::Status> next;
  (*j)->AppendFramedHere(FrameTestRecords(TestRecords(3, 1)), [&](absl::Status st) { next = st; });
  ASSERT_TRUE(next.has_value());
  EXPECT_FALSE(next->ok());
  EXPECT_THAT(std::string(next->message()), ::testing::HasSubstr("poisoned"));
}

}  // namespace
}  // namespace dispatchd::journal
