// Snapshots: taken off the engine thread by a follower, loaded at start so
// only the tail is replayed, and never loaded when damaged (the previous
// one plus the journal gives the same state).
#include <filesystem>
#include <fstream>

#include <thread>

#include "journal/file_journal.h"
#include "journal/record_format.h"
#include "journal/segment_reader.h"
#include "services/journal_event_log.h"
#include "services/memory_event_log.h"
#include "services/snapshot_feed.h"
#include "services/snapshot_store.h"
#include "services/snapshotter.h"
#include "tests/journal/test_dir.h"
#include "tests/services/test_server.h"

namespace dispatchd::services::testing {
namespace {

// `file` (a snapshot) with its payload replaced by `payload` and the
// header's length and both checksums made to match (docs/journal_format.md).
std::string Reframe(const std::string& file, const std::string& payload) {
  std::string header = file.substr(0, 32);
  auto put = [&header](size_t at, uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) header[at + i] = static_cast<char>(v >> (8 * i));
  };
  put(16, payload.size(), 8);
  put(24, journal::Crc32c(payload), 4);
  put(28, journal::Crc32c(std::string_view(header).substr(0, 28)), 4);
  return header + payload;
}

class SnapshotTest : public ServerTest {
 protected:
  void SetUp() override { Restart(/*from_snapshot=*/true); }

  // Restarts on the journal in dir_, from the newest snapshot if asked,
  // with a follower taking snapshots on demand.
  void Restart(bool from_snapshot) {
    // As dispatchd stops: no more batches, then the follower (which may
    // still be catching up from the server's log), then the log.
    if (server_ != nullptr) server_->Shutdown(absl::Seconds(2));
    snapshotter_.reset();
    server_.reset();
    auto j = journal::FileJournal::Open(
        {.dir = dir_.path() + "/journal", .segment_bytes = segment_bytes_}, nullptr);
    ASSERT_TRUE(j.ok()) << j.status();
    journal::FileJournal* journal = j->get();
    auto log = std::make_unique<JournalEventLog>(*std::move(j), tail_capacity_);
    loaded_.reset();
    SnapshotterOptions snap{.every_events = 0, .every = absl::ZeroDuration()};
    if (drop_covered_) {  // As dispatchd --drop_covered_segments does.
      snap.after_snapshot = [journal](uint64_t covered) {
        ASSERT_TRUE(journal->DropSegmentsThrough(covered).ok());
      };
    }
    snapshotter_ = std::make_unique<Snapshotter>(&store_, std::move(snap));
    // As dispatchd does: the follower loads the same snapshot, if any, and
    // catches up from the journal on its own thread.
    const EventLog* event_log = log.get();
    uint64_t through = 0;
    ServerOptions options;
    options.log = std::move(log);
    // As dispatchd does: the newest snapshot is decoded on a second thread
    // and loaded in parts meanwhile (runs of two requests here).
    std::shared_ptr<SnapshotFeed> feed;
    std::thread reader;
    if (from_snapshot) {
      feed = std::make_shared<SnapshotFeed>(2);
      reader = std::thread([this, feed] { store_.FeedNewest(feed.get(), 2); });
      options.snapshot_feed = feed;
    }
    options.on_recovered = [&through](const engine::Engine& e) { through = e.last_sequence(); };
    options.on_batch = [follower = snapshotter_.get()](const EventBatch& b) {
      follower->Follow(b);
    };
    StartServer(std::move(options));
    if (feed != nullptr) {
      feed->Close();
      reader.join();
      if (!feed->loaded_path().empty()) {
        absl::StatusOr<LoadedSnapshot> loaded = store_.Load(feed->loaded_path());
        ASSERT_TRUE(loaded.ok()) << loaded.status();
        loaded_ = *std::move(loaded);
      }
    }
    snapshotter_->PrimeFrom(loaded_ ? loaded_->path : "", event_log, through);
    snapshotter_->Start();
  }

