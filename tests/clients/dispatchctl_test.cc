// dispatchctl end to end: the real dispatchctl binary against the real
// dispatchd (port 0, a temporary data directory), asserting what a user
// sees — output, exit codes, JSON that parses — plus the command table
// itself (help for every command, every dispatch.v1 method covered).
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "clients/dispatchctl/cli.h"
#include "clients/dispatchctl/commands.h"
#include "clients/dispatchctl/job_view.h"
#include "dispatch/v1/console.pb.h"
#include "dispatch/v1/events.pb.h"
#include "dispatch/v1/inventory.pb.h"
#include "dispatch/v1/requests.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/clients/ctl_process.h"
#include "tests/services/daemon_process.h"

namespace dispatchd::ctl::testing {
namespace {

using services::testing::Daemon;
using services::testing::ListenAddress;
using ::testing::HasSubstr;
using ::testing::Not;

// The exit codes dispatchctl promises (cli.h): 2 usage, 10 + gRPC code.
constexpr int kUsage = 2;
constexpr int kInvalidArgument = 10 + 3;
constexpr int kNotFound = 10 + 5;
constexpr int kFailedPrecondition = 10 + 9;
constexpr int kUnavailable = 10 + 14;

std::string CtlTempDir() {
  std::string pattern = ::testing::TempDir() + "dispatchctl-XXXXXX";
  EXPECT_NE(mkdtemp(pattern.data()), nullptr);
  return pattern;
}

template <typename Message>
bool ParsesAs(const std::string& json, Message* message) {
  return google::protobuf::util::JsonStringToMessage(json, message).ok();
}

// RunDispatchctl in this process, for what needs no daemon.
CtlResult RunInProcess(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  Io io;
  io.out = &out;
  io.err = &err;
  io.read_line = [] { return std::optional<std::string>(); };
  CtlResult result;
  result.exit_code = RunDispatchctl(AllCommands(), args, io);
  result.out = out.str();
  result.err = err.str();
  return result;
}

TEST(DispatchctlCommandsTest, EveryMethodOfEveryServiceInTheProtosHasACommand) {
  const std::vector<std::string> covered = CoveredRpcs(AllCommands());
  const std::set<std::string> have(covered.begin(), covered.end());
  int methods = 0;
  for (const auto& entry : std::filesystem::directory_iterator(DISPATCH_PROTO_DIR)) {
    if (entry.path().extension() != ".proto") continue;
    const std::string name = "dispatch/v1/" + entry.path().filename().string();
    const google::protobuf::FileDescriptor* file =
        google::protobuf::DescriptorPool::generated_pool()->FindFileByName(name);
    ASSERT_NE(file, nullptr) << name << " is not linked into dispatchctl";
    for (int s = 0; s < file->service_count(); ++s) {
      for (int m = 0; m < file->service(s)->method_count(); ++m) {
        const std::string method = file->service(s)->method(m)->full_name();
        EXPECT_TRUE(have.count(method)) << method << " has no dispatchctl command";
        ++methods;
      }
    }
  }
  EXPECT_GE(methods, 34);
}

TEST(DispatchctlCommandsTest, EveryCommandHasHelpThatExitsZero) {
  for (const Command& c : AllCommands()) {
    std::vector<std::string> args = c.path;
    args.push_back("--help");
    CtlResult r = RunInProcess(args);
    EXPECT_EQ(r.exit_code, 0) << absl::StrJoin(c.path, " ");
    EXPECT_THAT(r.out, HasSubstr("usage: dispatchctl " + absl::StrJoin(c.path, " ")));
    EXPECT_THAT(r.out, HasSubstr("--server"));
  }
  CtlResult overview = RunInProcess({"--help"});
  EXPECT_EQ(overview.exit_code, 0);
  EXPECT_THAT(overview.out, HasSubstr("tech watch"));
}

TEST(DispatchctlCommandsTest, BadCommandLinesExitWithTheUsageCodeAndSayWhy) {
  struct Case {
    std::vector<std::string> args;
    std::string says;
  };
  const std::vector<Case> cases = {
      {{}, "no command given"},
      {{"frobnicate"}, "unknown command 'frobnicate'"},
      {{"technicians"}, "'technicians' needs a subcommand"},
      {{"list", "--bogus"}, "unknown flag --bogus"},
      {{"show"}, "expects <request_id>"},
      {{"show", "R-1", "R-2"}, "expects <request_id>"},
      {{"submit", "--zone", "north"}, "--urgency is required"},
      {{"submit", "--zone=north", "--urgency=soon", "--skill=x"}, "'soon' is not one of"},
      {{"submit", "--zone=north", "--urgency=low", "--skill=x:high"}, "not skill:level"},
      {{"list", "--limit=many"}, "--limit: 'many' is not a whole number"},
      {{"cancel", "R-000001"}, "--reason is required"},
      {{"stock", "adjust", "north", "FUSE", "lots", "--reason=x"}, "not a whole number"},
      {{"list", "--server"}, "--server needs a value"},
      {{"tech", "watch"}, "--id is required"},
  };
  for (const Case& c : cases) {
    CtlResult r = RunCtl(c.args);
    EXPECT_EQ(r.exit_code, kUsage) << absl::StrJoin(c.args, " ") << "\n" << r.err;
    EXPECT_THAT(r.err, HasSubstr(c.says)) << absl::StrJoin(c.args, " ");
    EXPECT_EQ(r.out, "") << absl::StrJoin(c.args, " ");
  }
}

TEST(DispatchctlCommandsTest, AnUnreachableServerIsUnavailable) {
  CtlResult r = RunCtl({"zones", "list", "--server=127.0.0.1:1"});
  EXPECT_EQ(r.exit_code, kUnavailable) << r.err;
  EXPECT_THAT(r.err, HasSubstr("dispatchctl zones list: UNAVAILABLE: "));
}

dispatch::v1::AssignmentUpdate JobUpdate(dispatch::v1::AssignmentChange change,
                                         dispatch::v1::RequestState state, uint64_t sequence,
                                         const std::string& technician = "T-1") {
  dispatch::v1::AssignmentUpdate u;
  u.set_change(change);
  u.set_sequence(sequence);
  u.set_snapshot(sequence == 0);
  u.mutable_request()->set_request_id("R-000001");
  u.mutable_request()->set_state(state);
  u.mutable_request()->set_technician_id(technician);
  u.mutable_request()->set_effective_urgency(dispatch::v1::URGENCY_NORMAL);
  return u;
}

TEST(JobViewTest, ShowsEachChangeOnceAcrossSnapshotsRepliesAndRepeatedUpdates) {
  namespace v1 = ::dispatch::v1;
  JobView view("T-1");
  // An offer made while disconnected arrives in the snapshot: news.
  std::optional<std::string> first =
      view.Apply(JobUpdate(v1::ASSIGNMENT_CHANGE_OPEN, v1::REQUEST_STATE_OFFERED, 0));
  ASSERT_TRUE(first.has_value());
  EXPECT_THAT(*first, ::testing::StartsWith("offered R-000001"));
  // The next connection's snapshot restates it: not news.
  EXPECT_FALSE(view.Apply(JobUpdate(v1::ASSIGNMENT_CHANGE_OPEN, v1::REQUEST_STATE_OFFERED, 0)));
  // Accepted: the reply first, then the same change on the stream.
  v1::AssignmentUpdate accepted =
      JobUpdate(v1::ASSIGNMENT_CHANGE_ACCEPTED, v1::REQUEST_STATE_ASSIGNED, 7);
  std::optional<std::string> reply =
      view.ApplyRequest(accepted.request(), "", v1::ASSIGNMENT_CHANGE_ACCEPTED);
  ASSERT_TRUE(reply.has_value());
  EXPECT_THAT(*reply, ::testing::StartsWith("accepted R-000001"));
  EXPECT_FALSE(view.Apply(accepted));
  EXPECT_EQ(view.FirstIn({v1::REQUEST_STATE_ASSIGNED}), "R-000001");
  // A live update with a key seen before is dropped even if the view changed since.
  v1::AssignmentUpdate started =
      JobUpdate(v1::ASSIGNMENT_CHANGE_STARTED, v1::REQUEST_STATE_IN_PROGRESS, 8);
  EXPECT_TRUE(view.Apply(started));
  EXPECT_FALSE(view.Apply(accepted));
  EXPECT_FALSE(view.Apply(started));
  // Taken away while disconnected: the re-read says so, once.
  v1::Request gone = started.request();
  gone.set_state(v1::REQUEST_STATE_CANCELLED);
  std::optional<std::string> withdrawn = view.ApplyRequest(gone);
  ASSERT_TRUE(withdrawn.has_value());
  EXPECT_THAT(*withdrawn, ::testing::StartsWith("withdrawn R-000001"));
  EXPECT_FALSE(view.ApplyRequest(gone));
  EXPECT_TRUE(view.OpenJobIds().empty());
}

// gRPC does not order a call's reply against the stream: accept's and
// start's replies may both come before the stream's "accepted". Each
// change is shown once, and the late update does not take the view back.
TEST(JobViewTest, RepliesAheadOfTheStreamAreShownOnceAndNotUndone) {
  namespace v1 = ::dispatch::v1;
  auto job = [](v1::RequestState state) {
    return JobUpdate(v1::ASSIGNMENT_CHANGE_OPEN, state, 1).request();
  };
  JobView view("T-1");
  ASSERT_TRUE(view.Apply(JobUpdate(v1::ASSIGNMENT_CHANGE_OFFERED, v1::REQUEST_STATE_OFFERED, 5)));
  EXPECT_TRUE(view.ApplyRequest(job(v1::REQUEST_STATE_ASSIGNED), "",
                                v1::ASSIGNMENT_CHANGE_ACCEPTED));
  EXPECT_TRUE(view.ApplyRequest(job(v1::REQUEST_STATE_IN_PROGRESS), "",
                                v1::ASSIGNMENT_CHANGE_STARTED));
  EXPECT_FALSE(view.Apply(JobUpdate(v1::ASSIGNMENT_CHANGE_ACCEPTED, v1::REQUEST_STATE_ASSIGNED, 6)));
  EXPECT_FALSE(
      view.Apply(JobUpdate(v1::ASSIGNMENT_CHANGE_STARTED, v1::REQUEST_STATE_IN_PROGRESS, 7)));
  EXPECT_EQ(view.FirstIn({v1::REQUEST_STATE_ASSIGNED}), std::nullopt);
  EXPECT_EQ(view.FirstIn({v1::REQUEST_STATE_IN_PROGRESS}), "R-000001");
  // A later change nobody here made is news again.
  EXPECT_TRUE(view.Apply(JobUpdate(v1::ASSIGNMENT_CHANGE_ON_HOLD, v1::REQUEST_STATE_ON_HOLD, 8)));
}

// When the stream comes first the reply is not news, and no echo is left
// waiting: a later accept of the same job (requeued, offered again) shows.
TEST(JobViewTest, AStreamUpdateAheadOfTheReplyLeavesNoEchoWaiting) {
  namespace v1 = ::dispatch::v1;
  JobView view("T-1");
  ASSERT_TRUE(view.Apply(JobUpdate(v1::ASSIGNMENT_CHANGE_OFFERED, v1::REQUEST_STATE_OFFERED, 5)));
  const v1::AssignmentUpdate accepted =
      JobUpdate(v1::ASSIGNMENT_CHANGE_ACCEPTED, v1::REQUEST_STATE_ASSIGNED, 6);
  EXPECT_TRUE(view.Apply(accepted));
  EXPECT_FALSE(view.ApplyRequest(accepted.request(), "", v1::ASSIGNMENT_CHANGE_ACCEPTED));
  EXPECT_TRUE(view.Apply(JobUpdate(v1::ASSIGNMENT_CHANGE_OFFERED, v1::REQUEST_STATE_OFFERED, 9)));
  EXPECT_TRUE(view.Apply(JobUpdate(v1::ASSIGNMENT_CHANGE_ACCEPTED, v1::REQUEST_STATE_ASSIGNED, 10)));
}

// A dispatchd child on a free port with a small site: zones north and
// south (5 minutes apart), electricians T-ELEC-1 (on shift in north) and
// T-ELEC-2 (off shift), and plumber T-PLMB-1 (off shift).
class DispatchctlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_dir_ = CtlTempDir();
    StartDaemon("127.0.0.1:0");
    ASSERT_FALSE(server_.empty());
    Ok({"zones", "upsert", "north", "--name=North block"});
    Ok({"zones", "upsert", "south", "--name=South block", "--neighbor=north:5"});
    Ok({"technicians", "register", "T-ELEC-1", "--name=Ana Silva", "--home=north",
        "--skill=electrical:3"});
    Ok({"technicians", "register", "T-ELEC-2", "--name=Ben Okafor", "--home=north",
        "--skill=electrical:2"});
    Ok({"technicians", "register", "T-PLMB-1", "--name=Cy Ortiz", "--home=south",
        "--skill=plumbing:2"});
    Ok({"technicians", "shift", "start", "T-ELEC-1"});
  }
  void TearDown() override {
    daemon_.reset();
    std::filesystem::remove_all(data_dir_);
  }

