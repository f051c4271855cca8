// The matching rules: zone first, strict classes, deadlines, aging, skill
// levels, least over-qualified, cross-zone, waiting for a local
// technician, and pull when a technician becomes free.
#include "absl/strings/str_cat.h"
#include "tests/engine/test_util.h"

namespace dispatchd::engine::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class MatcherTest : public EngineTest {
 protected:
  // A - B 10 min, A - C 20 min, C - D 25 min (A..D 45 min).
  void Map() {
    Zone("A");
    Zone("B", {{"A", 10}});
    Zone("C", {{"A", 20}});
    Zone("D", {{"C", 25}});
  }
  // Makes `tech` busy on a fresh job in its zone for `minutes` (accepted).
  std::string Occupy(const std::string& tech, const std::string& zone,
                     uint32_t minutes, std::string_view skills = "electrical:1") {
    const std::string id = Submit(zone, skills, Urgency::kNormal, minutes);
    EXPECT_EQ(Holder(id), tech);
    Accept(tech, id);
    return id;
  }
};

TEST_F(MatcherTest, SameZoneTechnicianBeatsLowerIdElsewhere) {
  Map();
  Tech("A-elsewhere", "B", "electrical:1");
  Tech("Z-local", "A", "electrical:1");
  const std::string r = Submit("A", "electrical:1");
  EXPECT_EQ(Holder(r), "Z-local");
  EXPECT_EQ(Req(r).decision->rule, "zone-first");
  EXPECT_EQ(Req(r).decision->candidates[0].travel_minutes, 0u);
}

TEST_F(MatcherTest, OtherZonesRankedByTravel) {
  Map();
  Tech("C1", "C", "electrical:1");
  Tech("B1", "B", "electrical:1");
  const std::string r = Submit("A", "electrical:1");
  EXPECT_EQ(Holder(r), "B1");
  const Decision& d = *Req(r).decision;
  EXPECT_EQ(d.rule, "cross-zone: no local match");
  EXPECT_EQ(d.candidates[0].travel_minutes, 10u);
}

TEST_F(MatcherTest, CrossZoneDecisionListsTechniciansTooFarAway) {
  Map();
  Tech("D1", "D", "electrical:1");  // 45 min.
  Tech("C1", "C", "electrical:1");  // 20 min.
  const std::string r = Submit("A", "electrical:1");
  EXPECT_EQ(Holder(r), "C1");
  const Decision& d = *Req(r).decision;
  ASSERT_EQ(d.exclusions.size(), 1u);
  EXPECT_EQ(d.exclusions[0].technician_id, "D1");
  EXPECT_EQ(d.exclusions[0].reason, "too far: 45 min > 30");
}

TEST_F(MatcherTest, NeverBeyondCrossZoneLimit) {
  Map();
  Tech("D1", "D", "electrical:1");  // 45 min > 30.
  const std::string r = Submit("A", "electrical:1");
  EXPECT_EQ(Req(r).state, RequestState::kQueued);
  EXPECT_THAT(engine_.Explain(r)->waiting_reason, HasSubstr("beyond 30 min"));
}

TEST_F(MatcherTest, UrgentBeatsNormalFiledEarlier) {
  Map();
  Tech("T1", "A", "electrical:1");
  const std::string busy = Occupy("T1", "A", 30);
  const std::string normal = Submit("A", "electrical:1", Urgency::kNormal);
  Advance(absl::Minutes(1));
  const std::string urgent = Submit("A", "electrical:1", Urgency::kUrgent);
  Do(cmd::StartWork{"T1", busy});
  Do(cmd::CompleteWork{"T1", busy, true, {}, ""});
  EXPECT_EQ(Holder(urgent), "T1");
  EXPECT_EQ(Req(normal).state, RequestState::kQueued);
}

TEST_F(MatcherTest, EarliestDeadlineFirstWithinClass) {
  Map();
  Tech("T1", "A", "electrical:1");
  const std::string busy = Occupy("T1", "A", 30);
  const std::string later = Submit("A", "electrical:1");
  RequestSpec spec = Spec("A", "electrical:1");
  spec.due_by = clock_.Now() + absl::Minutes(90);  // Earlier than 240.
  const std::string sooner = Do(cmd::SubmitRequest{spec}).request_id;
  Do(cmd::StartWork{"T1", busy});
  Do(cmd::CompleteWork{"T1", busy, true, {}, ""});
  EXPECT_EQ(Holder(sooner), "T1");
  EXPECT_EQ(Req(later).state, RequestState::kQueued);
}

