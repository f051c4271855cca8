// The load generator against the no-op server: it counts what succeeded,
// paces open-loop arrivals at the asked rate, reports ordered quantiles and
// the CPU each call cost.
#include "bench/loadgen.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "bench/noop_server.h"

namespace dispatchd::bench {
namespace {

dispatch::v1::SubmitRequestRequest Make(uint64_t i) {
  dispatch::v1::SubmitRequestRequest r;
  r.set_idempotency_key(absl::StrCat("k", i));
  r.set_zone_id("north");
  return r;
}

// A closed loop of 8 calls in flight against `server`.
LoadOptions ClosedAt(const NoopServer& server, absl::Duration duration) {
  LoadOptions o;
  o.target = absl::StrCat("127.0.0.1:", server.port());
  o.in_flight = 8;
  o.warmup = absl::Milliseconds(100);
  o.duration = duration;
  return o;
}

TEST(LoadgenTest, ClosedLoopKeepsCallsInFlightAndAllSucceed) {
  NoopServer server("127.0.0.1:0");
  LoadResult r = RunLoad(ClosedAt(server, absl::Milliseconds(400)), Make);
  EXPECT_EQ(r.errors, 0u) << r.first_error;
  EXPECT_GT(r.ok, 50u);
  EXPECT_GT(r.qps, 0);
  EXPECT_LE(r.p50_us, r.p99_us);
  EXPECT_LE(r.p99_us, r.max_us);
}

TEST(LoadgenTest, OpenLoopSendsAboutTheAskedRate) {
  NoopServer server("127.0.0.1:0");
  LoadOptions o;
  o.target = absl::StrCat("127.0.0.1:", server.port());
  o.rate_per_s = 500;
  o.warmup = absl::Milliseconds(100);
  o.duration = absl::Seconds(1);
  LoadResult r = RunLoad(o, Make);
  EXPECT_EQ(r.errors, 0u) << r.first_error;
  EXPECT_GT(r.qps, 300);  // Poisson arrivals: about 500/s, never a flood.
  EXPECT_LT(r.qps, 700);
}

TEST(LoadgenTest, CpuPerCallIsReadForTheNamedServerProcess) {
  NoopServer server("127.0.0.1:0");
  LoadOptions o = ClosedAt(server, absl::Milliseconds(500));
  LoadResult without = RunLoad(o, Make);
  EXPECT_EQ(without.server_cpu_us, 0);  // No server named.
  EXPECT_GT(without.client_cpu_us, 0);
  // Here the server is this process, so both figures measure the same CPU
  // (through /proc and through getrusage).
  o.server_pid = getpid();
  LoadResult with = RunLoad(o, Make);
  ASSERT_GT(with.ok, 50u);
  EXPECT_GT(with.server_cpu_us, with.client_cpu_us / 2);
  EXPECT_LT(with.server_cpu_us, with.client_cpu_us * 2);
}

TEST(LoadgenTest, AnUnreachableServerIsCountedAsErrorsNotSuccesses) {
  LoadOptions o;
  o.target = "127.0.0.1:1";  // Nothing listens on port 1.
  o.in_flight = 2;
  o.warmup = absl::ZeroDuration();
  o.duration = absl::Milliseconds(300);
  LoadResult r = RunLoad(o, Make);
  EXPECT_EQ(r.ok, 0u);
  EXPECT_GT(r.errors, 0u);
}

}  // namespace
}  // namespace dispatchd::bench
