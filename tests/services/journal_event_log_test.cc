// JournalEventLog: events appended as shared batches read back the same
// from the in-memory tail and from the journal's files, and a batch the
// journal refused never shows up in a read.
#include <filesystem>
#include <fstream>
#include <future>
#include <iterator>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "journal/file_journal.h"
#include "services/journal_event_log.h"
#include "tests/journal/test_dir.h"

namespace dispatchd::services {
namespace {

namespace v1 = ::dispatch::v1;

v1::Event ZoneEventForLogTest(uint64_t sequence, const std::string& name) {
  v1::Event e;
  e.set_sequence(sequence);
  e.mutable_time()->set_seconds(1'700'000'000 + static_cast<int64_t>(sequence));
  e.mutable_zone_upserted()->mutable_zone()->set_zone_id(absl::StrCat("Z", sequence));
  e.mutable_zone_upserted()->mutable_zone()->set_name(name);
  return e;
}

EventBatch BatchForLogTest(uint64_t first, int n, const std::string& name) {
  auto batch = std::make_shared<std::vector<v1::Event>>();
  for (int i = 0; i < n; ++i) batch->push_back(ZoneEventForLogTest(first + i, name));
  return batch;
}

absl::Status AppendSharedSync(EventLog& log, EventBatch batch) {
  std::promise<absl::Status> p;
  log.AppendShared(std::move(batch), [&p](absl::Status st) { p.set_value(st); });
  return p.get_future().get();
}

std::unique_ptr<JournalEventLog> OpenLogForTest(const std::string& dir, size_t tail) {
  auto j = journal::FileJournal::Open({.dir = dir}, nullptr);
  EXPECT_TRUE(j.ok()) << j.status();
  if (!j.ok()) return nullptr;
  return std::make_unique<JournalEventLog>(*std::move(j), tail);
}

std::vector<std::string> Serialized(const std::vector<v1::Event>& events) {
  std::vector<std::string> out;
  for (const v1::Event& e : events) out.push_back(e.SerializeAsString());
  return out;
}

TEST(JournalEventLogTest, SharedBatchesReadBackTheSameFromTheTailAndFromTheFiles) {
  dispatchd::testing::TestDir dir;
  std::vector<v1::Event> expected;
  for (const EventBatch& b : {BatchForLogTest(1, 2, "a"), BatchForLogTest(3, 1, "b"),
                              BatchForLogTest(4, 3, "c")}) {
    expected.insert(expected.end(), b->begin(), b->end());
  }
  {
    // A tail of two events: the newest batch (three) is kept whole, the
    // older events come from the files.
    auto log = OpenLogForTest(dir.path(), 2);
    ASSERT_TRUE(AppendSharedSync(*log, BatchForLogTest(1, 2, "a")).ok());
    ASSERT_TRUE(AppendSharedSync(*log, BatchForLogTest(3, 1, "b")).ok());
    ASSERT_TRUE(AppendSharedSync(*log, BatchForLogTest(4, 3, "c")).ok());
    EXPECT_EQ(log->durable_sequence(), 6u);
    absl::StatusOr<std::vector<v1::Event>> all = log->Read(1, 100);
    ASSERT_TRUE(all.ok()) << all.status();
    EXPECT_EQ(Serialized(*all), Serialized(expected));
    absl::StatusOr<std::vector<v1::Event>> recent = log->Read(5, 1);
    ASSERT_TRUE(recent.ok());
    EXPECT_EQ(Serialized(*recent), Serialized({expected[4]}));
    absl::StatusOr<std::vector<v1::Event>> some = log->ReadSome({2, 5, 6});
    ASSERT_TRUE(some.ok());
    EXPECT_EQ(Serialized(*some), Serialized({expected[1], expected[4], expected[5]}));
  }
  auto reopened = OpenLogForTest(dir.path(), 2);
  absl::StatusOr<std::vector<v1::Event>> all = reopened->Read(1, 100);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(Serialized(*all), Serialized(expected));
}

TEST(JournalEventLogTest, ABatchTheJournalRefusedIsNeverRead) {
  dispatchd::testing::TestDir dir;
  auto log = OpenLogForTest(dir.path(), 100);
  ASSERT_TRUE(AppendSharedSync(*log, BatchForLogTest(1, 2, "kept")).ok());
  // A stale writer's batch at the same sequences is fenced off...
  EXPECT_EQ(AppendSharedSync(*log, BatchForLogTest(1, 2, "stale")).code(),
            absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(AppendSharedSync(*log, BatchForLogTest(3, 1, "kept")).ok());
  // ...and neither the tail nor the files hand it out.
  absl::StatusOr<std::vector<v1::Event>> all = log->Read(1, 100);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  for (const v1::Event& e : *all) EXPECT_EQ(e.zone_upserted().zone().name(), "kept");
}

// Scan: a long scan reads and parses on a second thread, a short one on the
// caller's; both hand every event once, in order, and stop where fn stops.
class JournalScanTest : public ::testing::Test {
 protected:
  static constexpr uint64_t kEvents = 10'000;

  void SetUp() override {
    auto log = OpenLogForTest(dir_.path(), 16);
    ASSERT_NE(log, nullptr);
    for (uint64_t first = 1; first <= kEvents; first += 100) {
      EventBatch batch = BatchForLogTest(first, 100, "scan");
      expected_.insert(expected_.end(), batch->begin(), batch->end());
      ASSERT_TRUE(AppendSharedSync(*log, std::move(batch)).ok());
    }
  }

  // The events a scan from `from` handed to fn (fn stops after `stop_at`
  // with CANCELLED), and what the scan returned.
  std::pair<std::vector<v1::Event>, absl::Status> ScanFrom(const JournalEventLog& log,
                                                           uint64_t from,
                                                           uint64_t stop_at = UINT64_MAX) {
    std::vector<v1::Event> seen;
    absl::Status status = log.Scan(from, [&](const v1::Event& e) -> absl::Status {
      seen.push_back(e);
      return e.sequence() == stop_at ? absl::CancelledError("enough") : absl::OkStatus();
    });
    return {std::move(seen), std::move(status)};
  }

  std::vector<v1::Event> Expected(uint64_t from, uint64_t through) const {
    return {expected_.begin() + static_cast<ptrdiff_t>(from - 1),
            expected_.begin() + static_cast<ptrdiff_t>(through)};
  }

  dispatchd::testing::TestDir dir_;
  std::vector<v1::Event> expected_;
};

TEST_F(JournalScanTest, EveryEventOnceInOrderAndNothingAfterFnStops) {
  auto log = OpenLogForTest(dir_.path(), 16);
  ASSERT_NE(log, nullptr);
  for (uint64_t from : {uint64_t{1}, uint64_t{4'000}, kEvents - 50, kEvents}) {
    auto [seen, status] = ScanFrom(*log, from);
    EXPECT_TRUE(status.ok()) << from << ": " << status;
    EXPECT_EQ(Serialized(seen), Serialized(Expected(from, kEvents))) << from;
  }
  // fn stops the scan: at the first event, inside a batch, at a batch's
  // last event, and near the end; its status is the scan's.
  for (uint64_t stop_at : {uint64_t{1}, uint64_t{130}, uint64_t{256}, kEvents - 1}) {
    auto [seen, status] = ScanFrom(*log, 1, stop_at);
    EXPECT_EQ(status.code(), absl::StatusCode::kCancelled) << stop_at;
    EXPECT_EQ(status.message(), "enough");
    EXPECT_EQ(Serialized(seen), Serialized(Expected(1, stop_at))) << stop_at;
  }
}

TEST_F(JournalScanTest, DamageSinceOpenEndsTheScanAfterTheEventsBeforeIt) {
  auto log = OpenLogForTest(dir_.path(), 16);
  ASSERT_NE(log, nullptr);
  // Flip a byte inside event 6,000's payload on disk, after Open checked it.
  constexpr uint64_t kDamaged = 6'000;
  const std::string payload = expected_[kDamaged - 1].SerializeAsString();
  bool damaged = false;
  for (const auto& entry : std::filesystem::directory_iterator(dir_.path())) {
    std::fstream file(entry.path(), std::ios::in | std::ios::out | std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(file)), {});
    const size_t at = bytes.find(payload);
    if (at == std::string::npos) continue;
    file.seekp(static_cast<std::streamoff>(at + payload.size() / 2));
    file.put(static_cast<char>(bytes[at + payload.size() / 2] ^ 0x40));
    damaged = true;
  }
  ASSERT_TRUE(damaged);
  // From 1 the scan runs on two threads; from 10 before the damage (under
  // 4,096 events before the end) on one.
  for (uint64_t from : {uint64_t{1}, kDamaged - 10}) {
    auto [seen, status] = ScanFrom(*log, from);
    EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << from << ": " << status;
    EXPECT_EQ(Serialized(seen), Serialized(Expected(from, kDamaged - 1))) << from;
  }
  // fn's own stop before the damage still wins.
  auto [seen, status] = ScanFrom(*log, 1, kDamaged - 3);
  EXPECT_EQ(status.code(), absl::StatusCode::kCancelled) << status;
  EXPECT_EQ(seen.size(), kDamaged - 3);
}

}  // namespace
}  // namespace dispatchd::services
