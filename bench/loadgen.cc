#include "bench/loadgen.h"

#include <grpcpp/grpcpp.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <random>
#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "dispatch/v1/requests.grpc.pb.h"

namespace dispatchd::bench {
namespace {

using dispatch::v1::RequestService;
using dispatch::v1::SubmitRequestRequest;
using dispatch::v1::SubmitRequestResponse;

// Shared by every call of one run.
class Run {
 public:
  Run(const LoadOptions& options, const RequestMaker& make) : options_(options), make_(make) {
    for (int i = 0; i < std::max(1, options.channels); ++i) {
      grpc::ChannelArguments args;
      args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // One connection each.
      args.SetInt("dispatchd.bench.channel", i);
      stubs_.push_back(RequestService::NewStub(
          grpc::CreateCustomChannel(options.target, grpc::InsecureChannelCredentials(), args)));
    }
  }

  // Sends call number `i`, intended at `intended`; `then` runs on completion.
  void Send(uint64_t i, absl::Time intended, std::function<void()> then) {
    struct Call {
      grpc::ClientContext ctx;
      SubmitRequestRequest req;
      SubmitRequestResponse resp;
    };
    auto* call = new Call;
    call->req = make_(i);
    call->ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    outstanding_.fetch_add(1);
    stubs_[i % stubs_.size()]->async()->SubmitRequest(
        &call->ctx, &call->req, &call->resp,
        [this, call, intended, then = std::move(then)](grpc::Status st) {
          Record(st, intended);
          delete call;
          if (then) then();
          // Last touch of *this: once the count reaches zero, RunLoad may
          // return and destroy the run.
          outstanding_.fetch_sub(1);
        });
  }

  // Closed loop: sends the next call, and another when it completes.
  void SendClosed() {
    if (stopping()) return;
    Send(next_.fetch_add(1), absl::Now(), [this] { SendClosed(); });
  }

  void StartMeasuring(absl::Time at) { measure_from_ = at; }
  void StopMeasuring(absl::Time at) {
    std::lock_guard<std::mutex> lock(mu_);
    measure_until_ = at;
  }
  bool stopping() const { return stopping_.load(); }
  void Stop() { stopping_.store(true); }
  void WaitIdle() {
    while (outstanding_.load() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  int64_t outstanding() const { return outstanding_.load(); }

  LoadResult Result(absl::Duration measured) {
    std::lock_guard<std::mutex> lock(mu_);
    std::sort(latencies_us_.begin(), latencies_us_.end());
    LoadResult r = result_;
    r.qps = static_cast<double>(r.ok) / absl::ToDoubleSeconds(measured);
    r.p50_us = Quantile(latencies_us_, 0.50);
    r.p90_us = Quantile(latencies_us_, 0.90);
    r.p99_us = Quantile(latencies_us_, 0.99);
    r.p999_us = Quantile(latencies_us_, 0.999);
    r.max_us = latencies_us_.empty() ? 0 : latencies_us_.back();
    return r;
  }

 private:
  void Record(const grpc::Status& st, absl::Time intended) {
    const absl::Time now = absl::Now();
    std::lock_guard<std::mutex> lock(mu_);
    if (intended < measure_from_ || now > measure_until_) return;
    if (st.ok()) {
      ++result_.ok;
      latencies_us_.push_back(absl::ToDoubleMicroseconds(now - intended));
    } else {
      if (result_.errors++ == 0) result_.first_error = st.error_message();
    }
  }

  const LoadOptions& options_;
  const RequestMaker& make_;
  std::vector<std::unique_ptr<RequestService::Stub>> stubs_;
  std::atomic<int64_t> outstanding_{0};
  std::atomic<uint64_t> next_{0};
  std::atomic<bool> stopping_{false};
  absl::Time measure_from_ = absl::InfiniteFuture();
  std::mutex mu_;
  absl::Time measure_until_ = absl::InfiniteFuture();
  LoadResult result_;
  std::vector<double> latencies_us_;
};

// User and system CPU time of process `pid` (all its threads) so far, or
// of this process for pid 0; zero if it cannot be read.
absl::Duration ProcessCpu(pid_t pid) {
  if (pid == 0) {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return absl::DurationFromTimeval(u.ru_utime) + absl::DurationFromTimeval(u.ru_stime);
  }
  char path[64];
  std::snprintf(path, sizeof(path), "/proc/%d/stat", static_cast<int>(pid));
  FILE* f = std::fopen(path, "r");
  if (f == nullptr) return absl::ZeroDuration();
  char line[1024];
  const size_t n = std::fread(line, 1, sizeof(line) - 1, f);
  std::fclose(f);
  line[n] = '\0';
  // After the command name (which may hold spaces) in parentheses: state,
  // then ten fields, then utime and stime in clock ticks (proc(5)).
  const char* p = std::strrchr(line, ')');
  unsigned long long utime = 0, stime = 0;
  if (p == nullptr || std::sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
                                  &utime, &stime) != 2) {
    return absl::ZeroDuration();
  }
  return absl::Seconds(static_cast<double>(utime + stime) /
                       static_cast<double>(sysconf(_SC_CLK_TCK)));
}

void ClosedLoop(Run& run, int in_flight) {
  for (int i = 0; i < in_flight; ++i) run.SendClosed();
}

// Paces Poisson arrivals on this thread until the run stops.
void OpenLoop(Run& run, double rate, uint32_t seed) {
  std::mt19937_64 rng(seed);
  std::exponential_distribution<double> gap(rate);
  absl::Time intended = absl::Now();
  for (uint64_t i = 0; !run.stopping(); ++i) {
    intended += absl::Seconds(gap(rng));
    absl::Time now = absl::Now();
    if (intended > now) absl::SleepFor(intended - now);
    run.Send(i, intended, nullptr);
  }
}

}  // namespace

double Quantile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  size_t i = static_cast<size_t>(q * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(i, sorted.size() - 1)];
}

LoadResult RunLoad(const LoadOptions& options, const RequestMaker& make) {
  Run run(options, make);
  const absl::Time start = absl::Now();
  run.StartMeasuring(start + options.warmup);
  run.StopMeasuring(start + options.warmup + options.duration);
  std::thread pacer;
  if (options.rate_per_s > 0) {
    pacer = std::thread([&] { OpenLoop(run, options.rate_per_s, options.seed); });
  } else {
    ClosedLoop(run, options.in_flight);
  }
  absl::SleepFor(options.warmup);
  const absl::Duration server_from =
      options.server_pid > 0 ? ProcessCpu(options.server_pid) : absl::ZeroDuration();
  const absl::Duration client_from = ProcessCpu(0);
  absl::SleepFor(options.duration);
  const absl::Duration server_used =
      options.server_pid > 0 ? ProcessCpu(options.server_pid) - server_from : absl::ZeroDuration();
  const absl::Duration client_used = ProcessCpu(0) - client_from;
  run.Stop();
  if (pacer.joinable()) pacer.join();
  run.WaitIdle();
  LoadResult result = run.Result(options.duration);
  if (result.ok > 0) {
    const double calls = static_cast<double>(result.ok);
    result.server_cpu_us = absl::ToDoubleMicroseconds(server_used) / calls;
    result.client_cpu_us = absl::ToDoubleMicroseconds(client_used) / calls;
  }
  return result;
}

}  // namespace dispatchd::bench
