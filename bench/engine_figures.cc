#include "bench/engine_figures.h"

#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <utility>
#include <variant>

#include "absl/strings/str_cat.h"
#include "bench/loadgen.h"
#include "bench/naive_matcher.h"

namespace dispatchd::bench {
namespace {

using Steady = std::chrono::steady_clock;

double Seconds(Steady::duration d) { return std::chrono::duration<double>(d).count(); }
double Micros(Steady::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

// Resident set size of this process, bytes.
double ResidentBytes() {
  long pages = 0, resident = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE));
}

double HeapBytes() { return static_cast<double>(mallinfo2().uordblks); }

// The type name of each command; a command added to engine::Command
// without one here does not compile.
constexpr const char* NameOf(const engine::cmd::UpsertZone*) { return "UpsertZone"; }
constexpr const char* NameOf(const engine::cmd::SetPolicy*) { return "SetPolicy"; }
constexpr const char* NameOf(const engine::cmd::RegisterTechnician*) {
  return "RegisterTechnician";
}
constexpr const char* NameOf(const engine::cmd::UpdateTechnician*) { return "UpdateTechnician"; }
constexpr const char* NameOf(const engine::cmd::StartShift*) { return "StartShift"; }
constexpr const char* NameOf(const engine::cmd::EndShift*) { return "EndShift"; }
constexpr const char* NameOf(const engine::cmd::ReportLocation*) { return "ReportLocation"; }
constexpr const char* NameOf(const engine::cmd::SubmitRequest*) { return "SubmitRequest"; }
constexpr const char* NameOf(const engine::cmd::CancelRequest*) { return "CancelRequest"; }
constexpr const char* NameOf(const engine::cmd::ChangeUrgency*) { return "ChangeUrgency"; }
constexpr const char* NameOf(const engine::cmd::AssignRequest*) { return "AssignRequest"; }
constexpr const char* NameOf(const engine::cmd::RecordFeedback*) { return "RecordFeedback"; }
constexpr const char* NameOf(const engine::cmd::AcceptOffer*) { return "AcceptOffer"; }
constexpr const char* NameOf(const engine::cmd::DeclineOffer*) { return "DeclineOffer"; }
constexpr const char* NameOf(const engine::cmd::StartWork*) { return "StartWork"; }
constexpr const char* NameOf(const engine::cmd::CompleteWork*) { return "CompleteWork"; }
constexpr const char* NameOf(const engine::cmd::PutOnHold*) { return "PutOnHold"; }
constexpr const char* NameOf(const engine::cmd::AdjustStock*) { return "AdjustStock"; }
constexpr const char* NameOf(const engine::cmd::RaiseAlert*) { return "RaiseAlert"; }
constexpr const char* NameOf(const engine::cmd::ResolveAlert*) { return "ResolveAlert"; }
constexpr const char* NameOf(const engine::cmd::Tick*) { return "Tick"; }

template <size_t... I>
constexpr std::array<const char*, sizeof...(I)> CommandNames(std::index_sequence<I...>) {
  return {NameOf(static_cast<const std::variant_alternative_t<I, engine::Command>*>(nullptr))...};
}

// The name of the command at `index` of engine::Command.
const char* CommandName(size_t index) {
  static constexpr auto kNames =
      CommandNames(std::make_index_sequence<std::variant_size_v<engine::Command>>());
  return kNames[index];
}

}  // namespace

double QuantileOf(std::vector<double>& v, double q) {
  std::sort(v.begin(), v.end());
  return Quantile(v, q);
}