  void StartDaemon(const std::string& listen) {
    daemon_.emplace(std::vector<std::string>{"--listen=" + listen, "--data_dir=" + data_dir_,
                                             "--log_events=false"});
    std::optional<std::string> address = ListenAddress(*daemon_);
    server_ = address.value_or("");
  }
  // Kills the daemon with SIGKILL and starts it again on the same port.
  void RestartDaemon() {
    ASSERT_TRUE(daemon_->Stop(SIGKILL).has_value());
    const std::string same = server_;
    daemon_.reset();
    StartDaemon(same);
    ASSERT_EQ(server_, same);
  }

  CtlResult Ctl(std::vector<std::string> args) {
    args.push_back("--server=" + server_);
    return RunCtl(args);
  }
  // Runs a command that must succeed; returns its stdout.
  std::string Ok(const std::vector<std::string>& args) {
    CtlResult r = Ctl(args);
    EXPECT_EQ(r.exit_code, 0) << absl::StrJoin(args, " ") << ": " << r.err;
    EXPECT_EQ(r.err, "") << absl::StrJoin(args, " ");
    return r.out;
  }
  std::string SubmitLighting(const std::string& room) {
    return Ok({"submit", "--zone=north", "--urgency=urgent", "--skill=electrical:1",
               "--category=lighting", "--location=" + room, "--minutes=30"});
  }