TEST_F(MatcherTest, AgingPromotesStarvingLowJobAheadOfNewerNormalOnes) {
  Map();
  Policy p;
  p.aging_promote_minutes = 60;
  Do(cmd::SetPolicy{p});
  Tech("T1", "A", "electrical:1");
  const std::string busy = Occupy("T1", "A", 600);
  const std::string low = Submit("A", "electrical:1", Urgency::kLow);
  for (int i = 0; i < 4; ++i) {  // 4 hours, ticking each hour.
    Advance(absl::Minutes(60));
    Tick();
  }
  EXPECT_EQ(Req(low).effective_urgency, Urgency::kUrgent);  // Never above.
  EXPECT_EQ(Req(low).spec.urgency, Urgency::kLow);
  const std::string normal = Submit("A", "electrical:1", Urgency::kNormal);
  Do(cmd::StartWork{"T1", busy});
  Do(cmd::CompleteWork{"T1", busy, true, {}, ""});
  EXPECT_EQ(Holder(low), "T1");
  EXPECT_EQ(Req(normal).state, RequestState::kQueued);
}

TEST_F(MatcherTest, AgingEmitsOnePromotionPerPeriodViaTick) {
  Map();
  Policy p;
  p.aging_promote_minutes = 60;
  Do(cmd::SetPolicy{p});
  const std::string low = Submit("A", "electrical:1", Urgency::kLow);
  EXPECT_EQ(engine_.NextTimer(), clock_.Now() + absl::Minutes(60));
  Advance(absl::Minutes(59));
  EXPECT_TRUE(Tick().events.empty());
  Advance(absl::Minutes(1));
  EXPECT_THAT(Kinds(Tick().events), ElementsAre("RequestPromoted"));
  EXPECT_EQ(Req(low).effective_urgency, Urgency::kNormal);
}

// After a long stop thousands of timers may be due at once: a Tick fires
// at most 1,024 of them, earliest first, and leaves the rest due (so the
// daemon ticks again at once, other commands in between); nothing is
// skipped or fired twice.
TEST_F(MatcherTest, ATickFiresABoundedShareOfAGreatBacklogAndLeavesTheRestDue) {
  Map();
  Policy p;
  p.aging_promote_minutes = 60;
  Do(cmd::SetPolicy{p});
  constexpr int kJobs = 2500;
  std::vector<std::string> jobs;
  for (int i = 0; i < kJobs; ++i) {
    jobs.push_back(Submit("A", "electrical:1", Urgency::kLow));
    Advance(absl::Milliseconds(10));
  }
  Advance(absl::Minutes(61));  // Every job is due for promotion.
  Outcome first = Tick();
  EXPECT_EQ(first.events.size(), 1024u);
  EXPECT_EQ(Req(jobs[1023]).effective_urgency, Urgency::kNormal);  // Earliest first.
  EXPECT_EQ(Req(jobs[1024]).effective_urgency, Urgency::kLow);
  ASSERT_TRUE(engine_.NextTimer().has_value());
  EXPECT_LE(*engine_.NextTimer(), clock_.Now());
  const std::string between = Submit("A", "electrical:1");  // A command between ticks.
  EXPECT_EQ(Req(between).state, RequestState::kQueued);
  EXPECT_EQ(Tick().events.size(), 1024u);
  EXPECT_EQ(Tick().events.size(), static_cast<size_t>(kJobs - 2048));
  for (const std::string& job : jobs) EXPECT_EQ(Req(job).effective_urgency, Urgency::kNormal);
  EXPECT_GT(*engine_.NextTimer(), clock_.Now());
  EXPECT_TRUE(Tick().events.empty());
}

