// Request bookkeeping: ids, idempotent retries, alerts and their dedupe,
// zones and travel, listing pages, stock and shortages.
#include "tests/engine/test_util.h"

namespace dispatchd::engine::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Code = absl::StatusCode;

class RequestsTest : public EngineTest {
 protected:
  void SetUp() override {
    Zone("A");
    Zone("B", {{"A", 10}});
  }
};

TEST_F(RequestsTest, IdsAreSequentialAndZeroPadded) {
  EXPECT_EQ(Submit("A", "x:1"), "R-000001");
  EXPECT_EQ(Submit("A", "x:1"), "R-000002");
  EXPECT_EQ(engine_.FindRequest("R-2"), nullptr);
  EXPECT_EQ(engine_.FindRequest("R-000003"), nullptr);
}

TEST_F(RequestsTest, SameIdempotencyKeyAndSpecIsADuplicate) {
  RequestSpec spec = Spec("A", "electrical");  // Level 0 -> 1 on both.
  spec.required_skills[0].level = 0;
  spec.idempotency_key = "form-42";
  const Outcome first = Do(cmd::SubmitRequest{spec});
  const uint64_t seq = engine_.last_sequence();
  Advance(absl::Minutes(5));
  const Outcome again = Do(cmd::SubmitRequest{spec});
  EXPECT_TRUE(again.duplicate);
  EXPECT_TRUE(again.events.empty());
  EXPECT_EQ(again.request_id, first.request_id);
  EXPECT_EQ(engine_.last_sequence(), seq);
  // Even after the urgency was changed by a dispatcher.
  Do(cmd::ChangeUrgency{first.request_id, Urgency::kUrgent, "escalated"});
  EXPECT_TRUE(Do(cmd::SubmitRequest{spec}).duplicate);
}

TEST_F(RequestsTest, SameIdempotencyKeyWithDifferentSpecIsRefused) {
  RequestSpec spec = Spec("A", "electrical:1");
  spec.idempotency_key = "form-42";
  Do(cmd::SubmitRequest{spec});
  spec.location = "another room";
  ExpectRejected(cmd::SubmitRequest{spec}, Code::kAlreadyExists, "form-42");
}

TEST_F(RequestsTest, CrewSizeZeroIsOneAndDueByCapsTheSla) {
  RequestSpec spec = Spec("A", "electrical:1");
  spec.crew_size = 0;
  spec.due_by = clock_.Now() + absl::Minutes(30);
  const std::string r = Do(cmd::SubmitRequest{spec}).request_id;
  EXPECT_EQ(Req(r).spec.crew_size, 1u);
  EXPECT_EQ(Req(r).sla_deadline, clock_.Now() + absl::Minutes(30));
  EXPECT_EQ(Req(r).created_at, clock_.Now());
}

TEST_F(RequestsTest, AlertOpensEmergencyWithDefaultSkillsAndDedupes) {
  Tech("P1", "A", "plumbing:1");
  Tech("P2", "A", "plumbing:2");
  const Outcome out = Do(cmd::RaiseAlert{"bldg-7/leak", "sensor-12", "burst_pipe", "A",
                                         "basement", 0, 0, "water on floor", {}});
  EXPECT_THAT(Kinds(out.events), ElementsAre("RequestSubmitted", "AlertRaised", "OfferMade"));
  EXPECT_EQ(std::get<ev::AlertRaised>(out.events[1].kind).severity, 3u);
  const Request& r = Req(out.request_id);
  EXPECT_EQ(r.spec.urgency, Urgency::kEmergency);
  EXPECT_EQ(r.alert_dedupe_key, "bldg-7/leak");
  EXPECT_EQ(r.spec.required_skills, Skills("plumbing:2"));
  EXPECT_EQ(r.sla_deadline, clock_.Now() + absl::Minutes(15));
  EXPECT_EQ(Holder(out.request_id), "P2");
  EXPECT_EQ(engine_.FindAlert("bldg-7/leak"), &r);
  // Another sensor, different fields, same key: the same emergency.
  const Outcome dup = Do(cmd::RaiseAlert{"bldg-7/leak", "sensor-13", "water_leak", "B",
                                         "", 5, 3, "", {}});
  EXPECT_TRUE(dup.duplicate);
  EXPECT_EQ(dup.request_id, out.request_id);
  EXPECT_TRUE(dup.events.empty());
}

TEST_F(RequestsTest, AlertOfUnknownKindNeedsNoSkill) {
  Tech("Anyone", "A", "painting:1");
  const Outcome out = Do(cmd::RaiseAlert{"k1", "", "gas_smell", "A", "", 5, 2, "", {}});
  EXPECT_TRUE(Req(out.request_id).spec.required_skills.empty());
  EXPECT_EQ(Req(out.request_id).spec.crew_size, 2u);
  EXPECT_EQ(Holder(out.request_id), "Anyone");
}

