// A working day over real loopback gRPC: the site is set up, requests come
// in, technicians get offers on their streams and work them, dispatchers
// steer, and the console shows and explains it all.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/services/test_server.h"

namespace dispatchd::services::testing {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

class DayTest : public ServerTest {
 protected:
  // Both electricians' streams, opened before work comes in.
  void WatchElectricians() {
    watchers_["T-ELEC-01"] = WatchAssignments("T-ELEC-01");
    watchers_["T-ELEC-02"] = WatchAssignments("T-ELEC-02");
  }

  // The next update of `tech` with `change` for `request_id`.
  v1::AssignmentUpdate Expect(const std::string& tech, v1::AssignmentChange change,
                              const std::string& request_id) {
    std::optional<v1::AssignmentUpdate> u = watchers_.at(tech)->NextMatching(
        [&](const v1::AssignmentUpdate& x) {
          return x.change() == change && x.request().request_id() == request_id;
        });
    EXPECT_TRUE(u.has_value()) << tech << " got no " << v1::AssignmentChange_Name(change)
                               << " for " << request_id;
    return u.value_or(v1::AssignmentUpdate());
  }

  template <typename Req, typename Resp>
  Resp Do(grpc::Status (v1::TechnicianService::Stub::*method)(grpc::ClientContext*,
                                                               const Req&, Resp*),
          const std::string& tech, const std::string& request_id) {
    Req req;
    req.set_technician_id(tech);
    req.set_request_id(request_id);
    Resp resp;
    grpc::Status st = Call(technicians_.get(), method, req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp;
  }

  std::map<std::string, std::unique_ptr<AssignmentWatcher>> watchers_;
};

TEST_F(DayTest, RequestIsOfferedAcceptedWorkedRatedAndExplained) {
  // Policy round trip.
  v1::SetPolicyRequest set_policy;
  v1::GetPolicyResponse policy;
  ASSERT_TRUE(Call(admin_.get(), &v1::AdminService::Stub::GetPolicy, v1::GetPolicyRequest(),
                   &policy).ok());
  *set_policy.mutable_policy() = policy.policy();
  set_policy.mutable_policy()->set_offer_timeout_seconds(300);
  v1::SetPolicyResponse set;
  ASSERT_TRUE(Call(admin_.get(), &v1::AdminService::Stub::SetPolicy, set_policy, &set).ok());
  EXPECT_EQ(set.policy().offer_timeout_seconds(), 300u);
  SetUpCampus();

  // Neighbour links are symmetric.
  v1::ListZonesResponse zones;
  ASSERT_TRUE(Call(admin_.get(), &v1::AdminService::Stub::ListZones, v1::ListZonesRequest(),
                   &zones).ok());
  ASSERT_THAT(zones.zones(), SizeIs(2));
  EXPECT_EQ(zones.zones(0).zone_id(), "north");
  ASSERT_THAT(zones.zones(0).neighbors(), SizeIs(1));
  EXPECT_EQ(zones.zones(0).neighbors(0).zone_id(), "south");

  WatchElectricians();
  const v1::Request submitted = Submit(LightRequest());
  ASSERT_EQ(submitted.state(), v1::REQUEST_STATE_OFFERED);
  const std::string id = submitted.request_id();
  const std::string tech = submitted.technician_id();
  EXPECT_THAT(tech, HasSubstr("T-ELEC-0"));

  // The technician's stream gets the offer with the reason.
  const v1::AssignmentUpdate offer = Expect(tech, v1::ASSIGNMENT_CHANGE_OFFERED, id);
  EXPECT_FALSE(offer.snapshot());
  EXPECT_GT(offer.sequence(), 0u);
  EXPECT_FALSE(offer.decision().rule().empty());
  ASSERT_GT(offer.decision().candidates_size(), 0);
  EXPECT_EQ(offer.decision().candidates(0).technician_id(), tech);

  Do(&v1::TechnicianService::Stub::AcceptAssignment, tech, id);
  Expect(tech, v1::ASSIGNMENT_CHANGE_ACCEPTED, id);
  Do(&v1::TechnicianService::Stub::StartWork, tech, id);
  Expect(tech, v1::ASSIGNMENT_CHANGE_STARTED, id);
  AdvanceAndTick(absl::Minutes(25));
  v1::CompleteWorkRequest complete;
  complete.set_technician_id(tech);
  complete.set_request_id(id);
  complete.set_resolved(true);
  complete.set_notes("replaced the starter");
  v1::CompleteWorkResponse completed;
  ASSERT_TRUE(Call(technicians_.get(), &v1::TechnicianService::Stub::CompleteWork, complete,
                   &completed).ok());
  EXPECT_EQ(completed.request().state(), v1::REQUEST_STATE_COMPLETED);
  Expect(tech, v1::ASSIGNMENT_CHANGE_COMPLETED, id);

  v1::RecordFeedbackRequest feedback;
  feedback.set_request_id(id);
  feedback.set_rating(5);
  feedback.set_comment("fast and tidy");
  v1::RecordFeedbackResponse rated;
  ASSERT_TRUE(
      Call(requests_.get(), &v1::RequestService::Stub::RecordFeedback, feedback, &rated).ok());
  EXPECT_EQ(rated.request().feedback_rating(), 5u);

  // The board: nothing queued or in progress, the technician free again.
  const v1::GetBoardResponse board = Board();
  ASSERT_THAT(board.zones(), SizeIs(2));
  const v1::ZoneBoard& north = board.zones(0);
  EXPECT_EQ(north.zone_id(), "north");
  EXPECT_THAT(north.in_progress(), SizeIs(0));
  ASSERT_THAT(north.queued(), SizeIs(4));
  EXPECT_EQ(north.queued(0).urgency(), v1::URGENCY_EMERGENCY);
  EXPECT_THAT(north.technicians(), SizeIs(2));
  EXPECT_GT(board.last_sequence(), 0u);

  // Stats count the job against the office's targets.
  v1::GetStatsResponse stats;
  ASSERT_TRUE(Call(console_.get(), &v1::ConsoleService::Stub::GetStats, v1::GetStatsRequest(),
                   &stats).ok());
  EXPECT_EQ(stats.site().submitted(), 1u);
  EXPECT_EQ(stats.site().completed(), 1u);
  EXPECT_EQ(stats.site().resolved(), 1u);
  EXPECT_EQ(stats.site().feedback_count(), 1u);
  EXPECT_DOUBLE_EQ(stats.site().feedback_average(), 5.0);
  EXPECT_DOUBLE_EQ(stats.target_mean_response_minutes(), 120.0);
  EXPECT_DOUBLE_EQ(stats.target_resolution_rate(), 0.95);

  // The explanation names the rule, the candidates and the whole history.
  v1::ExplainAssignmentRequest explain;
  explain.set_request_id(id);
  v1::ExplainAssignmentResponse why;
  ASSERT_TRUE(
      Call(console_.get(), &v1::ConsoleService::Stub::ExplainAssignment, explain, &why).ok());
  EXPECT_EQ(why.state(), v1::REQUEST_STATE_COMPLETED);
  EXPECT_FALSE(why.decision().rule().empty());
  EXPECT_EQ(why.decision().candidates(0).technician_id(), tech);
  const std::string history = absl::StrJoin(why.history(), "\n");
  for (const char* kind : {"RequestSubmitted", "OfferMade", "OfferAccepted", "WorkStarted",
                           "WorkCompleted", "FeedbackRecorded"}) {
    EXPECT_THAT(history, HasSubstr(kind));
  }
  EXPECT_THAT(why.history(), SizeIs(6)) << history;

  // WatchEvents from 1 replays everything in order, no gaps.
  auto events = WatchEvents(1);
  for (uint64_t seq = 1; seq <= board.last_sequence(); ++seq) {
    std::optional<v1::Event> e = events->Next();
    ASSERT_TRUE(e.has_value()) << "missing event " << seq;
    ASSERT_EQ(e->sequence(), seq);
  }
}

TEST_F(DayTest, DeclineMovesTheOfferToAnotherTechnician) {
  SetUpCampus();
  WatchElectricians();
  const v1::Request r = Submit(LightRequest());
  const std::string first = r.technician_id();
  const std::string second = Other(first, "T-ELEC-01", "T-ELEC-02");
  Expect(first, v1::ASSIGNMENT_CHANGE_OFFERED, r.request_id());

  v1::DeclineAssignmentRequest decline;
  decline.set_technician_id(first);
  decline.set_request_id(r.request_id());
  decline.set_reason("no ladder with me");
  v1::DeclineAssignmentResponse declined;
  ASSERT_TRUE(Call(technicians_.get(), &v1::TechnicianService::Stub::DeclineAssignment, decline,
                   &declined).ok());

  const v1::AssignmentUpdate gone = Expect(first, v1::ASSIGNMENT_CHANGE_WITHDRAWN, r.request_id());
  EXPECT_THAT(gone.reason(), HasSubstr("no ladder"));
  const v1::AssignmentUpdate moved = Expect(second, v1::ASSIGNMENT_CHANGE_OFFERED, r.request_id());
  EXPECT_EQ(moved.request().technician_id(), second);
  EXPECT_THAT(moved.request().declined_by(), Contains(first));
}

TEST_F(DayTest, UnansweredOfferTimesOutAndMovesOn) {
  SetUpCampus();
  WatchElectricians();
  const v1::Request r = Submit(LightRequest());
  const std::string first = r.technician_id();
  const std::string second = Other(first, "T-ELEC-01", "T-ELEC-02");
  Expect(first, v1::ASSIGNMENT_CHANGE_OFFERED, r.request_id());

  AdvanceAndTick(absl::Seconds(121));  // Default offer timeout: 120 s.

  const v1::AssignmentUpdate lapsed = Expect(first, v1::ASSIGNMENT_CHANGE_WITHDRAWN, r.request_id());
  EXPECT_THAT(lapsed.reason(), HasSubstr("expired"));
  Expect(second, v1::ASSIGNMENT_CHANGE_OFFERED, r.request_id());
  EXPECT_EQ(GetRequest(r.request_id()).technician_id(), second);
}

TEST_F(DayTest, DispatcherAssignOverridesTheOffer) {
  SetUpCampus();
  WatchElectricians();
  const v1::Request r = Submit(LightRequest());
  const std::string first = r.technician_id();
  const std::string chosen = Other(first, "T-ELEC-01", "T-ELEC-02");

  v1::AssignRequestRequest assign;
  assign.set_request_id(r.request_id());
  assign.set_technician_id(chosen);
  assign.set_reason("knows the library wiring");
  v1::AssignRequestResponse assigned;
  ASSERT_TRUE(
      Call(requests_.get(), &v1::RequestService::Stub::AssignRequest, assign, &assigned).ok());
  EXPECT_EQ(assigned.request().state(), v1::REQUEST_STATE_ASSIGNED);
  EXPECT_EQ(assigned.request().technician_id(), chosen);

  const v1::AssignmentUpdate mine = Expect(chosen, v1::ASSIGNMENT_CHANGE_ASSIGNED, r.request_id());
  EXPECT_THAT(mine.reason(), HasSubstr("library wiring"));
  Expect(first, v1::ASSIGNMENT_CHANGE_WITHDRAWN, r.request_id());
}

TEST_F(DayTest, CancelReleasesTheTechnician) {
  SetUpCampus();
  WatchElectricians();
  const v1::Request r = Submit(LightRequest());
  const std::string tech = r.technician_id();
  Do(&v1::TechnicianService::Stub::AcceptAssignment, tech, r.request_id());
  EXPECT_EQ(GetTechnician(tech).state(), v1::TECHNICIAN_STATE_ASSIGNED);

  v1::CancelRequestRequest cancel;
  cancel.set_request_id(r.request_id());
  cancel.set_reason("requester fixed it");
  v1::CancelRequestResponse cancelled;
  ASSERT_TRUE(
      Call(requests_.get(), &v1::RequestService::Stub::CancelRequest, cancel, &cancelled).ok());
  EXPECT_EQ(cancelled.request().state(), v1::REQUEST_STATE_CANCELLED);

  const v1::AssignmentUpdate u = Expect(tech, v1::ASSIGNMENT_CHANGE_WITHDRAWN, r.request_id());
  EXPECT_THAT(u.reason(), HasSubstr("requester fixed it"));
  EXPECT_EQ(GetTechnician(tech).state(), v1::TECHNICIAN_STATE_AVAILABLE);
}

TEST_F(DayTest, RaisingOneAlertTwiceOpensOneEmergency) {
  SetUpCampus();
  v1::RaiseAlertRequest alert;
  alert.set_dedupe_key("library/power/today");
  alert.set_source("bms-sensor-12");
  alert.set_kind("power_outage");
  alert.set_zone_id("north");
  alert.set_severity(5);
  v1::RaiseAlertResponse first;
  v1::RaiseAlertResponse second;
  ASSERT_TRUE(Call(alerts_.get(), &v1::AlertService::Stub::RaiseAlert, alert, &first).ok());
  ASSERT_TRUE(Call(alerts_.get(), &v1::AlertService::Stub::RaiseAlert, alert, &second).ok());
  EXPECT_FALSE(first.duplicate());
  EXPECT_TRUE(second.duplicate());
  EXPECT_EQ(first.request_id(), second.request_id());
  EXPECT_EQ(first.request().urgency(), v1::URGENCY_EMERGENCY);

  v1::ListRequestsResponse all;
  ASSERT_TRUE(Call(requests_.get(), &v1::RequestService::Stub::ListRequests,
                   v1::ListRequestsRequest(), &all).ok());
  EXPECT_THAT(all.requests(), SizeIs(1));

  v1::ResolveAlertRequest resolve;
  resolve.set_dedupe_key("library/power/today");
  resolve.set_note("breaker reset");
  v1::ResolveAlertResponse resolved;
  ASSERT_TRUE(Call(alerts_.get(), &v1::AlertService::Stub::ResolveAlert, resolve, &resolved).ok());
  EXPECT_EQ(resolved.request().request_id(), first.request_id());
  EXPECT_FALSE(resolved.request().state() == v1::REQUEST_STATE_OFFERED);
}

TEST_F(DayTest, SubmitWithOneIdempotencyKeyIsSafeToRetry) {
  SetUpCampus();
  const v1::Request a = Submit(LightRequest("form-4471"));
  const v1::Request b = Submit(LightRequest("form-4471"));
  EXPECT_EQ(a.request_id(), b.request_id());

  v1::SubmitRequestRequest changed = LightRequest("form-4471");
  changed.set_location("Gym");
  v1::SubmitRequestResponse resp;
  EXPECT_THAT(Call(requests_.get(), &v1::RequestService::Stub::SubmitRequest, changed, &resp),
              StatusIs(grpc::StatusCode::ALREADY_EXISTS, "idempotency_key"));

  v1::ListRequestsResponse all;
  ASSERT_TRUE(Call(requests_.get(), &v1::RequestService::Stub::ListRequests,
                   v1::ListRequestsRequest(), &all).ok());
  EXPECT_THAT(all.requests(), SizeIs(1));
}

TEST_F(DayTest, InventoryAdjustsAndReportsStock) {
  SetUpCampus();
  v1::AdjustStockRequest add;
  add.set_depot_zone_id("north");
  add.set_sku("LAMP-T8-18W");
  add.set_delta(12);
  add.set_reason("delivery 4471");
  v1::AdjustStockResponse added;
  ASSERT_TRUE(Call(inventory_.get(), &v1::InventoryService::Stub::AdjustStock, add, &added).ok());
  EXPECT_EQ(added.level().on_hand(), 12);

  v1::GetStockResponse stock;
  ASSERT_TRUE(Call(inventory_.get(), &v1::InventoryService::Stub::GetStock,
                   v1::GetStockRequest(), &stock).ok());
  ASSERT_THAT(stock.levels(), SizeIs(1));
  EXPECT_EQ(stock.levels(0).sku(), "LAMP-T8-18W");

  v1::ListShortagesResponse shortages;
  ASSERT_TRUE(Call(inventory_.get(), &v1::InventoryService::Stub::ListShortages,
                   v1::ListShortagesRequest(), &shortages).ok());
  EXPECT_THAT(shortages.shortages(), SizeIs(0));
}

}  // namespace
}  // namespace dispatchd::services::testing
