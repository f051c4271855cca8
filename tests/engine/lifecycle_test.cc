// A job's life: offers (accept, decline, expiry), the dispatcher's
// override in every state, cancellation in every state, holds and resume,
// shifts, scheduled windows, urgency changes, and moving technicians.
#include "tests/engine/test_util.h"

namespace dispatchd::engine::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class LifecycleTest : public EngineTest {
 protected:
  void SetUp() override {
    Zone("A");
    Zone("B", {{"A", 10}});
  }
};

TEST_F(LifecycleTest, OfferThenAccept) {
  Tech("T1", "A", "electrical:1");
  const Outcome out = Do(cmd::SubmitRequest{Spec("A", "electrical:1")});
  EXPECT_THAT(Kinds(out.events), ElementsAre("RequestSubmitted", "OfferMade"));
  const std::string r = out.request_id;
  EXPECT_EQ(r, "R-000001");
  EXPECT_EQ(Req(r).state, RequestState::kOffered);
  EXPECT_EQ(Req(r).offer_expires_at, clock_.Now() + absl::Seconds(120));
  EXPECT_EQ(TechOf("T1").state, TechnicianState::kOffered);
  Advance(absl::Minutes(1));
  Accept("T1", r);
  EXPECT_EQ(Req(r).state, RequestState::kAssigned);
  EXPECT_EQ(Req(r).rare->accepted_at, clock_.Now());
  EXPECT_EQ(TechOf("T1").state, TechnicianState::kAssigned);
  EXPECT_EQ(TechOf("T1").request_id, r);
}

TEST_F(LifecycleTest, DeclineGoesToNextCandidateAndDeclinerIsNeverReoffered) {
  Tech("First", "A", "electrical:1");
  Advance(absl::Minutes(1));
  Tech("Second", "A", "electrical:1");
  const std::string r = Submit("A", "electrical:1");
  EXPECT_EQ(Holder(r), "First");
  const Outcome out = Do(cmd::DeclineOffer{"First", r, "at lunch"});
  EXPECT_THAT(Kinds(out.events), ElementsAre("OfferDeclined", "OfferMade"));
  EXPECT_EQ(Holder(r), "Second");
  EXPECT_THAT(Req(r).declined_by, ElementsAre("First"));
  EXPECT_EQ(TechOf("First").state, TechnicianState::kAvailable);
  Do(cmd::DeclineOffer{"Second", r, "no ladder"});
  EXPECT_EQ(Req(r).state, RequestState::kQueued);
  EXPECT_EQ(TechOf("First").state, TechnicianState::kAvailable);
  EXPECT_THAT(engine_.Explain(r)->waiting_reason, HasSubstr("declined"));
  // Even becoming free again does not bring it back to them.
  Do(cmd::EndShift{"First"});
  Do(cmd::StartShift{"First", ""});
  EXPECT_EQ(Req(r).state, RequestState::kQueued);
}

TEST_F(LifecycleTest, DeclinerPullsOtherWork) {
  Tech("T1", "A", "electrical:1,plumbing:1");
  const std::string r1 = Submit("A", "electrical:1");
  const std::string r2 = Submit("A", "plumbing:1");
  EXPECT_EQ(Holder(r1), "T1");
  Do(cmd::DeclineOffer{"T1", r1, "not today"});
  EXPECT_EQ(Holder(r2), "T1");
  EXPECT_EQ(Req(r1).state, RequestState::kQueued);
}

TEST_F(LifecycleTest, OfferTimeoutViaTickGoesToNextCandidate) {
  Tech("First", "A", "electrical:1");
  Advance(absl::Minutes(1));
  Tech("Second", "A", "electrical:1");
  const std::string r = Submit("A", "electrical:1");
  EXPECT_EQ(engine_.NextTimer(), clock_.Now() + absl::Seconds(120));
  Advance(absl::Seconds(119));
  EXPECT_TRUE(Tick().events.empty());
  Advance(absl::Seconds(1));
  // Too late to accept, even before the tick.
  ExpectRejected(cmd::AcceptOffer{"First", r}, absl::StatusCode::kFailedPrecondition,
                 "expired");
  const Outcome out = Tick();
  EXPECT_THAT(Kinds(out.events), ElementsAre("OfferExpired", "OfferMade"));
  EXPECT_EQ(Holder(r), "Second");
  EXPECT_THAT(Req(r).declined_by, ElementsAre("First"));
}

