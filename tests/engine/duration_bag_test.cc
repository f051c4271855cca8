// DurationBag, the multiset behind GetStats' p90 response and completion
// times: its nearest-rank selection must equal the value at that position
// of the sorted times, with repeated times and after removals (a request
// that is reassigned or completed moves its time out and back in), to the
// whole second.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "engine/internal/stats_book.h"

namespace dispatchd::engine::internal {
namespace {

TEST(DurationBagTest, NthIsTheSortedValueAtThatPosition) {
  DurationBag bag;
  std::vector<absl::Duration> all;
  std::mt19937 rng(7);
  // Minutes 0..49: many repeats, as response times in whole minutes have.
  for (int i = 0; i < 400; ++i) {
    const absl::Duration d = absl::Minutes(static_cast<int>(rng() % 50));
    bag.Add(d);
    all.push_back(d);
  }
  // Remove every third one again.
  for (size_t i = 0; i < all.size(); i += 3) bag.Remove(all[i]);
  std::vector<absl::Duration> kept;
  for (size_t i = 0; i < all.size(); ++i) {
    if (i % 3 != 0) kept.push_back(all[i]);
  }
  std::sort(kept.begin(), kept.end());
  ASSERT_EQ(bag.size(), kept.size());
  for (size_t rank = 1; rank <= kept.size(); ++rank) {
    ASSERT_EQ(bag.Nth(rank), kept[rank - 1]) << "rank " << rank;
  }
}

TEST(DurationBagTest, OneValueAndRemovingTheLastCopy) {
  DurationBag bag;
  bag.Add(absl::Minutes(3));
  bag.Add(absl::Minutes(3));
  bag.Add(absl::Minutes(9));
  EXPECT_EQ(bag.Nth(2), absl::Minutes(3));
  EXPECT_EQ(bag.Nth(3), absl::Minutes(9));
  bag.Remove(absl::Minutes(9));
  bag.Remove(absl::Minutes(3));
  EXPECT_EQ(bag.size(), 1u);
  EXPECT_EQ(bag.Nth(1), absl::Minutes(3));
  bag.Remove(absl::Minutes(3));
  EXPECT_TRUE(bag.empty());
}

TEST(DurationBagTest, KeepsTimesToTheWholeSecond) {
  DurationBag bag;
  bag.Add(absl::Seconds(90) + absl::Milliseconds(999));
  bag.Add(absl::Seconds(30) + absl::Nanoseconds(1));
  bag.Add(absl::Seconds(30) + absl::Milliseconds(500));
  bag.Add(-absl::Milliseconds(1500));  // Accepted before a scheduled window opened.
  ASSERT_EQ(bag.size(), 4u);
  EXPECT_EQ(bag.Nth(1), -absl::Seconds(1));
  EXPECT_EQ(bag.Nth(2), absl::Seconds(30));
  EXPECT_EQ(bag.Nth(3), absl::Seconds(30));
  EXPECT_EQ(bag.Nth(4), absl::Seconds(90));
  // A time comes out as it went in: its second loses one copy.
  bag.Remove(absl::Seconds(30) + absl::Milliseconds(500));
  bag.Remove(absl::Seconds(90) + absl::Milliseconds(999));
  ASSERT_EQ(bag.size(), 2u);
  EXPECT_EQ(bag.Nth(2), absl::Seconds(30));
}

}  // namespace
}  // namespace dispatchd::engine::internal
