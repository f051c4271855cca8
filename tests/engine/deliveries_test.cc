// Deliveries: small shipments from one depot to one building within the
// merge window ride one delivery; a late, elsewhere-bound, other-depot or
// too-big one opens its own; large, emergency and merging-off deliveries
// leave at once; cancelling takes a job's lines off; the window closes on
// Tick at its end and not before; replay and snapshots keep it all.
#include <optional>

#include "engine/state_image.h"
#include "tests/engine/test_util.h"

namespace dispatchd::engine::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

class DeliveriesTest : public EngineTest {
 protected:
  void SetUp() override {
    Zone("A");
    Zone("B", {{"A", 10}});
    Do(cmd::AdjustStock{"A", "LAMP", 100, "delivery"});
    Do(cmd::AdjustStock{"B", "FUSE", 100, "delivery"});  // FUSE only at B.
    for (const char* t : {"T1", "T2", "T3", "T4", "T5"}) Tech(t, "A", "electrical:1");
  }

  // Submits a job in zone A at `location` needing `lines`, and has the
  // technician it is offered to accept it (materials reserved then).
  // Returns its id; `*accepted` gets the acceptance's events.
  std::string Job(const std::string& location, std::vector<MaterialLine> lines,
                  Outcome* accepted = nullptr, Urgency urgency = Urgency::kNormal) {
    RequestSpec spec = Spec("A", "electrical:1", urgency);
    spec.location = location;
    spec.materials = std::move(lines);
    const std::string id = Do(cmd::SubmitRequest{spec}).request_id;
    const std::string tech = Holder(id);
    EXPECT_NE(tech, "") << id << " was offered to nobody";
    Outcome out = Do(cmd::AcceptOffer{tech, id});
    if (accepted != nullptr) *accepted = std::move(out);
    return id;
  }

  const Delivery& Only(std::string_view id) {
    const Delivery* d = engine_.FindDelivery(id);
    EXPECT_NE(d, nullptr) << id;
    static const Delivery kNone;
    return d ? *d : kNone;
  }

  std::vector<std::string> RequestsOn(std::string_view id) {
    std::vector<std::string> out;
    for (const DeliveryShipment& s : Only(id).shipments) out.push_back(s.request_id);
    return out;
  }

  void SetMerge(uint32_t minutes, uint32_t max_units = 10) {
    Policy p = engine_.policy();
    p.delivery_merge_minutes = minutes;
    p.small_delivery_max_units = max_units;
    Do(cmd::SetPolicy{p});
  }

  void ExpectReplayAndImagesMatch() {
    auto replica = Replay(&clock_, log_);
    EXPECT_EQ(Dump(*replica), Dump(engine_));
    EXPECT_EQ(replica->Digest(), engine_.Digest());
    absl::StatusOr<StateImage> decoded =
        DecodeImageCanonical(EncodeImageCanonical(engine_.ExportImage()));
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    Engine loaded(&clock_);
    ASSERT_TRUE(loaded.LoadImage(*decoded).ok());
    EXPECT_EQ(Dump(loaded), Dump(engine_));
    EXPECT_EQ(loaded.Digest(), engine_.Digest());
    EXPECT_EQ(loaded.NextTimer(), engine_.NextTimer());
  }
};

TEST_F(DeliveriesTest, TwoSmallJobsToOneBuildingWithinTheWindowRideOneDelivery) {
  Outcome first_out, second_out;
  const std::string first = Job("Block 7", {{"LAMP", 2}}, &first_out);
  EXPECT_THAT(Kinds(first_out.events),
              ElementsAre("OfferAccepted", "MaterialsReserved", "DeliveryPlanned"));
  const auto& opened = std::get<ev::DeliveryPlanned>(first_out.events[2].kind);
  EXPECT_TRUE(opened.opens);
  EXPECT_EQ(opened.delivery_id, "D-000001");
  EXPECT_EQ(opened.departs_at, clock_.Now() + absl::Minutes(30));
  EXPECT_THAT(opened.reason, HasSubstr("waits up to 30 min"));

  Advance(absl::Minutes(20));
  const std::string second = Job("Block 7", {{"LAMP", 3}}, &second_out);
  const auto& joined = std::get<ev::DeliveryPlanned>(second_out.events.back().kind);
  EXPECT_FALSE(joined.opens);
  EXPECT_EQ(joined.delivery_id, "D-000001");
  EXPECT_EQ(joined.reason, "merged with " + first + ": same building, within 30 min");

  const std::vector<const Delivery*> all = engine_.ListDeliveries({});
  ASSERT_THAT(all, SizeIs(1));
  EXPECT_EQ(all[0]->state, DeliveryState::kOpen);
  EXPECT_EQ(all[0]->depot_zone_id, "A");
  EXPECT_EQ(all[0]->location, "Block 7");
  EXPECT_EQ(all[0]->Units(), 5u);
  EXPECT_EQ(RequestsOn("D-000001"), (std::vector<std::string>{first, second}));
  EXPECT_THAT(Req(second).delivery_ids, ElementsAre("D-000001"));
  const absl::StatusOr<Explanation> why = engine_.Explain(second);
  ASSERT_THAT(why->deliveries, SizeIs(1));
  EXPECT_THAT(why->deliveries[0], HasSubstr("D-000001 from depot A"));
  EXPECT_THAT(why->deliveries[0], HasSubstr("with " + first));
  ExpectReplayAndImagesMatch();
}

