// Snapshots: taken off the engine thread by a follower, loaded at start so
// only the tail is replayed, and never loaded when damaged (the previous
// one plus the journal gives the same state).
#include <filesystem>

#include "journal/file_journal.h"
#include "services/journal_event_log.h"
#include "services/snapshot_store.h"
#include "services/snapshotter.h"
#include "tests/journal/test_dir.h"
#include "tests/services/test_server.h"

namespace dispatchd::services::testing {
namespace {

class SnapshotTest : public ServerTest {
 protected:
  void SetUp() override { Restart(/*from_snapshot=*/true); }

  // Restarts on the journal in dir_, from the newest snapshot if asked,
  // with a follower taking snapshots on demand.
  void Restart(bool from_snapshot) {
    if (server_ != nullptr) server_->Shutdown(absl::Seconds(2));
    server_.reset();
    snapshotter_.reset();
    auto j = journal::FileJournal::Open({.dir = dir_.path() + "/journal"}, nullptr);
    ASSERT_TRUE(j.ok()) << j.status();
    auto log = std::make_unique<JournalEventLog>(*std::move(j));
    loaded_.reset();
    if (from_snapshot) {
      absl::StatusOr<std::optional<LoadedSnapshot>> newest = store_.LoadNewest();
      ASSERT_TRUE(newest.ok()) << newest.status();
      loaded_ = *std::move(newest);
    }
    snapshotter_ = std::make_unique<Snapshotter>(
        &store_, SnapshotterOptions{.every_events = 0, .every = absl::ZeroDuration()});
    ServerOptions options;
    options.log = std::move(log);
    if (loaded_) options.snapshot = &loaded_->image;
    options.on_recovered = [this](const engine::Engine& recovered) {
      ASSERT_TRUE(snapshotter_->Prime(recovered.ExportImage()).ok());
    };
    options.on_event = [s = snapshotter_.get()](const v1::Event& e) { s->Follow(e); };
    StartServer(std::move(options));
    snapshotter_->Start();
  }

  v1::GetStateDigestResponse Digest() {
    v1::GetStateDigestResponse resp;
    EXPECT_TRUE(Call(admin_.get(), &v1::AdminService::Stub::GetStateDigest,
                     v1::GetStateDigestRequest(), &resp)
                    .ok());
    return resp;
  }

  dispatchd::testing::TestDir dir_;
  SnapshotStore store_{dir_.path() + "/snapshots", journal::PosixFileSystem(), 3};
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

  for (int damage = 0; damage < 2; ++damage) {
    std::string bytes = *journal::PosixFileSystem()->ReadFile((*files)[0]);
    std::filesystem::remove((*files)[0]);
    if (damage == 0) bytes[bytes.size() - 3] ^= 0x10;  // A flipped bit in the payload.
    if (damage == 1) bytes.resize(bytes.size() / 2);    // Half written.
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
  options.snapshot = &(*newest)->image;
  absl::StatusOr<std::unique_ptr<Server>> refused = Server::Start(std::move(options));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(refused.status().message()), ::testing::HasSubstr("snapshot"));
}

}  // namespace
}  // namespace dispatchd::services::testing
