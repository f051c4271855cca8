// KPIs for a scripted mini day, computed by hand.
#include "tests/engine/test_util.h"

namespace dispatchd::engine::testing {
namespace {

class StatsTest : public EngineTest {
 protected:
  // t0: R1 normal/A (T1), R2 urgent/B (T2), R3 normal/A hvac (nobody),
  //     R4 low/B (waits for T2).
  // +10 T1 accepts R1; +20 starts; +30 R3 cancelled; +70 R1 completed,
  // resolved, rated 5. +90 T2 accepts R2 (SLA 60: missed); +95 starts;
  // +155 R2 completed unresolved, rated 2; T2 then pulls R4.
  void MiniDay() {
    Zone("A");
    Zone("B", {{"A", 10}});
    Policy p;
    p.offer_timeout_seconds = 86400;
    Do(cmd::SetPolicy{p});
    Tech("T1", "A", "electrical:1");
    Tech("T2", "B", "plumbing:1");
    const absl::Time t0 = clock_.Now();
    r1_ = Submit("A", "electrical:1", Urgency::kNormal);
    r2_ = Submit("B", "plumbing:1", Urgency::kUrgent);
    r3_ = Submit("A", "hvac:1", Urgency::kNormal);
    r4_ = Submit("B", "plumbing:1", Urgency::kLow);
    auto at = [&](int minutes) { clock_.Set(t0 + absl::Minutes(minutes)); };
    at(10), Accept("T1", r1_);
    at(20), Do(cmd::StartWork{"T1", r1_});
    at(30), Do(cmd::CancelRequest{r3_, "duplicate"});
    at(70), Do(cmd::CompleteWork{"T1", r1_, true, {}, ""});
    Do(cmd::RecordFeedback{r1_, 5, "great"});
    at(90), Accept("T2", r2_);
    at(95), Do(cmd::StartWork{"T2", r2_});
    at(155), Do(cmd::CompleteWork{"T2", r2_, false, {}, "needs a new pump"});
    Do(cmd::RecordFeedback{r2_, 2, "still leaking"});
  }
  std::string r1_, r2_, r3_, r4_;
};

TEST_F(StatsTest, MiniDayKpisSiteZoneAndTechnician) {
  MiniDay();
  ASSERT_EQ(Holder(r4_), "T2");
  absl::StatusOr<Stats> stats = engine_.GetStats("", "");
  ASSERT_TRUE(stats.ok());
  const Kpis& site = stats->site;
  EXPECT_EQ(site.submitted, 4u);
  EXPECT_EQ(site.open, 1u);
  EXPECT_EQ(site.completed, 2u);
  EXPECT_EQ(site.resolved, 1u);
  EXPECT_EQ(site.cancelled, 1u);
  EXPECT_DOUBLE_EQ(site.mean_response_minutes, (10 + 90) / 2.0);
  EXPECT_DOUBLE_EQ(site.mean_completion_minutes, (70 + 155) / 2.0);
  EXPECT_DOUBLE_EQ(site.resolution_rate, 0.5);
  EXPECT_DOUBLE_EQ(site.sla_hit_rate, 0.5);
  EXPECT_DOUBLE_EQ(site.feedback_average, 3.5);
  EXPECT_EQ(site.feedback_count, 2u);

  ASSERT_EQ(stats->zones.size(), 2u);
  const Kpis& a = stats->zones[0].second;
  EXPECT_EQ(stats->zones[0].first, "A");
  EXPECT_EQ(a.submitted, 2u);
  EXPECT_EQ(a.open, 0u);
  EXPECT_EQ(a.cancelled, 1u);
  EXPECT_DOUBLE_EQ(a.mean_response_minutes, 10);
  EXPECT_DOUBLE_EQ(a.sla_hit_rate, 1.0);
  EXPECT_DOUBLE_EQ(a.feedback_average, 5);
  const Kpis& b = stats->zones[1].second;
  EXPECT_EQ(b.submitted, 2u);
  EXPECT_EQ(b.open, 1u);
  EXPECT_DOUBLE_EQ(b.mean_completion_minutes, 155);
  EXPECT_DOUBLE_EQ(b.resolution_rate, 0);
  EXPECT_DOUBLE_EQ(b.sla_hit_rate, 0);

  ASSERT_EQ(stats->technicians.size(), 2u);
  const Kpis& t2 = stats->technicians[1].second;
  EXPECT_EQ(stats->technicians[1].first, "T2");
  EXPECT_EQ(t2.submitted, 2u);  // R2, and R4 now offered to T2.
  EXPECT_EQ(t2.open, 1u);
  EXPECT_EQ(t2.completed, 1u);
  EXPECT_DOUBLE_EQ(t2.mean_response_minutes, 90);
}

TEST_F(StatsTest, FiltersByZoneAndTechnician) {
  MiniDay();
  absl::StatusOr<Stats> in_a = engine_.GetStats("A", "");
  ASSERT_TRUE(in_a.ok());
  ASSERT_EQ(in_a->zones.size(), 1u);
  EXPECT_EQ(in_a->zones[0].first, "A");
  ASSERT_EQ(in_a->technicians.size(), 1u);  // Home zone A.
  EXPECT_EQ(in_a->technicians[0].first, "T1");
  EXPECT_EQ(in_a->site.submitted, 4u);
  absl::StatusOr<Stats> t1 = engine_.GetStats("", "T1");
  ASSERT_EQ(t1->technicians.size(), 1u);
  EXPECT_DOUBLE_EQ(t1->technicians[0].second.mean_completion_minutes, 70);
  EXPECT_THAT(engine_.GetStats("X", ""), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(engine_.GetStats("", "ghost"), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(StatsTest, ReassignmentMovesTheRequestBetweenTechnicians) {
  MiniDay();
  Do(cmd::DeclineOffer{"T2", r4_, "end of day"});
  const Kpis t2 = engine_.GetStats("", "T2")->technicians[0].second;
  EXPECT_EQ(t2.submitted, 1u);
  EXPECT_EQ(t2.open, 0u);
  EXPECT_EQ(engine_.GetStats("", "")->site.open, 1u);
}

}  // namespace
}  // namespace dispatchd::engine::testing
