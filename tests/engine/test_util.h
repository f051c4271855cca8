// Helpers shared by the engine tests: a fixture with a ManualClock and an
// Engine, short builders for zones / technicians / requests, a StatusIs
// matcher, and Dump(), a text rendering of everything the queries expose
// (used to compare a live engine with a replay of its events).
//
// Thread safety: test-only, single-threaded.
#ifndef DISPATCHD_TESTS_ENGINE_TEST_UTIL_H_
#define DISPATCHD_TESTS_ENGINE_TEST_UTIL_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engine/clock.h"
#include "engine/commands.h"
#include "engine/engine.h"
#include "engine/events.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace dispatchd::engine::testing {

// Matches an absl::Status or absl::StatusOr<T> with the given code.
MATCHER_P(StatusIs, code, "") {
  const absl::Status& s = [&]() -> const absl::Status& {
    if constexpr (std::is_same_v<std::decay_t<arg_type>, absl::Status>) {
      return arg;
    } else {
      return arg.status();
    }
  }();
  *result_listener << "status is " << s.ToString();
  return s.code() == code;
}

// "electrical:2,hvac:3" -> skills. A bare name means level 1.
std::vector<SkillLevel> Skills(std::string_view text);

// Every query result of `engine`, rendered as text, deterministic.
std::string Dump(const Engine& engine);

// A fresh engine on `clock` that Apply()'d `events` (each expected to fit).
std::unique_ptr<Engine> Replay(const Clock* clock, const std::vector<Event>& events);

// The kinds of events, as short names ("OfferMade", ...).
std::vector<std::string> Kinds(const std::vector<Event>& events);
std::string KindName(const Event& event);

class EngineTest : public ::testing::Test {
 protected:
  EngineTest() : engine_(&clock_) {}

  // Handles `c`, expecting success.
  Outcome Do(const Command& c);
  // Handles `c`, expecting failure with `code` and no change at all.
  void ExpectRejected(const Command& c, absl::StatusCode code,
                      std::string_view message_part = "");

  void Zone(const std::string& id,
            std::vector<std::pair<std::string, uint32_t>> neighbors = {});
  void Tech(const std::string& id, const std::string& home, std::string_view skills,
            bool start = true);
  // Submits a request, returns its id.
  std::string Submit(const std::string& zone, std::string_view skills,
                     Urgency urgency = Urgency::kNormal,
                     uint32_t estimated_minutes = 30);
  RequestSpec Spec(const std::string& zone, std::string_view skills,
                   Urgency urgency = Urgency::kNormal,
                   uint32_t estimated_minutes = 30);

  const Request& Req(std::string_view id);
  const Technician& TechOf(std::string_view id);
  // The technician a request is offered/assigned to ("" if none).
  std::string Holder(std::string_view request_id);
  void Accept(const std::string& tech, const std::string& request);
  void Advance(absl::Duration d) { clock_.Advance(d); }
  Outcome Tick() { return Do(cmd::Tick{}); }

  ManualClock clock_;
  Engine engine_;
  std::vector<Event> log_;  // Every event handled, in order.
};

}  // namespace dispatchd::engine::testing

#endif  // DISPATCHD_TESTS_ENGINE_TEST_UTIL_H_
