// GradualTable: every key stays findable while the table grows, no insert
// rehashes more than a handful of elements, and TakeAny hands each element
// out once.
#include "base/gradual_table.h"

#include <cstdint>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "gtest/gtest.h"

namespace dispatchd::base {
namespace {

// Counts how often an element is hashed: a table that rehashes everything
// in one insert hashes every element it holds.
struct CountingHash {
  int64_t* calls;
  size_t operator()(uint64_t v) const {
    ++*calls;
    return absl::HashOf(v);
  }
};
using CountedSet = absl::flat_hash_set<uint64_t, CountingHash>;

TEST(GradualTableTest, NoInsertRehashesMoreThanAHandfulOfElements) {
  int64_t calls = 0;
  GradualTable<CountedSet> table(CountedSet(0, CountingHash{&calls}));
  int64_t worst = 0;
  bool drained_once = false;
  for (uint64_t v = 0; v < 300000; ++v) {
    calls = 0;
    table.Insert(v);
    worst = std::max(worst, calls);
    drained_once = drained_once || table.draining();
  }
  EXPECT_TRUE(drained_once) << "300,000 elements never started a gradual move";
  // Below kGradualFrom the table grows the ordinary way, in one step.
  EXPECT_GT(worst, 0);
  int64_t worst_large = 0;
  for (uint64_t v = 300000; v < 700000; ++v) {
    calls = 0;
    table.Insert(v);
    worst_large = std::max(worst_large, calls);
  }
  EXPECT_LE(worst_large, static_cast<int64_t>(GradualTable<CountedSet>::kMovesPerInsert + 1));
  EXPECT_EQ(table.size(), 700000u);
}

TEST(GradualTableTest, EveryKeyStaysFindableWithItsValueWhileTheTableGrows) {
  GradualTable<absl::flat_hash_map<std::string, int>> table;
  const int n = 100000;
  for (int i = 0; i < n; ++i) {
    const std::string key = "R-" + std::to_string(i);
    ASSERT_EQ(table.Find(key), nullptr) << key;
    table.Insert(std::make_pair(key, i));
    // Update an older entry through Find: the change must move with it.
    if (i % 7 == 0) {
      auto* e = table.Find("R-" + std::to_string(i / 2));
      ASSERT_NE(e, nullptr) << i / 2;
      e->second += 1000000;
    }
    if (i % 997 == 0) {
      for (int j = 0; j <= i; j += 13) {
        ASSERT_NE(table.Find("R-" + std::to_string(j)), nullptr) << j << " after " << i;
      }
    }
  }
  ASSERT_EQ(table.size(), static_cast<size_t>(n));
  std::vector<int> bumps(n, 0);
  for (int i = 0; i < n; i += 7) ++bumps[i / 2];
  for (int i = 0; i < n; ++i) {
    const auto* e = std::as_const(table).Find("R-" + std::to_string(i));
    ASSERT_NE(e, nullptr) << i;
    EXPECT_EQ(e->second, i + 1000000 * bumps[i]) << i;
  }
  EXPECT_EQ(table.Find("R-" + std::to_string(n)), nullptr);
}

TEST(GradualTableTest, TakeAnyHandsOutEveryElementOnceEvenMidMove) {
  GradualTable<absl::flat_hash_set<uint64_t>> table;
  uint64_t n = 0;
  // Stop while an old table is still draining.
  while (!(n > 20000 && table.draining()) && n < 1000000) table.Insert(n++);
  ASSERT_TRUE(table.draining()) << "no gradual move began in " << n << " inserts";
  std::vector<int> seen(n, 0);
  size_t taken = 0;
  while (std::optional<uint64_t> v = table.TakeAny()) {
    ASSERT_LT(*v, n);
    ++seen[*v];
    ++taken;
    ASSERT_EQ(table.size(), n - taken);
  }
  EXPECT_EQ(taken, n);
  for (uint64_t v = 0; v < n; ++v) EXPECT_EQ(seen[v], 1) << v;
  EXPECT_TRUE(table.empty());
  EXPECT_FALSE(table.draining());
  // Still usable afterwards.
  table.Insert(uint64_t{42});
  EXPECT_NE(table.Find(uint64_t{42}), nullptr);
}

}  // namespace
}  // namespace dispatchd::base