TEST_F(MatcherTest, ExclusionsListTheFirstTechniciansInRegistrationOrder) {
  // Seven available plumbers in A (P1 left and came back, so it is no
  // longer first among the available in any order but registration's),
  // one off shift, and the electrician who gets the job: the Decision
  // lists the first five plumbers by registration, with reasons, and counts
  // the other two and the one off shift.
  Map();
  for (int i = 1; i <= 7; ++i) Tech(absl::StrCat("P", i), "A", "plumbing:1");
  Tech("Off", "A", "plumbing:1", /*start=*/false);
  Tech("E1", "A", "electrical:2");
  Do(cmd::EndShift{"P1"});
  Do(cmd::StartShift{"P1", ""});
  const std::string r = Submit("A", "electrical:1");
  EXPECT_EQ(Holder(r), "E1");
  const Decision& d = *Req(r).decision;
  ASSERT_EQ(d.exclusions.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(d.exclusions[i].technician_id, absl::StrCat("P", i + 1));
    EXPECT_EQ(d.exclusions[i].reason, "missing skill electrical");
  }
  EXPECT_EQ(d.exclusions_omitted, 3u);  // P6, P7 and Off.
}

TEST_F(MatcherTest, CrossZoneDecisionListsBusyAndOffShiftLocalsFirst) {
  // Locals: a busy plumber and an electrician off shift; the job goes
  // cross-zone and the Decision names both, in registration order, with
  // what kept each out.
  Map();
  Tech("L1", "A", "plumbing:1");
  Tech("L2", "A", "electrical:1", /*start=*/false);
  Tech("B1", "B", "electrical:1");
  const std::string busy = Occupy("L1", "A", 30, "plumbing:1");
  const std::string r = Submit("A", "electrical:1");
  EXPECT_EQ(Holder(r), "B1");
  const Decision& d = *Req(r).decision;
  EXPECT_EQ(d.rule, "cross-zone: no local match");
  ASSERT_EQ(d.exclusions.size(), 2u);
  EXPECT_EQ(d.exclusions[0].technician_id, "L1");
  EXPECT_EQ(d.exclusions[0].reason, "missing skill electrical");
  EXPECT_EQ(d.exclusions[1].technician_id, "L2");
  EXPECT_EQ(d.exclusions[1].reason, "off shift");
  EXPECT_EQ(d.exclusions_omitted, 0u);
}

TEST_F(MatcherTest, SkillLevelsMustBeCovered) {
  Map();
  Tech("E2", "A", "electrical:2");
  Tech("E3", "B", "electrical:3");
  const std::string r = Submit("A", "electrical:3");
  EXPECT_EQ(Holder(r), "E3");
  const Decision& d = *Req(r).decision;
  ASSERT_FALSE(d.exclusions.empty());
  EXPECT_EQ(d.exclusions[0].technician_id, "E2");
  EXPECT_EQ(d.exclusions[0].reason, "electrical level 2 < 3");
}

TEST_F(MatcherTest, LeastOverqualifiedGetsTheBulb) {
  Map();
  Tech("Senior", "A", "electrical:5");
  Advance(absl::Minutes(5));
  Tech("Junior", "A", "electrical:1");
  const std::string r = Submit("A", "electrical:1");
  EXPECT_EQ(Holder(r), "Junior");
  const Decision& d = *Req(r).decision;
  ASSERT_EQ(d.candidates.size(), 2u);
  EXPECT_EQ(d.candidates[1].technician_id, "Senior");
  EXPECT_EQ(d.candidates[1].overqualification, 4u);
  EXPECT_LT(d.candidates[0].score, d.candidates[1].score);
}

TEST_F(MatcherTest, TiesPreferSpecialistThenLongestAvailableThenId) {
  Map();
  Tech("Generalist", "A", "electrical:2,plumbing:2,hvac:2");
  Tech("Specialist", "A", "electrical:2");
  EXPECT_EQ(Holder(Submit("A", "electrical:2")), "Specialist");
  Tech("Late", "A", "plumbing:1");
  Advance(absl::Minutes(1));
  Tech("Early", "A", "plumbing:1", /*start=*/false);
  // "Late" started earlier than "Early": longest available wins over id.
  Do(cmd::StartShift{"Early", ""});
  EXPECT_EQ(Holder(Submit("A", "plumbing:1")), "Late");
}

