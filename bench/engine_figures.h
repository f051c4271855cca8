// In-process engine figures: the command mix rate (target 1), decision
// latency against the naive scan (target 2), the in-process apply rate
// and resident memory per request and technician (target 7).
//
// Every function builds its own site (bench/site.h) on a ManualClock and
// times only the engine calls (std::chrono::steady_clock around each
// Handle / Apply / Decide); the driver's own bookkeeping is not counted.
//
// Thread safety: each call is self-contained; run one at a time (they are
// CPU-bound and would disturb each other).
#ifndef DISPATCHD_BENCH_ENGINE_FIGURES_H_
#define DISPATCHD_BENCH_ENGINE_FIGURES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "bench/site.h"
#include "engine/events.h"

namespace dispatchd::bench {

// The commands of one kind in a measured mix.
struct MixKind {
  std::string name;  // The command's type name, e.g. "SubmitRequest".
  uint64_t count = 0;
  double engine_seconds = 0;
};

struct MixFigures {
  uint64_t commands = 0;   // Measured (after a warm-up of a tenth as many).
  uint64_t rejected = 0;   // Of those, refused by validation (still work done).
  uint64_t events = 0;     // Events they produced (and applied).
  double engine_seconds = 0;
  double commands_per_s = 0;
  double events_per_s = 0;  // The live apply rate.
  uint32_t open_requests_after = 0;
  std::vector<MixKind> by_kind;  // Kinds the mix sent, in Command's order.
};

// Populates `shape`, then runs `commands` commands of the mix.
absl::StatusOr<MixFigures> MeasureMix(const SiteShape& shape, uint64_t commands,
                                      uint32_t seed);

struct DecisionFigures {
  uint64_t samples = 0;
  double p50_us = 0, p99_us = 0, max_us = 0;  // Engine: Handle(SubmitRequest).
  double naive_p50_us = 0, naive_p99_us = 0;  // NaiveMatcher::Decide.
  int checked = 0;      // Requests decided by both.
  int agreed = 0;       // Same technician (or both nobody).
  int offered = 0;      // Of the checked, how many got an offer.
  double p99_ratio = 0;  // Engine p99 / naive p99.
};

// Populates `shape`, then times `samples` SubmitRequest decisions (each
// request is cancelled afterwards, untimed, so the state stays the same
// size), then decides `checked` more with both the engine and the naive
// scan on identical state and compares the chosen technicians.
absl::StatusOr<DecisionFigures> MeasureDecisions(const SiteShape& shape, int samples,
                                                 int checked, uint32_t seed);

struct ApplyFigures {
  uint64_t events = 0;
  double events_per_s = 0;  // Engine::Apply only, events already decoded.
};

// Records the events of Populate + `commands` mix commands, then times
// folding them into a fresh engine.
absl::StatusOr<ApplyFigures> MeasureApply(const SiteShape& shape, uint64_t commands,
                                          uint32_t seed);

struct MemoryFigures {
  double bytes_per_technician = 0;  // Resident set growth / technicians.
  double bytes_per_request = 0;     // Resident set growth / open requests.
  double heap_bytes_per_technician = 0;  // mallinfo2 in-use growth / technicians.
  double heap_bytes_per_request = 0;
};

// Measures in this process: registers shape.technicians (off shift), then
// submits shape.open_requests requests. Run it in a fresh child process:
// the allocator's earlier history would blur the figures.
absl::StatusOr<MemoryFigures> MeasureMemoryHere(const SiteShape& shape, uint32_t seed);

// The value at quantile q of `v` (sorted in place).
double QuantileOf(std::vector<double>& v, double q);

}  // namespace dispatchd::bench

#endif  // DISPATCHD_BENCH_ENGINE_FIGURES_H_