TEST_F(DeliveriesTest, LateOtherBuildingOtherDepotOrTooBigOpensANewDelivery) {
  const std::string first = Job("Block 7", {{"LAMP", 6}});
  const std::string other_building = Job("Block 9", {{"LAMP", 1}});
  const std::string other_depot = Job("Block 7", {{"FUSE", 1}});  // From B.
  const std::string too_big = Job("Block 7", {{"LAMP", 5}});      // 6 + 5 > 10.
  EXPECT_EQ(Req(first).delivery_ids, std::vector<std::string>{"D-000001"});
  EXPECT_EQ(Req(other_building).delivery_ids, std::vector<std::string>{"D-000002"});
  EXPECT_EQ(Req(other_depot).delivery_ids, std::vector<std::string>{"D-000003"});
  EXPECT_EQ(Only("D-000003").depot_zone_id, "B");
  EXPECT_EQ(Req(too_big).delivery_ids, std::vector<std::string>{"D-000004"});
  // The window has passed but no Tick ran yet: the next job still does not
  // join the expired delivery.
  Advance(absl::Minutes(30));
  const std::string late = Job("Block 7", {{"LAMP", 1}});
  EXPECT_EQ(Req(late).delivery_ids, std::vector<std::string>{"D-000005"});
  EXPECT_THAT(RequestsOn("D-000001"), ElementsAre(first));
  ExpectReplayAndImagesMatch();
}

TEST_F(DeliveriesTest, LargeShipmentIsNotMergedAndLeavesAtOnce) {
  Job("Block 7", {{"LAMP", 1}});  // An open small delivery to the same building.
  Outcome out;
  const std::string big = Job("Block 7", {{"LAMP", 11}}, &out);
  EXPECT_THAT(Kinds(out.events), ElementsAre("OfferAccepted", "MaterialsReserved",
                                             "DeliveryPlanned", "DeliveryDeparted"));
  const auto& planned = std::get<ev::DeliveryPlanned>(out.events[2].kind);
  EXPECT_TRUE(planned.opens);
  EXPECT_EQ(planned.delivery_id, "D-000002");
  EXPECT_THAT(std::get<ev::DeliveryDeparted>(out.events[3].kind).reason,
              HasSubstr("11 units, more than 10"));
  EXPECT_EQ(Only("D-000002").state, DeliveryState::kDeparted);
  EXPECT_EQ(Only("D-000002").departed_at, clock_.Now());
  EXPECT_EQ(Only("D-000001").state, DeliveryState::kOpen);
  EXPECT_THAT(RequestsOn("D-000001"), SizeIs(1));
  ExpectReplayAndImagesMatch();
}

