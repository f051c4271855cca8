// Surge: a zone enters surge when its queue or its SLA-at-risk count
// reaches the policy threshold, asks its on-call off-shift technicians to
// start a shift, stops waiting for busy local technicians (cross-zone
// support, rule "cross-zone: surge"), and leaves surge only once both
// counts are below half their thresholds.
#include "tests/engine/test_util.h"

namespace dispatchd::engine::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class SurgeTest : public EngineTest {
 protected:
  void SetUp() override {
    Zone("A");
    Zone("B", {{"A", 10}});
  }
  void SetSurgePolicy(uint32_t queue, uint32_t at_risk) {
    Policy p;
    p.surge_queue_threshold = queue;
    p.surge_at_risk_threshold = at_risk;
    p.on_call_technician_ids = {"OC", "OCB", "L", "ghost"};
    Do(cmd::SetPolicy{p});
  }
  const ZoneBoard BoardOf(const std::string& zone) {
    auto boards = engine_.GetBoard(zone);
    EXPECT_TRUE(boards.ok());
    return boards->at(0);
  }
  int Count(const std::string& kind) {
    int n = 0;
    for (const Event& e : log_) n += KindName(e) == kind;
    return n;
  }
};

TEST_F(SurgeTest, QueueThresholdEntersSurgeAndLeavesItWithHysteresis) {
  SetSurgePolicy(4, 0);
  Tech("L", "A", "electrical:1");
  Tech("X", "B", "electrical:1");
  Tech("OC", "A", "electrical:1", /*start=*/false);   // On call, home A.
  Tech("OCB", "B", "electrical:1", /*start=*/false);  // On call, home B.
  const std::string r1 = Submit("A", "electrical:1");
  Accept("L", r1);
  // L is expected free in 30 min, well before the SLA: the next jobs wait
  // for L rather than go to X in zone B.
  const std::string r2 = Submit("A", "electrical:1");
  const std::string r3 = Submit("A", "electrical:1");
  const std::string r4 = Submit("A", "electrical:1");
  EXPECT_EQ(Holder(r2), "");
  EXPECT_FALSE(BoardOf("A").in_surge);
  EXPECT_EQ(Count("ZoneSurgeStarted"), 0);

  // The fourth queued job reaches the threshold.
  const Outcome out = Do(cmd::SubmitRequest{Spec("A", "electrical:1")});
  const std::string r5 = out.request_id;
  EXPECT_THAT(Kinds(out.events), ElementsAre("RequestSubmitted", "ZoneSurgeStarted",
                                             "ShiftRequested", "OfferMade"));
  const auto& started = std::get<ev::ZoneSurgeStarted>(out.events[1].kind);
  EXPECT_EQ(started.zone_id, "A");
  EXPECT_EQ(started.queued, 4u);
  EXPECT_THAT(started.reason, HasSubstr("queue of 4 reached the surge threshold 4"));
  // Only the on-call technician of zone A who is off shift is asked.
  const auto& asked = std::get<ev::ShiftRequested>(out.events[2].kind);
  EXPECT_EQ(asked.technician_id, "OC");
  EXPECT_EQ(asked.zone_id, "A");
  EXPECT_THAT(asked.reason, HasSubstr("zone A is in surge"));
  // The oldest waiting job stops waiting for L and goes across zones.
  EXPECT_EQ(Holder(r2), "X");
  const Decision& d = *Req(r2).decision;
  EXPECT_EQ(d.rule, "cross-zone: surge");
  EXPECT_THAT(d.detail, HasSubstr("Zone A is in surge"));
  ZoneBoard board = BoardOf("A");
  EXPECT_TRUE(board.in_surge);
  EXPECT_EQ(board.queued_total, 3u);
  EXPECT_FALSE(BoardOf("B").in_surge);
  auto why = engine_.Explain(r3);
  ASSERT_TRUE(why.ok());
  EXPECT_THAT(why->waiting_reason, HasSubstr("zone A is in surge"));

  // 2 queued: at half the threshold, still in surge.
  Do(cmd::CancelRequest{r3, "dup"});
  EXPECT_TRUE(BoardOf("A").in_surge);
  // 1 queued: below half (1 * 2 < 4), it leaves surge.
  const Outcome calm = Do(cmd::CancelRequest{r4, "dup"});
  EXPECT_THAT(Kinds(calm.events), ElementsAre("RequestCancelled", "ZoneSurgeEnded"));
  EXPECT_FALSE(BoardOf("A").in_surge);
  EXPECT_EQ(Holder(r5), "");  // Waits for L again.
  // Back to 3 queued: below the threshold, no new surge (no flapping).
  Submit("A", "electrical:1");
  Submit("A", "electrical:1");
  EXPECT_FALSE(BoardOf("A").in_surge);
  EXPECT_EQ(Count("ZoneSurgeStarted"), 1);
  EXPECT_EQ(Count("ZoneSurgeEnded"), 1);
  EXPECT_EQ(Count("ShiftRequested"), 1);

  // Replay and image rebuild the surge state too.
  std::unique_ptr<Engine> replica = Replay(&clock_, log_);
  EXPECT_EQ(Dump(*replica), Dump(engine_));
  EXPECT_EQ(replica->Digest(), engine_.Digest());
}

