// JournalEventLog: events appended as shared batches read back the same
// from the in-memory tail and from the journal's files, and a batch the
// journal refused never shows up in a read.
#include <future>
#include <memory>
#include <string>
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

}  // namespace
}  // namespace dispatchd::services
