// Bad input: every command rejects it with the right code, says what is
// wrong, and changes nothing (same last_sequence, same query results).
#include "tests/engine/test_util.h"

namespace dispatchd::engine::testing {
namespace {

using Code = absl::StatusCode;

cmd::RaiseAlert Alert(std::string key, std::string zone, uint32_t severity) {
  cmd::RaiseAlert a;
  a.dedupe_key = std::move(key);
  a.source = "sensor";
  a.kind = "power_outage";
  a.zone_id = std::move(zone);
  a.severity = severity;
  return a;
}

struct BadCase {
  std::string name;
  Command command;
  Code code;
  std::string message;
};

class ValidationTest : public EngineTest {
 protected:
  void SetUp() override {
    Zone("A");
    Zone("B", {{"A", 10}});
    Tech("T1", "A", "electrical:2");
    Tech("Off", "A", "plumbing:1", /*start=*/false);
    offered_ = Submit("A", "electrical:1");  // Offered to T1.
    queued_ = Submit("A", "hvac:1");         // Nobody can.
    Do(cmd::AdjustStock{"A", "LAMP", 3, "delivery"});
  }

  std::vector<BadCase> Cases() {
    RequestSpec good = Spec("A", "electrical:1");
    auto spec = [&](auto change) {
      RequestSpec s = good;
      change(s);
      return cmd::SubmitRequest{s};
    };
    Policy bad_order;
    bad_order.sla_minutes_urgent = 10;  // < emergency 15.
    Policy zero_sla;
    zero_sla.sla_minutes_low = 0;
    Policy no_timeout;
    no_timeout.offer_timeout_seconds = 0;
    return {
        {"zone id empty", cmd::UpsertZone{{"", "x", {}}}, Code::kInvalidArgument, "zone.zone_id"},
        {"zone self link", cmd::UpsertZone{{"C", "", {{"C", 5}}}}, Code::kInvalidArgument, "itself"},
        {"zone zero travel", cmd::UpsertZone{{"C", "", {{"A", 0}}}}, Code::kInvalidArgument, "travel_minutes"},
        {"zone unknown neighbour", cmd::UpsertZone{{"C", "", {{"X", 5}}}}, Code::kNotFound, "unknown zone 'X'"},
        {"zone duplicate neighbour", cmd::UpsertZone{{"C", "", {{"A", 5}, {"A", 6}}}}, Code::kInvalidArgument, "duplicate"},
        {"policy order", cmd::SetPolicy{bad_order}, Code::kInvalidArgument, "sla_minutes_urgent"},
        {"policy zero sla", cmd::SetPolicy{zero_sla}, Code::kInvalidArgument, "sla_minutes_low"},
        {"policy timeout", cmd::SetPolicy{no_timeout}, Code::kInvalidArgument, "offer_timeout_seconds"},
        {"register empty id", cmd::RegisterTechnician{"", "n", "A", Skills("a:1")}, Code::kInvalidArgument, "technician_id"},
        {"register bad chars", cmd::RegisterTechnician{"T 1", "n", "A", Skills("a:1")}, Code::kInvalidArgument, "letters"},
        {"register too long", cmd::RegisterTechnician{std::string(65, 'x'), "n", "A", Skills("a:1")}, Code::kInvalidArgument, "64"},
        {"register duplicate", cmd::RegisterTechnician{"T1", "n", "A", Skills("a:1")}, Code::kAlreadyExists, "T1"},
        {"register unknown zone", cmd::RegisterTechnician{"T9", "n", "X", Skills("a:1")}, Code::kNotFound, "home_zone_id: unknown zone 'X'"},
        {"register no skills", cmd::RegisterTechnician{"T9", "n", "A", {}}, Code::kInvalidArgument, "skills"},
        {"register level 0", cmd::RegisterTechnician{"T9", "n", "A", Skills("a:0")}, Code::kInvalidArgument, "level"},
        {"register level 6", cmd::RegisterTechnician{"T9", "n", "A", Skills("a:6")}, Code::kInvalidArgument, "level"},
        {"register dup skill", cmd::RegisterTechnician{"T9", "n", "A", Skills("a:1,a:2")}, Code::kInvalidArgument, "duplicate skill"},
        {"update unknown", cmd::UpdateTechnician{"T9", {}, {}, {}}, Code::kNotFound, "T9"},
        {"update bad zone", cmd::UpdateTechnician{"T1", {}, std::string("X"), {}}, Code::kNotFound, "X"},
        {"update no skills", cmd::UpdateTechnician{"T1", {}, {}, std::vector<SkillLevel>{}}, Code::kInvalidArgument, "skills"},
        {"start unknown", cmd::StartShift{"T9", ""}, Code::kNotFound, "T9"},
        {"start twice", cmd::StartShift{"T1", ""}, Code::kFailedPrecondition, "already on shift"},
        {"start bad zone", cmd::StartShift{"Off", "X"}, Code::kNotFound, "zone_id"},
        {"end off shift", cmd::EndShift{"Off"}, Code::kFailedPrecondition, "already off shift"},
        {"end empty", cmd::EndShift{""}, Code::kInvalidArgument, "technician_id"},
        {"location bad zone", cmd::ReportLocation{"T1", "X"}, Code::kNotFound, "zone_id: unknown zone 'X'"},
        {"submit no zone", spec([](RequestSpec& s) { s.zone_id = ""; }), Code::kInvalidArgument, "zone_id"},
        {"submit unknown zone", spec([](RequestSpec& s) { s.zone_id = "x"; }), Code::kNotFound, "zone_id: unknown zone 'x'"},
        {"submit no skills", spec([](RequestSpec& s) { s.required_skills.clear(); }), Code::kInvalidArgument, "required_skills"},
        {"submit level 6", spec([](RequestSpec& s) { s.required_skills[0].level = 6; }), Code::kInvalidArgument, "min_level"},
        {"submit empty skill", spec([](RequestSpec& s) { s.required_skills = Skills("a:1,b:1"); s.required_skills[1].skill = ""; }), Code::kInvalidArgument, "required_skills[1].skill: required"},
        {"submit dup skill", spec([](RequestSpec& s) { s.required_skills = Skills("a:1,b:1,a:2"); }), Code::kInvalidArgument, "required_skills[2]: duplicate skill 'a'"},
        // Past the few compared in place: the duplicate is still found, and the first one named.
        {"submit dup in long list", spec([](RequestSpec& s) { s.required_skills = Skills("a:1,b:1,c:1,d:1,e:1,f:1,g:1,h:1,i:1,j:1,c:2,j:2"); }), Code::kInvalidArgument, "required_skills[10]: duplicate skill 'c'"},
        {"submit dup late in long list", spec([](RequestSpec& s) { s.required_skills = Skills("a:1,b:1,c:1,d:1,e:1,f:1,g:1,h:1,i:1,j:1,k:1,j:2"); }), Code::kInvalidArgument, "required_skills[11]: duplicate skill 'j'"},
        {"submit material without sku", spec([](RequestSpec& s) { s.materials = {{"LAMP", 1}, {"", 1}}; }), Code::kInvalidArgument, "materials[1].sku: required"},
        {"submit no urgency", spec([](RequestSpec& s) { s.urgency = Urgency{0}; }), Code::kInvalidArgument, "urgency"},
        {"submit bad material", spec([](RequestSpec& s) { s.materials = {{"LAMP", 0}}; }), Code::kInvalidArgument, "quantity"},
        {"submit long key", spec([](RequestSpec& s) { s.idempotency_key = std::string(129, 'k'); }), Code::kInvalidArgument, "idempotency_key"},
        {"submit due passed", spec([&](RequestSpec& s) { s.due_by = clock_.Now() - absl::Minutes(1); }), Code::kInvalidArgument, "due_by"},
        {"submit due before start", spec([&](RequestSpec& s) { s.not_before = clock_.Now() + absl::Hours(2); s.due_by = clock_.Now() + absl::Hours(1); }), Code::kInvalidArgument, "due_by"},
        {"cancel unknown", cmd::CancelRequest{"R-000099", "x"}, Code::kNotFound, "R-000099"},
        {"cancel malformed id", cmd::CancelRequest{"bogus", "x"}, Code::kNotFound, "bogus"},
        {"cancel no reason", cmd::CancelRequest{offered_, ""}, Code::kInvalidArgument, "reason"},
        {"urgency bad", cmd::ChangeUrgency{queued_, Urgency{9}, "x"}, Code::kInvalidArgument, "urgency"},
        {"urgency no reason", cmd::ChangeUrgency{queued_, Urgency::kLow, ""}, Code::kInvalidArgument, "reason"},
        {"assign no reason", cmd::AssignRequest{queued_, "T1", ""}, Code::kInvalidArgument, "reason"},
        {"assign unknown tech", cmd::AssignRequest{queued_, "T9", "x"}, Code::kNotFound, "T9"},
        {"assign off shift", cmd::AssignRequest{queued_, "Off", "x"}, Code::kFailedPrecondition, "off shift"},
        {"feedback rating 0", cmd::RecordFeedback{offered_, 0, ""}, Code::kInvalidArgument, "rating"},
        {"feedback rating 6", cmd::RecordFeedback{offered_, 6, ""}, Code::kInvalidArgument, "rating"},
        {"accept not theirs", cmd::AcceptOffer{"Off", offered_}, Code::kFailedPrecondition, "not offered"},
        {"accept unknown request", cmd::AcceptOffer{"T1", "R-000099"}, Code::kNotFound, "R-000099"},
        {"decline no reason", cmd::DeclineOffer{"T1", offered_, ""}, Code::kInvalidArgument, "reason"},
        {"start not assigned", cmd::StartWork{"T1", offered_}, Code::kFailedPrecondition, "not assigned"},
        {"complete not started", cmd::CompleteWork{"T1", offered_, true, {}, ""}, Code::kFailedPrecondition, "not in progress"},
        {"complete bad material", cmd::CompleteWork{"T1", offered_, true, {{"", 1}}, ""}, Code::kInvalidArgument, "materials_used"},
        {"hold no reason", cmd::PutOnHold{"T1", offered_, ""}, Code::kInvalidArgument, "reason"},
        {"hold not assigned", cmd::PutOnHold{"T1", offered_, "x"}, Code::kFailedPrecondition, "not assigned"},
        {"stock unknown depot", cmd::AdjustStock{"X", "LAMP", 1, "x"}, Code::kNotFound, "depot_zone_id"},
        {"stock no sku", cmd::AdjustStock{"A", "", 1, "x"}, Code::kInvalidArgument, "sku"},
        {"stock zero delta", cmd::AdjustStock{"A", "LAMP", 0, "x"}, Code::kInvalidArgument, "delta"},
        {"stock no reason", cmd::AdjustStock{"A", "LAMP", 1, ""}, Code::kInvalidArgument, "reason"},
        {"stock below zero", cmd::AdjustStock{"A", "LAMP", -4, "x"}, Code::kFailedPrecondition, "below zero"},
        {"alert no key", Alert("", "A", 0), Code::kInvalidArgument, "dedupe_key"},
        {"alert unknown zone", Alert("k", "X", 0), Code::kNotFound, "zone_id"},
        {"alert severity 6", Alert("k", "A", 6), Code::kInvalidArgument, "severity"},
        {"resolve unknown", cmd::ResolveAlert{"nope", ""}, Code::kNotFound, "nope"},
        {"resolve no key", cmd::ResolveAlert{"", ""}, Code::kInvalidArgument, "dedupe_key"},
    };
  }