TEST_F(SurgeTest, ZonesEnteringSurgeInOneCommandDoSoInZoneOrder) {
  // Nobody on shift: every job queues. B's queue fills first.
  Submit("B", "electrical:1");
  Submit("B", "electrical:1");
  Submit("A", "electrical:1");
  Submit("A", "electrical:1");
  EXPECT_EQ(Count("ZoneSurgeStarted"), 0);
  Policy p;
  p.surge_queue_threshold = 2;
  const Outcome out = Do(cmd::SetPolicy{p});
  ASSERT_THAT(Kinds(out.events), ElementsAre("PolicySet", "ZoneSurgeStarted", "ZoneSurgeStarted"));
  EXPECT_EQ(std::get<ev::ZoneSurgeStarted>(out.events[1].kind).zone_id, "A");
  EXPECT_EQ(std::get<ev::ZoneSurgeStarted>(out.events[2].kind).zone_id, "B");
  // Settled: the next command finds nothing left to re-examine.
  EXPECT_THAT(Kinds(Do(cmd::SetPolicy{p}).events), ElementsAre("PolicySet"));
}

TEST_F(SurgeTest, AtRiskThresholdAndImageKeepTheSurge) {
  SetSurgePolicy(0, 2);  // Queue length never triggers.
  // Nobody on shift: urgent jobs queue with their SLA at risk; normal and
  // low ones do not count.
  for (int i = 0; i < 5; ++i) Submit("A", "electrical:1", Urgency::kNormal);
  EXPECT_FALSE(BoardOf("A").in_surge);
  Submit("A", "electrical:1", Urgency::kUrgent);
  EXPECT_EQ(BoardOf("A").at_risk, 1u);
  const Outcome out = Do(cmd::SubmitRequest{Spec("A", "electrical:1", Urgency::kUrgent)});
  ASSERT_THAT(Kinds(out.events), ElementsAre("RequestSubmitted", "ZoneSurgeStarted"));
  EXPECT_THAT(std::get<ev::ZoneSurgeStarted>(out.events[1].kind).reason,
              HasSubstr("2 jobs with their SLA at risk"));
  EXPECT_TRUE(BoardOf("A").in_surge);

  // The image carries the surge; a copy leaves it at the same moment.
  auto copy = std::make_unique<Engine>(&clock_);
  ASSERT_TRUE(copy->LoadImage(engine_.ExportImage()).ok());
  EXPECT_EQ(Dump(*copy), Dump(engine_));
  EXPECT_EQ(copy->Digest(), engine_.Digest());
  // Raising the threshold ends the surge (both counts below half of it).
  Policy p = engine_.policy();
  p.surge_at_risk_threshold = 5;
  const Outcome live = Do(cmd::SetPolicy{p});
  EXPECT_THAT(Kinds(live.events), ElementsAre("PolicySet", "ZoneSurgeEnded"));
  absl::StatusOr<Outcome> copied = copy->Handle(cmd::SetPolicy{p});
  ASSERT_TRUE(copied.ok());
  EXPECT_EQ(copied->events, live.events);

  // An image naming an unknown zone in surge does not load.
  StateImage bad = engine_.ExportImage();
  bad.surge_zones = {"nowhere"};
  Engine fresh(&clock_);
  EXPECT_EQ(fresh.LoadImage(bad).code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace dispatchd::engine::testing
