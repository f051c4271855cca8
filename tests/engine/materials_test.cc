// Materials: reservation at assignment from the nearest depot with free
// stock, jobs waiting on hold for stock and served urgent / key department
// / oldest first when it arrives, release on cancel, consumption on
// completion; key departments first within a class; asset history.
#include "tests/engine/test_util.h"

namespace dispatchd::engine::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class MaterialsTest : public EngineTest {
 protected:
  void SetUp() override {
    Zone("A");
    Zone("B", {{"A", 10}});
    Zone("C", {{"A", 20}});
  }

  void Stock(const std::string& depot, const std::string& sku, int64_t delta) {
    Do(cmd::AdjustStock{depot, sku, delta, "delivery"});
  }
  int64_t OnHand(const std::string& depot, const std::string& sku) {
    auto levels = engine_.GetStock(depot, sku);
    return levels.empty() ? 0 : levels[0].on_hand;
  }
  int64_t Reserved(const std::string& depot, const std::string& sku) {
    auto levels = engine_.GetStock(depot, sku);
    return levels.empty() ? 0 : levels[0].reserved;
  }
  std::string SubmitWith(const std::string& zone, Urgency urgency,
                         std::vector<MaterialLine> materials, bool key_department = false) {
    RequestSpec spec = Spec(zone, "electrical:1", urgency);
    spec.materials = std::move(materials);
    spec.key_department = key_department;
    return Do(cmd::SubmitRequest{spec}).request_id;
  }
  // Accept, start and complete `request` as `tech`.
  void Finish(const std::string& tech, const std::string& request,
              std::vector<MaterialLine> used = {}) {
    Accept(tech, request);
    Do(cmd::StartWork{tech, request});
    Do(cmd::CompleteWork{tech, request, true, std::move(used), "fixed"});
  }
  void ExpectReplayMatches() {
    auto replica = Replay(&clock_, log_);
    EXPECT_EQ(Dump(*replica), Dump(engine_));
    EXPECT_EQ(replica->Digest(), engine_.Digest());
    Engine loaded(&clock_);
    ASSERT_TRUE(loaded.LoadImage(engine_.ExportImage()).ok());
    EXPECT_EQ(Dump(loaded), Dump(engine_));
  }
};