absl::StatusOr<MixFigures> MeasureMix(const SiteShape& shape, uint64_t commands,
                                      uint32_t seed) {
  SiteGen gen(shape, seed);
  engine::ManualClock clock;
  engine::Engine engine(&clock);
  MixDriver driver(&gen, &clock);
  if (absl::Status s = driver.Populate(engine, nullptr); !s.ok()) return s;
  for (uint64_t i = 0; i < commands / 10; ++i) driver.Saw(engine.Handle(driver.Next(engine)));

  MixFigures f;
  const uint64_t rejected_before = driver.rejected();
  Steady::duration in_engine{};
  std::array<MixKind, std::variant_size_v<engine::Command>> kinds;
  for (uint64_t i = 0; i < commands; ++i) {
    engine::Command c = driver.Next(engine);
    const Steady::time_point t0 = Steady::now();
    absl::StatusOr<engine::Outcome> out = engine.Handle(c);
    const Steady::duration took = Steady::now() - t0;
    in_engine += took;
    MixKind& kind = kinds[c.index()];
    ++kind.count;
    kind.engine_seconds += Seconds(took);
    if (out.ok()) f.events += out->events.size();
    driver.Saw(out);
  }
  for (size_t k = 0; k < kinds.size(); ++k) {
    if (kinds[k].count == 0) continue;
    kinds[k].name = CommandName(k);
    f.by_kind.push_back(std::move(kinds[k]));
  }
  f.commands = commands;
  f.rejected = driver.rejected() - rejected_before;
  f.engine_seconds = Seconds(in_engine);
  f.commands_per_s = static_cast<double>(commands) / std::max(f.engine_seconds, 1e-9);
  f.events_per_s = static_cast<double>(f.events) / std::max(f.engine_seconds, 1e-9);
  absl::StatusOr<engine::Stats> stats = engine.GetStats("", "");
  if (stats.ok()) f.open_requests_after = stats->site.open;
  return f;
}

absl::StatusOr<DecisionFigures> MeasureDecisions(const SiteShape& shape, int samples,
                                                 int checked, uint32_t seed) {
  SiteGen gen(shape, seed);
  engine::ManualClock clock;
  engine::Engine engine(&clock);
  MixDriver driver(&gen, &clock);
  if (absl::Status s = driver.Populate(engine, nullptr); !s.ok()) return s;

  DecisionFigures f;
  std::vector<double> engine_us;
  engine_us.reserve(samples);
  for (int i = 0; i < samples; ++i) {
    engine::cmd::SubmitRequest submit{gen.Spec(clock.Now(), false)};
    const Steady::time_point t0 = Steady::now();
    absl::StatusOr<engine::Outcome> out = engine.Handle(submit);
    const Steady::duration took = Steady::now() - t0;
    if (!out.ok()) return out.status();
    engine_us.push_back(Micros(took));
    // Keep the state the same size: withdraw the request again (untimed).
    absl::StatusOr<engine::Outcome> cancel =
        engine.Handle(engine::cmd::CancelRequest{out->request_id, "benchmark sample"});
    if (!cancel.ok()) return cancel.status();
  }
  f.samples = engine_us.size();
  f.p50_us = QuantileOf(engine_us, 0.50);
  f.p99_us = QuantileOf(engine_us, 0.99);
  f.max_us = engine_us.empty() ? 0 : engine_us.back();

  // The checked sample: the naive scan and the engine on identical state.
  NaiveMatcher naive(engine.ExportImage());
  std::vector<double> naive_us;
  naive_us.reserve(checked);
  for (int i = 0; i < checked; ++i) {
    engine::RequestSpec spec = gen.Spec(clock.Now(), false);
    // Emergencies may preempt (a rule the naive scan does not model).
    while (spec.urgency == engine::Urgency::kEmergency) spec = gen.Spec(clock.Now(), false);
    const Steady::time_point t0 = Steady::now();
    const std::string naive_pick = naive.Decide(spec, clock.Now());
    naive_us.push_back(Micros(Steady::now() - t0));
    absl::StatusOr<engine::Outcome> out = engine.Handle(engine::cmd::SubmitRequest{spec});
    if (!out.ok()) return out.status();
    std::string engine_pick;
    for (const engine::Event& e : out->events) {
      if (const auto* offer = std::get_if<engine::ev::OfferMade>(&e.kind)) {
        engine_pick = offer->technician_id;
        naive.Offered(offer->technician_id, e.time, spec.estimated_minutes);
      } else if (!std::holds_alternative<engine::ev::RequestSubmitted>(e.kind)) {
        return absl::InternalError(absl::StrCat(
            "decision check: a submit produced an event the naive view does not track "
            "(event kind #", e.kind.index(), ")"));
      }
    }
    ++f.checked;
    if (!engine_pick.empty()) ++f.offered;
    if (engine_pick == naive_pick) {
      ++f.agreed;
    } else if (f.checked - f.agreed <= 3) {
      std::fprintf(stderr, "decision check: %s in %s: engine chose '%s', naive '%s'\n",
                   out->request_id.c_str(), spec.zone_id.c_str(), engine_pick.c_str(),
                   naive_pick.c_str());
    }
  }
  f.naive_p50_us = QuantileOf(naive_us, 0.50);
  f.naive_p99_us = QuantileOf(naive_us, 0.99);
  f.p99_ratio = f.naive_p99_us > 0 ? f.p99_us / f.naive_p99_us : 0;
  return f;
}