TEST_F(MatcherTest, WaitsForLocalTechnicianWhoWillBeFreeBeforeSla) {
  Map();
  Tech("L1", "A", "electrical:1");
  const std::string busy = Occupy("L1", "A", 30);
  Tech("B1", "B", "electrical:1");
  const std::string r = Submit("A", "electrical:1");  // Normal: 240 min SLA.
  EXPECT_EQ(Req(r).state, RequestState::kQueued);
  EXPECT_EQ(TechOf("B1").state, TechnicianState::kAvailable);
  EXPECT_THAT(engine_.Explain(r)->waiting_reason,
              HasSubstr("waiting for local technician L1"));
  EXPECT_EQ(engine_.NextTimer(), clock_.Now() + absl::Minutes(30));
  Advance(absl::Minutes(30));
  Tick();  // L1 overran: still the better bet before the deadline.
  EXPECT_EQ(Req(r).state, RequestState::kQueued);
  Do(cmd::StartWork{"L1", busy});
  Do(cmd::CompleteWork{"L1", busy, true, {}, ""});
  EXPECT_EQ(Holder(r), "L1");
  EXPECT_EQ(Req(r).decision->rule, "pull: zone-first");
}

TEST_F(MatcherTest, GoesCrossZoneWhenWaitingWouldMissSla) {
  Map();
  Tech("L1", "A", "electrical:1");
  Occupy("L1", "A", 120);
  Tech("B1", "B", "electrical:1");
  const std::string r = Submit("A", "electrical:1", Urgency::kUrgent);  // 60 min.
  EXPECT_EQ(Holder(r), "B1");
  EXPECT_EQ(Req(r).decision->rule, "cross-zone: SLA at risk");
}

TEST_F(MatcherTest, WaitEndsAtSlaDeadlineWhenLocalOverruns) {
  Map();
  Tech("L1", "A", "electrical:1");
  Occupy("L1", "A", 30);
  Tech("B1", "B", "electrical:1");
  const std::string r = Submit("A", "electrical:1", Urgency::kUrgent);  // 60 min.
  EXPECT_EQ(Req(r).state, RequestState::kQueued);
  Advance(absl::Minutes(30));
  Tick();
  EXPECT_EQ(Req(r).state, RequestState::kQueued);
  EXPECT_EQ(engine_.NextTimer(), Req(r).sla_deadline);
  Advance(absl::Minutes(30));
  Tick();
  EXPECT_EQ(Holder(r), "B1");
  EXPECT_EQ(Req(r).decision->rule, "cross-zone: SLA at risk");
}

TEST_F(MatcherTest, WaitSurvivesAgingPromotion) {
  Map();
  Policy p;
  p.aging_promote_minutes = 60;
  Do(cmd::SetPolicy{p});
  Tech("L1", "A", "electrical:1");
  Occupy("L1", "A", 200);
  Tech("B1", "B", "electrical:1");
  const std::string r = Submit("A", "electrical:1", Urgency::kLow, 30);
  Do(cmd::ChangeUrgency{r, Urgency::kNormal, "re-filed"});  // SLA 240.
  ASSERT_EQ(Req(r).state, RequestState::kQueued);
  for (int minutes : {60, 200, 240}) {
    clock_.Set(Req(r).created_at + absl::Minutes(minutes));
    Tick();
  }
  EXPECT_EQ(Req(r).effective_urgency, Urgency::kUrgent);
  EXPECT_EQ(Holder(r), "B1");
}

TEST_F(MatcherTest, FreedTechnicianPullsBestJobForItsSkillsNearby) {
  Map();
  Tech("P", "A", "plumbing:2", /*start=*/false);
  const std::string elec = Submit("A", "electrical:1", Urgency::kEmergency);
  const std::string far_normal = Submit("B", "plumbing:1");
  const std::string near_normal = Submit("A", "plumbing:2");
  const std::string urgent_c = Submit("C", "plumbing:1", Urgency::kUrgent);
  const std::string too_hard = Submit("A", "plumbing:3", Urgency::kEmergency);
  Do(cmd::StartShift{"P", ""});
  EXPECT_EQ(Holder(urgent_c), "P");  // Class first, even 20 min away.
  EXPECT_EQ(Req(urgent_c).decision->rule, "pull: cross-zone");
  Accept("P", urgent_c);
  Do(cmd::StartWork{"P", urgent_c});
  Do(cmd::CompleteWork{"P", urgent_c, true, {}, ""});
  EXPECT_EQ(Holder(near_normal), "P");  // Own zone before B.
  EXPECT_EQ(Req(far_normal).state, RequestState::kQueued);
  EXPECT_EQ(Req(elec).state, RequestState::kQueued);
  EXPECT_EQ(Req(too_hard).state, RequestState::kQueued);
}

