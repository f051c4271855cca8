// engine_bench: Google Benchmark micro-benchmarks of the engine at the
// issue's size (10,000 technicians, 100,000 open requests, 200 zones, 32
// skills): one mix command, one submit decision together with the cancel
// that keeps the state the same size, one naive-scan decision, and Apply
// of the site's events. run_all reports the headline figures; this binary
// is for comparing engine changes (`--benchmark_filter`, `perf record`).
//
// Thread safety: single-threaded; the sites are built once, on first use.
//
//   build/bench/engine_bench --benchmark_min_time=1
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <memory>
#include <vector>

#include "bench/naive_matcher.h"
#include "bench/site.h"

namespace dispatchd::bench {
namespace {

// A populated site, built once and shared by the benchmarks.
struct World {
  explicit World(double scheduled) : gen(Shape(scheduled), 21), engine(&clock), driver(&gen, &clock) {
    absl::Status s = driver.Populate(engine, [this](const engine::Outcome& o) {
      events.insert(events.end(), o.events.begin(), o.events.end());
    });
    if (!s.ok()) std::abort();
  }
  static SiteShape Shape(double scheduled) {
    SiteShape shape;
    shape.scheduled = scheduled;
    return shape;
  }
  SiteGen gen;
  engine::ManualClock clock;
  engine::Engine engine;
  MixDriver driver;
  std::vector<engine::Event> events;
};

World& MixWorld() {
  static World* w = new World(0.85);
  return *w;
}

World& DecisionWorld() {
  static World* w = new World(0.95);
  return *w;
}

void BM_MixCommand(benchmark::State& state) {
  World& w = MixWorld();
  for (auto _ : state) {
    engine::Command c = w.driver.Next(w.engine);
    absl::StatusOr<engine::Outcome> out = w.engine.Handle(c);
    benchmark::DoNotOptimize(out);
    w.driver.Saw(out);
  }
}
BENCHMARK(BM_MixCommand);

void BM_SubmitAndCancel(benchmark::State& state) {
  World& w = DecisionWorld();
  for (auto _ : state) {
    absl::StatusOr<engine::Outcome> out =
        w.engine.Handle(engine::cmd::SubmitRequest{w.gen.Spec(w.clock.Now(), false)});
    if (!out.ok()) std::abort();
    benchmark::DoNotOptimize(
        w.engine.Handle(engine::cmd::CancelRequest{out->request_id, "benchmark"}));
  }
}
BENCHMARK(BM_SubmitAndCancel);

void BM_NaiveDecide(benchmark::State& state) {
  World& w = DecisionWorld();
  NaiveMatcher naive(w.engine.ExportImage());
  for (auto _ : state) {
    benchmark::DoNotOptimize(naive.Decide(w.gen.Spec(w.clock.Now(), false), w.clock.Now()));
  }
}
BENCHMARK(BM_NaiveDecide);

void BM_ApplyPopulate(benchmark::State& state) {
  World& w = MixWorld();
  for (auto _ : state) {
    engine::Engine replica(&w.clock);
    for (const engine::Event& e : w.events) benchmark::DoNotOptimize(replica.Apply(e));
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(w.events.size()));
}
BENCHMARK(BM_ApplyPopulate)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace dispatchd::bench

BENCHMARK_MAIN();
