// A gRPC load generator for SubmitRequest, closed or open loop. The same
// client drives dispatchd and the no-op baseline server, so their figures
// can be divided.
//
// Latency is measured from the intended send time: in open loop that is
// the scheduled arrival, so a stalled server cannot hide its queueing
// (no coordinated omission); in closed loop it is the moment the previous
// call of that slot completed.
//
// Thread safety: RunLoad may be called from any thread; one run at a time
// per options object.
#ifndef DISPATCHD_BENCH_LOADGEN_H_
#define DISPATCHD_BENCH_LOADGEN_H_

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "dispatch/v1/requests.pb.h"

namespace dispatchd::bench {

struct LoadOptions {
  std::string target;                          // host:port
  int in_flight = 1;                           // Closed loop: calls outstanding.
  double rate_per_s = 0;                       // > 0: open loop, Poisson arrivals.
  absl::Duration warmup = absl::Milliseconds(300);
  absl::Duration duration = absl::Seconds(2);  // Measured part.
  int channels = 4;                            // Separate connections.
  uint32_t seed = 7;
  // > 0: the server's process, whose CPU time over the measured part is
  // reported per call (LoadResult::server_cpu_us).
  pid_t server_pid = 0;
};

struct LoadResult {
  uint64_t ok = 0;
  uint64_t errors = 0;
  std::string first_error;
  double qps = 0;  // Successful calls per second in the measured part.
  double p50_us = 0, p90_us = 0, p99_us = 0, p999_us = 0, max_us = 0;
  // CPU time per successful call over the measured part: the server's (all
  // its threads; 0 without LoadOptions::server_pid) and this process's.
  double server_cpu_us = 0, client_cpu_us = 0;
};

// Makes the i-th request of a run.
using RequestMaker = std::function<dispatch::v1::SubmitRequestRequest(uint64_t i)>;

LoadResult RunLoad(const LoadOptions& options, const RequestMaker& make);

// The value at quantile q (0..1) of `sorted`, 0 if empty.
double Quantile(const std::vector<double>& sorted, double q);

}  // namespace dispatchd::bench

#endif  // DISPATCHD_BENCH_LOADGEN_H_