  std::string data_dir_;
  std::string server_;
  std::optional<Daemon> daemon_;
};

TEST_F(DispatchctlTest, SubmitShowListExplainBoardAndStatsShowTheRequest) {
  EXPECT_THAT(SubmitLighting("Room 101"),
              HasSubstr("R-000001 OFFERED URGENT lighting @ Room 101 (north) -> T-ELEC-1"));
  const std::string show = Ok({"show", "R-000001"});
  EXPECT_THAT(show, HasSubstr("state: OFFERED\n"));
  EXPECT_THAT(show, HasSubstr("technician: T-ELEC-1\n"));
  EXPECT_THAT(show, HasSubstr("skills: electrical>=1\n"));

  const std::string list = Ok({"list"});
  EXPECT_THAT(list, HasSubstr("REQUEST"));
  EXPECT_THAT(list, HasSubstr("R-000001  OFFERED  URGENT"));
  EXPECT_EQ(Ok({"list", "--state=queued"}), "no requests\n");
  dispatch::v1::ListRequestsResponse listed;
  ASSERT_TRUE(ParsesAs(Ok({"list", "--json"}), &listed));
  ASSERT_EQ(listed.requests_size(), 1);
  EXPECT_EQ(listed.requests(0).technician_id(), "T-ELEC-1");

  const std::string explain = Ok({"explain", "R-000001"});
  EXPECT_THAT(explain, HasSubstr("R-000001 OFFERED -> T-ELEC-1"));
  EXPECT_THAT(explain, HasSubstr("decision: [zone-first]"));
  EXPECT_THAT(explain, HasSubstr("T-ELEC-1"));
  EXPECT_THAT(explain, HasSubstr("history:"));

  const std::string board = Ok({"board"});
  EXPECT_THAT(board, HasSubstr("== north (North block)"));
  EXPECT_THAT(board, HasSubstr("in hand R-000001 OFFERED"));
  EXPECT_THAT(board, HasSubstr("tech    T-ELEC-1 OFFERED R-000001"));
  dispatch::v1::GetBoardResponse board_json;
  ASSERT_TRUE(ParsesAs(Ok({"board", "--zone=north", "--json"}), &board_json));
  EXPECT_EQ(board_json.zones_size(), 1);

  EXPECT_THAT(Ok({"stats"}), HasSubstr("site"));
  dispatch::v1::GetStatsResponse stats;
  ASSERT_TRUE(ParsesAs(Ok({"stats", "--json"}), &stats));
  EXPECT_EQ(stats.site().submitted(), 1u);
}

