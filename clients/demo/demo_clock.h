// The demo clock: a time of day that runs faster (or slower) than the wall
// clock, so a working day fits in a coffee break. It maps wall time to demo
// time and demo durations to wall durations.
//
// The daemon does not know it: dispatchd's own clock (SLA deadlines, offer
// timeouts, aging) stays on wall time.
//
// Thread safety: immutable after construction; safe from any thread.
#ifndef DISPATCHD_CLIENTS_DEMO_DEMO_CLOCK_H_
#define DISPATCHD_CLIENTS_DEMO_DEMO_CLOCK_H_

#include <algorithm>
#include <cmath>
#include <string>

#include "absl/strings/str_format.h"
#include "absl/time/time.h"

namespace dispatchd::demo {

class DemoClock {
 public:
  // At wall time `wall_start` the demo clock shows `start_minute_of_day`
  // (0..1439) and from then on runs `minutes_per_second` demo minutes per
  // wall second. REQUIRES: minutes_per_second > 0.
  DemoClock(absl::Time wall_start, int start_minute_of_day, double minutes_per_second)
      : wall_start_(wall_start),
        start_minute_(start_minute_of_day),
        minutes_per_second_(minutes_per_second) {}

  // Demo minutes since midnight of the first demo day (not wrapped).
  double MinutesAt(absl::Time wall) const {
    return start_minute_ + absl::ToDoubleSeconds(wall - wall_start_) * minutes_per_second_;
  }

  // Demo time of day, 0 <= minutes < 1440.
  double MinuteOfDay(absl::Time wall) const {
    return std::fmod(std::max(0.0, MinutesAt(wall)), 1440.0);
  }

  // "HH:MM" of the demo clock at `wall`.
  std::string Label(absl::Time wall) const {
    const int minute = static_cast<int>(MinuteOfDay(wall));
    return absl::StrFormat("%02d:%02d", minute / 60, minute % 60);
  }

  // How long `demo_minutes` take on the wall clock.
  absl::Duration WallDuration(double demo_minutes) const {
    return absl::Seconds(std::max(0.0, demo_minutes) / minutes_per_second_);
  }

  double minutes_per_second() const { return minutes_per_second_; }

 private:
  const absl::Time wall_start_;
  const int start_minute_;
  const double minutes_per_second_;
};

}  // namespace dispatchd::demo

#endif  // DISPATCHD_CLIENTS_DEMO_DEMO_CLOCK_H_
