// Figures that need to see inside the daemon or to prepare its data
// directory: push latency (target 8), the engine-thread stall during a
// snapshot and restart times (target 6).
//
//   - Push: services::Server in this process over the file journal, with
//     ServerOptions.on_event timestamping every durable OfferMade (on the
//     engine thread, before streams are fed). The technicians' streams and
//     the SubmitRequest load run in a child process, as phones and callers
//     run apart from the daemon; it timestamps each offer's arrival on the
//     same clock (steady_clock is the machine's monotonic clock, shared by
//     all processes) and hands the stamps back in a file.
//   - Stall: services::Server over a pre-filled memory log with the
//     daemon's snapshot follower wired as dispatchd wires it; a probe posts
//     empty tasks to the engine thread and records how late they run while
//     a snapshot is taken.
//   - Restart: a journal (and a snapshot near its end) written here through
//     the daemon's own JournalEventLog and SnapshotStore, then the real
//     dispatchd started on it, timed to its "listening" line.
//
// Thread safety: each call is self-contained; run one at a time.
#ifndef DISPATCHD_BENCH_SERVER_FIGURES_H_
#define DISPATCHD_BENCH_SERVER_FIGURES_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "bench/child_process.h"
#include "bench/loadgen.h"
#include "bench/site.h"

namespace dispatchd::bench {

struct PushFigures {
  uint64_t pushes = 0;  // OFFERED updates received in the measured window.
  double p50_ms = 0, p99_ms = 0, max_ms = 0;
  LoadResult load;      // The SubmitRequest load that ran meanwhile.
  int technicians_nice = 0;  // The nice value the technicians ran at.
};

// The client side of the push figure, in two processes as in the field
// (phones are not the consoles and sensors that file requests): `zones`
// technicians (one per zone, all on shift), each watching its assignments
// and declining every offer `think` after it arrives, so that offers keep
// coming; and, beside them, SubmitRequest at `in_flight` calls in flight.
struct PushClients {
  std::string target;       // host:port of the server.
  int zones = 200;
  int in_flight = 64;
  absl::Duration think = absl::Milliseconds(100);
  absl::Duration warmup = absl::Milliseconds(300);
  absl::Duration duration = absl::Milliseconds(1500);
  std::string stamps_path;  // Where the technicians write their arrivals.
  // The technicians' process runs at this nice value if it may (root): a
  // phone has a processor of its own, so the time this machine's busy
  // cores make the receiving process wait for its turn is not the
  // server's. 0: the same priority as the load.
  int technicians_nice = -15;
};

enum class PushRole { kTechnicians, kLoad };

// Starts a process that runs RunPushTechnicians or RunPushLoad(clients)
// (run_all --child=push_technicians | push_load).
using StartPushClients = std::function<absl::StatusOr<std::unique_ptr<ChildProcess>>(
    const PushClients& clients, PushRole role)>;

// Serves the site of `clients` durably (under `work_dir`), starts the
// technicians, then the load, with `start`, and waits for the load; the
// latencies are from each offer's durability to its arrival, for the
// offers that arrived while the load was measured. `clients.target` and
// `stamps_path` are filled in here.
absl::StatusOr<PushFigures> MeasurePush(const std::string& work_dir, PushClients clients,
                                        const StartPushClients& start);

// The technicians' process: takes `technicians_nice` if it may,
// subscribes them, prints "push technicians ready at nice <n>", and on SIGTERM or SIGINT writes one
// "<sequence> <steady_clock ns>" line per offer that arrived to `stamps_path` and exits. Returns
// the exit code.
int RunPushTechnicians(const PushClients& clients);
// The load's process: runs it and prints "push load done <ok> <errors>
// <qps> <from ns> <until ns>" (the measured window on the steady clock,
// which both processes share). Returns the exit code.
int RunPushLoad(const PushClients& clients);

struct StallFigures {
  uint32_t open_requests = 0;
  double idle_max_ms = 0;  // Longest probe delay with no snapshot running.
  double stall_ms = 0;     // Longest probe delay while a snapshot was taken.
  double snapshot_s = 0;   // How long the snapshot took (follower thread).
  uint64_t probes = 0;     // Probes that ran during the snapshot.
};

absl::StatusOr<StallFigures> MeasureSnapshotStall(const std::string& work_dir,
                                                  const SiteShape& shape, uint32_t seed);

struct RestartFigures {
  uint64_t events = 0;        // In the journal.
  uint64_t tail = 0;          // Events after the snapshot.
  double full_s = 0;          // Start to listening, replaying every event.
  double snapshot_s = 0;      // Start to listening, snapshot + tail.
  double replay_events_per_s = 0;
  double ratio = 0;           // snapshot_s / full_s
};

// Writes a journal of about `events` events (site `shape`, then the mix)
// and a snapshot `tail` events before its end under `work_dir`, then
// starts `dispatchd` on it twice: without and with the snapshot. With
// `keep`, the data directory (work_dir/restart) is left for profiling,
// with the journal as written beside it (work_dir/restart-journal-as-written).
absl::StatusOr<RestartFigures> MeasureRestart(const std::string& dispatchd,
                                              const std::string& work_dir,
                                              const SiteShape& shape, uint64_t events,
                                              uint64_t tail, uint32_t seed, bool keep = false);

}  // namespace dispatchd::bench

#endif  // DISPATCHD_BENCH_SERVER_FIGURES_H_