TEST_F(DispatchctlTest, ServerErrorsExitWithTheStatusCodeAndTheServersMessage) {
  CtlResult unknown = Ctl({"show", "R-999999"});
  EXPECT_EQ(unknown.exit_code, kNotFound);
  EXPECT_THAT(unknown.err, HasSubstr("dispatchctl show: NOT_FOUND: "));
  EXPECT_THAT(unknown.err, HasSubstr("R-999999"));
  EXPECT_EQ(unknown.out, "");

  CtlResult zone = Ctl({"submit", "--zone=atlantis", "--urgency=low", "--skill=electrical"});
  EXPECT_EQ(zone.exit_code, kNotFound);
  EXPECT_THAT(zone.err, HasSubstr("atlantis"));

  SubmitLighting("Room 1");
  Ok({"cancel", "R-000001", "--reason=duplicate"});
  CtlResult again = Ctl({"cancel", "R-000001", "--reason=twice"});
  EXPECT_EQ(again.exit_code, kFailedPrecondition) << again.err;
  EXPECT_THAT(again.err, HasSubstr("FAILED_PRECONDITION"));
}

TEST_F(DispatchctlTest, DispatcherSteersUrgencyAssignmentAndCancellation) {
  SubmitLighting("Room 2");
  EXPECT_THAT(Ok({"urgency", "R-000001", "emergency", "--reason=exam at 10"}),
              HasSubstr("R-000001 OFFERED EMERGENCY"));
  Ok({"technicians", "shift", "start", "T-ELEC-2"});
  EXPECT_THAT(Ok({"assign", "R-000001", "T-ELEC-2", "--reason=already on the floor"}),
              HasSubstr("R-000001 ASSIGNED EMERGENCY lighting @ Room 2 (north) -> T-ELEC-2"));
  EXPECT_THAT(Ok({"cancel", "R-000001", "--reason=fixed itself"}), HasSubstr("R-000001 CANCELLED"));
  CtlResult busy = Ctl({"assign", "R-000001", "T-ELEC-2", "--reason=again"});
  EXPECT_EQ(busy.exit_code, kFailedPrecondition) << busy.err;
}

