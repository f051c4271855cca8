// dispatchd over the file journal: what was acknowledged survives a
// restart exactly once, idempotency keys keep working across it, and a
// failing disk stops the daemon acknowledging anything (fail-stop).
#include <filesystem>

#include "journal/fault_injection_file_system.h"
#include "journal/file_journal.h"
#include "services/journal_event_log.h"
#include "services/snapshot_store.h"
#include "services/snapshotter.h"
#include "tests/journal/test_dir.h"
#include "tests/services/daemon_process.h"

namespace dispatchd::services::testing {
namespace {

class PersistenceTest : public ServerTest {
 protected:
  void SetUp() override { Restart(); }

  // (Re)starts the server on the journal in dir_, through fs_.
  void Restart() {
    if (server_ != nullptr) server_->Shutdown(absl::Seconds(2));
    server_.reset();
    absl::StatusOr<std::unique_ptr<journal::FileJournal>> j =
        journal::FileJournal::Open({.dir = dir_.path(), .fs = &fs_}, nullptr);
    ASSERT_TRUE(j.ok()) << j.status();
    ServerOptions options;
    options.log = std::make_unique<JournalEventLog>(*std::move(j));
    StartServer(std::move(options));
  }

  uint64_t LastSequence() { return server_->runner().last_sequence(); }

