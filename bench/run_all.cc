// run_all: the one entry point of `make bench`. Measures every figure of
// issue 6 in one run on this machine — the engine in process, the real
// dispatchd and the no-op server as child processes, the raw disk —
// prints a table (figure, value, target, pass/miss) and writes the JSON
// results file. docs/performance.md explains each figure and baseline.
//
//   run_all --dispatchd=build/services/dispatchd --out=bench/results/latest.json
//   run_all --quick ...        tiny sizes: checks that everything runs
//   run_all --only=engine,rpc  a subset (engine, decision, memory, stall,
//                              rpc, push, restart)
//
// Child modes (started by run_all itself): --child=noop serves the no-op
// gRPC server; --child=memory measures resident memory in a fresh process;
// --child=push_technicians and --child=push_load run the push figure's
// technicians and, in another process, its SubmitRequest load.
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "bench/child_process.h"
#include "bench/engine_figures.h"
#include "bench/flood_figures.h"
#include "bench/report.h"
#include "bench/rpc_figures.h"
#include "bench/server_figures.h"

ABSL_FLAG(std::string, dispatchd, "", "The dispatchd binary (default: next to bench/)");
ABSL_FLAG(std::string, out, "bench/results/latest.json", "Where to write the results");
ABSL_FLAG(std::string, work_dir, "bench/results/work",
          "Scratch directory for data dirs and the raw fsync file (its disk is measured)");
ABSL_FLAG(bool, quick, false, "Tiny sizes and durations: checks that every driver runs");
ABSL_FLAG(std::string, only, "", "Comma-separated phases to run (default: all)");
ABSL_FLAG(uint64_t, replay_events, 10000000,
          "Journal size for the restart figures: the issue's 10,000,000 (a few minutes "
          "to write and start, some 4 GB under --work_dir while it runs)");
ABSL_FLAG(bool, keep_restart_dir, false,
          "Leave the restart phase's data directory (journal + snapshot) for profiling");
ABSL_FLAG(int, memory_requests, 1000000, "Open requests for the memory figures");
ABSL_FLAG(int, push_think_ms, 100,
          "How long each technician in the push figure takes to decline an offer");
ABSL_FLAG(std::string, child, "", "Internal: noop | memory | push_technicians | push_load");
// Internal: what the push figure's client processes (--child=push_*) run.
ABSL_FLAG(std::string, push_target, "", "Internal (--child=push_*): the server's host:port");
ABSL_FLAG(int, push_zones, 200, "Internal (--child=push_*): technicians, one per zone");
ABSL_FLAG(int, push_in_flight, 64,
          "SubmitRequest calls in flight during the push figure (the issue names 64)");
ABSL_FLAG(int, push_warmup_ms, 300, "Internal (--child=push_*): load warm-up");
ABSL_FLAG(int, push_duration_ms, 1500, "Internal (--child=push_*): measured load");
ABSL_FLAG(int, push_technicians_nice, -15,
          "Nice value of the push figure's technicians (phones have processors of their own; "
          "needs root, else they run at 0); a second run at 0 is reported beside it");
ABSL_FLAG(std::string, push_stamps, "", "Internal (--child=push_*): where arrivals go");

