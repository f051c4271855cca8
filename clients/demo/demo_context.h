// DemoContext: what the parts of the demo (site loader, trickle, technician
// players) share. Everything it points to is owned by the running demo and
// outlives the parts.
//
// Thread safety: the pointers are fixed at construction. `rng` is used on
// the scheduler thread only; the rest is thread-safe.
#ifndef DISPATCHD_CLIENTS_DEMO_DEMO_CONTEXT_H_
#define DISPATCHD_CLIENTS_DEMO_DEMO_CONTEXT_H_

#include <random>
#include <string>

#include "absl/synchronization/notification.h"
#include "clients/demo/daemon_client.h"
#include "clients/demo/demo_clock.h"
#include "clients/demo/demo_config.pb.h"
#include "clients/demo/demo_log.h"
#include "clients/demo/scheduler.h"

namespace dispatchd::demo {

struct DemoContext {
  const dispatch::demo::DemoCampus* campus;
  const DemoClock* clock;
  DemoLog* log;
  DaemonClient* daemon;
  Scheduler* scheduler;
  std::mt19937* rng;                   // Scheduler thread only.
  const absl::Notification* stopping;  // Notified when Stop begins.
  std::string run_id;                  // Makes this run's keys unique.

  // Logs a failed call unless the demo is stopping (then failures are
  // expected: the calls are being cancelled).
  void LogFailure(const absl::Status& status) const {
    if (!stopping->HasBeenNotified()) log->Printf("! %s", status.ToString());
  }
};

// Draws a uniform real in [lo, hi].
inline double Uniform(std::mt19937& rng, double lo, double hi) {
  return lo >= hi ? lo : std::uniform_real_distribution<double>(lo, hi)(rng);
}

// True with probability `p`.
inline bool Chance(std::mt19937& rng, double p) { return Uniform(rng, 0, 1) < p; }

// A uniformly chosen element. REQUIRES: !items.empty().
template <typename Container>
const auto& PickOne(std::mt19937& rng, const Container& items) {
  std::uniform_int_distribution<int> index(0, static_cast<int>(items.size()) - 1);
  return items[index(rng)];
}

}  // namespace dispatchd::demo

#endif  // DISPATCHD_CLIENTS_DEMO_DEMO_CONTEXT_H_