  v1::GetStateDigestResponse Digest() {
    v1::GetStateDigestResponse resp;
    EXPECT_TRUE(Call(admin_.get(), &v1::AdminService::Stub::GetStateDigest,
                     v1::GetStateDigestRequest(), &resp)
                    .ok());
    return resp;
  }

  // Has the follower snapshot now, restarts from that snapshot and expects
  // the live state back with nothing left to replay: the follower's state
  // was the live one.
  void ExpectTheFollowersSnapshotIsTheLiveState() {
    ASSERT_TRUE(snapshotter_->SnapshotNow().ok());
    const v1::GetStateDigestResponse before = Digest();
    Restart(/*from_snapshot=*/true);
    ASSERT_TRUE(loaded_.has_value());
    EXPECT_EQ(loaded_->last_sequence, before.last_sequence());
    EXPECT_EQ(server_->recovered_events(), 0u);
    EXPECT_EQ(Digest().digest(), before.digest());
  }

  // Segments in dir_/journal, oldest first.
  std::vector<journal::SegmentFile> Segments() {
    auto found = journal::ListSegments(journal::PosixFileSystem(), dir_.path() + "/journal");
    EXPECT_TRUE(found.ok());
    return found.ok() ? *found : std::vector<journal::SegmentFile>();
  }

