// The server streams: a technician's reconnect gets the snapshot of open
// work, console watchers get every event once and in order across the
// switch from replay to live, slow consumers are cut off instead of
// growing memory, and shutdown ends streams.
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/services/test_server.h"

namespace dispatchd::services::testing {
namespace {

using ::testing::HasSubstr;

class StreamsTest : public ServerTest {
 protected:
  void AdjustStock(int64_t delta, const std::string& reason = "count") {
    v1::AdjustStockRequest req;
    req.set_depot_zone_id("north");
    req.set_sku("FUSE-10A");
    req.set_delta(delta);
    req.set_reason(reason);
    v1::AdjustStockResponse resp;
    grpc::Status st =
        Call(inventory_.get(), &v1::InventoryService::Stub::AdjustStock, req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }

  // Reads events from `watcher` and checks they are exactly first..last.
  void ExpectSequences(EventWatcher* watcher, uint64_t first, uint64_t last) {
    for (uint64_t seq = first; seq <= last; ++seq) {
      std::optional<v1::Event> e = watcher->Next();
      ASSERT_TRUE(e.has_value()) << "missing event " << seq;
      ASSERT_EQ(e->sequence(), seq) << "gap or duplicate";
    }
  }
};

TEST_F(StreamsTest, ReconnectingTechnicianGetsSnapshotOfOpenWork) {
  SetUpCampus();
  const v1::Request r = Submit(LightRequest());
  const std::string tech = r.technician_id();
  v1::AcceptAssignmentRequest accept;
  accept.set_technician_id(tech);
  accept.set_request_id(r.request_id());
  v1::AcceptAssignmentResponse accepted;
  ASSERT_TRUE(Call(technicians_.get(), &v1::TechnicianService::Stub::AcceptAssignment, accept,
                   &accepted).ok());

  auto watcher = WatchAssignments(tech);
  std::optional<v1::AssignmentUpdate> open = watcher->Next();
  ASSERT_TRUE(open.has_value());
  EXPECT_EQ(open->change(), v1::ASSIGNMENT_CHANGE_OPEN);
  EXPECT_TRUE(open->snapshot());
  EXPECT_EQ(open->sequence(), 0u);
  EXPECT_EQ(open->request().request_id(), r.request_id());
  EXPECT_EQ(open->request().state(), v1::REQUEST_STATE_ASSIGNED);

  // Then live updates, not marked as snapshot.
  v1::StartWorkRequest start;
  start.set_technician_id(tech);
  start.set_request_id(r.request_id());
  v1::StartWorkResponse started;
  ASSERT_TRUE(
      Call(technicians_.get(), &v1::TechnicianService::Stub::StartWork, start, &started).ok());
  std::optional<v1::AssignmentUpdate> live = watcher->Next();
  ASSERT_TRUE(live.has_value());
  EXPECT_EQ(live->change(), v1::ASSIGNMENT_CHANGE_STARTED);
  EXPECT_FALSE(live->snapshot());
  EXPECT_FALSE(watcher->Next(absl::Milliseconds(200)).has_value()) << "duplicate update";
}

// The stream's first message is the snapshot, even when nothing is open:
// the phone knows it is in sync before any change comes.
TEST_F(StreamsTest, TheSnapshotIsTheFirstMessageEvenWhenEmpty) {
  SetUpCampus();
  auto watcher = WatchAssignments<AssignmentMessageWatcher>("T-PLUMB-01");
  std::optional<v1::AssignmentUpdates> snapshot = watcher->Next();
  ASSERT_TRUE(snapshot.has_value());
  EXPECT_EQ(snapshot->updates_size(), 0);
  EXPECT_FALSE(watcher->Next(absl::Milliseconds(200)).has_value());
}

// A decline frees the technician, who is offered the next waiting job at
// once: both changes travel in one message, so the phone never shows an
// empty screen between them and the offer never waits for another write.
TEST_F(StreamsTest, ADeclinesWithdrawalAndTheNextOfferArriveInOneMessage) {
  SetUpCampus(/*start_shifts=*/false);
  StartShift("T-ELEC-01");
  const v1::Request first = Submit(LightRequest("first"));
  ASSERT_EQ(first.technician_id(), "T-ELEC-01");
  const v1::Request second = Submit(LightRequest("second"));
  ASSERT_EQ(second.state(), v1::REQUEST_STATE_QUEUED);

  auto watcher = WatchAssignments<AssignmentMessageWatcher>("T-ELEC-01");
  std::optional<v1::AssignmentUpdates> snapshot = watcher->Next();
  ASSERT_TRUE(snapshot.has_value());
  ASSERT_EQ(snapshot->updates_size(), 1);
  EXPECT_EQ(snapshot->updates(0).request().request_id(), first.request_id());

  v1::DeclineAssignmentRequest decline;
  decline.set_technician_id("T-ELEC-01");
  decline.set_request_id(first.request_id());
  decline.set_reason("no ladder");
  v1::DeclineAssignmentResponse declined;
  ASSERT_TRUE(
      Call(technicians_.get(), &v1::TechnicianService::Stub::DeclineAssignment, decline, &declined)
          .ok());

  std::optional<v1::AssignmentUpdates> change = watcher->Next();
  ASSERT_TRUE(change.has_value());
  ASSERT_EQ(change->updates_size(), 2);
  EXPECT_EQ(change->updates(0).change(), v1::ASSIGNMENT_CHANGE_WITHDRAWN);
  EXPECT_EQ(change->updates(0).request().request_id(), first.request_id());
  EXPECT_EQ(change->updates(1).change(), v1::ASSIGNMENT_CHANGE_OFFERED);
  EXPECT_EQ(change->updates(1).request().request_id(), second.request_id());
  EXPECT_LT(change->updates(0).sequence(), change->updates(1).sequence());
  EXPECT_FALSE(watcher->Next(absl::Milliseconds(200)).has_value()) << "a second message";
}

// A technician may hold two streams (a phone reconnecting while its old
// stream lingers, a tablet beside it): each gets every message whole.
TEST_F(StreamsTest, EveryStreamOfOneTechnicianGetsTheWholeMessage) {
  SetUpCampus(/*start_shifts=*/false);
  StartShift("T-ELEC-01");
  auto phone = WatchAssignments<AssignmentMessageWatcher>("T-ELEC-01");
  auto tablet = WatchAssignments<AssignmentMessageWatcher>("T-ELEC-01");
  for (auto* w : {phone.get(), tablet.get()}) ASSERT_TRUE(w->Next().has_value());  // Snapshots.
  const v1::Request r = Submit(LightRequest("one"));
  ASSERT_EQ(r.technician_id(), "T-ELEC-01");
  for (auto* w : {phone.get(), tablet.get()}) {
    std::optional<v1::AssignmentUpdates> m = w->Next();
    ASSERT_TRUE(m.has_value());
    ASSERT_EQ(m->updates_size(), 1);
    EXPECT_EQ(m->updates(0).change(), v1::ASSIGNMENT_CHANGE_OFFERED);
    EXPECT_EQ(m->updates(0).request().request_id(), r.request_id());
    EXPECT_FALSE(m->updates(0).decision().rule().empty());
  }
}

// One Tick may lapse offers all over the site: each technician still gets
// one message with what the Tick did to their work, however many others
// it concerned.
TEST_F(StreamsTest, ATickThatLapsesManyOffersSendsEachTechnicianOneMessage) {
  UpsertZone("north");
  constexpr int kTechs = 12;  // More than a command's updates are scanned for.
  std::vector<std::string> techs;
  for (int i = 0; i < kTechs; ++i) {
    techs.push_back(absl::StrCat("T-ELEC-", 10 + i));
    Register(techs.back(), "north", "electrical", 3);
    StartShift(techs.back());
  }
  absl::flat_hash_map<std::string, std::string> offered;  // Technician -> request.
  for (int i = 0; i < kTechs; ++i) {
    const v1::Request r = Submit(LightRequest(absl::StrCat("k", i)));
    ASSERT_EQ(r.state(), v1::REQUEST_STATE_OFFERED);
    offered[r.technician_id()] = r.request_id();
  }
  ASSERT_EQ(offered.size(), static_cast<size_t>(kTechs));
  std::vector<std::unique_ptr<AssignmentMessageWatcher>> watchers;
  for (const std::string& tech : techs) {
    watchers.push_back(WatchAssignments<AssignmentMessageWatcher>(tech));
    std::optional<v1::AssignmentUpdates> snapshot = watchers.back()->Next();
    ASSERT_TRUE(snapshot.has_value());
    ASSERT_EQ(snapshot->updates_size(), 1);
  }

  AdvanceAndTick(absl::Minutes(3));  // Past every offer's 120 s.
  for (int i = 0; i < kTechs; ++i) {
    std::optional<v1::AssignmentUpdates> m = watchers[i]->Next();
    ASSERT_TRUE(m.has_value()) << techs[i];
    ASSERT_GE(m->updates_size(), 1) << techs[i];
    EXPECT_EQ(m->updates(0).change(), v1::ASSIGNMENT_CHANGE_WITHDRAWN) << techs[i];
    EXPECT_EQ(m->updates(0).request().request_id(), offered[techs[i]]) << techs[i];
    for (int u = 1; u < m->updates_size(); ++u) {
      EXPECT_LT(m->updates(u - 1).sequence(), m->updates(u).sequence()) << techs[i];
    }
    EXPECT_FALSE(watchers[i]->Next(absl::Milliseconds(50)).has_value())
        << techs[i] << ": a second message for one Tick";
  }
}

// One connection may carry many streams: a gateway (or a test harness)
// multiplexes hundreds of technicians. With a cap of 32 streams per
// connection, the 33rd watch never started.
TEST_F(StreamsTest, OneConnectionCarriesHundredsOfStreams) {
  SetUpCampus();
  std::vector<std::unique_ptr<EventWatcher>> watchers;
  for (int i = 0; i < 200; ++i) watchers.push_back(WatchEvents(1));
  for (auto& w : watchers) {
    std::optional<v1::Event> first = w->Next(absl::Seconds(10));
    ASSERT_TRUE(first.has_value());
    EXPECT_EQ(first->sequence(), 1u);
  }
}

TEST_F(StreamsTest, WatchEventsReplaysFromASequenceThenGoesLive) {
  SetUpCampus(/*start_shifts=*/false);  // 5 events.
  for (int i = 0; i < 5; ++i) AdjustStock(1);
  auto watcher = WatchEvents(3);
  ExpectSequences(watcher.get(), 3, 10);
  for (int i = 0; i < 5; ++i) AdjustStock(1);
  ExpectSequences(watcher.get(), 11, 15);
  EXPECT_FALSE(watcher->Next(absl::Milliseconds(200)).has_value()) << "duplicate event";
}

TEST_F(StreamsTest, WatchersJoiningDuringTrafficSeeNoGapOrDuplicate) {
  UpsertZone("north");
  constexpr int kCommands = 300;
  std::thread traffic([this] {
    for (int i = 0; i < kCommands; ++i) AdjustStock(1);
  });
  std::vector<std::unique_ptr<EventWatcher>> watchers;
  for (int i = 0; i < 6; ++i) {
    watchers.push_back(WatchEvents(1));
    absl::SleepFor(absl::Milliseconds(5));
  }
  traffic.join();
  for (auto& w : watchers) ExpectSequences(w.get(), 1, kCommands + 1);
}

class SlowConsumerTest : public StreamsTest {
 protected:
  void SetUp() override {
    ServerOptions options;
    options.event_stream_capacity = 2;
    StartServer(std::move(options));
  }
};

TEST_F(SlowConsumerTest, StreamOfAConsumerThatDoesNotReadIsEndedResourceExhausted) {
  UpsertZone("north");
  grpc::ClientContext ctx;
  SetDeadline(&ctx, absl::Seconds(60));
  v1::WatchEventsRequest req;
  req.set_from_sequence(2);  // Live from the next event on.
  std::unique_ptr<grpc::ClientReader<v1::Event>> reader = console_->WatchEvents(&ctx, req);
  reader->WaitForInitialMetadata();

  // Big events fill the transport's window quickly; the queue overflows.
  const std::string big(256 * 1024, 'x');
  for (int i = 0; i < 64; ++i) AdjustStock(1, big);

  v1::Event e;
  int read = 0;
  while (reader->Read(&e)) ++read;
  EXPECT_LT(read, 64);
  EXPECT_THAT(reader->Finish(), StatusIs(grpc::StatusCode::RESOURCE_EXHAUSTED, "too slow"));

  // The daemon is fine and a new watcher catches up from the log.
  auto fresh = WatchEvents(60);
  ASSERT_TRUE(fresh->Next().has_value());
}

TEST_F(StreamsTest, ShutdownEndsOpenStreams) {
  SetUpCampus();
  auto assignments = WatchAssignments("T-ELEC-01");
  auto events = WatchEvents(1);
  server_->Shutdown(absl::Seconds(2));
  std::optional<grpc::Status> a = assignments->Final();
  std::optional<grpc::Status> e = events->Final();
  ASSERT_TRUE(a.has_value());
  ASSERT_TRUE(e.has_value());
  EXPECT_THAT(*a, StatusIs(grpc::StatusCode::UNAVAILABLE, "shutting down"));
  EXPECT_THAT(*e, StatusIs(grpc::StatusCode::UNAVAILABLE, "shutting down"));
}

}  // namespace
}  // namespace dispatchd::services::testing
