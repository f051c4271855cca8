// dispatchd: the repair dispatch daemon. Serves dispatch.v1 over gRPC,
// optionally loads and runs the demo campus, and stops cleanly on SIGINT or
// SIGTERM (exit 0).
//
//   dispatchd --listen=127.0.0.1:50051 --data_dir=./var --demo=config/demo_campus.json
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/random/random.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "base/background_thread.h"
#include "clients/demo/demo.h"
#include "journal/file_journal.h"
#include "services/event_text.h"
#include "services/journal_event_log.h"
#include "services/memory_event_log.h"
#include "services/server.h"
#include "services/snapshot_store.h"
#include "services/snapshotter.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50051",
          "host:port to serve gRPC on; port 0 picks a free port");
ABSL_FLAG(std::string, data_dir, "./var", "Directory for dispatchd's data; created if missing");
ABSL_FLAG(std::string, demo, "",
          "Path to a demo campus config; when set and the store is empty, "
          "load the campus and run the demo");
ABSL_FLAG(double, demo_minutes_per_second, 1.0, "Demo minutes per wall-clock second");
ABSL_FLAG(bool, log_events, true, "Print one line per event on stdout");
ABSL_FLAG(bool, in_memory, false,
          "Keep events in memory only (nothing survives a restart; for benchmarks)");
ABSL_FLAG(uint64_t, snapshot_every_events, 100000,
          "Take a snapshot after this many events (0: never by count)");
ABSL_FLAG(int, snapshot_every_minutes, 10,
          "Take a snapshot after this many minutes with new events (0: never by time)");
ABSL_FLAG(int, snapshots_kept, 3, "How many snapshots to keep");
ABSL_FLAG(uint64_t, journal_segment_bytes, 64u << 20,
          "Start a new journal segment file once the current one passes this size");
ABSL_FLAG(bool, drop_covered_segments, false,
          "Delete journal segments whose events are all covered by the oldest snapshot kept "
          "(default: keep every segment for audit)");
ABSL_FLAG(std::string, tokens_file, "",
          "Bearer tokens per role (docs/access.md); empty: no access control, "
          "every caller may do everything");
ABSL_FLAG(std::string, tls_cert, "", "PEM certificate chain: serve TLS (with --tls_key)");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert");
ABSL_FLAG(std::string, tls_client_ca, "",
          "PEM CA: require client certificates it signed (mutual TLS)");
ABSL_FLAG(uint64_t, max_pending_calls, 20000,
          "Calls waiting for the engine beyond which new ones get RESOURCE_EXHAUSTED");
ABSL_FLAG(int, max_streams_per_connection, 1024,
          "Concurrent calls one connection may have open (a gateway may carry many technicians)");
ABSL_FLAG(bool, discard_after_corruption, false,
          "If the journal is damaged in the middle, start anyway, keeping only the "
          "records before the damage (the rest is moved aside, not deleted)");

