// The real dispatchd binary as a child process, for the tests that start,
// stop and kill it, plus a raw health check (no health stubs are installed).
#ifndef DISPATCHD_TESTS_SERVICES_DAEMON_PROCESS_H_
#define DISPATCHD_TESTS_SERVICES_DAEMON_PROCESS_H_

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/synchronization/notification.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/support/byte_buffer.h"
#include "tests/services/test_server.h"

extern char** environ;

namespace dispatchd::services::testing {

// A dispatchd child process with its stdout (and, if `with_stderr`, its
// stderr too) on a pipe.
class Daemon {
 public:
  explicit Daemon(const std::vector<std::string>& flags, bool with_stderr = false) {
    int fds[2];
    EXPECT_EQ(pipe(fds), 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    if (with_stderr) posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);
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

  // The next line of its output containing `needle`, waiting up to `timeout`.
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
inline bool HealthServing(const std::shared_ptr<grpc::Channel>& channel) {
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

// Adds the zone `zone_id` (no links) through AdminService.UpsertZone.
inline grpc::Status AddZone(const std::shared_ptr<grpc::Channel>& channel,
                            const std::string& zone_id) {
  auto admin = v1::AdminService::NewStub(channel);
  v1::UpsertZoneRequest zone;
  zone.set_zone_id(zone_id);
  v1::UpsertZoneResponse upserted;
  return Call(admin.get(), &v1::AdminService::Stub::UpsertZone, zone, &upserted);
}

// The address from the daemon's "dispatchd listening on" line.
inline std::optional<std::string> ListenAddress(Daemon& daemon) {
  std::optional<std::string> line = daemon.LineWith("dispatchd listening on ");
  if (!line) return std::nullopt;
  return line->substr(line->rfind(' ') + 1);
}

}  // namespace dispatchd::services::testing

#endif  // DISPATCHD_TESTS_SERVICES_DAEMON_PROCESS_H_