TEST_F(DispatchctlTest, TechnicianActionsOneAtATimeThenFeedbackAndAssetHistory) {
  Ok({"submit", "--zone=north", "--urgency=normal", "--skill=electrical", "--category=lighting",
      "--location=Room 3", "--asset=LAMP-POST-7"});
  const std::vector<std::string> as = {"--id=T-ELEC-1", "R-000001"};
  auto tech = [&](std::vector<std::string> args) {
    args.insert(args.end(), as.begin(), as.end());
    return Ok(args);
  };
  EXPECT_THAT(tech({"tech", "accept"}), HasSubstr("R-000001 ASSIGNED"));
  EXPECT_THAT(tech({"tech", "start"}), HasSubstr("R-000001 IN_PROGRESS"));
  EXPECT_THAT(tech({"tech", "hold", "--reason=waiting for parts"}), HasSubstr("R-000001 ON_HOLD"));
  EXPECT_THAT(tech({"tech", "start"}), HasSubstr("R-000001 IN_PROGRESS"));
  EXPECT_THAT(tech({"tech", "complete", "--notes=new tube"}), HasSubstr("R-000001 COMPLETED"));
  EXPECT_THAT(Ok({"feedback", "R-000001", "5", "--comment=quick and tidy"}),
              HasSubstr("R-000001 rated 5/5"));
  CtlResult twice = Ctl({"feedback", "R-000001", "4"});
  EXPECT_EQ(twice.exit_code, kFailedPrecondition) << twice.err;
  dispatch::v1::GetStatsResponse stats;
  ASSERT_TRUE(ParsesAs(Ok({"stats", "--json", "--technician=T-ELEC-1"}), &stats));
  EXPECT_EQ(stats.site().completed(), 1u);
  EXPECT_THAT(Ok({"show", "R-000001"}), HasSubstr("feedback: 5/5"));
  const std::string history = Ok({"asset", "history", "LAMP-POST-7"});
  EXPECT_THAT(history, HasSubstr("R-000001"));
  EXPECT_THAT(history, HasSubstr("T-ELEC-1"));
  EXPECT_THAT(history, HasSubstr("new tube"));
  EXPECT_EQ(Ok({"asset", "history", "NOPE-1"}), "no repairs of NOPE-1\n");
}

TEST_F(DispatchctlTest, StockAdjustGetAndShortages) {
  EXPECT_EQ(Ok({"stock", "adjust", "north", "LAMP-T8", "10", "--reason=delivery 4471"}),
            "north LAMP-T8: 10 on hand\n");
  EXPECT_EQ(Ok({"stock", "adjust", "north", "LAMP-T8", "-3", "--reason=count"}),
            "north LAMP-T8: 7 on hand\n");
  CtlResult below = Ctl({"stock", "adjust", "north", "LAMP-T8", "-30", "--reason=oops"});
  EXPECT_EQ(below.exit_code, kFailedPrecondition) << below.err;
  EXPECT_THAT(Ok({"stock", "get"}), HasSubstr("north  LAMP-T8  7"));
  EXPECT_EQ(Ok({"stock", "shortages"}), "no shortages\n");
  Ok({"submit", "--zone=south", "--urgency=low", "--skill=plumbing", "--material=FUSE-13A=2"});
  EXPECT_THAT(Ok({"stock", "shortages"}), HasSubstr("R-000001  south  FUSE-13A  2"));
}

