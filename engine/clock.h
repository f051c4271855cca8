// The engine's source of time. Injected so that tests and simulations drive
// time by hand; the daemon uses the system clock.
//
// Thread safety: SystemClock is thread-safe; ManualClock is not.
#ifndef DISPATCHD_ENGINE_CLOCK_H_
#define DISPATCHD_ENGINE_CLOCK_H_

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace dispatchd::engine {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
};

class SystemClock final : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
};

// A clock that moves only when told to.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(absl::Time start = absl::FromUnixSeconds(1'790'000'000))
      : now_(start) {}
  absl::Time Now() const override { return now_; }
  void Advance(absl::Duration d) { now_ += d; }
  void Set(absl::Time t) { now_ = t; }

 private:
  absl::Time now_;
};

}  // namespace dispatchd::engine

#endif  // DISPATCHD_ENGINE_CLOCK_H_
