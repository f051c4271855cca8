// Shared<T>, the immutable shared value behind Request::decision and the
// decisions events carry: a copy reads the same value, a new value
// assigned to one copy leaves the others as they were, and an empty one
// reads a default T. And through the engine: a request's later decision
// does not change the one an earlier event carried.
#include "engine/model.h"
#include "tests/engine/test_util.h"

namespace dispatchd::engine::testing {
namespace {

Decision Made(std::string rule) {
  Decision d;
  d.rule = std::move(rule);
  d.detail = "because";
  d.candidates.push_back(Candidate{"T1"});
  return d;
}

TEST(SharedTest, CopiesReadTheSameValueAndAssigningANewOneLeavesTheOthers) {
  Shared<Decision> first = Made("zone-first");
  Shared<Decision> copy = first;
  EXPECT_EQ(&*copy, &*first);  // Shared, not copied.
  copy = Made("pull: zone-first");
  EXPECT_EQ(first->rule, "zone-first");
  EXPECT_EQ(copy->rule, "pull: zone-first");
  EXPECT_FALSE(copy == first);
  copy = first;
  EXPECT_TRUE(copy == first);
  EXPECT_TRUE(Shared<Decision>(Made("zone-first")) == first);  // Equal values, apart.
}

TEST(SharedTest, EmptyReadsADefaultValueAndDiffersFromASetOne) {
  Shared<Decision> none;
  EXPECT_FALSE(none.has_value());
  EXPECT_TRUE(none == std::nullopt);
  EXPECT_EQ(none->rule, "");
  EXPECT_TRUE(none->candidates.empty());
  EXPECT_FALSE(none == Shared<Decision>(Decision{}));  // Set to a default: not empty.
  Shared<Decision> set = Made("zone-first");
  set = std::nullopt;
  EXPECT_FALSE(set.has_value());
}

class SharedDecisionTest : public EngineTest {
 protected:
  void SetUp() override { Zone("A"); }
};

TEST_F(SharedDecisionTest, ALaterOfferLeavesTheEarlierEventsDecisionAsItWas) {
  Tech("First", "A", "electrical:1");
  Advance(absl::Minutes(1));
  Tech("Second", "A", "electrical:1");
  const Outcome submitted = Do(cmd::SubmitRequest{Spec("A", "electrical:1")});
  const std::string r = submitted.request_id;
  const auto& first_offer = std::get<ev::OfferMade>(submitted.events.back().kind);
  ASSERT_EQ(first_offer.technician_id, "First");
  const Decision before = *first_offer.decision;
  EXPECT_EQ(&*Req(r).decision, &*first_offer.decision);  // Folded by reference.

  const Outcome declined = Do(cmd::DeclineOffer{"First", r, "at lunch"});
  const auto& second_offer = std::get<ev::OfferMade>(declined.events.back().kind);
  ASSERT_EQ(second_offer.technician_id, "Second");
  EXPECT_EQ(*first_offer.decision, before);
  EXPECT_EQ(first_offer.decision->candidates[0].technician_id, "First");
  EXPECT_EQ(Req(r).decision->candidates[0].technician_id, "Second");
  EXPECT_EQ(*Req(r).decision, *second_offer.decision);
}

}  // namespace
}  // namespace dispatchd::engine::testing
