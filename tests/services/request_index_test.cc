// RequestIndex: each request's event sequences in order, including when an
// index of older events (a start from a snapshot) is merged in front, at a
// size where the index grows gradually.
#include "services/request_index.h"

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "dispatch/v1/events.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace dispatchd::services {
namespace {

::dispatch::v1::Event CancelledEventForIndex(uint64_t sequence, const std::string& request_id) {
  ::dispatch::v1::Event e;
  e.set_sequence(sequence);
  e.mutable_request_cancelled()->set_request_id(request_id);
  return e;
}

std::string IndexTestId(int i) { return absl::StrCat("R-", 100000 + i); }

TEST(RequestIndexTest, MergedOlderHistoryComesFirstForEveryRequest) {
  // 30,000 requests: past the size where the index's tables grow a bit at
  // a time, so lookups and merges cross both of its tables.
  const int n = 30000;
  RequestIndex older;
  RequestIndex newer;
  uint64_t sequence = 1;
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < n; ++i) older.Add(CancelledEventForIndex(sequence++, IndexTestId(i)));
  }
  const uint64_t first_newer = sequence;
  for (int i = 0; i < n; i += 2) newer.Add(CancelledEventForIndex(sequence++, IndexTestId(i)));
  newer.Add(CancelledEventForIndex(sequence++, "R-only-newer"));

  int rounds = 0;
  while (!newer.MergeOlder(&older, 1000)) ++rounds;
  EXPECT_GE(rounds, n / 1000 - 1) << "merged more than 1,000 requests per call";

  for (int i = 0; i < n; ++i) {
    const uint64_t a = static_cast<uint64_t>(i) + 1;
    std::vector<uint64_t> want = {a, a + n};
    if (i % 2 == 0) want.push_back(first_newer + static_cast<uint64_t>(i / 2));
    ASSERT_EQ(newer.SequencesOf(IndexTestId(i)), want) << IndexTestId(i);
  }
  EXPECT_THAT(newer.SequencesOf("R-only-newer"), testing::ElementsAre(sequence - 1));
  EXPECT_TRUE(newer.SequencesOf("R-unknown").empty());
  EXPECT_TRUE(older.SequencesOf(IndexTestId(0)).empty());
}

TEST(RequestIndexTest, KeepsEveryEventOfALongHistoryInOrderAcrossAMerge) {
  // A request with more events than an entry holds in place, some indexed
  // before a restart and some after, beside requests filed since.
  RequestIndex older;
  RequestIndex newer;
  std::vector<uint64_t> want;
  uint64_t sequence = 1;
  for (; sequence <= 5; ++sequence) {
    older.Add(CancelledEventForIndex(sequence, "R-000002"));
    want.push_back(sequence);
  }
  for (uint32_t number = 3; number <= 3000; ++number) {
    newer.Add(CancelledEventForIndex(sequence++, absl::StrCat("R-", 1000000 + number)));
  }
  for (int i = 0; i < 4; ++i, ++sequence) {
    newer.Add(CancelledEventForIndex(sequence, "R-000002"));
    want.push_back(sequence);
  }
  while (!newer.MergeOlder(&older, 1)) {
  }
  EXPECT_EQ(newer.SequencesOf("R-000002"), want);
  EXPECT_THAT(newer.SequencesOf("R-1000003"), testing::ElementsAre(6));
  EXPECT_TRUE(newer.SequencesOf("R-000001").empty());
  EXPECT_TRUE(newer.SequencesOf("R-2").empty()) << "not an id the engine issues";
}

}  // namespace
}  // namespace dispatchd::services
