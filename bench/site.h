// A synthetic campus for the engine benchmarks, and the command mix that
// drives it.
//
//   SiteGen gen(SiteShape{}, /*seed=*/1);
//   ManualClock clock;
//   Engine engine(&clock);
//   MixDriver driver(&gen, &clock);
//   driver.Populate(engine, nullptr);   // zones, technicians, open requests
//   engine::Command c = driver.Next(engine);
//   driver.Saw(engine.Handle(c));
//
// The policy is the campus default with surge mode off (at 100,000 open
// requests every zone would be in surge for good). The site is a grid of
// zones (5..17 minutes between neighbours), skills
// "skill00".., technicians with three skills each at levels 1..5 and home
// zones spread evenly, and requests needing one or two skills at levels
// 1..3. Open requests are mostly filed ahead (scheduled a day or more
// out, as the office's practice has it), the rest immediate.
//
// MixDriver keeps its own light view of who holds what (from the events
// it sees) so that it can issue plausible commands: accept the offer a
// technician holds, start accepted work, complete started work, cancel,
// move, end and start shifts. Everything is seeded, so runs repeat.
//
// Thread safety: not thread-safe; one owner thread.
#ifndef DISPATCHD_BENCH_SITE_H_
#define DISPATCHD_BENCH_SITE_H_

#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/clock.h"
#include "engine/commands.h"
#include "engine/engine.h"

namespace dispatchd::bench {

struct SiteShape {
  int zones = 200;            // Laid out as a grid 20 zones wide.
  int technicians = 10000;
  int skills = 32;
  int open_requests = 100000;
  double on_shift = 0.8;      // Share of technicians on shift after Populate.
  double scheduled = 0.85;    // Share of the open requests filed ahead.
};

// Deterministic ids and records of the synthetic site.
class SiteGen {
 public:
  SiteGen(SiteShape shape, uint32_t seed);

  const SiteShape& shape() const { return shape_; }
  static std::string ZoneId(int z);
  static std::string TechId(int i);
  static std::string SkillName(int s);
  // The technician number of an id made by TechId, or -1.
  static int TechNumber(const std::string& id);

  // UpsertZone for every zone (links to the right and below) and the policy.
  std::vector<engine::Command> SetupCommands() const;
  engine::cmd::RegisterTechnician Technician(int i);
  // A request for a random zone; scheduled ones open 1..3 days after `now`.
  engine::RequestSpec Spec(absl::Time now, bool scheduled);
  // A zone next to `z` (or `z` itself).
  int NearZone(int z);

  std::mt19937_64& rng() { return rng_; }
  int Pick(int n) { return static_cast<int>(rng_() % static_cast<uint64_t>(n)); }

 private:
  const SiteShape shape_;
  std::mt19937_64 rng_;
  uint64_t next_key_ = 1;
};

// Issues a realistic command mix and tracks technicians from the events.
class MixDriver {
 public:
  // "*gen" and "*clock" must outlive the driver.
  MixDriver(SiteGen* gen, engine::ManualClock* clock);

  // Builds the site in `engine` (fresh): zones, policy, technicians, shifts
  // and shape().open_requests requests. Every outcome also goes to `sink`
  // if set (to record the events). FAILED_PRECONDITION if a setup command
  // is rejected (the engine's rules changed under the generator).
  absl::Status Populate(engine::Engine& engine,
                        const std::function<void(const engine::Outcome&)>& sink);

  // The next command of the mix, for the engine's current state. Advances
  // the clock a little; returns cmd::Tick when a timer is due.
  engine::Command Next(const engine::Engine& engine);
  // Feeds back the result of handling the last command.
  void Saw(const absl::StatusOr<engine::Outcome>& outcome);

  uint64_t rejected() const { return rejected_; }

 private:
  enum class TechState : uint8_t { kOff, kAvailable, kOffered, kAssigned, kWorking, kCount };
  struct TechView {
    TechState state = TechState::kOff;
    int zone = 0;
    int home = 0;
    std::string request_id;
  };
  // Technicians in one state, with O(1) insert, erase and random pick.
  struct Bucket {
    std::vector<int> items;
  };

  void Move(int tech, TechState to, const std::string& request_id = "");
  void Release(int tech);
  int RandomIn(TechState s);
  engine::Command Submit();

  SiteGen* const gen_;
  engine::ManualClock* const clock_;
  std::vector<TechView> techs_;
  std::vector<int> pos_;  // Position of each technician in its bucket.
  std::vector<Bucket> buckets_;
  std::vector<std::string> recent_;  // Recently submitted request ids (ring).
  size_t recent_next_ = 0;
  uint64_t rejected_ = 0;
};

}  // namespace dispatchd::bench

#endif  // DISPATCHD_BENCH_SITE_H_
