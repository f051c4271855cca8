// RandomCommands: a seeded generator of random commands over a small site
// (four zones, ten technicians, four skills), for tests that run thousands
// of steps: invariants, replay and image round trips. Most commands it
// makes are plausible (accept the offer a technician holds, complete the
// job they work on); some fail validation on purpose.
//
// Thread safety: test-only, single-threaded.
#ifndef DISPATCHD_TESTS_ENGINE_RANDOM_COMMANDS_H_
#define DISPATCHD_TESTS_ENGINE_RANDOM_COMMANDS_H_

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "engine/clock.h"
#include "engine/commands.h"
#include "engine/engine.h"

namespace dispatchd::engine::testing {

class RandomCommands {
 public:
  // "*clock" must outlive the generator; Next() advances it before a Tick.
  RandomCommands(uint32_t seed, ManualClock* clock);

  // Zones, a policy (aging 45 min, offers lapse after 5 min, low surge
  // thresholds, five technicians on call; later commands change the surge
  // thresholds now and then) and ten
  // technicians, registered off shift. Handle these first.
  std::vector<Command> Setup();

  // The next command, chosen from `engine`'s current state.
  Command Next(const Engine& engine);

  // Reports a successful outcome, so later commands can name its request.
  void Saw(const Outcome& outcome);

  // The highest request number seen so far.
  int requests() const { return requests_; }

 private:
  int Pick(int n) { return static_cast<int>(rng_() % n); }
  std::string SkillText(int count);
  std::string AnyRequest();
  const std::string& AnyTech();
  const std::string& AnyZone() { return zones_[Pick(4)]; }

  std::mt19937 rng_;
  ManualClock* const clock_;
  std::vector<std::string> zones_ = {"Z0", "Z1", "Z2", "Z3"};
  std::vector<std::string> skills_ = {"electrical", "plumbing", "hvac", "carpentry"};
  std::vector<std::string> techs_;
  int requests_ = 0;
  Policy policy_;  // As set last (Setup, or a surge threshold change).
};

}  // namespace dispatchd::engine::testing

#endif  // DISPATCHD_TESTS_ENGINE_RANDOM_COMMANDS_H_