TEST_F(DispatchctlTest, DeliveriesShowMergedShipmentsAndThePolicyKnobs) {
  EXPECT_EQ(Ok({"deliveries"}), "no deliveries\n");
  Ok({"stock", "adjust", "north", "LAMP-T8", "10", "--reason=delivery 4471"});
  const std::vector<std::string> job = {"submit", "--zone=north", "--urgency=normal",
                                        "--skill=electrical", "--location=Library",
                                        "--material=LAMP-T8=1"};
  Ok(job);
  Ok({"tech", "accept", "--id=T-ELEC-1", "R-000001"});
  Ok({"technicians", "shift", "start", "T-ELEC-2"});
  Ok(job);  // Same building, same depot, within the window: merged.
  Ok({"tech", "accept", "--id=T-ELEC-2", "R-000002"});
  const std::string table = Ok({"deliveries", "--state=open"});
  EXPECT_THAT(table, HasSubstr("DELIVERY"));
  EXPECT_THAT(table, HasSubstr("D-000001"));
  EXPECT_THAT(table, HasSubstr("R-000001,R-000002"));
  dispatch::v1::ListDeliveriesResponse listed;
  ASSERT_TRUE(ParsesAs(Ok({"deliveries", "--json", "--zone=north", "--location=Library"}),
                       &listed));
  ASSERT_EQ(listed.deliveries_size(), 1);
  EXPECT_EQ(listed.deliveries(0).units(), 2u);
  EXPECT_EQ(Ok({"deliveries", "--state=departed"}), "no deliveries\n");
  EXPECT_THAT(Ok({"show", "R-000002"}), HasSubstr("deliveries: D-000001"));
  EXPECT_THAT(Ok({"explain", "R-000002"}), HasSubstr("delivery: D-000001 from depot north"));
  CtlResult bad_state = Ctl({"deliveries", "--state=lost"});
  EXPECT_EQ(bad_state.exit_code, kUsage) << bad_state.err;

  EXPECT_THAT(Ok({"policy", "set", "--delivery_merge_minutes=45"}),
              HasSubstr("delivery_merge_minutes: 45"));
  EXPECT_THAT(Ok({"policy", "get"}), HasSubstr("small_delivery_max_units: 10"));
  CtlResult zero = Ctl({"policy", "set", "--small_delivery_max_units=0"});
  EXPECT_EQ(zero.exit_code, kInvalidArgument) << zero.err;
}

TEST_F(DispatchctlTest, AlertsOpenOneEmergencyPerKeyAndResolveOnce) {
  const std::vector<std::string> raise = {"alert",
                                          "raise",
                                          "--key=south/water_leak/2026-11-24",
                                          "--source=bms-leak-sensor",
                                          "--kind=water_leak",
                                          "--zone=south",
                                          "--severity=4",
                                          "--skill=plumbing:1"};
  EXPECT_THAT(Ok(raise), HasSubstr("opened R-000001 QUEUED EMERGENCY water_leak"));
  std::vector<std::string> again = raise;
  again[3] = "--source=caretaker";
  EXPECT_THAT(Ok(again), HasSubstr("duplicate: same emergency R-000001"));
  EXPECT_THAT(Ok({"alert", "resolve", "--key=south/water_leak/2026-11-24", "--note=clamped"}),
              HasSubstr("resolved R-000001"));
  CtlResult twice = Ctl({"alert", "resolve", "--key=south/water_leak/2026-11-24"});
  EXPECT_EQ(twice.exit_code, kFailedPrecondition) << twice.err;
  CtlResult unknown = Ctl({"alert", "resolve", "--key=nowhere"});
  EXPECT_EQ(unknown.exit_code, kNotFound) << unknown.err;
}