TEST_F(MaterialsTest, LastUnitGoesToTheUrgentJobAndTheLoserIsServedWhenStockArrives) {
  Stock("A", "LAMP", 1);
  Tech("T1", "A", "electrical:1", /*start=*/false);
  const std::string normal = SubmitWith("A", Urgency::kNormal, {{"LAMP", 1}});
  const std::string urgent = SubmitWith("A", Urgency::kUrgent, {{"LAMP", 1}});
  Do(cmd::StartShift{"T1", ""});
  ASSERT_EQ(Holder(urgent), "T1");  // Strict classes: the urgent job first.
  const Outcome accepted = Do(cmd::AcceptOffer{"T1", urgent});
  // No location to merge by: its delivery leaves at once (deliveries_test.cc).
  EXPECT_THAT(Kinds(accepted.events), ElementsAre("OfferAccepted", "MaterialsReserved",
                                                  "DeliveryPlanned", "DeliveryDeparted"));
  EXPECT_THAT(Req(urgent).reserved, ElementsAre(Reservation{"A", "LAMP", 1}));
  EXPECT_EQ(Reserved("A", "LAMP"), 1);
  Do(cmd::StartWork{"T1", urgent});
  Do(cmd::CompleteWork{"T1", urgent, true, {}, "new lamp"});
  EXPECT_EQ(OnHand("A", "LAMP"), 0);
  EXPECT_EQ(Reserved("A", "LAMP"), 0);

  // The loser: offered next, short at acceptance, so it waits on hold.
  ASSERT_EQ(Holder(normal), "T1");
  const Outcome short_out = Do(cmd::AcceptOffer{"T1", normal});
  EXPECT_THAT(Kinds(short_out.events),
              ElementsAre("OfferAccepted", "WorkPutOnHold", "MaterialsAwaited"));
  EXPECT_EQ(Req(normal).state, RequestState::kOnHold);
  EXPECT_TRUE(Req(normal).awaiting_stock);
  EXPECT_THAT(Req(normal).rare->hold_reason, HasSubstr("waiting for stock: LAMP x1"));
  EXPECT_EQ(TechOf("T1").state, TechnicianState::kAvailable);
  const std::vector<Shortage> shortages = engine_.ListShortages("A");
  ASSERT_EQ(shortages.size(), 1u);
  EXPECT_EQ(shortages[0].request_id, normal);
  EXPECT_EQ(shortages[0].sku, "LAMP");
  EXPECT_EQ((*engine_.GetBoard("A"))[0].shortages.size(), 1u);
  EXPECT_THAT(engine_.Explain(normal)->waiting_reason, HasSubstr("waiting for stock"));
  ExpectRejected(cmd::StartWork{"T1", normal}, absl::StatusCode::kFailedPrecondition,
                 "waiting for stock");

  const Outcome arrived = Do(cmd::AdjustStock{"B", "LAMP", 2, "delivery 4471"});
  EXPECT_THAT(Kinds(arrived.events),
              ElementsAre("StockAdjusted", "MaterialsReserved", "DeliveryPlanned",
                          "DeliveryDeparted", "RequestAssigned"));
  EXPECT_EQ(Req(normal).state, RequestState::kAssigned);
  EXPECT_EQ(Req(normal).technician_id, "T1");
  EXPECT_FALSE(Req(normal).awaiting_stock);
  EXPECT_EQ(Req(normal).decision->rule, "materials: stock arrived");
  EXPECT_THAT(Req(normal).reserved, ElementsAre(Reservation{"B", "LAMP", 1}));
  EXPECT_THAT(engine_.ListShortages(""), IsEmpty());
  ExpectReplayMatches();
}

TEST_F(MaterialsTest, WaitersAreServedUrgentThenKeyDepartmentThenOldest) {
  Tech("T1", "A", "electrical:1");
  Tech("T2", "A", "electrical:1");
  Tech("T3", "A", "electrical:1");
  auto file = [&](Urgency u, bool key) {
    const std::string r = SubmitWith("A", u, {{"FUSE", 1}}, key);
    Accept(Holder(r), r);
    EXPECT_TRUE(Req(r).awaiting_stock) << r;
    Advance(absl::Minutes(1));
    return r;
  };
  const std::string old_normal = file(Urgency::kNormal, false);
  const std::string key_normal = file(Urgency::kNormal, true);
  const std::string urgent = file(Urgency::kUrgent, false);
  Stock("C", "FUSE", 1);
  EXPECT_FALSE(Req(urgent).awaiting_stock);
  EXPECT_TRUE(Req(key_normal).awaiting_stock);
  EXPECT_TRUE(Req(old_normal).awaiting_stock);
  Stock("A", "FUSE", 1);
  EXPECT_FALSE(Req(key_normal).awaiting_stock);
  EXPECT_TRUE(Req(old_normal).awaiting_stock);
  Stock("B", "FUSE", 1);
  EXPECT_FALSE(Req(old_normal).awaiting_stock);
  EXPECT_THAT(Req(old_normal).reserved, ElementsAre(Reservation{"B", "FUSE", 1}));
  ExpectReplayMatches();
}

TEST_F(MaterialsTest, AWaiterStillShortOfTheSkuKeepsLaterOnesWaiting) {
  Tech("T1", "A", "electrical:1");
  Tech("T2", "A", "electrical:1");
  const std::string big = SubmitWith("A", Urgency::kUrgent, {{"LAMP", 3}});
  const std::string small = SubmitWith("A", Urgency::kNormal, {{"LAMP", 1}});
  Accept(Holder(big), big);
  Accept(Holder(small), small);
  Stock("A", "LAMP", 2);  // Not enough for the urgent job: nobody overtakes it.
  EXPECT_TRUE(Req(big).awaiting_stock);
  EXPECT_TRUE(Req(small).awaiting_stock);
  Stock("A", "LAMP", 2);
  EXPECT_FALSE(Req(big).awaiting_stock);
  EXPECT_FALSE(Req(small).awaiting_stock);  // The unit left over is its.
  EXPECT_EQ(Reserved("A", "LAMP"), 4);
}