TEST_F(RequestsTest, AlertGoesBeforeEveryOtherClass) {
  Policy p;  // The alert waits for E1 rather than taking them off `busy`.
  p.preemption_enabled = false;
  Do(cmd::SetPolicy{p});
  Tech("E1", "A", "electrical:3");
  const std::string busy = Submit("A", "electrical:1");
  Accept("E1", busy);
  const std::string urgent = Submit("A", "electrical:1", Urgency::kUrgent);
  const std::string alert =
      Do(cmd::RaiseAlert{"cut", "", "power_outage", "A", "", 5, 1, "", {}}).request_id;
  Do(cmd::StartWork{"E1", busy});
  Do(cmd::CompleteWork{"E1", busy, true, {}, ""});
  EXPECT_EQ(Holder(alert), "E1");
  EXPECT_EQ(Req(urgent).state, RequestState::kQueued);
}

TEST_F(RequestsTest, ResolveAlertCompletesWorkInProgress) {
  Tech("E1", "A", "electrical:2");
  const std::string r =
      Do(cmd::RaiseAlert{"cut", "", "power_outage", "A", "", 5, 1, "", {}}).request_id;
  Accept("E1", r);
  Do(cmd::StartWork{"E1", r});
  const std::string next = Submit("A", "electrical:1");
  const Outcome out = Do(cmd::ResolveAlert{"cut", "power back"});
  EXPECT_THAT(Kinds(out.events), ElementsAre("WorkCompleted", "AlertResolved", "OfferMade"));
  EXPECT_EQ(Req(r).state, RequestState::kCompleted);
  EXPECT_TRUE(Req(r).resolved);
  EXPECT_EQ(Holder(next), "E1");
  ExpectRejected(cmd::ResolveAlert{"cut", ""}, Code::kFailedPrecondition, "already resolved");
}

TEST_F(RequestsTest, ResolveAlertCancelsWorkNotStarted) {
  Tech("E1", "A", "electrical:2");
  const std::string r =
      Do(cmd::RaiseAlert{"cut", "", "power_outage", "A", "", 5, 1, "", {}}).request_id;
  const Outcome out = Do(cmd::ResolveAlert{"cut", "false alarm"});
  EXPECT_THAT(Kinds(out.events), ElementsAre("RequestCancelled", "AlertResolved"));
  EXPECT_EQ(Req(r).state, RequestState::kCancelled);
  EXPECT_EQ(TechOf("E1").state, TechnicianState::kAvailable);
}

TEST_F(RequestsTest, NeighbourLinksAreSymmetricAndReplacedWhole) {
  Zone("C", {{"A", 5}, {"B", 7}});
  EXPECT_THAT(engine_.FindZone("A")->neighbors,
              ElementsAre(Neighbor{"B", 10}, Neighbor{"C", 5}));
  EXPECT_EQ(engine_.TravelMinutes("A", "B"), 10u);
  Zone("C", {{"A", 3}});  // Drops C-B; B keeps only A.
  EXPECT_THAT(engine_.FindZone("B")->neighbors, ElementsAre(Neighbor{"A", 10}));
  EXPECT_THAT(engine_.FindZone("A")->neighbors,
              ElementsAre(Neighbor{"B", 10}, Neighbor{"C", 3}));
  EXPECT_EQ(engine_.TravelMinutes("C", "B"), 13u);  // Via A.
  Zone("Island");
  EXPECT_EQ(engine_.TravelMinutes("A", "Island"), std::nullopt);
  EXPECT_EQ(engine_.TravelMinutes("A", "nowhere"), std::nullopt);
  EXPECT_EQ(engine_.TravelMinutes("A", "A"), 0u);
}

TEST_F(RequestsTest, ShortestTravelGoesThroughIntermediateZones) {
  Zone("C", {{"B", 5}});
  Zone("D", {{"A", 50}, {"C", 5}});
  EXPECT_EQ(engine_.TravelMinutes("A", "D"), 20u);
  Tech("D1", "D", "electrical:1");
  const std::string r = Submit("A", "electrical:1");
  EXPECT_EQ(Holder(r), "D1");  // 20 min <= 30, though the direct link is 50.
}