TEST_F(DispatchctlTest, PolicyZonesTechniciansEventsAndDigest) {
  const std::string before = Ok({"policy", "get"});
  EXPECT_THAT(before, HasSubstr("offer_timeout_seconds: 120\n"));
  const std::string after = Ok({"policy", "set", "--offer_timeout_seconds=300"});
  EXPECT_THAT(after, HasSubstr("offer_timeout_seconds: 300\n"));
  // Every other field keeps its value.
  std::string expected = before;
  expected.replace(expected.find("offer_timeout_seconds: 120"), 26, "offer_timeout_seconds: 300");
  EXPECT_EQ(after, expected);
  EXPECT_EQ(Ctl({"policy", "set", "--preemption_enabled=maybe"}).exit_code, kUsage);

  EXPECT_THAT(Ok({"zones", "list"}), HasSubstr("south  South block  north:5"));
  const std::string techs = Ok({"technicians", "list"});
  EXPECT_THAT(techs, HasSubstr("T-ELEC-1    Ana Silva   AVAILABLE  north"));
  EXPECT_THAT(techs, HasSubstr("T-PLMB-1    Cy Ortiz    OFF_SHIFT"));
  EXPECT_THAT(Ok({"technicians", "update", "T-ELEC-2", "--name=Ben O."}), HasSubstr("T-ELEC-2"));
  EXPECT_THAT(Ok({"technicians", "show", "T-ELEC-2"}), HasSubstr("name: Ben O.\n"));
  EXPECT_THAT(Ok({"technicians", "location", "T-ELEC-1", "south"}),
              HasSubstr("T-ELEC-1 AVAILABLE in south"));
  EXPECT_THAT(Ok({"technicians", "shift", "end", "T-ELEC-1"}), HasSubstr("OFF_SHIFT"));
  EXPECT_EQ(Ctl({"technicians", "show", "T-NOBODY"}).exit_code, kNotFound);

  const std::vector<std::string> digest =
      absl::StrSplit(Ok({"digest"}), absl::ByAnyChar(" \n"), absl::SkipEmpty());
  ASSERT_EQ(digest.size(), 2u);
  const int last = std::stoi(digest[1]);
  const std::string events = Ok({"events"});
  EXPECT_EQ(LinesStartingWith(events, "20"), last) << events;  // "2026-... #N ..."
  EXPECT_THAT(events, HasSubstr(absl::StrCat("#", last, " ")));
  const std::vector<std::string> tail = absl::StrSplit(
      Ok({"events", "--json", absl::StrCat("--from=", last - 1)}), '\n', absl::SkipEmpty());
  ASSERT_EQ(tail.size(), 2u);
  dispatch::v1::Event event;
  ASSERT_TRUE(ParsesAs(tail[1], &event));
  EXPECT_EQ(event.sequence(), static_cast<uint64_t>(last));
}

