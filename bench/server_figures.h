// Figures that need to see inside the daemon or to prepare its data
// directory: push latency (target 8), the engine-thread stall during a
// snapshot and restart times (target 6).
//
//   - Push: services::Server in this process over the file journal, with
//     ServerOptions.on_event timestamping every durable OfferMade (on the
//     engine thread, before streams are fed) and WatchAssignments clients
//     timestamping its arrival; same clock, same process.
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
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "bench/loadgen.h"
#include "bench/site.h"

namespace dispatchd::bench {

struct PushFigures {
  uint64_t pushes = 0;  // OFFERED updates received in the measured window.
  double p50_ms = 0, p99_ms = 0, max_ms = 0;
  LoadResult load;      // The SubmitRequest load that ran meanwhile.
};

// `zones` zones with one technician each (all on shift, each watching its
// assignments and declining every offer `think` after it arrives, so that
// offers keep coming), and SubmitRequest at `in_flight` calls in flight,
// durable.
absl::StatusOr<PushFigures> MeasurePush(const std::string& work_dir, int zones, int in_flight,
                                        absl::Duration think, absl::Duration warmup,
                                        absl::Duration duration);

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
// `keep`, the data directory (work_dir/restart) is left for profiling.
absl::StatusOr<RestartFigures> MeasureRestart(const std::string& dispatchd,
                                              const std::string& work_dir,
                                              const SiteShape& shape, uint64_t events,
                                              uint64_t tail, uint32_t seed, bool keep = false);

}  // namespace dispatchd::bench

#endif  // DISPATCHD_BENCH_SERVER_FIGURES_H_