namespace dispatchd {
namespace {

// Signals are taken by sigwait in main; every thread inherits this mask.
sigset_t BlockStopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

// A client target for `address`: wildcard hosts become localhost.
std::string ClientTarget(const std::string& address, int port) {
  if (absl::StartsWith(address, "0.0.0.0:") || absl::StartsWith(address, "[::]:") ||
      absl::StartsWith(address, ":")) {
    return absl::StrCat("localhost:", port);
  }
  return address;
}

void PrintBanner(const services::Server& server, const std::string& store, size_t tokens,
                 bool tls) {
  const std::string& addr = server.address();
  std::printf("dispatchd listening on %s%s\n", addr.c_str(), tls ? " (TLS)" : "");
  std::printf("  health:     grpcurl -plaintext %s grpc.health.v1.Health/Check\n", addr.c_str());
  std::printf("  reflection: grpcurl -plaintext %s list\n", addr.c_str());
  std::printf("  store:      %s\n", store.c_str());
  if (tokens > 0) {
    std::printf("  access:     %zu tokens from %s; send 'authorization: Bearer <token>'\n", tokens,
                absl::GetFlag(FLAGS_tokens_file).c_str());
  } else {
    std::printf("  access:     open (no --tokens_file): every caller may do everything\n");
  }
}

// The event log: the journal under <data_dir>/journal, recovered, or memory.
// `*file_journal` is set to the journal (owned by the log) if there is one.
// Segments whose events all precede `trust_through` (the newest
// snapshot's) are taken on trust: their headers only are read now.
absl::StatusOr<std::unique_ptr<services::EventLog>> OpenLog(const std::string& data_dir,
                                                            uint64_t trust_through,
                                                            std::string* store,
                                                            journal::FileJournal** file_journal) {
  if (absl::GetFlag(FLAGS_in_memory)) {
    *store = "in memory (--in_memory): nothing survives a restart";
    return std::make_unique<services::MemoryEventLog>();
  }
  journal::FileJournalOptions options;
  options.dir = (std::filesystem::path(data_dir) / "journal").string();
  options.discard_after_corruption = absl::GetFlag(FLAGS_discard_after_corruption);
  options.segment_bytes = absl::GetFlag(FLAGS_journal_segment_bytes);
  options.trust_through = trust_through;
  options.log = [](const std::string& note) {
    std::fprintf(stderr, "dispatchd: journal: %s\n", note.c_str());
  };
  journal::RecoveryReport report;
  absl::StatusOr<std::unique_ptr<journal::FileJournal>> opened =
      journal::FileJournal::Open(options, &report);
  if (!opened.ok()) return opened.status();
  *store = absl::StrCat(
      "journal in ", options.dir, " (", report.records, " events in ", report.segments, " segments",
      report.first_sequence > 1 ? absl::StrCat(", from event ", report.first_sequence)
                                : std::string(),
      report.trusted_segments > 0 ? absl::StrCat("; ", report.trusted_segments,
                                                 " covered by the snapshot, checked while serving")
                                  : std::string(),
      ")");
  *file_journal = opened->get();
  return std::make_unique<services::JournalEventLog>(*std::move(opened));
}

// Starts the demo campus client; nullptr (and a line on stderr) if it
// cannot start. The daemon serves on regardless.
std::unique_ptr<demo::Demo> StartDemo(const std::string& target, const std::string& config,
                                      double minutes_per_second, const std::string& token) {
  demo::DemoOptions options;
  options.token = token;
  options.target = target;
  options.config_path = config;
  options.minutes_per_second = minutes_per_second;
  absl::StatusOr<std::unique_ptr<demo::Demo>> started = demo::Demo::Start(options);
  if (!started.ok()) {
    std::fprintf(stderr, "dispatchd: demo not started: %s\n",
                 started.status().ToString().c_str());
    return nullptr;
  }
  std::printf("demo running from %s at %.2f demo minutes per second\n", config.c_str(),
              minutes_per_second);
  return *std::move(started);
}

int Run() {
  const sigset_t stop_signals = BlockStopSignals();
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // One line at a time, even to a pipe.

  const std::string data_dir = absl::GetFlag(FLAGS_data_dir);
  std::error_code error;
  std::filesystem::create_directories(data_dir, error);
  if (error) {
    std::fprintf(stderr, "dispatchd: cannot create --data_dir %s: %s\n", data_dir.c_str(),
                 error.message().c_str());
    return 1;
  }

  // Snapshots: the newest valid one shortens recovery; a follower keeps
  // taking them off the engine thread.
  auto log_line = [](const std::string& note) {
    std::fprintf(stderr, "dispatchd: %s\n", note.c_str());
  };
  services::SnapshotStore snapshots((std::filesystem::path(data_dir) / "snapshots").string(),
                                    journal::PosixFileSystem(),
                                    absl::GetFlag(FLAGS_snapshots_kept), log_line);
  // The newest snapshot is read, checked and decoded on a second thread
  // while this one recovers the journal (reads and checks every segment),
  // and handed over in parts as it is decoded: recovery loads them
  // meanwhile. On two cores start-up waits for the longest of the three,
  // not their sum.
  std::shared_ptr<services::SnapshotFeed> feed;
  std::thread snapshot_loader;
  if (!absl::GetFlag(FLAGS_in_memory)) {
    feed = std::make_shared<services::SnapshotFeed>();
    snapshot_loader = std::thread([&snapshots, feed] { snapshots.FeedNewest(feed.get()); });
  }
  // Whatever happens next, the reader stops (a closed feed refuses its
  // parts) and is joined before `snapshots` goes.
  struct LoaderJoin {
    std::shared_ptr<services::SnapshotFeed> feed;
    std::thread* thread;
    ~LoaderJoin() {
      if (feed != nullptr) feed->Close();
      if (thread->joinable()) thread->join();
    }
  } loader_join{feed, &snapshot_loader};
  std::string store;
  journal::FileJournal* file_journal = nullptr;
  // A start replays the journal only after the snapshot it loads, so the
  // segments the newest snapshot covers are read once the daemon serves.
  // Should that snapshot fail its checks, recovery replays from an older
  // one, and Read checks every record it replays.
  const uint64_t newest_snapshot = snapshots.NewestSequence().value_or(0);
  absl::StatusOr<std::unique_ptr<services::EventLog>> log =
      OpenLog(data_dir, newest_snapshot, &store, &file_journal);
  if (!log.ok()) {
    std::fprintf(stderr, "dispatchd: cannot open the event store: %s\n",
                 log.status().ToString().c_str());
    return 1;
  }
  services::EventLog* const event_log = log->get();
  std::unique_ptr<services::Snapshotter> snapshotter;
  if (!absl::GetFlag(FLAGS_in_memory)) {
    services::SnapshotterOptions snap_options;
    snap_options.every_events = absl::GetFlag(FLAGS_snapshot_every_events);
    snap_options.every = absl::Minutes(absl::GetFlag(FLAGS_snapshot_every_minutes));
    snap_options.log = log_line;
    if (absl::GetFlag(FLAGS_drop_covered_segments)) {
      // Runs on the follower thread; the follower is stopped before the
      // server (which owns the journal) goes.
      snap_options.after_snapshot = [file_journal, log_line](uint64_t covered) {
        if (absl::StatusOr<int> dropped = file_journal->DropSegmentsThrough(covered);
            !dropped.ok()) {
          log_line(absl::StrCat("journal retention: ", dropped.status().ToString()));
        }
      };
    }
    snapshotter = std::make_unique<services::Snapshotter>(&snapshots, snap_options);
  }

  services::ServerOptions options;
  options.listen_address = absl::GetFlag(FLAGS_listen);
  options.max_pending_calls = absl::GetFlag(FLAGS_max_pending_calls);
  options.max_streams_per_connection = absl::GetFlag(FLAGS_max_streams_per_connection);
  std::unique_ptr<services::AccessPolicy> access;
  std::string demo_token;
  size_t file_tokens = 0;
  if (const std::string tokens = absl::GetFlag(FLAGS_tokens_file); !tokens.empty()) {
    absl::StatusOr<std::unique_ptr<services::AccessPolicy>> loaded =
        services::AccessPolicy::Load(tokens);
    if (!loaded.ok()) {
      std::fprintf(stderr, "dispatchd: --tokens_file: %s\n",
                   std::string(loaded.status().message()).c_str());
      return 1;
    }
    access = *std::move(loaded);
    options.access = access.get();
    file_tokens = access->size();
  }
  if (access != nullptr && !absl::GetFlag(FLAGS_demo).empty()) {
    // The in-process demo acts as a dispatcher with a token of its own.
    absl::BitGen random;
    demo_token = absl::StrFormat("demo-internal-%016x%016x", absl::Uniform<uint64_t>(random),
                                 absl::Uniform<uint64_t>(random));
    if (absl::Status added = access->Add(demo_token, {services::Role::kDispatcher, "demo"});
        !added.ok()) {
      std::fprintf(stderr, "dispatchd: %s\n", std::string(added.message()).c_str());
      return 1;
    }
  }
  const std::string tls_cert = absl::GetFlag(FLAGS_tls_cert);
  const std::string tls_key = absl::GetFlag(FLAGS_tls_key);
  const std::string tls_client_ca = absl::GetFlag(FLAGS_tls_client_ca);
  if (!tls_cert.empty() || !tls_key.empty() || !tls_client_ca.empty()) {
    if (tls_cert.empty() || tls_key.empty()) {
      std::fprintf(stderr, "dispatchd: TLS needs both --tls_cert and --tls_key\n");
      return 1;
    }
    absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
        services::TlsCredentialsFromFiles(tls_cert, tls_key, tls_client_ca);
    if (!credentials.ok()) {
      std::fprintf(stderr, "dispatchd: %s\n", std::string(credentials.status().message()).c_str());
      return 1;
    }
    options.credentials = *std::move(credentials);
  }
  const bool options_tls = options.credentials != nullptr;
  options.log = *std::move(log);
  options.snapshot_feed = feed;
  uint64_t recovered_through = 0;
  if (snapshotter != nullptr) {
    options.on_recovered = [&](const engine::Engine& recovered) {
      recovered_through = recovered.last_sequence();
    };
  }
  if (absl::GetFlag(FLAGS_log_events)) {
    options.on_event = [](const ::dispatch::v1::Event& e) {
      std::printf("%s\n", services::EventLine(e).c_str());
    };
  }
  if (snapshotter != nullptr) {
    options.on_batch = [follower = snapshotter.get()](const services::EventBatch& batch) {
      follower->Follow(batch);
    };
  }
  absl::StatusOr<std::unique_ptr<services::Server>> server =
      services::Server::Start(std::move(options));
  if (!server.ok()) {
    std::fprintf(stderr, "dispatchd: %s\n", server.status().ToString().c_str());
    return 1;
  }
  const std::string snapshot_path = feed != nullptr ? feed->loaded_path() : "";
  if (!snapshot_path.empty()) store += absl::StrCat(", from snapshot ", snapshot_path);
  PrintBanner(**server, store, file_tokens, options_tls);
  if (snapshotter != nullptr) {
    // The follower redoes what recovery did (load the snapshot, if any, and
    // apply the journal after it) on its own thread, while the daemon
    // serves.
    snapshotter->PrimeFrom(snapshot_path, event_log, recovered_through);
    snapshotter->Start();
  }
  if ((*server)->recovered_events() > 0) {
    std::printf("dispatchd: recovered %llu events from the journal\n",
                static_cast<unsigned long long>((*server)->recovered_events()));
  }

  // The segments taken on trust are read on a thread of their own, behind
  // the engine and gRPC's threads, while the daemon serves.
  std::atomic<bool> stopping{false};
  std::thread journal_check;
  if (file_journal != nullptr && file_journal->trusted_segments() > 0) {
    journal_check = std::thread([file_journal, &stopping, log_line] {
      base::RunInBackground();
      const absl::Status checked =
          file_journal->CheckTrusted([&stopping] { return stopping.load(); });
      if (!checked.ok()) {
        log_line(std::string(checked.message()));
      } else if (!stopping.load()) {
        log_line(absl::StrCat("journal: the ", file_journal->trusted_segments(),
                              " segments the snapshot covers are intact"));
      }
    });
  }

  std::unique_ptr<demo::Demo> running_demo;
  const std::string demo_config = absl::GetFlag(FLAGS_demo);
  if (!demo_config.empty()) {  // The demo loads the site only into an empty store.
    running_demo = StartDemo(ClientTarget((*server)->address(), (*server)->port()), demo_config,
                             absl::GetFlag(FLAGS_demo_minutes_per_second), demo_token);
  }

  int signal = 0;
  sigwait(&stop_signals, &signal);
  std::printf("dispatchd: %s received, stopping\n", signal == SIGINT ? "SIGINT" : "SIGTERM");
  stopping = true;
  if (journal_check.joinable()) journal_check.join();
  if (running_demo != nullptr) running_demo->Stop();
  (*server)->Shutdown(absl::Seconds(5));
  // No call is taken or answered any more. The journal's writer finishes
  // what it was given: wait for that to be durable.
  const absl::Time flush_deadline = absl::Now() + absl::Seconds(5);
  while (event_log->durable_sequence() + 1 < event_log->next_sequence() &&
         absl::Now() < flush_deadline) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  std::printf("dispatchd: stopped\n");
  std::fflush(nullptr);
  // Then the process ends without tearing down what is left. The live
  // engine and the snapshot follower's each hold the whole state, and
  // freeing them object by object took 4 s of a stop at 10 M events (2 M
  // requests each; more if the follower was still loading its snapshot).
  // The follower may be writing a snapshot or dropping covered segments:
  // both are safe to cut short at any point (a temporary file, deletions
  // oldest first), as the daemon is built to survive being killed at any
  // moment; the next start uses the snapshots that are whole.
  std::_Exit(0);
}

}  // namespace
}  // namespace dispatchd

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("dispatchd: the repair dispatch daemon (gRPC dispatch.v1)");
  absl::ParseCommandLine(argc, argv);
  // Debian's Abseil checks every Mutex acquisition for lock-order cycles
  // (a stack walk and a graph update per lock): a debugging aid that cost
  // about 6 % of the daemon's CPU under load. The tests keep it on.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  return dispatchd::Run();
}
