// The flood figure of issue 5: how much a flood of bad and oversized calls
// slows a well-behaved client of the real dispatchd, as the ratio of its
// p99 latency with the flood to its p99 without, in the same run.
//
// Thread safety: self-contained; run one at a time.
#ifndef DISPATCHD_BENCH_FLOOD_FIGURES_H_
#define DISPATCHD_BENCH_FLOOD_FIGURES_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace dispatchd::bench {

// The well-behaved client's rate, and the malformed flood's, as shares of
// the daemon's capacity for good calls.
inline constexpr double kGoodShare = 0.25;
inline constexpr double kMalformedShare = 0.25;
// Rounds of (alone, flooded); the figures are the median round's.
inline constexpr int kFloodRounds = 3;

struct FloodFigures {
  double max_qps = 0;         // Good calls/s the daemon takes, closed loop.
  double good_qps = 0;        // The well-behaved client's offered rate.
  double quiet_p99_us = 0;    // The good client alone (median round).
  double flooded_p99_us = 0;  // The same client during the flood (median round).
  std::vector<double> round_ratios;  // flooded ÷ quiet p99, per round.
  double bad_per_s = 0;       // Malformed calls answered per second during the flood.
  double oversized_per_s = 0; // Oversized calls refused per second during the flood.
};

// Against `address` (a dispatchd with `zones` zones, "Z000".."): first the
// daemon's capacity, a closed loop of `in_flight` good SubmitRequests; then
// a well-behaved client, Poisson arrivals at kGoodShare of that capacity for
// `duration`, alone and then beside an open-loop flood of malformed
// SubmitRequests (kMalformedShare of the capacity: as many as the good
// client sends) and 2 MiB ones (over the 1 MiB limit, 20 per second), in
// kFloodRounds rounds.
absl::StatusOr<FloodFigures> MeasureFlood(const std::string& address, int zones, int in_flight,
                                          absl::Duration duration);

}  // namespace dispatchd::bench

#endif  // DISPATCHD_BENCH_FLOOD_FIGURES_H_