TEST_F(MaterialsTest, ReservesFromTheNearestDepotsAndReleasesOnCancel) {
  Stock("C", "LAMP", 5);
  Stock("B", "LAMP", 2);
  Tech("T1", "A", "electrical:1");
  const std::string r = SubmitWith("A", Urgency::kNormal, {{"LAMP", 3}});
  Accept("T1", r);
  EXPECT_THAT(Req(r).reserved,
              ElementsAre(Reservation{"B", "LAMP", 2}, Reservation{"C", "LAMP", 1}));
  EXPECT_EQ(Reserved("B", "LAMP"), 2);
  EXPECT_EQ(Reserved("C", "LAMP"), 1);
  ExpectRejected(cmd::AdjustStock{"B", "LAMP", -1, "broken"},
                 absl::StatusCode::kFailedPrecondition, "reserved");
  Do(cmd::CancelRequest{r, "not needed"});
  EXPECT_EQ(Reserved("B", "LAMP"), 0);
  EXPECT_EQ(Reserved("C", "LAMP"), 0);
  EXPECT_EQ(OnHand("B", "LAMP"), 2);
  EXPECT_THAT(Req(r).reserved, IsEmpty());
  Do(cmd::AdjustStock{"B", "LAMP", -2, "broken"});
  ExpectReplayMatches();
}

TEST_F(MaterialsTest, CompletionConsumesWhatWasUsedAndReleasesTheRest) {
  Stock("A", "LAMP", 4);
  Stock("B", "FUSE", 1);
  Tech("T1", "A", "electrical:1");
  const std::string r = SubmitWith("A", Urgency::kNormal, {{"LAMP", 3}});
  Accept("T1", r);
  Do(cmd::StartWork{"T1", r});
  const Outcome done =
      Do(cmd::CompleteWork{"T1", r, true, {{"LAMP", 1}, {"FUSE", 1}}, "one was enough"});
  EXPECT_THAT(Kinds(done.events), ElementsAre("MaterialsConsumed", "WorkCompleted"));
  EXPECT_EQ(OnHand("A", "LAMP"), 3);
  EXPECT_EQ(Reserved("A", "LAMP"), 0);
  EXPECT_EQ(OnHand("B", "FUSE"), 0);  // Not reserved, taken from the nearest depot.
  EXPECT_THAT(Req(r).rare->materials_used,
              ElementsAre(MaterialLine{"LAMP", 1}, MaterialLine{"FUSE", 1}));

  // Reported nothing: the reservation was used as it stood.
  const std::string second = SubmitWith("A", Urgency::kNormal, {{"LAMP", 2}});
  Finish("T1", second);
  EXPECT_EQ(OnHand("A", "LAMP"), 1);
  EXPECT_EQ(Reserved("A", "LAMP"), 0);
  ExpectReplayMatches();
}

TEST_F(MaterialsTest, DispatcherAssignmentReservesToo) {
  Stock("A", "LAMP", 1);
  Tech("T1", "A", "electrical:1", /*start=*/false);
  Tech("T2", "A", "plumbing:1");
  const std::string r = SubmitWith("A", Urgency::kNormal, {{"LAMP", 1}});
  const Outcome out = Do(cmd::AssignRequest{r, "T2", "only one around"});
  EXPECT_THAT(Kinds(out.events), ElementsAre("RequestAssigned", "MaterialsReserved",
                                             "DeliveryPlanned", "DeliveryDeparted"));
  EXPECT_EQ(Reserved("A", "LAMP"), 1);
  ExpectReplayMatches();
}