TEST_F(DispatchctlTest, JournalVerifyPassesAHealthyDataDirectoryAndFailsADamagedOne) {
  for (int i = 0; i < 5; ++i) SubmitLighting(absl::StrCat("Room 4", i));
  CtlResult verify = RunCtl({"journal", "verify", data_dir_});
  EXPECT_EQ(verify.exit_code, 0) << verify.err;
  EXPECT_THAT(verify.out, HasSubstr("replay cleanly: dispatchd will start on this journal"));

  // A copy with one byte flipped in the middle of the journal.
  const std::string damaged = data_dir_ + "-damaged";
  std::filesystem::copy(data_dir_, damaged, std::filesystem::copy_options::recursive);
  std::filesystem::path segment;
  for (const auto& f : std::filesystem::directory_iterator(damaged + "/journal")) {
    if (segment.empty() || f.path() < segment) segment = f.path();
  }
  ASSERT_FALSE(segment.empty());
  {
    // The middle of its records, not of the zeros preallocated after them.
    std::ifstream in(segment, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::streamoff middle = static_cast<std::streamoff>(bytes.find_last_not_of('\0') / 2);
    std::fstream file(segment, std::ios::in | std::ios::out | std::ios::binary);
    file.seekg(middle);
    const char byte = static_cast<char>(file.get() ^ 0x5a);
    file.seekp(middle);
    file.put(byte);
  }
  CtlResult bad = RunCtl({"journal", "verify", damaged});
  EXPECT_EQ(bad.exit_code, 1) << bad.out << bad.err;
  EXPECT_THAT(bad.out, HasSubstr("dispatchd will refuse to start"));
  EXPECT_THAT(bad.err, HasSubstr("the journal does not verify"));
  std::filesystem::remove_all(damaged);
}

TEST_F(DispatchctlTest, EnvironmentNamesTheServerAndTheToken) {
  CtlResult r = RunCtl({"zones", "list"}, {"DISPATCH_SERVER=" + server_, "DISPATCH_TOKEN=t0k"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("north"));
  CtlResult flag_wins =
      RunCtl({"zones", "list", "--server=" + server_}, {"DISPATCH_SERVER=127.0.0.1:1"});
  EXPECT_EQ(flag_wins.exit_code, 0) << flag_wins.err;
  CtlResult half_tls = Ctl({"zones", "list", "--tls_cert=/nonexistent.pem"});
  EXPECT_EQ(half_tls.exit_code, kUsage);
  EXPECT_THAT(half_tls.err, HasSubstr("--tls_cert and --tls_key go together"));
}

TEST_F(DispatchctlTest, BoardWatchRedrawsOnEveryEventAndEndsAtEndOfInput) {
  CtlProcess watch({"board", "--watch", "--server=" + server_});
  ASSERT_TRUE(watch.LineWith("board at event #").has_value()) << watch.err();
  SubmitLighting("Room 5");
  ASSERT_TRUE(watch.LineWith("in hand R-000001 OFFERED").has_value()) << watch.out();
  EXPECT_THAT(watch.out(), HasSubstr("\x1b[H\x1b[2J"));
  watch.CloseStdin();
  EXPECT_EQ(watch.Wait(), 0) << watch.err();
}

TEST_F(DispatchctlTest, BoardWatchReconnectsAfterADaemonRestartAndShowsWhatCameMeanwhile) {
  CtlProcess watch({"board", "--watch", "--server=" + server_});
  ASSERT_TRUE(watch.LineWith("board at event #").has_value()) << watch.err();
  SubmitLighting("Room 8");
  ASSERT_TRUE(watch.LineWith("in hand R-000001 OFFERED").has_value()) << watch.out();

  RestartDaemon();
  ASSERT_TRUE(watch.LineWith("board stream lost").has_value()) << watch.out();
  // Filed while the board may still be reconnecting: it shows either way.
  SubmitLighting("Room 9");
  ASSERT_TRUE(watch.LineWith("R-000002").has_value()) << watch.out() << watch.err();
  watch.CloseStdin();
  EXPECT_EQ(watch.Wait(), 0) << watch.err();
}

TEST_F(DispatchctlTest, EventsFollowStreamsNewEventsUntilCtrlC) {
  CtlProcess follow({"events", "--follow", "--server=" + server_});
  ASSERT_TRUE(follow.LineWith("ShiftStarted T-ELEC-1").has_value()) << follow.err();
  SubmitLighting("Room 6");
  ASSERT_TRUE(follow.LineWith("OfferMade R-000001 -> T-ELEC-1").has_value()) << follow.out();
  follow.Signal(SIGINT);
  EXPECT_EQ(follow.Wait(), 0) << follow.err();
}

TEST_F(DispatchctlTest, TechWatchSurvivesDaemonRestartsWithNoOfferLostOrShownTwice) {
  CtlProcess watch({"tech", "watch", "--id=T-ELEC-1", "--server=" + server_});
  ASSERT_TRUE(watch.LineWith("watching the assignments of T-ELEC-1").has_value()) << watch.err();
  SubmitLighting("Room 7");
  ASSERT_TRUE(watch.LineWith("offered R-000001").has_value()) << watch.out();

  // Restart with the offer open: the snapshot restates it, and it is not
  // shown again.
  RestartDaemon();
  ASSERT_TRUE(watch.LineWith("stream lost").has_value()) << watch.out();
  ASSERT_TRUE(watch.LineWith("watching the assignments of T-ELEC-1").has_value()) << watch.out();
  watch.Send("accept");
  ASSERT_TRUE(watch.LineWith("accepted R-000001").has_value()) << watch.out();
  watch.Send("start");
  ASSERT_TRUE(watch.LineWith("started R-000001").has_value()) << watch.out();
  watch.Send("complete --notes new tube");
  ASSERT_TRUE(watch.LineWith("completed R-000001").has_value()) << watch.out();

  // Restart, and file work at once: the offer comes in the snapshot or
  // live, whichever is first, and is shown once.
  RestartDaemon();
  SubmitLighting("Room 8");
  ASSERT_TRUE(watch.LineWith("offered R-000002").has_value()) << watch.out();
  watch.Send("decline at lunch");
  ASSERT_TRUE(watch.LineWith("withdrawn R-000002").has_value()) << watch.out();
  watch.Send("accept");
  ASSERT_TRUE(watch.LineWith("! accept: no job to accept").has_value()) << watch.out();
  watch.CloseStdin();
  EXPECT_EQ(watch.Wait(), 0) << watch.err();

  const std::string& out = watch.out();
  EXPECT_EQ(LinesStartingWith(out, "offered R-000001"), 1) << out;
  EXPECT_EQ(LinesStartingWith(out, "accepted R-000001"), 1) << out;
  EXPECT_EQ(LinesStartingWith(out, "completed R-000001"), 1) << out;
  EXPECT_EQ(LinesStartingWith(out, "offered R-000002"), 1) << out;
  EXPECT_EQ(LinesStartingWith(out, "withdrawn R-000002"), 1) << out;
  EXPECT_EQ(LinesStartingWith(out, "* watching the assignments of T-ELEC-1"), 3) << out;
}

TEST_F(DispatchctlTest, TechWatchOfAnUnknownTechnicianEndsNotFound) {
  CtlProcess watch({"tech", "watch", "--id=T-NOBODY", "--server=" + server_});
  EXPECT_EQ(watch.Wait(), kNotFound) << watch.out();
  EXPECT_THAT(watch.err(), HasSubstr("NOT_FOUND"));
}

}  // namespace
}  // namespace dispatchd::ctl::testing