TEST_F(LifecycleTest, AcceptOrDeclineOfSomeoneElsesOfferFails) {
  Tech("T1", "A", "electrical:1");
  Tech("T2", "A", "plumbing:1");
  const std::string r = Submit("A", "electrical:1");
  ExpectRejected(cmd::AcceptOffer{"T2", r}, absl::StatusCode::kFailedPrecondition,
                 "not offered to technician 'T2'");
  ExpectRejected(cmd::DeclineOffer{"T2", r, "no"}, absl::StatusCode::kFailedPrecondition);
  Accept("T1", r);
  ExpectRejected(cmd::AcceptOffer{"T1", r}, absl::StatusCode::kFailedPrecondition);
}

TEST_F(LifecycleTest, OverrideQueuedRequestToTechnicianLackingSkillsNotesThem) {
  Tech("T1", "A", "plumbing:1");
  const std::string r = Submit("A", "electrical:3");
  EXPECT_EQ(Req(r).state, RequestState::kQueued);
  const Outcome out = Do(cmd::AssignRequest{r, "T1", "only one around"});
  EXPECT_THAT(Kinds(out.events), ElementsAre("RequestAssigned"));
  EXPECT_EQ(Req(r).state, RequestState::kAssigned);
  EXPECT_EQ(Req(r).rare->accepted_at, clock_.Now());
  const Decision& d = *Req(r).decision;
  EXPECT_EQ(d.rule, "dispatcher override");
  EXPECT_THAT(d.detail, HasSubstr("only one around"));
  EXPECT_THAT(d.detail, HasSubstr("missing skill electrical"));
  EXPECT_EQ(TechOf("T1").state, TechnicianState::kAssigned);
}

TEST_F(LifecycleTest, OverrideOfferedRequestReleasesOffereeWhoPulls) {
  Tech("T1", "A", "electrical:1");
  Tech("T2", "A", "electrical:1,plumbing:1");
  const std::string r = Submit("A", "electrical:1");
  ASSERT_EQ(Holder(r), "T1");
  const std::string other = Submit("A", "electrical:1");
  ASSERT_EQ(Holder(other), "T2");
  Do(cmd::DeclineOffer{"T2", other, "busy"});  // other: queued, T2 free.
  ASSERT_EQ(Req(other).state, RequestState::kQueued);
  const Outcome out = Do(cmd::AssignRequest{r, "T2", "T2 is on site"});
  EXPECT_EQ(Holder(r), "T2");
  EXPECT_EQ(std::get<ev::RequestAssigned>(out.events[0].kind).released_technician_id, "T1");
  EXPECT_EQ(Holder(other), "T1");  // T1 released, pulled the waiting job.
}

TEST_F(LifecycleTest, OverrideAssignedRequestReleasesPreviousWhoPullsNext) {
  Tech("T1", "A", "electrical:1");
  const std::string r = Submit("A", "electrical:1");
  Accept("T1", r);
  const std::string next = Submit("A", "electrical:1");
  EXPECT_EQ(Req(next).state, RequestState::kQueued);
  Tech("T2", "B", "electrical:1");
  Do(cmd::AssignRequest{r, "T2", "specialist"});
  EXPECT_EQ(Holder(r), "T2");
  EXPECT_EQ(Holder(next), "T1");
  EXPECT_EQ(Req(r).decision->candidates[0].travel_minutes, 10u);
}

TEST_F(LifecycleTest, OverrideOnHoldRequestMovesItFromPreviousTechnician) {
  Tech("T1", "A", "electrical:1");
  const std::string r = Submit("A", "electrical:1");
  Accept("T1", r);
  Do(cmd::StartWork{"T1", r});
  Do(cmd::PutOnHold{"T1", r, "waiting for parts"});
  EXPECT_THAT(TechOf("T1").on_hold_request_ids, ElementsAre(r));
  Tech("T2", "A", "electrical:1");
  const Outcome out = Do(cmd::AssignRequest{r, "T2", "T1 went home"});
  EXPECT_EQ(std::get<ev::RequestAssigned>(out.events[0].kind).released_technician_id, "T1");
  EXPECT_TRUE(TechOf("T1").on_hold_request_ids.empty());
  EXPECT_EQ(Holder(r), "T2");
  EXPECT_EQ(Req(r).rare->hold_reason, "");
}