TEST_F(MaterialsTest, KeyDepartmentGoesFirstWithinItsClassNotAcrossClasses) {
  Tech("T1", "A", "electrical:1", /*start=*/false);
  const std::string plain = Submit("A", "electrical:1");
  RequestSpec key = Spec("A", "electrical:1");
  key.key_department = true;
  key.department = "Surgery";
  Advance(absl::Minutes(5));  // A later deadline than `plain`.
  const std::string keyed = Do(cmd::SubmitRequest{key}).request_id;
  const std::string low_key = [&] {
    RequestSpec s = Spec("A", "electrical:1", Urgency::kLow);
    s.key_department = true;
    return Do(cmd::SubmitRequest{s}).request_id;
  }();
  Do(cmd::StartShift{"T1", ""});
  EXPECT_EQ(Holder(keyed), "T1");
  EXPECT_EQ(Holder(plain), "");
  EXPECT_EQ(Holder(low_key), "");
  const std::vector<const Request*> queued = (*engine_.GetBoard("A"))[0].queued;
  ASSERT_EQ(queued.size(), 2u);
  EXPECT_EQ(queued[0]->request_id, plain);
  ExpectReplayMatches();
}

TEST_F(MaterialsTest, AssetHistoryListsEveryRepairOldestFirst) {
  Stock("A", "BELT", 5);
  Tech("T1", "A", "electrical:1");
  Tech("T2", "A", "electrical:1");
  auto repair = [&](const std::string& tech, std::vector<MaterialLine> used, bool resolved,
                    const std::string& notes) {
    RequestSpec s = Spec("A", "electrical:1");
    s.asset_tag = "AHU-7";
    s.category = "hvac";
    s.materials = {{"BELT", 1}};
    const std::string r = Do(cmd::SubmitRequest{s}).request_id;
    if (Holder(r) != tech) Do(cmd::AssignRequest{r, tech, "owner"});
    else Accept(tech, r);
    Do(cmd::StartWork{tech, r});
    Advance(absl::Minutes(30));
    Do(cmd::CompleteWork{tech, r, resolved, std::move(used), notes});
    Advance(absl::Hours(24));
    return r;
  };
  const absl::Time first_done = clock_.Now() + absl::Minutes(30);
  const std::string a = repair("T1", {{"BELT", 1}}, false, "belt slipping");
  const std::string b = repair("T2", {{"BELT", 2}}, true, "replaced belt and pulley");
  RequestSpec other = Spec("A", "electrical:1");
  other.asset_tag = "PUMP-1";
  Do(cmd::CancelRequest{Do(cmd::SubmitRequest{other}).request_id, "dup"});
  const std::string c = repair("T1", {}, true, "checked");

  const std::vector<const Request*> history = engine_.GetAssetHistory("AHU-7");
  ASSERT_EQ(history.size(), 3u);
  EXPECT_EQ(history[0]->request_id, a);
  EXPECT_EQ(history[1]->request_id, b);
  EXPECT_EQ(history[2]->request_id, c);
  EXPECT_EQ(history[0]->technician_id, "T1");
  EXPECT_EQ(history[1]->technician_id, "T2");
  EXPECT_EQ(*history[0]->rare->completed_at, first_done);
  EXPECT_FALSE(history[0]->resolved);
  EXPECT_EQ(history[1]->rare->completion_notes, "replaced belt and pulley");
  EXPECT_THAT(history[1]->rare->materials_used, ElementsAre(MaterialLine{"BELT", 2}));
  EXPECT_EQ(history[2]->spec.category, "hvac");
  EXPECT_THAT(engine_.GetAssetHistory("PUMP-1"), IsEmpty());  // Cancelled: no repair.
  EXPECT_EQ(OnHand("A", "BELT"), 1);  // 1 + 2 used, and c's reservation of 1.
  ExpectReplayMatches();
}

}  // namespace
}  // namespace dispatchd::engine::testing
