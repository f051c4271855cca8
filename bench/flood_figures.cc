#include "bench/flood_figures.h"

#include <future>

#include "absl/strings/str_cat.h"
#include "bench/loadgen.h"
#include "bench/rpc_figures.h"

namespace dispatchd::bench {

absl::StatusOr<FloodFigures> MeasureFlood(const std::string& address, int zones, int in_flight,
                                          absl::Duration duration) {
  LoadOptions good;
  good.target = address;
  good.in_flight = in_flight;
  good.duration = duration;
  FloodFigures f;
  const LoadResult quiet = RunLoad(good, SubmitMaker(zones, "flood-quiet-"));
  if (quiet.ok == 0) {
    return absl::UnavailableError(absl::StrCat("good client alone: ", quiet.first_error));
  }
  f.quiet_p99_us = quiet.p99_us;
  f.good_qps = quiet.qps;

  // Malformed: no zone and no skills (INVALID_ARGUMENT, nothing applied).
  LoadOptions bad = good;
  bad.in_flight = 1;
  bad.rate_per_s = quiet.qps;
  bad.seed = 11;
  auto malformed = [](uint64_t) { return dispatch::v1::SubmitRequestRequest(); };
  // Oversized: a 2 MiB description, refused by gRPC before dispatchd parses it.
  LoadOptions big = good;
  big.in_flight = 1;
  big.rate_per_s = 20;
  big.seed = 13;
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
  std::future<LoadResult> bad_run = std::async(std::launch::async, [&] { return RunLoad(bad, malformed); });
  std::future<LoadResult> big_run = std::async(std::launch::async, [&] { return RunLoad(big, oversized); });
  const LoadResult flooded = RunLoad(good, SubmitMaker(zones, "flood-good-"));
  const LoadResult bad_result = bad_run.get();
  const LoadResult big_result = big_run.get();
  if (flooded.ok == 0) {
    return absl::UnavailableError(absl::StrCat("good client in the flood: ", flooded.first_error));
  }
  if (bad_result.ok != 0 || big_result.ok != 0) {
    return absl::InternalError("a malformed or oversized call was accepted");
  }
  const double seconds = absl::ToDoubleSeconds(bad.duration);
  f.flooded_p99_us = flooded.p99_us;
  f.bad_per_s = bad_result.errors / seconds;
  f.oversized_per_s = big_result.errors / seconds;
  return f;
}

}  // namespace dispatchd::bench
