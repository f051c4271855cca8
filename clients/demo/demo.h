// The demo campus: loads a site (zones, policy, technicians, stock) from a
// JSON config into a running dispatchd over gRPC, then feeds it a trickle of
// realistic requests and plays the technicians (accept, start, complete,
// sometimes decline), printing what happens so a newcomer sees dispatching.
//
// It is an ordinary gRPC client: everything it does goes through the
// public dispatch.v1 API.
//
// Thread safety: Start and Stop may be called from any thread; Stop blocks
// until the demo's threads have finished.
#ifndef DISPATCHD_CLIENTS_DEMO_DEMO_H_
#define DISPATCHD_CLIENTS_DEMO_DEMO_H_

#include <memory>
#include <ostream>
#include <string>

#include "absl/status/statusor.h"

namespace dispatchd::demo {

struct DemoOptions {
  std::string target;       // gRPC target of the daemon, e.g. "127.0.0.1:50051".
  std::string config_path;  // e.g. "config/demo_campus.json".
  // Demo minutes per wall-clock second: job durations and the request rate
  // are scaled by it, so a 30-minute repair takes 30 s at 1.0.
  double minutes_per_second = 1.0;
  uint32_t seed = 1;        // Random seed for the trickle.
  std::ostream* log = nullptr;  // Where to print; nullptr: std::cout.
  std::string token;            // A dispatcher token, if the daemon checks access.
};

class Demo {
 public:
  // Loads the campus if the daemon has no zones yet (otherwise leaves the
  // site as it is), then starts the trickle and the technicians in
  // background threads. Fails if the config cannot be read or parsed
  // (INVALID_ARGUMENT, naming the file) or the daemon rejects the site.
  static absl::StatusOr<std::unique_ptr<Demo>> Start(const DemoOptions& options);

  virtual ~Demo() = default;
  // Stops feeding and playing; returns once the threads have ended.
  virtual void Stop() = 0;
};

}  // namespace dispatchd::demo

#endif  // DISPATCHD_CLIENTS_DEMO_DEMO_H_