absl::StatusOr<ApplyFigures> MeasureApply(const SiteShape& shape, uint64_t commands,
                                          uint32_t seed) {
  SiteGen gen(shape, seed);
  engine::ManualClock clock;
  engine::Engine live(&clock);
  MixDriver driver(&gen, &clock);
  std::vector<engine::Event> events;
  auto keep = [&](const engine::Outcome& o) {
    events.insert(events.end(), o.events.begin(), o.events.end());
  };
  if (absl::Status s = driver.Populate(live, keep); !s.ok()) return s;
  for (uint64_t i = 0; i < commands; ++i) {
    absl::StatusOr<engine::Outcome> out = live.Handle(driver.Next(live));
    if (out.ok()) keep(*out);
    driver.Saw(out);
  }
  engine::Engine replica(&clock);
  const Steady::time_point t0 = Steady::now();
  for (const engine::Event& e : events) {
    if (absl::Status s = replica.Apply(e); !s.ok()) return s;
  }
  const double seconds = Seconds(Steady::now() - t0);
  return ApplyFigures{events.size(), static_cast<double>(events.size()) / std::max(seconds, 1e-9)};
}

absl::StatusOr<MemoryFigures> MeasureMemoryHere(const SiteShape& shape, uint32_t seed) {
  SiteGen gen(shape, seed);
  engine::ManualClock clock;
  engine::Engine engine(&clock);
  for (const engine::Command& c : gen.SetupCommands()) {
    if (absl::StatusOr<engine::Outcome> out = engine.Handle(c); !out.ok()) return out.status();
  }
  MemoryFigures f;
  double rss = ResidentBytes(), heap = HeapBytes();
  for (int i = 0; i < shape.technicians; ++i) {
    absl::StatusOr<engine::Outcome> out = engine.Handle(gen.Technician(i));
    if (!out.ok()) return out.status();
  }
  f.bytes_per_technician = (ResidentBytes() - rss) / std::max(shape.technicians, 1);
  f.heap_bytes_per_technician = (HeapBytes() - heap) / std::max(shape.technicians, 1);
  rss = ResidentBytes();
  heap = HeapBytes();
  for (int i = 0; i < shape.open_requests; ++i) {
    const bool scheduled = gen.Pick(1000) < static_cast<int>(shape.scheduled * 1000);
    absl::StatusOr<engine::Outcome> out =
        engine.Handle(engine::cmd::SubmitRequest{gen.Spec(clock.Now(), scheduled)});
    if (!out.ok()) return out.status();
  }
  f.bytes_per_request = (ResidentBytes() - rss) / std::max(shape.open_requests, 1);
  f.heap_bytes_per_request = (HeapBytes() - heap) / std::max(shape.open_requests, 1);
  return f;
}

}  // namespace dispatchd::bench
