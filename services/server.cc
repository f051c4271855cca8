#include "services/server.h"

#include <chrono>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "services/admin_service.h"
#include "services/alert_service.h"
#include "services/console_service.h"
#include "services/inventory_service.h"
#include "services/memory_event_log.h"
#include "services/request_service.h"
#include "services/technician_service.h"

namespace dispatchd::services {
namespace {

namespace v1 = ::dispatch::v1;

// Every service name the health service reports, "" (the whole server) first.
const std::vector<std::string>& HealthNames() {
  static const auto* const kNames = new std::vector<std::string>{
      "",
      v1::RequestService::service_full_name(),
      v1::TechnicianService::service_full_name(),
      v1::AlertService::service_full_name(),
      v1::InventoryService::service_full_name(),
      v1::ConsoleService::service_full_name(),
      v1::AdminService::service_full_name(),
  };
  return *kNames;
}

void SetHealth(grpc::Server* server, bool serving) {
  grpc::HealthCheckServiceInterface* health = server->GetHealthCheckService();
  if (health == nullptr) return;
  for (const std::string& name : HealthNames()) health->SetServingStatus(name, serving);
}

// "host:0" -> "host:<port>".
std::string WithPort(const std::string& address, int port) {
  const size_t colon = address.rfind(':');
  const std::string host = colon == std::string::npos ? address : address.substr(0, colon);
  return absl::StrCat(host, ":", port);
}

absl::StatusOr<std::string> ReadPem(const std::string& path, absl::string_view what) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", std::string(what), " ", path));
  std::stringstream text;
  text << in.rdbuf();
  if (text.str().find("-----BEGIN") == std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(what), " ", path, " is not a PEM file"));
  }
  return text.str();
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> TlsCredentialsFromFiles(
    const std::string& cert_path, const std::string& key_path, const std::string& client_ca_path) {
  grpc::SslServerCredentialsOptions ssl;
  grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
  ASSIGN_OR_RETURN(pair.cert_chain, ReadPem(cert_path, "TLS certificate"));
  ASSIGN_OR_RETURN(pair.private_key, ReadPem(key_path, "TLS key"));
  ssl.pem_key_cert_pairs.push_back(std::move(pair));
  if (!client_ca_path.empty()) {
    ASSIGN_OR_RETURN(ssl.pem_root_certs, ReadPem(client_ca_path, "client CA"));
    ssl.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return grpc::SslServerCredentials(ssl);
}

absl::StatusOr<std::unique_ptr<Server>> Server::Start(ServerOptions options) {
  std::unique_ptr<Server> server(new Server());
  absl::Status status = server->Build(options);
  if (!status.ok()) return status;
  return server;
}

absl::Status Server::Build(ServerOptions& options) {
  log_ = options.log ? std::move(options.log) : std::make_unique<MemoryEventLog>();
  runner_ = std::make_unique<EngineRunner>(
      log_.get(), EngineRunner::Options{.clock = options.clock,
                                        .run_timers = options.run_timers,
                                        .max_pending_calls = options.max_pending_calls,
                                        .max_queue_wait = options.max_queue_wait});
  if (options.on_event) runner_->AddObserver(options.on_event);
  if (options.on_batch) runner_->AddBatchObserver(options.on_batch);
  runner_->OnPoison([this](const absl::Status&) {
    absl::MutexLock lock(&shutdown_mu_);
    poisoned_ = true;
    if (server_ != nullptr) SetHealth(server_.get(), false);
  });
  if (options.recover) {
    absl::StatusOr<uint64_t> replayed =
        runner_->Recover(std::move(options.snapshot), options.snapshot_feed.get());
    if (!replayed.ok()) return replayed.status();
    recovered_events_ = *replayed;
  }
  if (options.on_recovered) options.on_recovered(runner_->engine_before_start());
  runner_->Start();

  request_service_ = std::make_unique<RequestServiceImpl>(runner_.get());
  technician_service_ =
      std::make_unique<TechnicianServiceImpl>(runner_.get(), options.assignment_stream_capacity);
  alert_service_ = std::make_unique<AlertServiceImpl>(runner_.get());
  inventory_service_ = std::make_unique<InventoryServiceImpl>(runner_.get());
  console_service_ = std::make_unique<ConsoleServiceImpl>(runner_.get(), log_.get(),
                                                          options.event_stream_capacity);
  admin_service_ = std::make_unique<AdminServiceImpl>(runner_.get());

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(
      options.listen_address,
      options.credentials ? options.credentials : grpc::InsecureServerCredentials(), &port_);
  builder.SetMaxReceiveMessageSize(options.max_receive_message_bytes);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, options.max_streams_per_connection);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS,
                             static_cast<int>(absl::ToInt64Milliseconds(options.keepalive_time)));
  builder.AddChannelArgument(
      GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
      static_cast<int>(absl::ToInt64Milliseconds(options.keepalive_timeout)));
  builder.AddChannelArgument(
      GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
      static_cast<int>(absl::ToInt64Milliseconds(options.min_client_ping_interval)));
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 2);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  if (options.access != nullptr) {
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
    creators.push_back(AccessInterceptorFactory(options.access));
    builder.experimental().SetInterceptorCreators(std::move(creators));
  }
  builder.RegisterService(request_service_.get());
  builder.RegisterService(technician_service_.get());
  builder.RegisterService(alert_service_.get());
  builder.RegisterService(inventory_service_.get());
  builder.RegisterService(console_service_.get());
  builder.RegisterService(admin_service_.get());
  {
    absl::MutexLock lock(&shutdown_mu_);  // The poison handler reads server_.
    server_ = builder.BuildAndStart();
  }
  if (server_ == nullptr || port_ == 0) {
    server_.reset();
    runner_->Stop();
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options.listen_address));
  }
  address_ = WithPort(options.listen_address, port_);
  absl::MutexLock lock(&shutdown_mu_);
  SetHealth(server_.get(), !poisoned_);  // The engine thread is running: ready.
  return absl::OkStatus();
}

Server::~Server() { Shutdown(); }

void Server::Shutdown(absl::Duration grace) {
  {
    absl::MutexLock lock(&shutdown_mu_);
    if (shut_down_) return;
    shut_down_ = true;
  }
  if (server_ != nullptr) {
    SetHealth(server_.get(), false);
    runner_->CloseStreams(
        grpc::Status(grpc::StatusCode::UNAVAILABLE, "dispatchd is shutting down"));
    server_->Shutdown(std::chrono::time_point_cast<std::chrono::system_clock::duration>(
        std::chrono::system_clock::now() + absl::ToChronoNanoseconds(grace)));
  }
  if (runner_ != nullptr) runner_->Stop();
}

}  // namespace dispatchd::services