namespace dispatchd::bench {
namespace {

struct Sizes {
  SiteShape site;             // Targets 1, 2, 6 (stall).
  uint64_t mix_commands = 1000000;
  int decision_samples = 20000;
  int decision_checked = 1000;
  SiteShape memory;
  absl::Duration warmup = absl::Milliseconds(300);
  absl::Duration duration = absl::Milliseconds(1500);
  int push_zones = 200;
  int zones_rpc = 20;
  uint64_t replay_events = 1000000;
};

Sizes MakeSizes(bool quick) {
  Sizes s;
  s.memory.open_requests = absl::GetFlag(FLAGS_memory_requests);
  s.replay_events = absl::GetFlag(FLAGS_replay_events);
  if (quick) {
    s.site.zones = 20;
    s.site.technicians = 200;
    s.site.open_requests = 1000;
    s.mix_commands = 5000;
    s.decision_samples = 200;
    s.decision_checked = 100;
    s.memory = s.site;
    s.warmup = absl::Milliseconds(50);
    s.duration = absl::Milliseconds(200);
    s.push_zones = 10;
    s.replay_events = 12000;
  }
  return s;
}

bool Wanted(const std::string& phase) {
  const std::string only = absl::GetFlag(FLAGS_only);
  if (only.empty()) return true;
  for (absl::string_view p : absl::StrSplit(only, ',')) {
    if (std::string(p) == phase) return true;
  }
  return false;
}

void Say(const std::string& line) {
  std::printf("bench: %s\n", line.c_str());
  std::fflush(stdout);
}

void Declare(Report& r) {
  r.Target("engine_commands_per_s", ">=", 1e6, "commands/s");
  r.Target("decision_p99_us", "<=", 20, "us");
  r.Target("decision_vs_naive_p99_ratio", "<=", 0.01, "");
  r.Target("rpc_tax_ratio_c64", ">=", 0.85, "");
  for (int c : {1, 16, 64, 256}) r.Target(absl::StrCat("group_commit_ratio_c", c), ">=", 0.8, "");
  r.Target("durable_p50_ratio_c1", "<=", 1.2, "");
  r.Target("open_loop_p99_ratio", "<=", 1.5, "");
  r.Target("replay_vs_apply_ratio", ">=", 1.0, "");
  r.Target("snapshot_restart_ratio", "<=", 0.15, "");
  r.Target("snapshot_stall_ms", "<=", 1, "ms");
  r.Target("bytes_per_request", "<=", 1024, "bytes");
  r.Target("bytes_per_technician", "<=", 2048, "bytes");
  r.Target("push_p99_ms", "<=", 2, "ms");
  r.Target("flood_p99_ratio", "<=", 2, "");  // Issue 5: a flood of bad calls.
}

void EnginePhases(const Sizes& s, Report& r, double* live_events_per_s) {
  if (Wanted("engine") || Wanted("restart")) {
    Say("engine: command mix");
    absl::StatusOr<MixFigures> mix = MeasureMix(s.site, s.mix_commands, 11);
    if (!mix.ok()) {
      r.Error("engine mix", mix.status());
    } else {
      r.Set("engine_commands_per_s", mix->commands_per_s);
      r.Detail("engine_events_per_s", mix->events_per_s);
      r.Detail("engine_mix_commands", static_cast<double>(mix->commands));
      r.Detail("engine_mix_rejected", static_cast<double>(mix->rejected));
      r.Detail("engine_mix_open_requests_after", mix->open_requests_after);
      // Where the time goes, by command kind: mean and share of the total.
      for (const MixKind& k : mix->by_kind) {
        r.Detail(absl::StrCat("engine_mix_us_", k.name),
                 1e6 * k.engine_seconds / static_cast<double>(k.count));
        r.Detail(absl::StrCat("engine_mix_share_", k.name),
                 k.engine_seconds / std::max(mix->engine_seconds, 1e-9));
      }
      *live_events_per_s = mix->events_per_s;
    }
  }
  if (Wanted("decision")) {
    Say("engine: decisions and the naive scan");
    SiteShape shape = s.site;
    shape.scheduled = 0.95;  // Leaves technicians free, so decisions assign.
    absl::StatusOr<DecisionFigures> d =
        MeasureDecisions(shape, s.decision_samples, s.decision_checked, 12);
    if (!d.ok()) {
      r.Error("decisions", d.status());
    } else {
      r.Set("decision_p99_us", d->p99_us);
      r.Set("decision_vs_naive_p99_ratio", d->p99_ratio);
      r.Detail("decision_p50_us", d->p50_us);
      r.Detail("naive_decision_p50_us", d->naive_p50_us);
      r.Detail("naive_decision_p99_us", d->naive_p99_us);
      r.Detail("decision_checked", d->checked);
      r.Detail("decision_agreed", d->agreed);
      r.Detail("decision_checked_offered", d->offered);
      if (d->agreed != d->checked) {
        r.Error("decisions", absl::InternalError(absl::StrCat(
                                 "engine and naive scan disagree on ", d->checked - d->agreed,
                                 " of ", d->checked, " checked decisions")));
      }
    }
  }
  if (Wanted("memory")) {
    Say(absl::StrCat("engine: memory at ", s.memory.open_requests, " requests (child)"));
    absl::StatusOr<std::unique_ptr<ChildProcess>> child = ChildProcess::Start(
        SelfPath(), {"--child=memory", absl::StrCat("--memory_requests=", s.memory.open_requests),
                     absl::StrCat("--quick=", absl::GetFlag(FLAGS_quick) ? "true" : "false")});
    std::optional<std::string> line;
    if (child.ok()) line = (*child)->LineWith("memory ", absl::Minutes(10));
    double per_req = 0, per_tech = 0, heap_req = 0, heap_tech = 0;
    if (!line || std::sscanf(line->c_str(), "memory %lf %lf %lf %lf", &per_req, &per_tech,
                             &heap_req, &heap_tech) != 4) {
      r.Error("memory", child.ok() ? absl::UnavailableError("no figures from the child")
                                   : child.status());
    } else {
      r.Set("bytes_per_request", per_req);
      r.Set("bytes_per_technician", per_tech);
      r.Detail("heap_bytes_per_request", heap_req);
      r.Detail("heap_bytes_per_technician", heap_tech);
    }
  }
}

void ServerPhases(const Sizes& s, const std::string& dispatchd, const std::string& work,
                  double live_events_per_s, Report& r) {
  if (Wanted("stall")) {
    Say("server: snapshot stall");
    absl::StatusOr<StallFigures> st = MeasureSnapshotStall(work, s.site, 13);
    if (!st.ok()) {
      r.Error("snapshot stall", st.status());
    } else {
      r.Set("snapshot_stall_ms", st->stall_ms);
      r.Detail("snapshot_stall_idle_max_ms", st->idle_max_ms);
      r.Detail("snapshot_stall_open_requests", st->open_requests);
      r.Detail("snapshot_take_s", st->snapshot_s);
      r.Detail("snapshot_stall_probes", static_cast<double>(st->probes));
    }
  }
  if (Wanted("push")) {
    PushClients clients;
    clients.zones = s.push_zones;
    clients.in_flight = absl::GetFlag(FLAGS_quick) ? 8 : absl::GetFlag(FLAGS_push_in_flight);
    clients.think = absl::Milliseconds(absl::GetFlag(FLAGS_push_think_ms));
    clients.warmup = s.warmup;
    clients.duration = s.duration;
    const StartPushClients start = [](const PushClients& c, PushRole role) {
      return ChildProcess::Start(
          SelfPath(),
          {role == PushRole::kTechnicians ? "--child=push_technicians" : "--child=push_load",
           absl::StrCat("--push_target=", c.target), absl::StrCat("--push_zones=", c.zones),
           absl::StrCat("--push_in_flight=", c.in_flight),
           absl::StrCat("--push_think_ms=", absl::ToInt64Milliseconds(c.think)),
           absl::StrCat("--push_warmup_ms=", absl::ToInt64Milliseconds(c.warmup)),
           absl::StrCat("--push_duration_ms=", absl::ToInt64Milliseconds(c.duration)),
           absl::StrCat("--push_stamps=", c.stamps_path),
           absl::StrCat("--push_technicians_nice=", c.technicians_nice)});
    };
    // The figure is taken with the technicians ahead of the load for the
    // cores, as phones with processors of their own would be; `suffix`
    // names a run kept beside it for comparison.
    auto measure = [&](int nice, const std::string& suffix) {
      clients.technicians_nice = nice;
      Say(absl::StrCat("server: push latency under durable c", clients.in_flight,
                       " load (technicians at nice ", nice, ", load in another process)"));
      absl::StatusOr<PushFigures> p = MeasurePush(work, clients, start);
      if (!p.ok()) {
        r.Error("push", p.status());
        return;
      }
      if (p->pushes == 0) {  // No sample is not a pass.
        r.Error("push", absl::InternalError(absl::StrCat(
                            "no offer reached a technician's stream in the measured window (load ",
                            static_cast<int64_t>(p->load.qps), "/s)")));
        return;
      }
      if (suffix.empty()) {
        r.Set("push_p99_ms", p->p99_ms);
        r.Detail("push_technicians_nice", p->technicians_nice);
      } else {
        r.Detail("push_p99_ms" + suffix, p->p99_ms);
      }
      r.Detail("push_p50_ms" + suffix, p->p50_ms);
      r.Detail("push_max_ms" + suffix, p->max_ms);
      r.Detail("push_count" + suffix, static_cast<double>(p->pushes));
      r.Detail("push_load_qps" + suffix, p->load.qps);
    };
    const int nice = absl::GetFlag(FLAGS_push_technicians_nice);
    measure(nice, "");
    if (nice != 0) measure(0, "_same_priority");
  }
  if (Wanted("restart")) {
    Say(absl::StrCat("daemon: restart on a journal of ", s.replay_events, " events"));
    const uint64_t tail = std::min<uint64_t>(100000, s.replay_events / 10);
    absl::StatusOr<RestartFigures> rs =
        MeasureRestart(dispatchd, work, s.site, s.replay_events, tail, 14,
                       absl::GetFlag(FLAGS_keep_restart_dir));
    if (!rs.ok()) {
      r.Error("restart", rs.status());
    } else {
      r.Set("snapshot_restart_ratio", rs->ratio);
      r.Detail("replay_events", static_cast<double>(rs->events));
      r.Detail("replay_tail_events", static_cast<double>(rs->tail));
      r.Detail("replay_full_s", rs->full_s);
      r.Detail("replay_snapshot_s", rs->snapshot_s);
      r.Detail("replay_events_per_s", rs->replay_events_per_s);
      if (live_events_per_s > 0) {
        r.Set("replay_vs_apply_ratio", rs->replay_events_per_s / live_events_per_s);
      }
    }
  }
}

// Closed loop at each C against one server; returns results by C.
std::vector<LoadResult> Closed(const ServedChild& server, const Sizes& s,
                               const std::vector<int>& cs, const std::string& prefix, Report& r,
                               const std::string& name) {
  std::vector<LoadResult> out;
  for (int c : cs) {
    LoadOptions o;
    o.target = server.address;
    o.server_pid = server.process->pid();
    o.in_flight = c;
    o.warmup = s.warmup;
    o.duration = s.duration;
    LoadResult res = RunLoad(o, SubmitMaker(s.zones_rpc, absl::StrCat(prefix, c, "-")));
    if (res.errors > 0) {
      r.Error(absl::StrCat(name, " c", c),
              absl::UnavailableError(absl::StrCat(res.errors, " calls failed: ", res.first_error)));
    }
    r.Detail(absl::StrCat(name, "_qps_c", c), res.qps);
    r.Detail(absl::StrCat(name, "_p50_us_c", c), res.p50_us);
    r.Detail(absl::StrCat(name, "_p99_us_c", c), res.p99_us);
    r.Detail(absl::StrCat(name, "_server_cpu_us_c", c), res.server_cpu_us);
    r.Detail(absl::StrCat(name, "_client_cpu_us_c", c), res.client_cpu_us);
    Say(absl::StrCat(name, " c", c, ": ", static_cast<int64_t>(res.qps), "/s p50 ",
                     static_cast<int64_t>(res.p50_us), " us p99 ", static_cast<int64_t>(res.p99_us),
                     " us; CPU per call: server ", static_cast<int64_t>(res.server_cpu_us),
                     " us, client ", static_cast<int64_t>(res.client_cpu_us), " us"));
    out.push_back(res);
  }
  return out;
}

LoadResult Open(const std::string& address, const Sizes& s, double rate,
                const std::string& prefix) {
  LoadOptions o;
  o.target = address;
  o.rate_per_s = rate;
  o.warmup = s.warmup;
  o.duration = s.duration;
  return RunLoad(o, SubmitMaker(s.zones_rpc, prefix));
}

void RpcPhases(const Sizes& s, const std::string& dispatchd, const std::string& work,
               Report& r) {
  if (!Wanted("rpc")) return;
  const std::vector<int> cs = {1, 16, 64, 256};
  Say("rpc: raw write+fdatasync on the work dir's disk (appended, then in place)");
  absl::StatusOr<FsyncFigures> fsync = MeasureRawFsync(work, s.duration);
  if (!fsync.ok()) return r.Error("raw fsync", fsync.status());
  r.Detail("raw_fsync_per_s", fsync->syncs_per_s);
  r.Detail("raw_fsync_p50_us", fsync->p50_us);
  r.Detail("raw_fsync_p99_us", fsync->p99_us);
  // The journal writes inside preallocated zeros, which syncs faster than
  // the append the baseline makes: the same measured that way.
  absl::StatusOr<FsyncFigures> in_place = MeasureRawFsync(work, s.duration, RawWrite::kInPlace);
  if (!in_place.ok()) return r.Error("raw fsync in place", in_place.status());
  r.Detail("raw_fsync_in_place_per_s", in_place->syncs_per_s);
  r.Detail("raw_fsync_in_place_p50_us", in_place->p50_us);
  r.Detail("raw_fsync_in_place_p99_us", in_place->p99_us);

  absl::StatusOr<ServedChild> noop = StartNoopChild(SelfPath());
  if (!noop.ok()) return r.Error("noop server", noop.status());
  std::vector<LoadResult> n = Closed(*noop, s, {1, 64}, "n", r, "noop");

  absl::StatusOr<ServedChild> mem =
      StartDispatchd(dispatchd, {"--in_memory", absl::StrCat("--data_dir=", work, "/mem")});
  if (!mem.ok()) return r.Error("dispatchd --in_memory", mem.status());
  if (absl::Status z = AddZones(mem->address, s.zones_rpc); !z.ok()) return r.Error("zones", z);
  std::vector<LoadResult> m = Closed(*mem, s, cs, "m", r, "memory");

  std::error_code error;
  std::filesystem::remove_all(absl::StrCat(work, "/durable"), error);
  absl::StatusOr<ServedChild> dur =
      StartDispatchd(dispatchd, {absl::StrCat("--data_dir=", work, "/durable")});
  if (!dur.ok()) return r.Error("dispatchd durable", dur.status());
  if (absl::Status z = AddZones(dur->address, s.zones_rpc); !z.ok()) return r.Error("zones", z);
  std::vector<LoadResult> d = Closed(*dur, s, cs, "d", r, "durable");

  r.Set("rpc_tax_ratio_c64", m[2].qps / std::max(n[1].qps, 1e-9));
  for (size_t i = 0; i < cs.size(); ++i) {
    const double bound = std::min(m[i].qps, cs[i] * fsync->syncs_per_s);
    r.Set(absl::StrCat("group_commit_ratio_c", cs[i]), d[i].qps / std::max(bound, 1e-9));
  }
  r.Set("durable_p50_ratio_c1", d[0].p50_us / std::max(fsync->p50_us + n[0].p50_us, 1e-9));
  r.Detail("durable_p50_ratio_c1_in_place",
           d[0].p50_us / std::max(in_place->p50_us + n[0].p50_us, 1e-9));
  r.Detail("group_commit_ratio_c1_in_place",
           d[0].qps / std::max(std::min(m[0].qps, in_place->syncs_per_s), 1e-9));

  double max_rate = 0;
  for (const LoadResult& x : m) max_rate = std::max(max_rate, x.qps);
  const double rate = 0.7 * max_rate;
  Say(absl::StrCat("rpc: open loop at ", static_cast<int64_t>(rate), "/s (70 % of max)"));
  LoadResult open_noop = Open(noop->address, s, rate, "on");
  LoadResult open_mem = Open(mem->address, s, rate, "om");
  r.Detail("open_loop_rate_per_s", rate);
  r.Detail("open_loop_p99_us", open_mem.p99_us);
  r.Detail("open_loop_noop_p99_us", open_noop.p99_us);
  r.Detail("open_loop_qps", open_mem.qps);
  r.Set("open_loop_p99_ratio", open_mem.p99_us / std::max(open_noop.p99_us, 1e-9));

  Say("rpc: a well-behaved client with and without a flood of malformed and oversized calls");
  absl::StatusOr<FloodFigures> flood = MeasureFlood(mem->address, s.zones_rpc, 8, s.duration);
  if (!flood.ok()) return r.Error("flood", flood.status());
  r.Detail("flood_capacity_qps", flood->max_qps);
  r.Detail("flood_good_qps", flood->good_qps);
  r.Detail("flood_quiet_p99_us", flood->quiet_p99_us);
  r.Detail("flood_flooded_p99_us", flood->flooded_p99_us);
  r.Detail("flood_malformed_per_s", flood->bad_per_s);
  r.Detail("flood_oversized_per_s", flood->oversized_per_s);
  for (size_t i = 0; i < flood->round_ratios.size(); ++i) {
    r.Detail(absl::StrCat("flood_round_", i + 1, "_ratio"), flood->round_ratios[i]);
  }
  r.Set("flood_p99_ratio", flood->flooded_p99_us / std::max(flood->quiet_p99_us, 1e-9));
  std::filesystem::remove_all(absl::StrCat(work, "/durable"), error);
  std::filesystem::remove_all(absl::StrCat(work, "/mem"), error);
}

int RunMemoryChild() {
  Sizes s = MakeSizes(absl::GetFlag(FLAGS_quick));
  absl::StatusOr<MemoryFigures> m = MeasureMemoryHere(s.memory, 15);
  if (!m.ok()) {
    std::fprintf(stderr, "memory: %s\n", m.status().ToString().c_str());
    return 1;
  }
  std::printf("memory %.1f %.1f %.1f %.1f\n", m->bytes_per_request, m->bytes_per_technician,
              m->heap_bytes_per_request, m->heap_bytes_per_technician);
  return 0;
}

int Main() {
  const std::string child = absl::GetFlag(FLAGS_child);
  if (child == "noop") return RunNoopChild();
  if (child == "memory") return RunMemoryChild();
  if (child == "push_technicians" || child == "push_load") {
    PushClients clients;
    clients.target = absl::GetFlag(FLAGS_push_target);
    clients.zones = absl::GetFlag(FLAGS_push_zones);
    clients.in_flight = absl::GetFlag(FLAGS_push_in_flight);
    clients.think = absl::Milliseconds(absl::GetFlag(FLAGS_push_think_ms));
    clients.warmup = absl::Milliseconds(absl::GetFlag(FLAGS_push_warmup_ms));
    clients.duration = absl::Milliseconds(absl::GetFlag(FLAGS_push_duration_ms));
    clients.stamps_path = absl::GetFlag(FLAGS_push_stamps);
    clients.technicians_nice = absl::GetFlag(FLAGS_push_technicians_nice);
    return child == "push_load" ? RunPushLoad(clients) : RunPushTechnicians(clients);
  }

  const Sizes s = MakeSizes(absl::GetFlag(FLAGS_quick));
  std::string dispatchd = absl::GetFlag(FLAGS_dispatchd);
  if (dispatchd.empty()) {
    dispatchd = (std::filesystem::path(SelfPath()).parent_path().parent_path() / "services" /
                 "dispatchd")
                    .string();
  }
  const std::string work = absl::GetFlag(FLAGS_work_dir);
  std::error_code error;
  std::filesystem::create_directories(work, error);

  Report r;
  Declare(r);
  r.Note("sizes", absl::StrCat(s.site.technicians, " technicians, ", s.site.open_requests,
                               " open requests, ", s.site.zones, " zones, ", s.site.skills,
                               " skills; memory at ", s.memory.open_requests,
                               " requests; restart journal ", s.replay_events, " events"));
  r.Note("started", absl::FormatTime(absl::Now(), absl::UTCTimeZone()));
  double live_events_per_s = 0;
  const absl::Time t0 = absl::Now();
  EnginePhases(s, r, &live_events_per_s);
  RpcPhases(s, dispatchd, work, r);
  ServerPhases(s, dispatchd, work, live_events_per_s, r);
  r.Detail("bench_wall_s", absl::ToDoubleSeconds(absl::Now() - t0));

  std::printf("\n%s", r.Table().c_str());
  const std::string out = absl::GetFlag(FLAGS_out);
  if (absl::Status w = r.Write(out); !w.ok()) {
    std::fprintf(stderr, "bench: %s\n", w.ToString().c_str());
    return 1;
  }
  std::printf("bench: wrote %s\n", out.c_str());
  return r.has_errors() ? 2 : 0;
}

}  // namespace
}  // namespace dispatchd::bench

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  // As in dispatchd: no lock-order checking in measured code.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  return dispatchd::bench::Main();
}
