#include "bench/flood_figures.h"

#include <algorithm>
#include <future>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/loadgen.h"
#include "bench/rpc_figures.h"

namespace dispatchd::bench {

namespace {

struct Round {
  LoadResult quiet, flooded, malformed, oversized;
};

// One round: the good client alone, then beside the flood.
absl::StatusOr<Round> RunRound(const LoadOptions& capacity, double capacity_qps, int zones,
                               int round) {
  Round out;
  // The well-behaved client: Poisson arrivals at a share of the capacity.
  LoadOptions good = capacity;
  good.rate_per_s = capacity_qps * kGoodShare;
  good.seed = 5 + round;
  const std::string tag = absl::StrCat("flood-", round, "-");
  out.quiet = RunLoad(good, SubmitMaker(zones, tag + "quiet-"));
  if (out.quiet.ok == 0) {
    return absl::UnavailableError(absl::StrCat("good client alone: ", out.quiet.first_error));
  }

  // Malformed: no zone and no skills (INVALID_ARGUMENT before the engine).
  LoadOptions bad = capacity;
  bad.rate_per_s = capacity_qps * kMalformedShare;
  bad.seed = 11 + round;
  auto malformed = [](uint64_t) { return dispatch::v1::SubmitRequestRequest(); };
  // Oversized: a 2 MiB description, refused by gRPC before dispatchd parses it.
  LoadOptions big = capacity;
  big.rate_per_s = 20;
  big.seed = 13 + round;
  const std::string huge(2 << 20, 'x');
  auto oversized = [&huge](uint64_t) {
    dispatch::v1::SubmitRequestRequest r;
    r.set_description(huge);
    return r;
  };
  // The flood starts first and outlasts the good client's measured part.
  bad.warmup = big.warmup = good.warmup + absl::Milliseconds(200);
  bad.duration = big.duration = good.duration + absl::Milliseconds(400);
  good.warmup += absl::Milliseconds(400);
  std::future<LoadResult> bad_run =
      std::async(std::launch::async, [&] { return RunLoad(bad, malformed); });
  std::future<LoadResult> big_run =
      std::async(std::launch::async, [&] { return RunLoad(big, oversized); });
  out.flooded = RunLoad(good, SubmitMaker(zones, tag + "good-"));
  out.malformed = bad_run.get();
  out.oversized = big_run.get();
  if (out.flooded.ok == 0) {
    return absl::UnavailableError(
        absl::StrCat("good client in the flood: ", out.flooded.first_error));
  }
  if (out.malformed.ok != 0 || out.oversized.ok != 0) {
    return absl::InternalError("a malformed or oversized call was accepted");
  }
  return out;
}

}  // namespace

absl::StatusOr<FloodFigures> MeasureFlood(const std::string& address, int zones, int in_flight,
                                          absl::Duration duration) {
  FloodFigures f;
  // The daemon's capacity for good calls: a closed loop at `in_flight`.
  LoadOptions capacity;
  capacity.target = address;
  capacity.in_flight = in_flight;
  capacity.duration = duration;
  const LoadResult max = RunLoad(capacity, SubmitMaker(zones, "flood-max-"));
  if (max.ok == 0) {
    return absl::UnavailableError(absl::StrCat("good client alone: ", max.first_error));
  }
  f.max_qps = max.qps;
  f.good_qps = max.qps * kGoodShare;

  // A p99 of a second or two of calls rests on a few dozen samples, and
  // one scheduling hiccup of a shared machine moves it: the figure is the
  // median round.
  std::vector<Round> rounds;
  for (int i = 0; i < kFloodRounds; ++i) {
    absl::StatusOr<Round> r = RunRound(capacity, max.qps, zones, i);
    if (!r.ok()) return r.status();
    f.round_ratios.push_back(r->flooded.p99_us / std::max(r->quiet.p99_us, 1e-9));
    rounds.push_back(*std::move(r));
  }
  std::vector<size_t> order(rounds.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return f.round_ratios[a] < f.round_ratios[b]; });
  const Round& median = rounds[order[order.size() / 2]];
  const double seconds = absl::ToDoubleSeconds(duration + absl::Milliseconds(400));
  f.quiet_p99_us = median.quiet.p99_us;
  f.flooded_p99_us = median.flooded.p99_us;
  f.bad_per_s = median.malformed.errors / seconds;
  f.oversized_per_s = median.oversized.errors / seconds;
  return f;
}

}  // namespace dispatchd::bench
