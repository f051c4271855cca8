// gRPC-level figures against child processes: the real dispatchd (durable
// or --in_memory) and the no-op baseline server, driven by the same load
// generator (bench/loadgen.h), plus the raw write+fdatasync baseline of
// the disk under the data directory (targets 3, 4 and 5).
//
// Thread safety: each call is self-contained; run one at a time.
#ifndef DISPATCHD_BENCH_RPC_FIGURES_H_
#define DISPATCHD_BENCH_RPC_FIGURES_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "bench/child_process.h"
#include "bench/loadgen.h"

namespace dispatchd::bench {

// A server under test, running as a child process.
struct ServedChild {
  std::unique_ptr<ChildProcess> process;
  std::string address;  // host:port
};

// Starts dispatchd on port 0 (--log_events=false) with `flags` added, and
// waits until it is listening.
absl::StatusOr<ServedChild> StartDispatchd(const std::string& binary,
                                           const std::vector<std::string>& flags);
// Starts `self --child=noop` (the no-op server) and waits for its address.
absl::StatusOr<ServedChild> StartNoopChild(const std::string& self);
// Serves the no-op server on 127.0.0.1:0 in this process, prints
// "noop listening on ADDRESS" and returns on SIGTERM or SIGINT.
int RunNoopChild();

// Creates zones "Z000".. with AdminService.UpsertZone (a chain).
absl::Status AddZones(const std::string& address, int zones);

// SubmitRequest #i: zone i % zones, one skill, normal urgency, a unique
// idempotency key with `prefix`.
RequestMaker SubmitMaker(int zones, std::string prefix);

struct FsyncFigures {
  double syncs_per_s = 0;
  double p50_us = 0;
  double p99_us = 0;
};

// How the raw baseline writes its records.
enum class RawWrite {
  kAppend,   // At the end of the file, which grows: what the issue names.
  kInPlace,  // Inside 4 MiB of zeros synced beforehand, as the journal does.
};

// Writes 256-byte records to a file in `dir` with write + fdatasync, one
// at a time, for `duration`. The file is removed afterwards.
absl::StatusOr<FsyncFigures> MeasureRawFsync(const std::string& dir, absl::Duration duration,
                                             RawWrite how = RawWrite::kAppend);

}  // namespace dispatchd::bench

#endif  // DISPATCHD_BENCH_RPC_FIGURES_H_