  dispatchd::testing::TestDir dir_;
  uint64_t segment_bytes_ = 64u << 20;
  size_t tail_capacity_ = 65536;  // Newest events the log keeps in memory.
  bool drop_covered_ = false;
  SnapshotStore store_{dir_.path() + "/snapshots", journal::PosixFileSystem(), 2};
  std::optional<LoadedSnapshot> loaded_;
  std::unique_ptr<Snapshotter> snapshotter_;
};

TEST_F(SnapshotTest, ARestartFromASnapshotReplaysOnlyTheTailAndReachesTheSameState) {
  SetUpCampus();
  Submit(LightRequest("a"));
  Submit(LightRequest("b"));
  ASSERT_TRUE(snapshotter_->SnapshotNow().ok());
  Submit(LightRequest("c"));
  const v1::GetStateDigestResponse before = Digest();

  Restart(/*from_snapshot=*/true);
  ASSERT_TRUE(loaded_.has_value());
  EXPECT_LT(server_->recovered_events(), before.last_sequence());
  EXPECT_EQ(server_->recovered_events(), before.last_sequence() - loaded_->last_sequence);
  EXPECT_EQ(Digest().digest(), before.digest());

  Restart(/*from_snapshot=*/false);  // A full replay agrees.
  EXPECT_EQ(server_->recovered_events(), before.last_sequence());
  EXPECT_EQ(Digest().digest(), before.digest());
}

// After a start from a snapshot the follower is primed on its own thread
// from that snapshot plus the journal's tail, not from the live engine: its
// next snapshot must still be the live state, tail included.
TEST_F(SnapshotTest, AFollowerPrimedFromASnapshotCatchesUpThroughTheTail) {
  SetUpCampus();
  Submit(LightRequest("a"));
  ASSERT_TRUE(snapshotter_->SnapshotNow().ok());
  Submit(LightRequest("b"));  // The tail: replayed, not in the snapshot.
  Submit(LightRequest("c"));

  Restart(/*from_snapshot=*/true);
  ASSERT_TRUE(loaded_.has_value());
  ASSERT_GT(server_->recovered_events(), 0u);
  Submit(LightRequest("d"));  // Followed live, after the catch-up.
  ExpectTheFollowersSnapshotIsTheLiveState();
}

// After a start without a snapshot the follower replays the journal itself,
// in the background, and then snapshots the same state as the live engine.
TEST_F(SnapshotTest, AFollowerPrimedFromTheJournalAloneCatchesUp) {
  SetUpCampus();
  Submit(LightRequest("a"));
  Submit(LightRequest("b"));

  Restart(/*from_snapshot=*/false);
  ASSERT_FALSE(loaded_.has_value());
  ASSERT_GT(server_->recovered_events(), 0u);
  Submit(LightRequest("c"));  // Followed live, after the catch-up.
  ExpectTheFollowersSnapshotIsTheLiveState();
}

// A start replays the log (or loads a snapshot) and indexes the history
// in the background, so a request's history in ExplainAssignment is whole
// once that is done, and until then it says that it may not be.
TEST_F(SnapshotTest, ExplainShowsTheWholeHistoryOnceAStartHasIndexedIt) {
  SetUpCampus();
  const v1::Request a = Submit(LightRequest("a"));
  const std::vector<std::string> before = HistoryOf(a.request_id());
  ASSERT_GE(before.size(), 2u);  // Submitted and offered.
  ASSERT_TRUE(snapshotter_->SnapshotNow().ok());

  for (const bool from_snapshot : {true, false}) {
    SCOPED_TRACE(from_snapshot ? "from a snapshot" : "full replay");
    Restart(from_snapshot);
    ASSERT_EQ(loaded_.has_value(), from_snapshot);
    std::vector<std::string> after = HistoryOf(a.request_id());
    for (int i = 0; i < 200 && after != before; ++i) {
      ASSERT_FALSE(after.empty());
      EXPECT_THAT(after.front(), ::testing::HasSubstr("still being indexed"));
      absl::SleepFor(absl::Milliseconds(10));
      after = HistoryOf(a.request_id());
    }
    EXPECT_EQ(after, before);
  }
}

TEST_F(SnapshotTest, ADamagedNewestSnapshotIsSkippedForThePreviousOne) {
  SetUpCampus();
  Submit(LightRequest("a"));
  ASSERT_TRUE(snapshotter_->SnapshotNow().ok());
  Submit(LightRequest("b"));
  ASSERT_TRUE(snapshotter_->SnapshotNow().ok());
  const v1::GetStateDigestResponse before = Digest();
  absl::StatusOr<std::vector<std::string>> files = store_.List();
  ASSERT_TRUE(files.ok());
  ASSERT_EQ(files->size(), 2u);

  const std::string verify = std::string(DISPATCH_JOURNAL_BINARY) + " verify " + dir_.path() +
                             " >/dev/null 2>&1";
  EXPECT_EQ(std::system(verify.c_str()), 0);  // Both snapshots match the journal.

  const std::string good = *journal::PosixFileSystem()->ReadFile((*files)[0]);
  for (int damage = 0; damage < 3; ++damage) {
    std::string bytes = good;
    std::filesystem::remove((*files)[0]);
    if (damage == 0) bytes[bytes.size() - 3] ^= 0x10;  // A flipped bit in the payload.
    if (damage == 1) bytes.resize(bytes.size() / 2);    // Half written.
    // Checksums that match an image cut short at its end: only decoding
    // finds it, after the head and every request went to the engine, which
    // must then drop them and load the previous snapshot instead.
    if (damage == 2) bytes = Reframe(bytes, bytes.substr(32, bytes.size() - 32 - 3));
    auto f = journal::PosixFileSystem()->NewWritableFile((*files)[0]);
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->Append(bytes).ok());
    ASSERT_TRUE((*f)->Close().ok());
    EXPECT_FALSE(store_.Load((*files)[0]).ok());
    EXPECT_NE(std::system(verify.c_str()), 0);  // The tool names the damage.

    Restart(/*from_snapshot=*/true);
    ASSERT_TRUE(loaded_.has_value());
    EXPECT_EQ(loaded_->path, (*files)[1]);
    EXPECT_EQ(Digest().digest(), before.digest());
  }
}