TEST_F(LifecycleTest, OverrideWithdrawsTargetsOtherOfferWhichIsRedispatched) {
  Tech("T1", "A", "electrical:1");
  const std::string held = Submit("A", "electrical:1");
  ASSERT_EQ(Holder(held), "T1");
  const std::string wanted = Submit("A", "plumbing:1");
  Tech("T2", "A", "electrical:1", /*start=*/false);
  const Outcome out = Do(cmd::AssignRequest{wanted, "T1", "urgent fix"});
  EXPECT_THAT(Kinds(out.events), ElementsAre("OfferWithdrawn", "RequestAssigned"));
  EXPECT_EQ(Req(held).state, RequestState::kQueued);
  Do(cmd::StartShift{"T2", ""});
  EXPECT_EQ(Holder(held), "T2");
}

TEST_F(LifecycleTest, OverrideRejectsBusyOrOffShiftTechnician) {
  Tech("T1", "A", "electrical:1");
  const std::string job = Submit("A", "electrical:1");
  Accept("T1", job);
  const std::string r = Submit("A", "electrical:1");
  ExpectRejected(cmd::AssignRequest{r, "T1", "x"}, absl::StatusCode::kFailedPrecondition,
                 "busy with " + job);
  Tech("Off", "A", "electrical:1", /*start=*/false);
  ExpectRejected(cmd::AssignRequest{r, "Off", "x"}, absl::StatusCode::kFailedPrecondition,
                 "off shift");
  ExpectRejected(cmd::AssignRequest{job, "T1", "x"}, absl::StatusCode::kFailedPrecondition,
                 "already assigned");
}

// Cancels a request in each open state; the released technician pulls the
// waiting job.
TEST_F(LifecycleTest, CancelInEveryOpenStateReleasesTechnicianWhoPulls) {
  const RequestState states[] = {RequestState::kOffered, RequestState::kAssigned,
                                 RequestState::kInProgress, RequestState::kOnHold};
  int n = 0;
  for (RequestState want : states) {
    const std::string t = "T" + std::to_string(++n);
    const std::string skill = "skill" + std::to_string(n);
    Tech(t, "A", skill);
    const std::string r = Submit("A", skill);
    ASSERT_EQ(Holder(r), t);
    if (want != RequestState::kOffered) Accept(t, r);
    if (want == RequestState::kInProgress || want == RequestState::kOnHold) {
      Do(cmd::StartWork{t, r});
    }
    const std::string waiting = Submit("A", skill);
    if (want == RequestState::kOnHold) {
      Do(cmd::PutOnHold{t, r, "parts"});  // T pulls `waiting` right away.
      ASSERT_EQ(Holder(waiting), t);
    }
    ASSERT_EQ(Req(r).state, want);
    const Outcome out = Do(cmd::CancelRequest{r, "no longer needed"});
    EXPECT_EQ(std::get<ev::RequestCancelled>(out.events[0].kind).technician_id, t);
    EXPECT_EQ(Req(r).state, RequestState::kCancelled);
    EXPECT_EQ(Req(r).rare->completed_at, clock_.Now());
    EXPECT_EQ(Holder(waiting), t) << static_cast<int>(want);
    EXPECT_TRUE(TechOf(t).on_hold_request_ids.empty());
    ExpectRejected(cmd::CancelRequest{r, "again"}, absl::StatusCode::kFailedPrecondition,
                   "already cancelled");
  }
}