TEST_F(DeliveriesTest, EmergencyMaterialsLeaveAtOnceTakingTheOpenDeliveryAlong) {
  Policy p = engine_.policy();
  p.emergency_plans = {{"power_outage", 1, Skills("electrical:1"), {{"LAMP", 1}}}};
  Do(cmd::SetPolicy{p});
  const std::string waiting = Job("Block 7", {{"LAMP", 2}});
  ASSERT_EQ(Only("D-000001").state, DeliveryState::kOpen);
  Advance(absl::Minutes(5));
  const Outcome out =
      Do(cmd::RaiseAlert{"outage", "bms", "power_outage", "A", "Block 7", 4, 1, "", {}});
  const std::vector<std::string> kinds = Kinds(out.events);
  EXPECT_THAT(kinds, ::testing::Contains("DeliveryDeparted"));
  const Delivery& d = Only("D-000001");
  EXPECT_EQ(d.state, DeliveryState::kDeparted);  // 25 minutes early.
  EXPECT_EQ(d.departed_at, clock_.Now());
  EXPECT_THAT(RequestsOn("D-000001"), ElementsAre(waiting, out.request_id));
  EXPECT_THAT(d.departure_reason, HasSubstr("emergency materials never wait"));
  EXPECT_THAT(d.shipments[1].reason, HasSubstr("merged with " + waiting));
  // Nothing is left for the Tick to send.
  EXPECT_THAT(engine_.ListDeliveries({"", "", DeliveryState::kOpen}), IsEmpty());
  ExpectReplayAndImagesMatch();
}

TEST_F(DeliveriesTest, MergingOffOrNoLocationLeavesAtOnce) {
  SetMerge(0);
  Outcome off;
  Job("Block 7", {{"LAMP", 1}}, &off);
  EXPECT_EQ(Kinds(off.events).back(), "DeliveryDeparted");
  EXPECT_THAT(std::get<ev::DeliveryDeparted>(off.events.back().kind).reason,
              HasSubstr("merging is off"));
  SetMerge(30);
  Outcome nowhere;
  Job("", {{"LAMP", 1}}, &nowhere);
  EXPECT_THAT(std::get<ev::DeliveryDeparted>(nowhere.events.back().kind).reason,
              HasSubstr("no location"));
  ExpectReplayAndImagesMatch();
}

TEST_F(DeliveriesTest, CancellingBeforeDepartureTakesTheJobsLinesOff) {
  const std::string first = Job("Block 7", {{"LAMP", 2}});
  const std::string second = Job("Block 7", {{"LAMP", 3}});
  ASSERT_THAT(RequestsOn("D-000001"), ElementsAre(first, second));
  Do(cmd::CancelRequest{first, "tenant fixed it"});
  EXPECT_THAT(RequestsOn("D-000001"), ElementsAre(second));
  EXPECT_EQ(Only("D-000001").Units(), 3u);
  EXPECT_THAT(Req(first).delivery_ids, IsEmpty());
  // The last job off: the delivery is dropped, and no departure is due.
  Do(cmd::CancelRequest{second, "duplicate"});
  EXPECT_EQ(engine_.FindDelivery("D-000001"), nullptr);
  EXPECT_THAT(engine_.ListDeliveries({}), IsEmpty());
  Advance(absl::Minutes(31));
  EXPECT_THAT(Kinds(Tick().events), IsEmpty());
  // Ids are not reused.
  EXPECT_THAT(Req(Job("Block 7", {{"LAMP", 1}})).delivery_ids, ElementsAre("D-000002"));
  ExpectReplayAndImagesMatch();
}

TEST_F(DeliveriesTest, DepartsWhenTheWindowClosesAndNotBefore) {
  const absl::Time opened = clock_.Now();
  Job("Block 7", {{"LAMP", 2}});
  Advance(absl::Minutes(10));
  Job("Block 7", {{"LAMP", 2}});
  EXPECT_EQ(engine_.NextTimer(), opened + absl::Minutes(30));
  clock_.Set(opened + absl::Minutes(30) - absl::Seconds(1));
  EXPECT_THAT(Kinds(Tick().events), IsEmpty());
  EXPECT_EQ(Only("D-000001").state, DeliveryState::kOpen);
  // A snapshot taken now departs on time too.
  Engine loaded(&clock_);
  ASSERT_TRUE(loaded.LoadImage(engine_.ExportImage()).ok());
  clock_.Set(opened + absl::Minutes(30));
  const Outcome due = Tick();
  ASSERT_THAT(Kinds(due.events), ElementsAre("DeliveryDeparted"));
  EXPECT_THAT(std::get<ev::DeliveryDeparted>(due.events[0].kind).reason,
              HasSubstr("window of 30 min closed: 2 job(s), 4 units"));
  EXPECT_EQ(Only("D-000001").state, DeliveryState::kDeparted);
  EXPECT_EQ(Only("D-000001").departed_at, opened + absl::Minutes(30));
  EXPECT_EQ(loaded.Handle(cmd::Tick{})->events, due.events);
  EXPECT_EQ(loaded.Digest(), engine_.Digest());
  // Departed: history, filtered by state.
  EXPECT_THAT(engine_.ListDeliveries({"", "", DeliveryState::kDeparted}), SizeIs(1));
  EXPECT_THAT(engine_.ListDeliveries({"", "", DeliveryState::kOpen}), IsEmpty());
  EXPECT_THAT(engine_.ListDeliveries({"A", "Block 9", std::nullopt}), IsEmpty());
  ExpectReplayAndImagesMatch();
}

