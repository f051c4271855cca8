// The pull side's flat indexes: a zone's requirement queues (ZoneQueues,
// dense, with each queue's first key inline and the masks side by side),
// the split timer set (TimerSet) and the decline bits. A random sequence
// of inserts and erases is checked against a plain ordered model after
// every step: a stale head, mask or position would make a technician pull
// the wrong job, and a wrong first timer fire the wrong one.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "engine/internal/records.h"

namespace dispatchd::engine::internal {
namespace {

SkillSet NeedOf(int bit, uint32_t level) {
  SkillSet s;
  s.Set(bit, level);
  return s;
}

QueueKey KeyOf(uint32_t number, uint8_t rank, int minutes) {
  return QueueKey{rank, 2, absl::UnixEpoch() + absl::Minutes(minutes), number, 0};
}

TEST(ZoneQueuesTest, HeadsMasksAndQueuesFollowInsertsAndErases) {
  ZoneQueues queues;
  // The model: per requirement (bit, level), its keys in order.
  std::map<std::pair<int, uint32_t>, std::set<QueueKey>> model;
  std::vector<std::pair<std::pair<int, uint32_t>, QueueKey>> live;
  std::mt19937 rng(11);
  for (uint32_t step = 1; step <= 3000; ++step) {
    if (live.empty() || rng() % 3 != 0) {
      const std::pair<int, uint32_t> need{static_cast<int>(rng() % 6),
                                          1 + static_cast<uint32_t>(rng() % 3)};
      const QueueKey key = KeyOf(step, static_cast<uint8_t>(rng() % 4),
                                 static_cast<int>(rng() % 500));
      queues.Insert(NeedOf(need.first, need.second), key);
      model[need].insert(key);
      live.push_back({need, key});
    } else {
      const size_t at = rng() % live.size();
      const auto [need, key] = live[at];
      live[at] = live.back();
      live.pop_back();
      queues.Erase(NeedOf(need.first, need.second), key);
      model[need].erase(key);
      if (model[need].empty()) model.erase(need);
    }
    ASSERT_EQ(queues.size(), model.size()) << "step " << step;
    std::set<std::pair<int, uint32_t>> seen;
    for (size_t i = 0; i < queues.size(); ++i) {
      const NeedQueue& q = queues[i];
      ASSERT_EQ(queues.masks()[i], q.need.mask()) << "step " << step;
      const int bit = std::countr_zero(q.need.mask());
      const std::pair<int, uint32_t> need{bit, q.need.level(bit)};
      ASSERT_TRUE(seen.insert(need).second) << "requirement listed twice";
      auto it = model.find(need);
      ASSERT_NE(it, model.end()) << "requirement listed after its last erase";
      ASSERT_EQ(q.queue.size(), it->second.size());
      EXPECT_EQ(q.head, *it->second.begin()) << "step " << step;
      EXPECT_EQ(q.head, *q.queue.begin());
    }
  }
}

TEST(TimerSetTest, FirstIsTheEarliestOfEitherKind) {
  TimerSet timers;
  std::set<TimerKey> model;
  std::mt19937 rng(5);
  std::vector<TimerKey> live;
  for (uint32_t step = 1; step <= 2000; ++step) {
    if (live.empty() || rng() % 3 != 0) {
      const TimerKey key{absl::UnixEpoch() + absl::Seconds(static_cast<int>(rng() % 300)),
                         static_cast<TimerKind>(rng() % 3), step};
      timers.insert(key);
      model.insert(key);
      live.push_back(key);
    } else {
      const size_t at = rng() % live.size();
      timers.erase(live[at]);
      model.erase(live[at]);
      live[at] = live.back();
      live.pop_back();
    }
    ASSERT_EQ(timers.empty(), model.empty());
    if (!model.empty()) {
      const TimerKey& first = timers.first();
      EXPECT_EQ(first, *model.begin()) << "step " << step;
    }
  }
}

TEST(DeclineBitTest, OneBitPerIdAndStable) {
  std::set<uint16_t> bits;
  for (int i = 0; i < 200; ++i) {
    const std::string id = "T-" + std::to_string(i);
    const uint16_t bit = DeclineBit(id);
    EXPECT_EQ(std::popcount(bit), 1) << id;
    EXPECT_EQ(bit, DeclineBit(std::string(id))) << id;
    bits.insert(bit);
  }
  // Spread over the 16 bits, or the filter saves nothing.
  EXPECT_GE(bits.size(), 12u);
}

}  // namespace
}  // namespace dispatchd::engine::internal