  std::string offered_;
  std::string queued_;
};

TEST_F(ValidationTest, BadInputIsRejectedWithTheRightCodeAndChangesNothing) {
  for (const BadCase& c : Cases()) {
    SCOPED_TRACE(c.name);
    ExpectRejected(c.command, c.code, c.message);
  }
}

TEST_F(ValidationTest, SixtyFifthSkillIsRefused) {
  for (int i = 0; i < 63; ++i) {  // electrical, plumbing, hvac + 61 = 64.
    if (i < 61) Tech("S" + std::to_string(i), "A", "s" + std::to_string(i), false);
  }
  ExpectRejected(cmd::RegisterTechnician{"S99", "", "A", Skills("one-too-many:1")},
                 Code::kResourceExhausted, "64");
  ExpectRejected(cmd::SubmitRequest{Spec("A", "one-too-many:1")}, Code::kResourceExhausted,
                 "64");
  Submit("A", "s3:1");  // Known skills still fine.
}

TEST_F(ValidationTest, ApplyRejectsEventsThatDoNotFit) {
  Engine other(&clock_);
  // Out of sequence.
  EXPECT_THAT(other.Apply(log_[1]), StatusIs(Code::kFailedPrecondition));
  EXPECT_EQ(other.last_sequence(), 0u);
  ASSERT_TRUE(other.Apply(log_[0]).ok());
  // Unknown technician.
  Event e{2, clock_.Now(), ev::ShiftStarted{"ghost", "A"}};
  EXPECT_THAT(other.Apply(e), StatusIs(Code::kNotFound));
  // Unknown request.
  e.kind = ev::OfferAccepted{"R-000001", "T1"};
  EXPECT_THAT(other.Apply(e), StatusIs(Code::kNotFound));
  // A request id out of order.
  e.kind = ev::RequestSubmitted{"R-000007", Spec("A", "x:1"), RequestState::kQueued,
                                clock_.Now(), ""};
  EXPECT_THAT(other.Apply(e), StatusIs(Code::kFailedPrecondition));
  EXPECT_EQ(other.last_sequence(), 1u);
  EXPECT_EQ(other.FindRequest("R-000007"), nullptr);
}

}  // namespace
}  // namespace dispatchd::engine::testing