TEST_F(DeliveriesTest, CompletingAfterDepartureKeepsTheHistory) {
  const std::string job = Job("Block 7", {{"LAMP", 2}});
  Advance(absl::Minutes(30));
  Tick();
  const std::string tech = Holder(job);
  Do(cmd::StartWork{tech, job});
  Do(cmd::CompleteWork{tech, job, true, {}, "done"});
  EXPECT_THAT(Req(job).delivery_ids, ElementsAre("D-000001"));
  EXPECT_THAT(RequestsOn("D-000001"), ElementsAre(job));
  ExpectReplayAndImagesMatch();
}

TEST_F(DeliveriesTest, BadPolicyValuesAreRejected) {
  Policy p = engine_.policy();
  p.small_delivery_max_units = 0;
  ExpectRejected(cmd::SetPolicy{p}, absl::StatusCode::kInvalidArgument,
                 "policy.small_delivery_max_units");
  p = engine_.policy();
  p.delivery_merge_minutes = 24 * 60 + 1;
  ExpectRejected(cmd::SetPolicy{p}, absl::StatusCode::kInvalidArgument,
                 "policy.delivery_merge_minutes");
}

TEST_F(DeliveriesTest, ImagesWithInconsistentDeliveriesAreRefused) {
  const std::string job = Job("Block 7", {{"LAMP", 2}});
  const StateImage good = engine_.ExportImage();
  auto refused = [&](const StateImage& image) {
    Engine fresh(&clock_);
    return fresh.LoadImage(image);
  };
  StateImage bad = good;
  bad.deliveries[0].shipments[0].request_id = "R-000099";
  EXPECT_THAT(refused(bad), StatusIs(absl::StatusCode::kDataLoss));
  bad = good;
  bad.last_delivery_number = 0;
  EXPECT_THAT(refused(bad), StatusIs(absl::StatusCode::kDataLoss));
  bad = good;
  bad.requests.back().request.delivery_ids.clear();
  EXPECT_THAT(refused(bad), StatusIs(absl::StatusCode::kDataLoss));
  bad = good;
  bad.deliveries[0].departs_at = bad.deliveries[0].opened_at;  // Open, no window.
  EXPECT_THAT(refused(bad), StatusIs(absl::StatusCode::kDataLoss));
  bad = good;
  bad.deliveries[0].location = "Block 9";  // Not where its job is.
  EXPECT_THAT(refused(bad), StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_TRUE(refused(good).ok());
  // The digest covers deliveries.
  bad = good;
  bad.deliveries[0].departs_at += absl::Minutes(1);
  EXPECT_NE(ImageDigest(bad), ImageDigest(good));
  (void)job;
}

TEST_F(DeliveriesTest, ReplayedEventsThatDoNotFitAreRefused) {
  const std::string job = Job("Block 7", {{"LAMP", 2}});
  std::vector<Event> events = log_;
  auto replica = std::make_unique<Engine>(&clock_);
  for (size_t i = 0; i + 1 < events.size(); ++i) ASSERT_TRUE(replica->Apply(events[i]).ok());
  Event planned = events.back();
  std::get<ev::DeliveryPlanned>(planned.kind).delivery_id = "D-000007";  // Out of order.
  EXPECT_THAT(replica->Apply(planned), StatusIs(absl::StatusCode::kFailedPrecondition));
  planned = events.back();
  std::get<ev::DeliveryPlanned>(planned.kind).lines = {{"LAMP", 3}};  // Not its reservation.
  EXPECT_THAT(replica->Apply(planned), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_TRUE(replica->Apply(events.back()).ok());
  Event departed{events.back().sequence + 1, clock_.Now(), ev::DeliveryDeparted{"D-000002", ""}};
  EXPECT_THAT(replica->Apply(departed), StatusIs(absl::StatusCode::kFailedPrecondition));
  (void)job;
}

}  // namespace
}  // namespace dispatchd::engine::testing
