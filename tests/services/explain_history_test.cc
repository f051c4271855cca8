// ExplainAssignment over a journal damaged on disk after start-up: the
// dispatcher still gets the decision and the current state, with a history
// line saying what could not be read, instead of an error for the whole
// call; and nothing else changes. Also right after a start, while the
// replayed events are still being indexed: the history says it may be
// short, until it is whole.
#include <cstdint>
#include <fstream>
#include <string>

#include "journal/file_journal.h"
#include "journal/file_system.h"
#include "journal/record_format.h"
#include "journal/segment_reader.h"
#include "services/journal_event_log.h"
#include "services/memory_event_log.h"
#include "tests/journal/test_dir.h"
#include "tests/services/held_history_log.h"
#include "tests/services/test_server.h"

namespace dispatchd::services::testing {
namespace {

class ExplainHistoryTest : public ServerTest {
 protected:
  void SetUp() override {
    // Small segments, so the request's events sit in a closed segment; a
    // one-event tail, so its history is read from the files.
    absl::StatusOr<std::unique_ptr<journal::FileJournal>> j =
        journal::FileJournal::Open({.dir = dir_.path(), .segment_bytes = 1024}, nullptr);
    ASSERT_TRUE(j.ok()) << j.status();
    ServerOptions options;
    options.log = std::make_unique<JournalEventLog>(*std::move(j), /*tail_capacity=*/1);
    StartServer(std::move(options));
  }

  // Flips a payload byte of the record with `sequence` in the segment
  // files; false if no such record was found.
  bool DamageRecord(uint64_t sequence) {
    absl::StatusOr<std::vector<journal::SegmentFile>> segments =
        journal::ListSegments(journal::PosixFileSystem(), dir_.path());
    if (!segments.ok()) return false;
    for (const journal::SegmentFile& seg : *segments) {
      std::fstream f(seg.path, std::ios::in | std::ios::out | std::ios::binary);
      std::streamoff at = journal::kSegmentHeaderSize;
      for (;;) {
        char header[journal::kRecordHeaderSize];
        f.seekg(at);
        if (!f.read(header, sizeof(header))) break;
        const journal::RecordHeader h = journal::DecodeRecordHeader(header);
        const uint32_t length = h.length;
        if (h.sequence == sequence && length > 0) {
          const std::streamoff byte_at = at + journal::kRecordHeaderSize + length / 2;
          char byte = 0;
          f.seekg(byte_at);
          f.read(&byte, 1);
          byte = static_cast<char>(byte ^ 0x5a);
          f.seekp(byte_at);
          f.write(&byte, 1);
          return static_cast<bool>(f);
        }
        at += journal::kRecordHeaderSize + static_cast<std::streamoff>(length);
      }
    }
    return false;
  }

  dispatchd::testing::TestDir dir_;
};

TEST_F(ExplainHistoryTest, ADamagedRecordCostsTheHistoryNotTheExplanation) {
  SetUpCampus();
  const uint64_t submitted_at = server_->runner().last_sequence() + 1;
  v1::Request r = Submit(LightRequest("explain-me"));
  ASSERT_EQ(r.state(), v1::REQUEST_STATE_OFFERED);
  // Later work rolls the journal on to newer segments.
  for (int i = 0; i < 20; ++i) Submit(LightRequest(absl::StrCat("later-", i)));

  v1::ExplainAssignmentRequest req;
  req.set_request_id(r.request_id());
  v1::ExplainAssignmentResponse whole;
  ASSERT_TRUE(
      Call(console_.get(), &v1::ConsoleService::Stub::ExplainAssignment, req, &whole).ok());
  ASSERT_GE(whole.history_size(), 2) << whole.DebugString();

  ASSERT_TRUE(DamageRecord(submitted_at)) << "no record " << submitted_at << " on disk";
  v1::ExplainAssignmentResponse damaged;
  grpc::Status st =
      Call(console_.get(), &v1::ConsoleService::Stub::ExplainAssignment, req, &damaged);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(damaged.request_id(), r.request_id());
  EXPECT_EQ(damaged.state(), v1::REQUEST_STATE_OFFERED);
  EXPECT_EQ(damaged.technician_id(), r.technician_id());
  EXPECT_EQ(damaged.decision().SerializeAsString(), whole.decision().SerializeAsString());
  ASSERT_EQ(damaged.history_size(), 1) << damaged.DebugString();
  EXPECT_THAT(damaged.history(0), ::testing::HasSubstr("history unreadable"));
  EXPECT_THAT(damaged.history(0), ::testing::HasSubstr("DATA_LOSS"));

  // The daemon still works, and the damage changed nothing it holds.
  EXPECT_EQ(GetRequest(r.request_id()).state(), v1::REQUEST_STATE_OFFERED);
  EXPECT_EQ(Submit(LightRequest("after-damage")).state(), v1::REQUEST_STATE_QUEUED);
}


class ExplainWhileIndexingTest : public ServerTest {
 protected:
  void SetUp() override {}  // The test starts its own servers.

  // Starts a server on `memory` whose history indexing waits for Release.
  HeldHistoryLog* StartHeld(MemoryEventLog* memory) {
    auto log = std::make_unique<HeldHistoryLog>(memory);
    HeldHistoryLog* held = log.get();
    ServerOptions options;
    options.log = std::move(log);
    StartServer(std::move(options));
    return held;
  }
};

TEST_F(ExplainWhileIndexingTest, TheHistorySaysItMayBeShortUntilTheStartHasIndexedIt) {
  MemoryEventLog memory;
  StartHeld(&memory)->Release();  // Nothing logged yet: nothing to index.
  SetUpCampus();
  const v1::Request r = Submit(LightRequest("explain-after-start"));
  const std::vector<std::string> before = HistoryOf(r.request_id());
  ASSERT_GE(before.size(), 2u) << "submitted and offered";
  server_->Shutdown(absl::Seconds(2));

  HeldHistoryLog* held = StartHeld(&memory);
  const std::vector<std::string> during = HistoryOf(r.request_id());
  ASSERT_EQ(during.size(), 1u);
  EXPECT_THAT(during[0], ::testing::HasSubstr(absl::StrCat(
                             "events up to #", memory.durable_sequence(),
                             ", logged before this start, are still being indexed")));
  EXPECT_EQ(GetRequest(r.request_id()).state(), v1::REQUEST_STATE_OFFERED);  // Served.

  held->Release();
  std::vector<std::string> after = HistoryOf(r.request_id());
  for (int i = 0; i < 200 && after != before; ++i) {
    absl::SleepFor(absl::Milliseconds(10));
    after = HistoryOf(r.request_id());
  }
  EXPECT_EQ(after, before);
}
}  // namespace
}  // namespace dispatchd::services::testing
