// The flood figure of issue 5: how much a flood of bad and oversized calls
// slows a well-behaved client of the real dispatchd, as the ratio of its
// p99 latency with the flood to its p99 without, in the same run.
//
// Thread safety: self-contained; run one at a time.
#ifndef DISPATCHD_BENCH_FLOOD_FIGURES_H_
#define DISPATCHD_BENCH_FLOOD_FIGURES_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace dispatchd::bench {

struct FloodFigures {
  double quiet_p99_us = 0;    // The good client alone.
  double flooded_p99_us = 0;  // The same client during the flood.
  double good_qps = 0;        // The good client's rate alone.
  double bad_per_s = 0;       // Malformed calls answered per second during the flood.
  double oversized_per_s = 0; // Oversized calls refused per second during the flood.
};

// Against `address` (a dispatchd with `zones` zones, "Z000".."): a closed
// loop of `in_flight` good SubmitRequests for `duration`, alone and then
// beside an open-loop flood of malformed SubmitRequests (at the good
// client's own rate) and 2 MiB ones (over the 1 MiB limit, 20 per second).
absl::StatusOr<FloodFigures> MeasureFlood(const std::string& address, int zones, int in_flight,
                                          absl::Duration duration);

}  // namespace dispatchd::bench

#endif  // DISPATCHD_BENCH_FLOOD_FIGURES_H_