TEST_F(MatcherTest, PullLeavesOtherZonesJobWaitingForItsLocalTechnician) {
  Map();
  Tech("L1", "B", "electrical:1");
  const std::string busy = Occupy("L1", "B", 30);
  const std::string r = Submit("B", "electrical:1");  // Waits for L1.
  Tech("A1", "A", "electrical:1");                  // Starts, pulls.
  EXPECT_EQ(Req(r).state, RequestState::kQueued);
  EXPECT_EQ(TechOf("A1").state, TechnicianState::kAvailable);
  (void)busy;
}

TEST_F(MatcherTest, ExplainShowsRuleCandidatesAndExclusions) {
  Map();
  Tech("Busy", "A", "electrical:3");
  const std::string job = Occupy("Busy", "A", 30, "electrical:3");
  Tech("Off", "A", "electrical:3", /*start=*/false);
  Tech("Low", "A", "electrical:1");
  Tech("Good1", "A", "electrical:3");
  Tech("Good2", "A", "electrical:4");
  const std::string r = Submit("A", "electrical:3");
  absl::StatusOr<Explanation> e = engine_.Explain(r);
  ASSERT_TRUE(e.ok());
  const Decision& d = *e->request->decision;
  EXPECT_EQ(d.rule, "zone-first");
  EXPECT_THAT(d.detail, HasSubstr("Good1"));
  ASSERT_EQ(d.candidates.size(), 2u);
  EXPECT_EQ(d.candidates[0].technician_id, "Good1");
  EXPECT_EQ(d.candidates[1].technician_id, "Good2");
  std::vector<std::string> reasons;
  for (const Exclusion& x : d.exclusions) reasons.push_back(x.technician_id + ": " + x.reason);
  EXPECT_THAT(reasons, ::testing::UnorderedElementsAre(
                           "Low: electrical level 1 < 3", "Off: off shift",
                           "Busy: busy with " + job));
  EXPECT_EQ(e->waiting_reason, "");
}

TEST_F(MatcherTest, ExplainSaysWhyARequestWaits) {
  Map();
  const std::string r = Submit("A", "hvac:2");
  EXPECT_EQ(engine_.Explain(r)->waiting_reason, "no technician on shift has skill hvac");
  Tech("H1", "A", "hvac:1");
  EXPECT_EQ(engine_.Explain(r)->waiting_reason,
            "no technician on shift has hvac at level 2 (best: 1)");
  Tech("H2", "A", "hvac:2");  // Pulls r.
  EXPECT_EQ(Holder(r), "H2");
  Accept("H2", r);
  Policy no_preemption;  // Else the emergency would take H2 off r.
  no_preemption.preemption_enabled = false;
  Do(cmd::SetPolicy{no_preemption});
  // Urgent, and H2 is busy past its deadline: no one left to ask.
  const std::string r2 = Submit("A", "hvac:2", Urgency::kEmergency);
  EXPECT_EQ(engine_.Explain(r2)->waiting_reason,
            "adequate technicians all busy (H2 with " + r + ")");
  Tech("D1", "D", "hvac:2");
  EXPECT_EQ(engine_.Explain(r2)->waiting_reason,
            "adequate technicians all busy (H2 with " + r + ")");
}

TEST_F(MatcherTest, ExplainSaysWhenOnlyFarTechniciansCould) {
  Map();
  Tech("D1", "D", "hvac:2");
  const std::string r = Submit("A", "hvac:2");
  EXPECT_EQ(engine_.Explain(r)->waiting_reason,
            "adequate technicians available only beyond 30 min travel (D1: 45 min)");
}

TEST_F(MatcherTest, CandidateListIsCappedWithOmittedCount) {
  Map();
  for (int i = 0; i < 8; ++i) Tech("T" + std::to_string(i), "A", "electrical:1");
  const std::string r = Submit("A", "electrical:1");
  const Decision& d = *Req(r).decision;
  EXPECT_EQ(d.candidates.size(), Decision::kMaxListed);
  EXPECT_EQ(d.candidates_omitted, 3u);
}

}  // namespace
}  // namespace dispatchd::engine::testing