TEST_F(LifecycleTest, CancelQueuedAndScheduledRequests) {
  const std::string queued = Submit("A", "electrical:1");
  RequestSpec spec = Spec("A", "electrical:1");
  spec.not_before = clock_.Now() + absl::Hours(2);
  const std::string scheduled = Do(cmd::SubmitRequest{spec}).request_id;
  ASSERT_EQ(Req(scheduled).state, RequestState::kScheduled);
  Do(cmd::CancelRequest{queued, "dup"});
  Do(cmd::CancelRequest{scheduled, "dup"});
  EXPECT_EQ(Req(queued).state, RequestState::kCancelled);
  EXPECT_EQ(Req(scheduled).state, RequestState::kCancelled);
  EXPECT_EQ(engine_.NextTimer(), std::nullopt);
  auto board = engine_.GetBoard("A");
  EXPECT_TRUE((*board)[0].queued.empty());
}

TEST_F(LifecycleTest, HoldFreesTechnicianAndStartWorkResumes) {
  Tech("T1", "A", "electrical:1");
  const std::string r = Submit("A", "electrical:1");
  Accept("T1", r);
  Do(cmd::StartWork{"T1", r});
  EXPECT_EQ(Req(r).state, RequestState::kInProgress);
  EXPECT_EQ(TechOf("T1").state, TechnicianState::kWorking);
  Do(cmd::PutOnHold{"T1", r, "waiting for parts"});
  EXPECT_EQ(Req(r).state, RequestState::kOnHold);
  EXPECT_EQ(Req(r).rare->hold_reason, "waiting for parts");
  EXPECT_EQ(TechOf("T1").state, TechnicianState::kAvailable);
  const std::string other = Submit("A", "electrical:1");
  ASSERT_EQ(Holder(other), "T1");
  ExpectRejected(cmd::StartWork{"T1", r}, absl::StatusCode::kFailedPrecondition,
                 "busy with " + other);
  Do(cmd::DeclineOffer{"T1", other, "finishing the other one"});
  Do(cmd::StartWork{"T1", r});
  EXPECT_EQ(Req(r).state, RequestState::kInProgress);
  EXPECT_EQ(TechOf("T1").request_id, r);
  EXPECT_TRUE(TechOf("T1").on_hold_request_ids.empty());
  Do(cmd::CompleteWork{"T1", r, true, {{"FUSE-10A", 2}}, "replaced fuse"});
  EXPECT_EQ(Req(r).state, RequestState::kCompleted);
  EXPECT_TRUE(Req(r).resolved);
}

TEST_F(LifecycleTest, EndShiftWhileWorkingIsRefused) {
  Tech("T1", "A", "electrical:1");
  const std::string r = Submit("A", "electrical:1");
  Accept("T1", r);
  Do(cmd::StartWork{"T1", r});
  ExpectRejected(cmd::EndShift{"T1"}, absl::StatusCode::kFailedPrecondition,
                 "complete or put on hold " + r + " first");
}

TEST_F(LifecycleTest, EndShiftWithOfferWithdrawsAndRedispatches) {
  Tech("T1", "A", "electrical:1");
  Tech("T2", "A", "electrical:2");
  const std::string r = Submit("A", "electrical:1");
  ASSERT_EQ(Holder(r), "T1");
  const Outcome out = Do(cmd::EndShift{"T1"});
  EXPECT_THAT(Kinds(out.events), ElementsAre("OfferWithdrawn", "ShiftEnded", "OfferMade"));
  EXPECT_EQ(Holder(r), "T2");
  EXPECT_TRUE(Req(r).declined_by.empty());
  EXPECT_EQ(TechOf("T1").state, TechnicianState::kOffShift);
}

TEST_F(LifecycleTest, EndShiftWithAssignedJobRequeuesIt) {
  Tech("T1", "A", "electrical:1");
  const std::string r = Submit("A", "electrical:1");
  Accept("T1", r);
  const Outcome out = Do(cmd::EndShift{"T1"});
  EXPECT_THAT(Kinds(out.events), ElementsAre("RequestRequeued", "ShiftEnded"));
  EXPECT_EQ(std::get<ev::RequestRequeued>(out.events[0].kind).reason,
            "technician ended shift");
  EXPECT_EQ(Req(r).state, RequestState::kQueued);
  Tech("T2", "B", "electrical:1");
  EXPECT_EQ(Holder(r), "T2");
}

