// The benchmark drivers at tiny sizes: the naive baseline decides like the
// engine, the command mix is mostly plausible commands, and `run_all
// --quick` (what `make bench` runs, shrunk) produces every figure the issue
// names. No timing assertions: speed is for `make bench` to report.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/child_process.h"
#include "bench/engine_figures.h"

namespace dispatchd::bench {
namespace {

SiteShape TinySite() {
  SiteShape s;
  s.zones = 20;
  s.technicians = 200;
  s.open_requests = 1000;
  s.scheduled = 0.95;
  return s;
}

TEST(FiguresTest, NaiveScanAndEngineChooseTheSameTechnicians) {
  absl::StatusOr<DecisionFigures> d = MeasureDecisions(TinySite(), 50, 150, 3);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->checked, 150);
  EXPECT_EQ(d->agreed, d->checked);
  EXPECT_GT(d->offered, 10);  // The sample includes real assignments...
  EXPECT_LT(d->offered, d->checked);  // ...and requests that nobody gets yet.
  EXPECT_EQ(d->samples, 50u);
}

TEST(FiguresTest, TheMixIsMostlyAcceptedCommandsThatProduceEvents) {
  SiteShape shape = TinySite();
  shape.scheduled = 0.85;
  absl::StatusOr<MixFigures> m = MeasureMix(shape, 5000, 4);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->commands, 5000u);
  EXPECT_LT(m->rejected, m->commands / 4);
  EXPECT_GT(m->events, m->commands / 2);
  EXPECT_GT(m->open_requests_after, 0u);
  // Every command is counted under its kind, and the kinds' times add up.
  uint64_t counted = 0;
  double seconds = 0;
  std::vector<std::string> names;
  for (const MixKind& k : m->by_kind) {
    counted += k.count;
    seconds += k.engine_seconds;
    names.push_back(k.name);
  }
  EXPECT_EQ(counted, m->commands);
  EXPECT_NEAR(seconds, m->engine_seconds, 1e-3 * m->engine_seconds);
  EXPECT_THAT(names, ::testing::IsSupersetOf({"SubmitRequest", "AcceptOffer", "CompleteWork"}));
}

TEST(FiguresTest, RunAllQuickWritesEveryFigureOfTheIssue) {
  const std::string dir =
      absl::StrCat(::testing::TempDir(), "/run_all_quick_", getpid());
  std::filesystem::create_directories(dir);
  const std::string out = dir + "/latest.json";
  absl::StatusOr<std::unique_ptr<ChildProcess>> child = ChildProcess::Start(
      RUN_ALL_BINARY, {"--quick", "--out=" + out, "--work_dir=" + dir + "/work",
                       std::string("--dispatchd=") + DISPATCHD_BINARY});
  ASSERT_TRUE(child.ok()) << child.status();
  ASSERT_TRUE((*child)->LineWith("bench: wrote", absl::Minutes(5)).has_value());
  std::optional<int> status = (*child)->Stop(0, absl::Minutes(1));  // Signal 0: just wait.
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << "run_all failed";

  std::ifstream f(out);
  std::stringstream text;
  text << f.rdbuf();
  const std::string json = text.str();
  for (const char* key :
       {"engine_commands_per_s", "decision_p99_us", "decision_vs_naive_p99_ratio",
        "rpc_tax_ratio_c64", "group_commit_ratio_c1", "group_commit_ratio_c16",
        "group_commit_ratio_c64", "group_commit_ratio_c256", "durable_p50_ratio_c1",
        "open_loop_p99_ratio", "replay_vs_apply_ratio", "snapshot_restart_ratio",
        "snapshot_stall_ms", "bytes_per_request", "bytes_per_technician", "push_p99_ms",
        "flood_p99_ratio"}) {
    EXPECT_THAT(json, ::testing::HasSubstr(absl::StrCat("\"", key, "\": ")));
    EXPECT_THAT(json, ::testing::Not(::testing::HasSubstr(absl::StrCat("\"", key, "\": null"))));
  }
  EXPECT_THAT(json, ::testing::HasSubstr("\"engine_mix_us_SubmitRequest\": "));
  // The journal's kind of sync, beside the append the issue's baseline makes.
  EXPECT_THAT(json, ::testing::HasSubstr("\"raw_fsync_in_place_p50_us\": "));
  EXPECT_THAT(json, ::testing::HasSubstr("\"durable_p50_ratio_c1_in_place\": "));
  EXPECT_THAT(json, ::testing::HasSubstr("\"errors\": []"));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace dispatchd::bench
