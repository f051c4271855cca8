#include "bench/rpc_figures.h"

#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "bench/engine_figures.h"
#include "bench/noop_server.h"
#include "dispatch/v1/admin.grpc.pb.h"

namespace dispatchd::bench {
namespace {

absl::StatusOr<ServedChild> WaitListening(std::unique_ptr<ChildProcess> child,
                                          const std::string& needle) {
  std::optional<std::string> line = child->LineWith(needle, absl::Seconds(120));
  if (!line) {
    return absl::UnavailableError(absl::StrCat("no '", needle, "' line from the child"));
  }
  ServedChild out;
  out.address = line->substr(line->rfind(' ') + 1);
  out.process = std::move(child);
  return out;
}

}  // namespace

absl::StatusOr<ServedChild> StartDispatchd(const std::string& binary,
                                           const std::vector<std::string>& flags) {
  std::vector<std::string> args = {"--listen=127.0.0.1:0", "--log_events=false"};
  args.insert(args.end(), flags.begin(), flags.end());
  absl::StatusOr<std::unique_ptr<ChildProcess>> child = ChildProcess::Start(binary, args);
  if (!child.ok()) return child.status();
  return WaitListening(*std::move(child), "dispatchd listening on ");
}

absl::StatusOr<ServedChild> StartNoopChild(const std::string& self) {
  absl::StatusOr<std::unique_ptr<ChildProcess>> child =
      ChildProcess::Start(self, {"--child=noop"});
  if (!child.ok()) return child.status();
  return WaitListening(*std::move(child), "noop listening on ");
}

int RunNoopChild() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  {
    NoopServer server("127.0.0.1:0");
    std::printf("noop listening on 127.0.0.1:%d\n", server.port());
    std::fflush(stdout);
    int signal = 0;
    sigwait(&set, &signal);
  }
  return 0;
}

absl::Status AddZones(const std::string& address, int zones) {
  auto stub = dispatch::v1::AdminService::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  for (int z = 0; z < zones; ++z) {
    dispatch::v1::UpsertZoneRequest req;
    req.set_zone_id(absl::StrFormat("Z%03d", z));
    req.set_name(absl::StrCat("Building group ", z));
    if (z > 0) {
      dispatch::v1::Neighbor* n = req.add_neighbors();
      n->set_zone_id(absl::StrFormat("Z%03d", z - 1));
      n->set_travel_minutes(10);
    }
    dispatch::v1::UpsertZoneResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    grpc::Status st = stub->UpsertZone(&ctx, req, &resp);
    if (!st.ok()) {
      return absl::UnavailableError(absl::StrCat("UpsertZone: ", st.error_message()));
    }
  }
  return absl::OkStatus();
}

RequestMaker SubmitMaker(int zones, std::string prefix) {
  return [zones, prefix = std::move(prefix)](uint64_t i) {
    dispatch::v1::SubmitRequestRequest r;
    r.set_idempotency_key(absl::StrCat(prefix, i));
    r.set_zone_id(absl::StrFormat("Z%03d", static_cast<int>(i % zones)));
    r.set_location("Building 4, room 2.17");
    r.set_category("lighting");
    dispatch::v1::SkillRequirement* s = r.add_required_skills();
    s->set_skill("skill00");
    s->set_min_level(1);
    r.set_urgency(dispatch::v1::URGENCY_NORMAL);
    r.set_estimated_minutes(30);
    r.set_description("Lamp flickering above the whiteboard.");
    return r;
  };
}

absl::StatusOr<FsyncFigures> MeasureRawFsync(const std::string& dir, absl::Duration duration,
                                             RawWrite how) {
  const std::string path = (std::filesystem::path(dir) / "raw-fsync.bench").string();
  const bool append = how == RawWrite::kAppend;
  const int fd =
      open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | (append ? O_APPEND : 0), 0644);
  if (fd < 0) return absl::UnavailableError(absl::StrCat("cannot create ", path));
  constexpr off_t kZeroed = off_t{4} << 20;  // In place: written round and round.
  if (!append) {
    const std::string zeros(kZeroed, '\0');
    if (write(fd, zeros.data(), zeros.size()) != static_cast<ssize_t>(zeros.size()) ||
        fdatasync(fd) != 0) {
      close(fd);
      return absl::UnavailableError(absl::StrCat("cannot zero-fill ", path));
    }
  }
  const std::string record(256, 'x');
  off_t at = 0;
  std::vector<double> us;
  using Steady = std::chrono::steady_clock;
  const Steady::time_point start = Steady::now();
  const Steady::time_point end =
      start + std::chrono::nanoseconds(absl::ToInt64Nanoseconds(duration));
  absl::Status status;
  while (Steady::now() < end) {
    const Steady::time_point t0 = Steady::now();
    const ssize_t n = append ? write(fd, record.data(), record.size())
                             : pwrite(fd, record.data(), record.size(), at);
    at = (at + static_cast<off_t>(record.size())) % kZeroed;
    if (n != static_cast<ssize_t>(record.size()) || fdatasync(fd) != 0) {
      status = absl::UnavailableError(absl::StrCat("write/fdatasync failed on ", path));
      break;
    }
    us.push_back(std::chrono::duration<double, std::micro>(Steady::now() - t0).count());
  }
  const double seconds = std::chrono::duration<double>(Steady::now() - start).count();
  close(fd);
  std::filesystem::remove(path);
  if (!status.ok()) return status;
  FsyncFigures f;
  f.syncs_per_s = static_cast<double>(us.size()) / seconds;
  f.p50_us = QuantileOf(us, 0.50);
  f.p99_us = QuantileOf(us, 0.99);
  return f;
}

}  // namespace dispatchd::bench