TEST_F(LifecycleTest, ScheduledRequestEntersDispatchWhenItsWindowOpens) {
  Tech("T1", "A", "electrical:1");
  RequestSpec spec = Spec("A", "electrical:1");
  const absl::Time start = clock_.Now() + absl::Hours(24);
  spec.not_before = start;
  const std::string r = Do(cmd::SubmitRequest{spec}).request_id;
  EXPECT_EQ(Req(r).state, RequestState::kScheduled);
  EXPECT_EQ(Req(r).sla_deadline, start + absl::Minutes(240));
  EXPECT_EQ(TechOf("T1").state, TechnicianState::kAvailable);
  EXPECT_THAT(engine_.Explain(r)->waiting_reason, HasSubstr("scheduled"));
  EXPECT_EQ(engine_.NextTimer(), start);
  clock_.Set(start);
  EXPECT_THAT(Kinds(Tick().events), ElementsAre("RequestRequeued", "OfferMade"));
  EXPECT_EQ(Holder(r), "T1");
}

TEST_F(LifecycleTest, ChangeUrgencyRecomputesSlaAndReordersQueue) {
  Tech("T1", "A", "electrical:1");
  const std::string busy = Submit("A", "electrical:1");
  Accept("T1", busy);
  const std::string first = Submit("A", "electrical:1", Urgency::kNormal);
  const std::string second = Submit("A", "electrical:1", Urgency::kLow);
  Do(cmd::ChangeUrgency{second, Urgency::kUrgent, "classroom dark"});
  EXPECT_EQ(Req(second).spec.urgency, Urgency::kUrgent);
  EXPECT_EQ(Req(second).effective_urgency, Urgency::kUrgent);
  EXPECT_EQ(Req(second).sla_deadline, Req(second).created_at + absl::Minutes(60));
  Do(cmd::StartWork{"T1", busy});
  Do(cmd::CompleteWork{"T1", busy, true, {}, ""});
  EXPECT_EQ(Holder(second), "T1");
  EXPECT_EQ(Req(first).state, RequestState::kQueued);
}

TEST_F(LifecycleTest, TechnicianWhoMovesPullsNearbyWork) {
  Zone("Far", {{"B", 40}});
  Tech("T1", "Far", "electrical:1");
  const std::string r = Submit("A", "electrical:1");
  EXPECT_EQ(Req(r).state, RequestState::kQueued);
  Do(cmd::ReportLocation{"T1", "B"});
  EXPECT_EQ(Holder(r), "T1");
  EXPECT_EQ(TechOf("T1").current_zone_id, "B");
  EXPECT_EQ(TechOf("T1").home_zone_id, "Far");
}

TEST_F(LifecycleTest, UpdatedSkillsLetTechnicianPullWork) {
  Tech("T1", "A", "electrical:1");
  const std::string r = Submit("A", "hvac:2");
  Do(cmd::UpdateTechnician{"T1", std::nullopt, std::nullopt, Skills("electrical:1,hvac:2")});
  EXPECT_EQ(Holder(r), "T1");
  Do(cmd::UpdateTechnician{"T1", std::string("Renamed"), std::nullopt, std::nullopt});
  EXPECT_EQ(TechOf("T1").name, "Renamed");
  EXPECT_EQ(TechOf("T1").skills.size(), 2u);
}

TEST_F(LifecycleTest, FeedbackOnceOnCompletedWork) {
  Tech("T1", "A", "electrical:1");
  const std::string r = Submit("A", "electrical:1");
  ExpectRejected(cmd::RecordFeedback{r, 5, ""}, absl::StatusCode::kFailedPrecondition,
                 "not completed");
  Accept("T1", r);
  Do(cmd::StartWork{"T1", r});
  Do(cmd::CompleteWork{"T1", r, true, {}, ""});
  Do(cmd::RecordFeedback{r, 4, "quick"});
  EXPECT_EQ(Req(r).feedback_rating, 4u);
  ExpectRejected(cmd::RecordFeedback{r, 5, ""}, absl::StatusCode::kFailedPrecondition,
                 "already has feedback");
}

}  // namespace
}  // namespace dispatchd::engine::testing