  dispatchd::testing::TestDir dir_;
  journal::FaultInjectionFileSystem fs_;
};

TEST_F(PersistenceTest, AcknowledgedWorkIsThereAfterARestart) {
  SetUpCampus();
  v1::Request submitted = Submit(LightRequest("key-1"));
  ASSERT_EQ(submitted.state(), v1::REQUEST_STATE_OFFERED);
  v1::AcceptAssignmentRequest accept;
  accept.set_technician_id(submitted.technician_id());
  accept.set_request_id(submitted.request_id());
  v1::AcceptAssignmentResponse accepted;
  ASSERT_TRUE(
      Call(technicians_.get(), &v1::TechnicianService::Stub::AcceptAssignment, accept, &accepted)
          .ok());
  const v1::Request before = GetRequest(submitted.request_id());
  const v1::GetBoardResponse board_before = Board();
  const uint64_t last = LastSequence();

  Restart();

  EXPECT_EQ(LastSequence(), last);
  EXPECT_EQ(GetRequest(submitted.request_id()).SerializeAsString(), before.SerializeAsString());
  EXPECT_EQ(Board().SerializeAsString(), board_before.SerializeAsString());
  EXPECT_EQ(GetTechnician(submitted.technician_id()).state(), v1::TECHNICIAN_STATE_ASSIGNED);
}

TEST_F(PersistenceTest, AnIdempotencyKeyAnswersTheSameAfterARestart) {
  SetUpCampus();
  v1::Request first = Submit(LightRequest("retry-me"));
  Restart();
  const uint64_t last = LastSequence();

  v1::Request again = Submit(LightRequest("retry-me"));
  EXPECT_EQ(again.request_id(), first.request_id());
  EXPECT_EQ(LastSequence(), last);  // Nothing new was recorded.

  v1::SubmitRequestRequest changed = LightRequest("retry-me");
  changed.set_location("Gym");
  v1::SubmitRequestResponse resp;
  EXPECT_THAT(Call(requests_.get(), &v1::RequestService::Stub::SubmitRequest, changed, &resp),
              StatusIs(grpc::StatusCode::ALREADY_EXISTS, "retry-me"));
}

TEST_F(PersistenceTest, AnAlertKeyOpensOneEmergencyAcrossARestart) {
  SetUpCampus();
  v1::RaiseAlertRequest alert;
  alert.set_dedupe_key("library/power/1");
  alert.set_source("bms-7");
  alert.set_kind("power_outage");
  alert.set_zone_id("north");
  v1::RaiseAlertResponse first;
  ASSERT_TRUE(Call(alerts_.get(), &v1::AlertService::Stub::RaiseAlert, alert, &first).ok());
  ASSERT_FALSE(first.duplicate());
  Restart();
  v1::RaiseAlertResponse again;
  ASSERT_TRUE(Call(alerts_.get(), &v1::AlertService::Stub::RaiseAlert, alert, &again).ok());
  EXPECT_TRUE(again.duplicate());
  EXPECT_EQ(again.request_id(), first.request_id());
}

TEST_F(PersistenceTest, AFailedFsyncStopsAcknowledgingAndTheRestartHasOnlyWhatWasAcked) {
  SetUpCampus();
  v1::Request kept = Submit(LightRequest("kept"));
  const uint64_t acked = LastSequence();
  fs_.FailNth(journal::FsOp::kSync, 1, /*persistent=*/true);

  v1::SubmitRequestResponse resp;
  grpc::Status st =
      Call(requests_.get(), &v1::RequestService::Stub::SubmitRequest, LightRequest("lost"), &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(st.error_message(), ::testing::HasSubstr("fsync"));
  // Later calls, reads included, are refused too: the daemon is fail-stop.
  v1::GetRequestRequest get;
  get.set_request_id(kept.request_id());
  v1::GetRequestResponse got;
  EXPECT_EQ(Call(requests_.get(), &v1::RequestService::Stub::GetRequest, get, &got).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_FALSE(HealthServing(channel_));

  fs_.DropUnsyncedData();  // The power cut after the failure.
  fs_.ClearFaults();
  Restart();
  EXPECT_EQ(LastSequence(), acked);
  EXPECT_EQ(GetRequest(kept.request_id()).idempotency_key(), "kept");
  v1::ListRequestsResponse all;
  ASSERT_TRUE(Call(requests_.get(), &v1::RequestService::Stub::ListRequests,
                   v1::ListRequestsRequest(), &all)
                  .ok());
  EXPECT_EQ(all.requests_size(), 1);
  EXPECT_TRUE(HealthServing(channel_));
}

// The daemon over a disk that fails: for every op and small k, the k-th
// write, fsync, open, rename or directory fsync fails, once or for good,
// while requests come in and a follower keeps taking snapshots (so renames
// and opens happen on both paths). After a power cut and a restart from the
// snapshots, exactly the acknowledged requests are there, once each, and the
// state equals a full replay of the journal.
class FaultMatrixTest : public ServerTest {
 protected:
  void SetUp() override {}

  void Start(bool from_snapshot) {
    Stop();
    auto j = journal::FileJournal::Open(
        {.dir = dir_->path() + "/journal", .fs = &fs_, .segment_bytes = 2048}, nullptr);
    ASSERT_TRUE(j.ok()) << j.status();
    loaded_.reset();
    if (from_snapshot) {
      auto newest = store_->LoadNewest();
      ASSERT_TRUE(newest.ok()) << newest.status();
      loaded_ = *std::move(newest);
    }
    snapshotter_ = std::make_unique<Snapshotter>(
        store_.get(), SnapshotterOptions{.every_events = 4, .every = absl::ZeroDuration()});
    StartWithFollower(std::make_unique<JournalEventLog>(*std::move(j)),
                      loaded_ ? &loaded_->image : nullptr, snapshotter_.get());
  }

  void Stop() {
    if (server_ != nullptr) server_->Shutdown(absl::Seconds(2));
    server_.reset();
    snapshotter_.reset();
  }

  // Idempotency keys of every request, in id order.
  std::vector<std::string> Keys() {
    v1::ListRequestsRequest req;
    req.set_page_size(1000);
    v1::ListRequestsResponse all;
    EXPECT_TRUE(Call(requests_.get(), &v1::RequestService::Stub::ListRequests, req, &all).ok());
    std::vector<std::string> keys;
    for (const v1::Request& r : all.requests()) keys.push_back(r.idempotency_key());
    return keys;
  }

  std::string LiveDigest() {
    v1::GetStateDigestResponse resp;
    EXPECT_TRUE(Call(admin_.get(), &v1::AdminService::Stub::GetStateDigest,
                     v1::GetStateDigestRequest(), &resp)
                    .ok());
    return resp.digest();
  }

  std::unique_ptr<dispatchd::testing::TestDir> dir_;
  journal::FaultInjectionFileSystem fs_;
  std::unique_ptr<SnapshotStore> store_;
  std::optional<LoadedSnapshot> loaded_;
  std::unique_ptr<Snapshotter> snapshotter_;
};

TEST_F(FaultMatrixTest, NothingAcknowledgedIsLostAndNothingElseAppearsWhateverFails) {
  const std::pair<journal::FsOp, const char*> ops[] = {
      {journal::FsOp::kWrite, "write"},   {journal::FsOp::kSync, "fsync"},
      {journal::FsOp::kOpen, "open"},     {journal::FsOp::kRename, "rename"},
      {journal::FsOp::kSyncDir, "dir fsync"}};
  for (const auto& [op, name] : ops) {
    for (int k = 1; k <= 4; ++k) {
      for (bool persistent : {false, true}) {
        SCOPED_TRACE(absl::StrCat("the ", k, "th ", name, persistent ? " and every later one" : "",
                                  " fails"));
        fs_.ClearFaults();
        dir_ = std::make_unique<dispatchd::testing::TestDir>();
        store_ = std::make_unique<SnapshotStore>(dir_->path() + "/snapshots", &fs_, 2);
        Start(/*from_snapshot=*/false);
        SetUpCampus();
        fs_.FailNth(op, k, persistent);
        std::vector<std::string> acked;
        for (int i = 0; i < 12; ++i) {
          const std::string key = absl::StrCat("r", i);
          v1::SubmitRequestResponse resp;
          if (Call(requests_.get(), &v1::RequestService::Stub::SubmitRequest, LightRequest(key),
                   &resp)
                  .ok()) {
            acked.push_back(key);
          }
        }
        Stop();
        fs_.DropUnsyncedData();  // The power cut.
        fs_.ClearFaults();

        Start(/*from_snapshot=*/true);
        EXPECT_EQ(Keys(), acked);
        const std::string from_snapshot = LiveDigest();
        Start(/*from_snapshot=*/false);
        EXPECT_EQ(LiveDigest(), from_snapshot);
        Stop();
      }
    }
  }
}

}  // namespace
}  // namespace dispatchd::services::testing
