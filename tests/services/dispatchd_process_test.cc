// The real dispatchd binary as a child process: it says where it listens,
// reports SERVING on the standard health service, lists the dispatch.v1
// services over server reflection, logs events, and exits 0 on SIGTERM.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "dispatch/v1/admin.grpc.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/unknown_field_set.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/support/byte_buffer.h"
#include "gtest/gtest.h"
#include "tests/services/test_server.h"

extern char** environ;

namespace dispatchd::services::testing {
namespace {

using ::testing::IsSupersetOf;

// A dispatchd child process with its stdout on a pipe.
class Daemon {
 public:
  explicit Daemon(const std::vector<std::string>& flags) {
    int fds[2];
    EXPECT_EQ(pipe(fds), 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    std::vector<std::string> args = {DISPATCHD_BINARY};
    args.insert(args.end(), flags.begin(), flags.end());
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    EXPECT_EQ(posix_spawn(&pid_, DISPATCHD_BINARY, &actions, nullptr, argv.data(), environ), 0);
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    out_ = fds[0];
  }
  ~Daemon() {
    if (pid_ > 0 && !exit_status_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    close(out_);
  }

  // The next stdout line containing `needle`, waiting up to `timeout`.
  std::optional<std::string> LineWith(const std::string& needle,
                                      absl::Duration timeout = absl::Seconds(20)) {
    const absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      for (size_t nl; (nl = buffer_.find('\n')) != std::string::npos;) {
        std::string line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        if (absl::StrContains(line, needle)) return line;
      }
      pollfd p{out_, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      char chunk[4096];
      const ssize_t n = read(out_, chunk, sizeof(chunk));
      if (n <= 0) return std::nullopt;  // The daemon closed stdout.
      buffer_.append(chunk, n);
    }
    return std::nullopt;
  }

  // Sends `signal` and waits up to `timeout` for the exit status.
  std::optional<int> Stop(int signal, absl::Duration timeout = absl::Seconds(20)) {
    kill(pid_, signal);
    const absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        exit_status_ = status;
        return status;
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
    return std::nullopt;
  }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  std::string buffer_;
  std::optional<int> exit_status_;
};

// grpc.health.v1.Health/Check for the whole server: true if SERVING.
bool HealthServing(const std::shared_ptr<grpc::Channel>& channel) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  SetDeadline(&ctx);
  grpc::Slice empty("");  // HealthCheckRequest{service: ""} is zero bytes.
  grpc::ByteBuffer request(&empty, 1);
  grpc::ByteBuffer response;
  grpc::Status status;
  absl::Notification done;
  stub.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request,
                 &response, [&](grpc::Status s) {
                   status = std::move(s);
                   done.Notify();
                 });
  done.WaitForNotification();
  std::vector<grpc::Slice> slices;
  if (!status.ok() || !response.Dump(&slices).ok()) return false;
  std::string bytes;
  for (const grpc::Slice& s : slices) bytes.append(s.begin(), s.end());
  return bytes == std::string("\x08\x01", 2);  // status: SERVING (1).
}

// Waits for the next completion on `cq`; true if it is `tag` and ok.
bool Await(grpc::CompletionQueue* cq, int tag) {
  void* got = nullptr;
  bool ok = false;
  return cq->Next(&got, &ok) && got == reinterpret_cast<void*>(tag) && ok;
}

// Service names from grpc.reflection.v1alpha list_services, decoding the
// wire format by hand (no reflection headers are installed).
std::set<std::string> ReflectedServices(const std::shared_ptr<grpc::Channel>& channel) {
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue cq;
  grpc::ClientContext ctx;
  SetDeadline(&ctx);
  auto call = stub.PrepareCall(
      &ctx, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
  grpc::Slice list_services(std::string("\x3a\x00", 2));  // list_services: "".
  grpc::ByteBuffer request(&list_services, 1);
  grpc::ByteBuffer response;
  grpc::Status status;
  std::set<std::string> names;
  call->StartCall(reinterpret_cast<void*>(1));
  if (Await(&cq, 1)) {
    call->Write(request, reinterpret_cast<void*>(2));
    if (Await(&cq, 2)) {
      call->Read(&response, reinterpret_cast<void*>(3));
      if (Await(&cq, 3)) {
        std::vector<grpc::Slice> slices;
        response.Dump(&slices);
        std::string bytes;
        for (const grpc::Slice& s : slices) bytes.append(s.begin(), s.end());
        google::protobuf::UnknownFieldSet top;
        top.ParseFromString(bytes);
        for (int i = 0; i < top.field_count(); ++i) {
          if (top.field(i).number() != 6) continue;  // list_services_response.
          google::protobuf::UnknownFieldSet list;
          list.ParseFromString(top.field(i).length_delimited());
          for (int j = 0; j < list.field_count(); ++j) {  // repeated service = 1.
            google::protobuf::UnknownFieldSet service;
            service.ParseFromString(list.field(j).length_delimited());
            if (service.field_count() > 0) names.insert(service.field(0).length_delimited());
          }
        }
      }
    }
  }
  ctx.TryCancel();
  call->Finish(&status, reinterpret_cast<void*>(4));
  void* tag;
  bool ok;
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  return names;
}

TEST(DispatchdProcessTest, ServesHealthAndReflectionLogsEventsAndStopsOnSigterm) {
  const std::string data_dir =
      absl::StrCat(::testing::TempDir(), "/dispatchd-test-", getpid(), "/var");
  Daemon daemon({"--listen=127.0.0.1:0", "--data_dir=" + data_dir});

  std::optional<std::string> listening = daemon.LineWith("dispatchd listening on ");
  ASSERT_TRUE(listening.has_value()) << "no listening line on stdout";
  const std::string address = listening->substr(listening->rfind(' ') + 1);
  int port = 0;
  ASSERT_TRUE(absl::SimpleAtoi(address.substr(address.rfind(':') + 1), &port)) << address;
  EXPECT_GT(port, 0);
  EXPECT_TRUE(std::filesystem::is_directory(data_dir));

  auto channel = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  EXPECT_TRUE(HealthServing(channel));
  EXPECT_THAT(ReflectedServices(channel),
              IsSupersetOf({"dispatch.v1.RequestService", "dispatch.v1.TechnicianService",
                            "dispatch.v1.AlertService", "dispatch.v1.InventoryService",
                            "dispatch.v1.ConsoleService", "dispatch.v1.AdminService",
                            "grpc.health.v1.Health"}));

  // A command shows up as one event line.
  auto admin = v1::AdminService::NewStub(channel);
  v1::UpsertZoneRequest zone;
  zone.set_zone_id("north");
  zone.set_name("North campus");
  v1::UpsertZoneResponse upserted;
  ASSERT_TRUE(Call(admin.get(), &v1::AdminService::Stub::UpsertZone, zone, &upserted).ok());
  EXPECT_TRUE(daemon.LineWith("#1 ZoneUpserted north").has_value());

  std::optional<int> status = daemon.Stop(SIGTERM);
  ASSERT_TRUE(status.has_value()) << "dispatchd did not stop on SIGTERM";
  EXPECT_TRUE(WIFEXITED(*status));
  EXPECT_EQ(WEXITSTATUS(*status), 0);
  std::filesystem::remove_all(std::filesystem::path(data_dir).parent_path());
}

}  // namespace
}  // namespace dispatchd::services::testing
