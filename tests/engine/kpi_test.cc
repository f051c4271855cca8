// The rule book's KPIs on a scripted day, every answer computed by hand:
// p90 response and completion times, SLA hits per urgency, preemptions and
// utilisation, next to the means the office's targets are about.
#include "tests/engine/test_util.h"

namespace dispatchd::engine::testing {
namespace {

class KpiDayTest : public EngineTest {
 protected:
  // T1 does ten jobs back to back from t0: job i (0..9) is filed as the
  // previous one completes, accepted i + 1 minutes later, started at once
  // and completed 10 minutes after that. Even i are normal, odd i urgent
  // (urgent SLA 5 min). T1 ends the shift at t0 + 155 (55 min answering
  // + 100 min working). T2 then starts, takes a low job L at once, starts
  // it, and at +160 an emergency takes T2 off L. Stats read at +170.
  void Day() {
    Zone("A");
    Policy p;
    p.offer_timeout_seconds = 86400;
    p.sla_minutes_emergency = 3;
    p.sla_minutes_urgent = 5;
    Do(cmd::SetPolicy{p});
    t0_ = clock_.Now();
    Tech("T1", "A", "electrical:1");
    Tech("T2", "A", "electrical:1", /*start=*/false);
    for (int i = 0; i < 10; ++i) {
      const std::string r =
          Submit("A", "electrical:1", i % 2 == 0 ? Urgency::kNormal : Urgency::kUrgent);
      ASSERT_EQ(Holder(r), "T1");
      Advance(absl::Minutes(i + 1));
      Accept("T1", r);
      Do(cmd::StartWork{"T1", r});
      Advance(absl::Minutes(10));
      Do(cmd::CompleteWork{"T1", r, /*resolved=*/i != 3, {}, ""});
    }
    ASSERT_EQ(clock_.Now(), t0_ + absl::Minutes(155));
    Do(cmd::EndShift{"T1"});
    Do(cmd::StartShift{"T2", ""});
    low_ = Submit("A", "electrical:1", Urgency::kLow);
    Accept("T2", low_);
    Do(cmd::StartWork{"T2", low_});
    Advance(absl::Minutes(5));
    emergency_ = Do(cmd::RaiseAlert{"fire-panel", "bms", "power_outage", "A", "", 5, 1, "",
                                    Skills("electrical:1")})
                     .request_id;
    Advance(absl::Minutes(10));
  }

  absl::Time t0_;
  std::string low_, emergency_;
};

TEST_F(KpiDayTest, TechnicianP90sSlaPerUrgencyAndUtilisation) {
  Day();
  ASSERT_EQ(Req(low_).rare->preempted_by, emergency_);
  absl::StatusOr<Stats> stats = engine_.GetStats("", "T1");
  ASSERT_TRUE(stats.ok());
  ASSERT_EQ(stats->technicians.size(), 1u);
  const Kpis& t1 = stats->technicians[0].second;
  EXPECT_EQ(t1.completed, 10u);
  EXPECT_DOUBLE_EQ(t1.resolution_rate, 0.9);  // Job 3 was not resolved.
  // Responses 1..10 min: mean 5.5; p90 = 9th of 10 = 9.
  EXPECT_DOUBLE_EQ(t1.mean_response_minutes, 5.5);
  EXPECT_DOUBLE_EQ(t1.p90_response_minutes, 9);
  // Completions 11..20 min: mean 15.5; p90 = 19.
  EXPECT_DOUBLE_EQ(t1.mean_completion_minutes, 15.5);
  EXPECT_DOUBLE_EQ(t1.p90_completion_minutes, 19);
  // Urgent (odd i): responses 2, 4, 6, 8, 10 against 5 min: 2 of 5.
  const int urgent = static_cast<int>(Urgency::kUrgent) - 1;
  const int normal = static_cast<int>(Urgency::kNormal) - 1;
  EXPECT_EQ(t1.accepted_by_urgency[urgent], 5u);
  EXPECT_DOUBLE_EQ(t1.sla_hit_rate_by_urgency[urgent], 0.4);
  EXPECT_DOUBLE_EQ(t1.sla_hit_rate_by_urgency[normal], 1.0);
  EXPECT_DOUBLE_EQ(t1.sla_hit_rate, 0.7);
  EXPECT_EQ(t1.accepted_by_urgency[static_cast<int>(Urgency::kLow) - 1], 0u);
  // 100 min working of 155 on shift; the shift has ended, so it stays.
  EXPECT_DOUBLE_EQ(t1.utilisation, 100.0 / 155.0);
  EXPECT_EQ(t1.preemptions, 0u);
}

TEST_F(KpiDayTest, SiteAndZoneCountPreemptionsAndEveryonesTime) {
  Day();
  absl::StatusOr<Stats> stats = engine_.GetStats("A", "");
  ASSERT_TRUE(stats.ok());
  const Kpis& site = stats->site;
  EXPECT_EQ(site.preemptions, 1u);  // L, once.
  // T1 100 of 155 min; T2 working 155..160 of 155..170 on shift.
  EXPECT_DOUBLE_EQ(site.utilisation, 105.0 / 170.0);
  ASSERT_EQ(stats->zones.size(), 1u);
  EXPECT_DOUBLE_EQ(stats->zones[0].second.utilisation, 105.0 / 170.0);
  EXPECT_EQ(stats->zones[0].second.preemptions, 1u);
  ASSERT_EQ(stats->technicians.size(), 2u);
  EXPECT_EQ(stats->technicians[1].first, "T2");
  EXPECT_DOUBLE_EQ(stats->technicians[1].second.utilisation, 5.0 / 15.0);
  // Responses: T1's 1..10 plus L and the emergency at once (0, 0): twelve
  // values 0, 0, 1, ..., 10: p90 = 11th (ceil 10.8) = 9. Emergency and low
  // both answered within SLA.
  EXPECT_DOUBLE_EQ(site.mean_response_minutes, 55.0 / 12.0);
  EXPECT_DOUBLE_EQ(site.p90_response_minutes, 9);
  EXPECT_DOUBLE_EQ(site.sla_hit_rate_by_urgency[static_cast<int>(Urgency::kEmergency) - 1], 1.0);
  EXPECT_DOUBLE_EQ(site.sla_hit_rate_by_urgency[static_cast<int>(Urgency::kLow) - 1], 1.0);
  EXPECT_DOUBLE_EQ(site.sla_hit_rate, 9.0 / 12.0);
  // A replica computes the same, and so does a loaded image.
  auto replica = Replay(&clock_, log_);
  EXPECT_EQ(Dump(*replica), Dump(engine_));
  Engine loaded(&clock_);
  ASSERT_TRUE(loaded.LoadImage(engine_.ExportImage()).ok());
  EXPECT_DOUBLE_EQ(loaded.GetStats("", "")->site.utilisation, 105.0 / 170.0);
}

}  // namespace
}  // namespace dispatchd::engine::testing
