// Bundling: in a quiet zone (not in surge, only low-urgency jobs waiting),
// a technician who finishes a low-urgency job is offered the next waiting
// low job at the same place (zone and location) they are adequate for,
// ahead of other low jobs, with a RequestsBundled event and rule "bundle".
#include "tests/engine/test_util.h"

namespace dispatchd::engine::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class BundlingTest : public EngineTest {
 protected:
  void SetUp() override { Zone("A"); }
  std::string SubmitAt(const std::string& location, Urgency urgency = Urgency::kLow) {
    RequestSpec spec = Spec("A", "electrical:1", urgency);
    spec.location = location;
    return Do(cmd::SubmitRequest{spec}).request_id;
  }
  // L does `request` from offer to completion; returns the completion outcome.
  Outcome Finish(const std::string& request) {
    Accept("L", request);
    Do(cmd::StartWork{"L", request});
    return Do(cmd::CompleteWork{"L", request, true, {}, "done"});
  }
};

TEST_F(BundlingTest, TwoSameBuildingJobsAreOneVisit) {
  Tech("L", "A", "electrical:2");
  const std::string first = SubmitAt("Library 101");
  ASSERT_EQ(Holder(first), "L");
  const std::string gym = SubmitAt("Gym");            // Older: would be pulled first.
  const std::string same = SubmitAt("Library 101");  // Same place as `first`.
  const Outcome done = Finish(first);
  EXPECT_THAT(Kinds(done.events), ElementsAre("WorkCompleted", "RequestsBundled", "OfferMade"));
  const auto& bundled = std::get<ev::RequestsBundled>(done.events[1].kind);
  EXPECT_EQ(bundled.request_id, same);
  EXPECT_EQ(bundled.with_request_id, first);
  EXPECT_EQ(bundled.technician_id, "L");
  EXPECT_EQ(Holder(same), "L");
  EXPECT_EQ(Holder(gym), "");
  const Decision& d = *Req(same).decision;
  EXPECT_EQ(d.rule, "bundle");
  EXPECT_THAT(d.detail, HasSubstr("Bundled with " + first));
  std::unique_ptr<Engine> replica = Replay(&clock_, log_);
  EXPECT_EQ(Dump(*replica), Dump(engine_));
  EXPECT_EQ(replica->Digest(), engine_.Digest());
}

TEST_F(BundlingTest, NotWhenDisabledOrWhenMoreUrgentWorkWaits) {
  Tech("L", "A", "electrical:2");
  Policy p;
  p.bundling_enabled = false;
  Do(cmd::SetPolicy{p});
  const std::string first = SubmitAt("Library 101");
  const std::string gym = SubmitAt("Gym");
  SubmitAt("Library 101");
  Outcome done = Finish(first);
  EXPECT_THAT(Kinds(done.events), ElementsAre("WorkCompleted", "OfferMade"));
  EXPECT_EQ(Holder(gym), "L");  // Plain pull: the oldest low job.

  // Enabled, but a normal job waits in the zone: not quiet, no bundle.
  p.bundling_enabled = true;
  Do(cmd::SetPolicy{p});
  const std::string normal = SubmitAt("Lab", Urgency::kNormal);
  done = Finish(gym);
  EXPECT_THAT(Kinds(done.events), ElementsAre("WorkCompleted", "OfferMade"));
  EXPECT_EQ(Holder(normal), "L");
}

}  // namespace
}  // namespace dispatchd::engine::testing