TEST_F(RequestsTest, ListRequestsPagesInIdOrderWithFilters) {
  for (int i = 0; i < 5; ++i) Submit(i % 2 ? "B" : "A", "x:1");
  auto page = engine_.ListRequests({}, "", 2);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->requests.size(), 2u);
  EXPECT_EQ(page->requests[1]->request_id, "R-000002");
  page = engine_.ListRequests({}, page->next_page_token, 2);
  EXPECT_EQ(page->requests[0]->request_id, "R-000003");
  page = engine_.ListRequests({}, page->next_page_token, 2);
  EXPECT_EQ(page->requests.size(), 1u);
  EXPECT_EQ(page->next_page_token, "");
  RequestFilter in_b;
  in_b.zone_id = "B";
  page = engine_.ListRequests(in_b, "", 0);
  EXPECT_EQ(page->requests.size(), 2u);
  EXPECT_EQ(page->next_page_token, "");
  RequestFilter offered;
  offered.state = RequestState::kOffered;
  EXPECT_TRUE(engine_.ListRequests(offered, "", 0)->requests.empty());
  EXPECT_THAT(engine_.ListRequests({}, "garbage", 10), StatusIs(Code::kInvalidArgument));
  EXPECT_THAT(engine_.ListRequests({}, "R-000099", 10), StatusIs(Code::kInvalidArgument));
}

TEST_F(RequestsTest, StockAdjustsAndShortagesCompareAllDepots) {
  Do(cmd::AdjustStock{"A", "LAMP", 2, "delivery"});
  Do(cmd::AdjustStock{"B", "LAMP", 1, "delivery"});
  const Outcome out = Do(cmd::AdjustStock{"A", "LAMP", -1, "used"});
  EXPECT_EQ(std::get<ev::StockAdjusted>(out.events[0].kind).on_hand, 1);
  EXPECT_EQ(engine_.GetStock("A", "").size(), 1u);
  EXPECT_EQ(engine_.GetStock("", "LAMP").size(), 2u);
  RequestSpec spec = Spec("A", "electrical:1");
  spec.materials = {{"LAMP", 3}, {"FUSE", 1}};
  const std::string r = Do(cmd::SubmitRequest{spec}).request_id;
  std::vector<Shortage> s = engine_.ListShortages("");
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].sku, "LAMP");
  EXPECT_EQ(s[0].needed, 3u);
  EXPECT_EQ(s[0].on_hand, 2);
  EXPECT_EQ(s[1].sku, "FUSE");
  EXPECT_TRUE(engine_.ListShortages("B").empty());
  Do(cmd::AdjustStock{"B", "LAMP", 5, "delivery"});
  Do(cmd::AdjustStock{"B", "FUSE", 5, "delivery"});
  EXPECT_TRUE(engine_.ListShortages("").empty());
  Do(cmd::AdjustStock{"B", "FUSE", -5, "used"});
  EXPECT_EQ(engine_.ListShortages("A").size(), 1u);
  Do(cmd::CancelRequest{r, "done elsewhere"});
  EXPECT_TRUE(engine_.ListShortages("").empty());
}

TEST_F(RequestsTest, BoardShowsQueueInDispatchOrderAndWhoIsWhere) {
  Tech("T1", "A", "electrical:1");
  const std::string busy = Submit("A", "electrical:1");
  const std::string low = Submit("A", "hvac:1", Urgency::kLow);
  const std::string urgent = Submit("A", "plumbing:1", Urgency::kUrgent);
  const std::string normal = Submit("A", "hvac:1", Urgency::kNormal);
  auto boards = engine_.GetBoard("A");
  ASSERT_TRUE(boards.ok());
  const ZoneBoard& b = (*boards)[0];
  EXPECT_EQ(b.zone->zone_id, "A");
  EXPECT_EQ(b.queued_counts, (std::array<uint32_t, 4>{1, 1, 1, 0}));
  std::vector<std::string> order;
  for (const Request* r : b.queued) order.push_back(r->request_id);
  EXPECT_THAT(order, ElementsAre(urgent, normal, low));
  ASSERT_EQ(b.in_progress.size(), 1u);
  EXPECT_EQ(b.in_progress[0]->request_id, busy);
  ASSERT_EQ(b.technicians.size(), 1u);
  EXPECT_EQ(b.technicians[0]->technician_id, "T1");
  EXPECT_EQ(engine_.GetBoard("").value().size(), 2u);
  EXPECT_THAT(engine_.GetBoard("X"), StatusIs(Code::kNotFound));
}

TEST_F(RequestsTest, BoardListsWorkInProgressOldestRequestFirst) {
  Tech("T1", "A", "x:1");
  Tech("T2", "A", "x:1");
  Tech("T3", "A", "x:1");
  const std::string first = Submit("A", "x:1");
  const std::string second = Submit("A", "x:1");
  const std::string third = Submit("A", "x:1");
  // The first job ends and a newer one takes its technician: the zone's
  // list of work in progress changes in the middle, the board's order not.
  Do(cmd::CancelRequest{first, "fixed by the caller"});
  const std::string fourth = Submit("A", "x:1");
  auto boards = engine_.GetBoard("A");
  ASSERT_TRUE(boards.ok());
  std::vector<std::string> in_progress;
  for (const Request* r : (*boards)[0].in_progress) in_progress.push_back(r->request_id);
  EXPECT_THAT(in_progress, ElementsAre(second, third, fourth));
}

}  // namespace
}  // namespace dispatchd::engine::testing