TEST_F(SnapshotTest, ASnapshotAheadOfItsJournalRefusesToStart) {
  SetUpCampus();
  ASSERT_TRUE(snapshotter_->SnapshotNow().ok());
  server_->Shutdown(absl::Seconds(2));
  server_.reset();
  snapshotter_.reset();
  std::filesystem::remove_all(dir_.path() + "/journal");  // A journal that is not its own.
  auto j = journal::FileJournal::Open({.dir = dir_.path() + "/journal"}, nullptr);
  ASSERT_TRUE(j.ok());
  absl::StatusOr<std::optional<LoadedSnapshot>> newest = store_.LoadNewest();
  ASSERT_TRUE(newest.ok() && newest->has_value());
  ServerOptions options;
  options.listen_address = "127.0.0.1:0";
  options.log = std::make_unique<JournalEventLog>(*std::move(j));
  options.snapshot = std::move((*newest)->image);
  absl::StatusOr<std::unique_ptr<Server>> refused = Server::Start(std::move(options));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(refused.status().message()), ::testing::HasSubstr("snapshot"));

  // The same when the snapshot comes in parts, as dispatchd loads it; the
  // reader is told to stop and ends.
  auto again = journal::FileJournal::Open({.dir = dir_.path() + "/journal"}, nullptr);
  ASSERT_TRUE(again.ok());
  auto feed = std::make_shared<SnapshotFeed>(1);
  std::thread reader([this, feed] { store_.FeedNewest(feed.get(), 1); });
  ServerOptions fed;
  fed.listen_address = "127.0.0.1:0";
  fed.log = std::make_unique<JournalEventLog>(*std::move(again));
  fed.snapshot_feed = feed;
  refused = Server::Start(std::move(fed));
  reader.join();
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(refused.status().message()),
              ::testing::HasSubstr("the snapshot includes events up to"));
}

// Retention: with small segments and dropping on, each snapshot deletes the
// segments the oldest kept snapshot covers. A restart from the snapshots
// still reaches the same state; without a snapshot covering the gap the
// daemon refuses to start and says which events are missing.
TEST_F(SnapshotTest, DroppedSegmentsAreCoveredByAKeptSnapshotAndOtherwiseRefused) {
  segment_bytes_ = 1024;
  drop_covered_ = true;
  tail_capacity_ = 8;  // So that old events are read from the files.
  Restart(/*from_snapshot=*/true);
  SetUpCampus();
  const v1::Request first = Submit(LightRequest("early"));
  for (int i = 0; i < 11; ++i) Submit(LightRequest(absl::StrCat("early-", i)));
  ASSERT_GE(Segments().size(), 3u);
  // After each snapshot, the segments the oldest kept snapshot covers are gone
  // and the log starts no later than the event after it.
  std::vector<journal::SegmentFile> left;
  for (const char* batch : {"late", "later", "latest"}) {
    ASSERT_TRUE(snapshotter_->SnapshotNow().ok());
    absl::StatusOr<uint64_t> covered = store_.OldestSequence();
    ASSERT_TRUE(covered.ok());
    left = Segments();
    ASSERT_FALSE(left.empty());
    EXPECT_GT(left.front().first_sequence, 1u) << batch;
    EXPECT_LE(left.front().first_sequence, *covered + 1) << batch;
    if (left.size() > 1) {
      EXPECT_GT(left[1].first_sequence, *covered + 1) << batch;
    }
    for (int i = 0; i < 12; ++i) Submit(LightRequest(absl::StrCat(batch, "-", i)));
  }
  const v1::GetStateDigestResponse before = Digest();
  // Explain still answers for a request whose first events left with the
  // dropped segments, and says so in its history.
  auto explain_first = [&] {
    v1::ExplainAssignmentRequest req;
    req.set_request_id(first.request_id());
    v1::ExplainAssignmentResponse resp;
    const grpc::Status st =
        Call(console_.get(), &v1::ConsoleService::Stub::ExplainAssignment, req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp;
  };
  const v1::ExplainAssignmentResponse early = explain_first();
  ASSERT_GE(early.history_size(), 1);
  EXPECT_THAT(early.history(0), ::testing::HasSubstr("dropped by journal retention"));
  EXPECT_EQ(early.request_id(), first.request_id());

  Restart(/*from_snapshot=*/true);
  EXPECT_EQ(Digest().digest(), before.digest());
  EXPECT_EQ(GetRequest(first.request_id()).idempotency_key(), "early");  // From the snapshot.
  EXPECT_EQ(explain_first().request_id(), first.request_id());

  // The journal tool starts from the snapshot that covers the dropped part.
  const std::string verify = std::string(DISPATCH_JOURNAL_BINARY) + " verify " + dir_.path() +
                             " >/dev/null 2>&1";
  EXPECT_EQ(std::system(verify.c_str()), 0);

  // Without the snapshots the journal alone cannot rebuild the state.
  std::filesystem::remove_all(dir_.path() + "/snapshots");
  EXPECT_NE(std::system(verify.c_str()), 0);
  server_->Shutdown(absl::Seconds(2));
  server_.reset();
  snapshotter_.reset();
  auto j = journal::FileJournal::Open({.dir = dir_.path() + "/journal"}, nullptr);
  ASSERT_TRUE(j.ok()) << j.status();
  ServerOptions options;
  options.listen_address = "127.0.0.1:0";
  options.log = std::make_unique<JournalEventLog>(*std::move(j));
  absl::StatusOr<std::unique_ptr<Server>> refused = Server::Start(std::move(options));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(refused.status().message()),
              ::testing::HasSubstr(absl::StrCat("events 1 to ", left.front().first_sequence - 1,
                                                " are missing")));
}

