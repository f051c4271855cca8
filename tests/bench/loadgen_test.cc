// The load generator against the no-op server: it counts what succeeded,
// paces open-loop arrivals at the asked rate, and reports ordered quantiles.
#include "bench/loadgen.h"

#include <gtest/gtest.h>

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

TEST(LoadgenTest, ClosedLoopKeepsCallsInFlightAndAllSucceed) {
  NoopServer server("127.0.0.1:0");
  LoadOptions o;
  o.target = absl::StrCat("127.0.0.1:", server.port());
  o.in_flight = 8;
  o.warmup = absl::Milliseconds(100);
  o.duration = absl::Milliseconds(400);
  LoadResult r = RunLoad(o, Make);
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
