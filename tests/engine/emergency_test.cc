// Emergencies: free technicians first, then preemption of the nearest
// technician on less urgent work (never bumping a job more often than
// policy allows), crews of N across zones, plans per alert kind with
// backup materials reserved at once, dedupe and resolve.
#include "tests/engine/test_util.h"

namespace dispatchd::engine::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

class EmergencyTest : public EngineTest {
 protected:
  void SetUp() override {
    Zone("A");
    Zone("B", {{"A", 10}});
    Zone("C", {{"A", 20}});
    Zone("D", {{"A", 90}});  // Beyond the 30-minute cross-zone limit.
  }

  // A `urgency` job in `zone` taken and started by `tech`.
  std::string Busy(const std::string& tech, const std::string& zone, Urgency urgency) {
    const std::string r = Submit(zone, "electrical:1", urgency);
    if (Holder(r) != tech) Do(cmd::AssignRequest{r, tech, "setup"});
    else Accept(tech, r);
    Do(cmd::StartWork{tech, r});
    return r;
  }

  Outcome Raise(const std::string& key, const std::string& zone, uint32_t crew = 1,
                const std::string& kind = "power_outage") {
    return Do(cmd::RaiseAlert{key, "bms", kind, zone, "Hall", 4, crew, "no power", {}});
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

TEST_F(EmergencyTest, PreemptsTheNearestTechnicianOnTheLeastUrgentWork) {
  Tech("Near", "A", "electrical:3");
  Tech("NearUrgent", "A", "electrical:3");
  Tech("Far", "B", "electrical:3");
  const std::string near_job = Busy("Near", "A", Urgency::kNormal);
  const std::string urgent_job = Busy("NearUrgent", "A", Urgency::kUrgent);
  const std::string far_job = Busy("Far", "B", Urgency::kLow);
  const Outcome out = Raise("gen-1", "A");
  const std::string emergency = out.request_id;
  EXPECT_THAT(Kinds(out.events),
              ElementsAre("RequestSubmitted", "AlertRaised", "RequestPreempted",
                          "RequestAssigned"));
  EXPECT_EQ(Holder(emergency), "Near");  // Same zone beats the low job 10 min away.
  EXPECT_EQ(Req(emergency).state, RequestState::kAssigned);
  EXPECT_EQ(Req(emergency).decision->rule, "emergency: preemption");
  EXPECT_THAT(Req(emergency).decision->detail, HasSubstr(near_job));
  EXPECT_EQ(Req(near_job).state, RequestState::kQueued);
  EXPECT_EQ(Req(near_job).preemptions, 1u);
  EXPECT_EQ(Req(near_job).rare->preempted_by, emergency);
  EXPECT_EQ(Holder(urgent_job), "NearUrgent");
  EXPECT_EQ(Holder(far_job), "Far");
  // Back at the head of its class: ahead of an older normal job.
  const std::vector<const Request*> queued = (*engine_.GetBoard("A"))[0].queued;
  ASSERT_THAT(queued, SizeIs(1));
  EXPECT_EQ(queued[0]->request_id, near_job);
  const std::string newer = Submit("A", "electrical:1");
  Do(cmd::CompleteWork{"NearUrgent", urgent_job, true, {}, ""});
  EXPECT_EQ(Holder(near_job), "NearUrgent");  // The bumped job first.
  EXPECT_EQ(Holder(newer), "");
  ExpectReplayMatches();
}

TEST_F(EmergencyTest, FreeTechniciansFirstEvenAcrossZones) {
  Tech("Busy", "A", "electrical:3");
  Tech("FreeB", "B", "electrical:3");
  const std::string job = Busy("Busy", "A", Urgency::kLow);
  const std::string emergency = Raise("gen-1", "A").request_id;
  EXPECT_EQ(Holder(emergency), "FreeB");
  EXPECT_EQ(Req(job).preemptions, 0u);
  EXPECT_EQ(Holder(job), "Busy");
}

TEST_F(EmergencyTest, NeverBumpsAJobMoreOftenThanAllowed) {
  Policy p;
  p.max_preemptions_per_job = 1;
  Do(cmd::SetPolicy{p});
  Tech("T1", "A", "electrical:3");
  const std::string job = Busy("T1", "A", Urgency::kNormal);
  const std::string first = Raise("gen-1", "A").request_id;
  EXPECT_EQ(Holder(first), "T1");
  EXPECT_EQ(Req(job).preemptions, 1u);
  Do(cmd::ResolveAlert{"gen-1", "power back"});
  EXPECT_EQ(Holder(job), "T1");  // Pulled straight back.
  Accept("T1", job);
  Do(cmd::StartWork{"T1", job});

  const Outcome second = Raise("gen-2", "A");
  EXPECT_THAT(Kinds(second.events), ElementsAre("RequestSubmitted", "AlertRaised"));
  EXPECT_EQ(Holder(job), "T1");
  EXPECT_EQ(Req(job).preemptions, 1u);
  EXPECT_EQ(Req(second.request_id).state, RequestState::kQueued);
  Do(cmd::CompleteWork{"T1", job, true, {}, ""});
  EXPECT_EQ(Holder(second.request_id), "T1");  // Free again: the emergency first.
  ExpectReplayMatches();
}

TEST_F(EmergencyTest, DisabledPreemptionLeavesTheEmergencyQueued) {
  Policy p;
  p.preemption_enabled = false;
  Do(cmd::SetPolicy{p});
  Tech("T1", "A", "electrical:3");
  const std::string job = Busy("T1", "A", Urgency::kLow);
  const std::string emergency = Raise("gen-1", "A").request_id;
  EXPECT_EQ(Holder(job), "T1");
  EXPECT_EQ(Req(emergency).state, RequestState::kQueued);
}

TEST_F(EmergencyTest, CrewOfThreeAssembledAcrossZonesWithPlanAndBackupMaterials) {
  Policy p;
  p.emergency_plans = {{"power_outage", 3, Skills("electrical:2"), {{"GENSET-CABLE", 2}}}};
  Do(cmd::SetPolicy{p});
  Do(cmd::AdjustStock{"B", "GENSET-CABLE", 5, "stock"});
  Tech("LocalA", "A", "electrical:2");
  Tech("FreeB", "B", "electrical:2");
  Tech("BusyC", "C", "electrical:2");
  Tech("TooFar", "D", "electrical:2");
  Tech("Plumber", "A", "plumbing:2");
  const std::string c_job = Busy("BusyC", "C", Urgency::kNormal);
  const Outcome out = Raise("outage-7", "A", /*crew=*/0);
  const std::string lead = out.request_id;
  const Request& r = Req(lead);
  EXPECT_EQ(r.spec.crew_size, 3u);
  EXPECT_EQ(r.spec.required_skills, Skills("electrical:2"));
  ASSERT_THAT(r.crew_request_ids, SizeIs(2));
  // Backup materials reserved at once, before anyone is assigned.
  EXPECT_EQ(Kinds(out.events)[2], "MaterialsReserved");
  EXPECT_THAT(r.reserved, ElementsAre(Reservation{"B", "GENSET-CABLE", 2}));
  EXPECT_EQ(Holder(lead), "LocalA");
  EXPECT_EQ(Holder(r.crew_request_ids[0]), "FreeB");
  EXPECT_THAT(Req(r.crew_request_ids[0]).decision->rule, HasSubstr("cross-zone"));
  EXPECT_EQ(Holder(r.crew_request_ids[1]), "BusyC");
  EXPECT_EQ(Req(r.crew_request_ids[1]).decision->rule, "emergency: preemption");
  EXPECT_EQ(Req(c_job).rare->preempted_by, r.crew_request_ids[1]);
  EXPECT_EQ(Req(r.crew_request_ids[1]).rare->crew_of, lead);

  // The same dedupe key is the same emergency.
  const Outcome again = Raise("outage-7", "A", 3);
  EXPECT_TRUE(again.duplicate);
  EXPECT_EQ(again.request_id, lead);
  EXPECT_THAT(again.events, SizeIs(0));

  const std::string crew2 = r.crew_request_ids[0];
  const std::string crew3 = r.crew_request_ids[1];
  Accept("LocalA", lead);
  Do(cmd::StartWork{"LocalA", lead});
  Do(cmd::ResolveAlert{"outage-7", "grid back"});
  EXPECT_EQ(Req(lead).state, RequestState::kCompleted);
  EXPECT_EQ(Req(crew2).state, RequestState::kCancelled);
  EXPECT_EQ(Req(crew3).state, RequestState::kCancelled);
  EXPECT_EQ(Holder(c_job), "BusyC");  // Back to the bumped job.
  EXPECT_EQ(engine_.GetStock("B", "GENSET-CABLE")[0].reserved, 0);
  EXPECT_EQ(engine_.GetStock("B", "GENSET-CABLE")[0].on_hand, 5);  // None reported used.
  ExpectReplayMatches();
}

TEST_F(EmergencyTest, EmergencySubmittedWithACrewOpensCrewRequests) {
  Tech("E1", "A", "electrical:1");
  Tech("E2", "A", "electrical:1");
  RequestSpec s = Spec("A", "electrical:1", Urgency::kEmergency);
  s.crew_size = 2;
  const std::string lead = Do(cmd::SubmitRequest{s}).request_id;
  ASSERT_THAT(Req(lead).crew_request_ids, SizeIs(1));
  EXPECT_NE(Holder(lead), "");
  EXPECT_NE(Holder(Req(lead).crew_request_ids[0]), "");
  EXPECT_NE(Holder(lead), Holder(Req(lead).crew_request_ids[0]));
  ExpectReplayMatches();
}

TEST_F(EmergencyTest, BadPlansAreRejected) {
  Policy p;
  p.emergency_plans = {{"gas", 1, {}, {}}, {"gas", 2, {}, {}}};
  ExpectRejected(cmd::SetPolicy{p}, absl::StatusCode::kInvalidArgument, "duplicate kind");
  p.emergency_plans = {{"gas", 0, {}, {}}};
  ExpectRejected(cmd::SetPolicy{p}, absl::StatusCode::kInvalidArgument, "crew_size");
  ExpectRejected(cmd::RaiseAlert{"k", "s", "gas", "A", "", 3, 21, "", {}},
                 absl::StatusCode::kInvalidArgument, "crew_size");
}

}  // namespace
}  // namespace dispatchd::engine::testing