// A follower whose state left the live one's (an event it cannot apply)
// takes no more snapshots: asking for one says why instead of writing a
// snapshot of the wrong state.
TEST(SnapshotterTest, AFollowerThatStoppedRefusesToSnapshotAndWritesNothing) {
  dispatchd::testing::TestDir dir;
  SnapshotStore store(dir.path() + "/snapshots", journal::PosixFileSystem(), 2);
  std::vector<std::string> logged;
  absl::Mutex log_mu;
  SnapshotterOptions options;
  options.every_events = 0;
  options.every = absl::ZeroDuration();
  options.log = [&](const std::string& line) {
    absl::MutexLock lock(&log_mu);
    logged.push_back(line);
  };
  Snapshotter snapshotter(&store, options);
  snapshotter.Start();
  v1::Event bad;  // Cancels a request the follower never saw.
  bad.set_sequence(1);
  bad.mutable_request_cancelled()->set_request_id("R-000001");
  snapshotter.Follow(std::make_shared<const std::vector<v1::Event>>(1, bad));

  const absl::Status taken = snapshotter.SnapshotNow();
  EXPECT_EQ(taken.code(), absl::StatusCode::kFailedPrecondition) << taken;
  EXPECT_THAT(std::string(taken.message()), ::testing::HasSubstr("follower has stopped"));
  absl::StatusOr<std::vector<std::string>> files = store.List();
  ASSERT_TRUE(files.ok()) << files.status();
  EXPECT_TRUE(files->empty());
  absl::MutexLock lock(&log_mu);
  ASSERT_EQ(logged.size(), 1u);
  EXPECT_THAT(logged[0], ::testing::HasSubstr("snapshot follower stopped"));
}

// A follower that cannot catch up from its snapshot (the log does not
// reach the sequence it was told to) takes no snapshots and says why.
TEST(SnapshotterTest, AFollowerThatCannotCatchUpRefusesToSnapshot) {
  dispatchd::testing::TestDir dir;
  SnapshotStore store(dir.path() + "/snapshots", journal::PosixFileSystem(), 2);
  SnapshotterOptions options;
  options.every_events = 0;
  options.every = absl::ZeroDuration();
  Snapshotter snapshotter(&store, options);
  MemoryEventLog empty;
  snapshotter.PrimeFrom("", &empty, /*through=*/5);
  snapshotter.Start();

  const absl::Status taken = snapshotter.SnapshotNow();
  EXPECT_EQ(taken.code(), absl::StatusCode::kFailedPrecondition) << taken;
  EXPECT_THAT(std::string(taken.message()), ::testing::HasSubstr("caught up to event 0"));
  absl::StatusOr<std::vector<std::string>> files = store.List();
  ASSERT_TRUE(files.ok()) << files.status();
  EXPECT_TRUE(files->empty());
}

