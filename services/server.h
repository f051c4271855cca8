// Server: dispatchd's gRPC server — the six dispatch.v1 services over one
// engine runner and event log, plus the standard health service (SERVING
// once ready, for "" and per service name) and server reflection.
//
//   ASSIGN_OR_RETURN(auto server, Server::Start(options));
//   std::cout << server->address();   // "127.0.0.1:PORT", port 0 resolved
//   ...
//   server->Shutdown(absl::Seconds(5));
//
// Thread safety: thread-safe. Shutdown may be called from any thread, once
// or more; the destructor shuts down too.
#ifndef DISPATCHD_SERVICES_SERVER_H_
#define DISPATCHD_SERVICES_SERVER_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "dispatch/v1/events.pb.h"
#include "engine/clock.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "services/access.h"
#include "services/engine_runner.h"
#include "services/event_log.h"
#include "services/snapshot_feed.h"

namespace dispatchd::services {

class AdminServiceImpl;
class AlertServiceImpl;
class ConsoleServiceImpl;
class InventoryServiceImpl;
class RequestServiceImpl;
class TechnicianServiceImpl;

struct ServerOptions {
  // host:port; port 0 picks a free port (see Server::port()).
  std::string listen_address = "127.0.0.1:50051";
  // The event log; nullptr: a MemoryEventLog.
  std::unique_ptr<EventLog> log;
  // The engine's clock; nullptr: the system clock. Must outlive the server.
  const engine::Clock* clock = nullptr;
  // False: timers fire only via runner().FireTimersNow() (tests).
  bool run_timers = true;
  // Messages a slow stream consumer may have waiting before the stream is
  // ended RESOURCE_EXHAUSTED.
  size_t event_stream_capacity = 1024;
  size_t assignment_stream_capacity = 256;
  int max_receive_message_bytes = 1 << 20;  // 1 MiB; larger: RESOURCE_EXHAUSTED.
  // Access control (tokens and roles); nullptr: every call is allowed. Not
  // owned; must outlive the server.
  const AccessPolicy* access = nullptr;
  // Transport security; nullptr: plaintext (see TlsCredentialsFromFiles).
  std::shared_ptr<grpc::ServerCredentials> credentials;
  // Streams one connection may have open at once (HTTP/2 concurrent streams).
  int max_streams_per_connection = 1024;
  // Calls waiting for the engine before new ones get RESOURCE_EXHAUSTED,
  // and how long one may wait in the queue (see EngineRunner::Options).
  size_t max_pending_calls = 20000;
  absl::Duration max_queue_wait = absl::Seconds(10);
  // Keepalive: the server pings an idle connection this often and drops it
  // if no answer comes; clients pinging more often than every
  // min_client_ping_interval (with no call in flight) are cut off.
  absl::Duration keepalive_time = absl::Minutes(1);
  absl::Duration keepalive_timeout = absl::Seconds(20);
  absl::Duration min_client_ping_interval = absl::Seconds(10);
  // Sees every durable event once, in order, on the engine thread.
  std::function<void(const ::dispatch::v1::Event&)> on_event;
  // Sees every durable batch once, in order, on the engine thread, after
  // on_event has seen its events. The batch is shared, not copied: keep
  // it to read later on another thread (the snapshot follower does).
  std::function<void(const EventBatch&)> on_batch;
  // Rebuild the engine from the log before serving (a persistent log),
  // starting from `snapshot` if set (the engine takes its contents).
  bool recover = true;
  std::optional<engine::StateImage> snapshot;
  // Or the snapshot as another thread decodes it, loaded meanwhile; the
  // feed may bring none (see SnapshotFeed). Ignored if `snapshot` is set.
  std::shared_ptr<SnapshotFeed> snapshot_feed;
  // Called once recovery is done and before the engine handles anything,
  // on the starting thread (e.g. to prime the snapshot follower).
  std::function<void(const engine::Engine&)> on_recovered;
};

// Server credentials from PEM files: the server's certificate chain and
// key, and, if `client_ca_path` is set, mutual TLS (clients must present
// a certificate that CA signed). NOT_FOUND / INVALID_ARGUMENT naming the
// file otherwise.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> TlsCredentialsFromFiles(
    const std::string& cert_path, const std::string& key_path, const std::string& client_ca_path);

class Server {
 public:
  // Replays the log into the engine, then starts the engine thread and the
  // gRPC server. DATA_LOSS if the log does not replay; UNAVAILABLE if the
  // address cannot be bound. Health turns NOT_SERVING if the log fails
  // later (fail-stop; every call then gets UNAVAILABLE).
  static absl::StatusOr<std::unique_ptr<Server>> Start(ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // The bound port, and the listen address with it filled in.
  int port() const { return port_; }
  const std::string& address() const { return address_; }

  // Health NOT_SERVING, ends every stream UNAVAILABLE, stops taking calls,
  // waits up to `grace` for calls in flight (then cancels them), and stops
  // the engine thread. Idempotent.
  void Shutdown(absl::Duration grace = absl::Seconds(5));

  // The engine runner, for tests (FireTimersNow, RunOnEngineThread).
  EngineRunner& runner() { return *runner_; }
  // Events replayed from the log at start.
  uint64_t recovered_events() const { return recovered_events_; }

 private:
  Server() = default;
  absl::Status Build(ServerOptions& options);

  // Constant after Start; destroyed in reverse: gRPC server first, log last.
  std::unique_ptr<EventLog> log_;
  std::unique_ptr<EngineRunner> runner_;
  std::unique_ptr<RequestServiceImpl> request_service_;
  std::unique_ptr<TechnicianServiceImpl> technician_service_;
  std::unique_ptr<AlertServiceImpl> alert_service_;
  std::unique_ptr<InventoryServiceImpl> inventory_service_;
  std::unique_ptr<ConsoleServiceImpl> console_service_;
  std::unique_ptr<AdminServiceImpl> admin_service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::string address_;
  uint64_t recovered_events_ = 0;

  absl::Mutex shutdown_mu_;
  bool shut_down_ ABSL_GUARDED_BY(shutdown_mu_) = false;
  bool poisoned_ ABSL_GUARDED_BY(shutdown_mu_) = false;
};

}  // namespace dispatchd::services

#endif  // DISPATCHD_SERVICES_SERVER_H_