// The follower reads the snapshot file itself once the daemon serves (the
// live engine took the decoded image's contents). A file damaged since
// then stops the follower, which names the file and takes no snapshots.
TEST(SnapshotterTest, AFollowerWhoseSnapshotFileWasDamagedRefusesToSnapshot) {
  dispatchd::testing::TestDir dir;
  SnapshotStore store(dir.path() + "/snapshots", journal::PosixFileSystem(), 2);
  engine::ManualClock clock;
  engine::Engine live(&clock);
  ASSERT_TRUE(live.Handle(engine::cmd::UpsertZone{{"north", "North", {}}}).ok());
  ASSERT_TRUE(store.Write(live.last_sequence(), live.ExportImage()).ok());
  absl::StatusOr<std::vector<std::string>> files = store.List();
  ASSERT_TRUE(files.ok() && files->size() == 1u) << files.status();
  const std::string path = files->front();
  {
    std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(-1, std::ios::end);
    file.put('\x5a');  // The last payload byte: the payload checksum fails.
  }
  SnapshotterOptions options;
  options.every_events = 0;
  options.every = absl::ZeroDuration();
  Snapshotter snapshotter(&store, options);
  MemoryEventLog empty;
  snapshotter.PrimeFrom(path, &empty, live.last_sequence());
  snapshotter.Start();

  const absl::Status taken = snapshotter.SnapshotNow();
  EXPECT_EQ(taken.code(), absl::StatusCode::kFailedPrecondition) << taken;
  EXPECT_THAT(std::string(taken.message()), ::testing::HasSubstr(path));
  EXPECT_THAT(std::string(taken.message()), ::testing::HasSubstr("checksum"));
  files = store.List();
  ASSERT_TRUE(files.ok()) << files.status();
  EXPECT_EQ(files->size(), 1u);  // Only the damaged one; no new snapshot.
}

// A follower loads its snapshot in parts as it decodes, and can be
// stopped between them: a stop leaves the engine as it was, and the same
// file loads whole afterwards, with the state that was written.
TEST(SnapshotterTest, ASnapshotLoadsInPartsAndAStopBetweenThemChangesNothing) {
  dispatchd::testing::TestDir dir;
  SnapshotStore store(dir.path() + "/snapshots", journal::PosixFileSystem(), 2);
  engine::ManualClock clock;
  engine::Engine live(&clock);
  ASSERT_TRUE(live.Handle(engine::cmd::UpsertZone{{"north", "North", {}}}).ok());
  for (int i = 0; i < 10; ++i) {
    engine::RequestSpec spec;
    spec.zone_id = "north";
    spec.location = absl::StrCat("Room ", i);
    spec.required_skills = {{"electrical", 1}};
    spec.estimated_minutes = 30;
    ASSERT_TRUE(live.Handle(engine::cmd::SubmitRequest{spec}).ok());
  }
  ASSERT_TRUE(store.Write(live.last_sequence(), live.ExportImage()).ok());
  absl::StatusOr<std::vector<std::string>> files = store.List();
  ASSERT_TRUE(files.ok() && files->size() == 1u) << files.status();

  engine::Engine follower(&clock);
  const std::string fresh = follower.Digest();
  int asked = 0;
  const absl::Status stopped =
      store.LoadInto(files->front(), follower, [&asked] { return ++asked == 2; }, /*run=*/3);
  EXPECT_EQ(stopped.code(), absl::StatusCode::kAborted) << stopped;
  EXPECT_EQ(asked, 2);  // Before the first run, then before the second.
  EXPECT_EQ(follower.Digest(), fresh);
  EXPECT_EQ(follower.last_sequence(), 0u);

  ASSERT_TRUE(store.LoadInto(files->front(), follower, [] { return false; }, /*run=*/3).ok());
  EXPECT_EQ(follower.Digest(), live.Digest());
  EXPECT_EQ(follower.last_sequence(), live.last_sequence());
}

}  // namespace
}  // namespace dispatchd::services::testing
