// kill -9 of the real dispatchd at random moments while clients submit,
// accept, start and complete: after every restart each acknowledged request
// is there exactly once, each acknowledged completion is still complete,
// and nothing unacknowledged is half there.
#include <signal.h>

#include <atomic>
#include <cstdlib>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "journal/record_format.h"
#include "journal/file_system.h"
#include "tests/journal/test_dir.h"
#include "tests/services/daemon_process.h"

namespace dispatchd::services::testing {
namespace {

// What the clients were told succeeded; checked after every restart.
struct Acked {
  std::mutex mu;
  std::map<std::string, std::string> submitted;  // idempotency key -> request id
  std::set<std::string> completed;               // request ids
};

int Cycles() {
  int n = 50;
  if (const char* env = std::getenv("DISPATCHD_CRASH_CYCLES")) (void)absl::SimpleAtoi(env, &n);
  return n;
}

std::vector<v1::Request> AllRequests(v1::RequestService::Stub* stub) {
  std::vector<v1::Request> out;
  v1::ListRequestsRequest req;
  req.set_page_size(1000);
  while (true) {
    v1::ListRequestsResponse resp;
    grpc::Status st = Call(stub, &v1::RequestService::Stub::ListRequests, req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    out.insert(out.end(), resp.requests().begin(), resp.requests().end());
    if (!st.ok() || resp.next_page_token().empty()) return out;
    req.set_page_token(resp.next_page_token());
  }
}

void CheckNothingLost(v1::RequestService::Stub* stub, Acked& acked) {
  std::map<std::string, int> per_key;
  std::map<std::string, v1::Request> by_id;
  for (const v1::Request& r : AllRequests(stub)) {
    ++per_key[r.idempotency_key()];
    by_id[r.request_id()] = r;
  }
  std::lock_guard<std::mutex> lock(acked.mu);
  for (const auto& [key, count] : per_key) EXPECT_EQ(count, 1) << "key " << key;
  for (const auto& [key, id] : acked.submitted) {
    ASSERT_TRUE(by_id.count(id)) << "acknowledged " << id << " (" << key << ") was lost";
    EXPECT_EQ(by_id[id].idempotency_key(), key);
  }
  for (const std::string& id : acked.completed) {
    EXPECT_EQ(by_id[id].state(), v1::REQUEST_STATE_COMPLETED) << id;
  }
}

void SetUpSite(const std::shared_ptr<grpc::Channel>& channel) {
  auto techs = v1::TechnicianService::NewStub(channel);
  ASSERT_TRUE(AddZone(channel, "north").ok());
  for (int i = 1; i <= 3; ++i) {
    v1::RegisterTechnicianRequest reg;
    reg.set_technician_id(absl::StrCat("T-", i));
    reg.set_home_zone_id("north");
    v1::Skill* s = reg.add_skills();
    s->set_skill("electrical");
    s->set_level(3);
    v1::RegisterTechnicianResponse registered;
    ASSERT_TRUE(Call(techs.get(), &v1::TechnicianService::Stub::RegisterTechnician, reg,
                     &registered)
                    .ok());
    v1::StartShiftRequest shift;
    shift.set_technician_id(reg.technician_id());
    v1::StartShiftResponse started;
    ASSERT_TRUE(
        Call(techs.get(), &v1::TechnicianService::Stub::StartShift, shift, &started).ok());
  }
}

v1::SubmitRequestRequest Job(const std::string& key) {
  v1::SubmitRequestRequest req;
  req.set_idempotency_key(key);
  req.set_zone_id("north");
  req.set_category("lighting");
  v1::SkillRequirement* s = req.add_required_skills();
  s->set_skill("electrical");
  s->set_min_level(1);
  req.set_urgency(v1::URGENCY_NORMAL);
  req.set_estimated_minutes(20);
  return req;
}

// Submits until told to stop, recording what was acknowledged.
void Submitter(const std::shared_ptr<grpc::Channel>& channel, const std::string& prefix,
               const std::atomic<bool>& stop, Acked& acked) {
  auto stub = v1::RequestService::NewStub(channel);
  for (int i = 0; !stop.load(); ++i) {
    const std::string key = absl::StrCat(prefix, "-", i);
    v1::SubmitRequestResponse resp;
    grpc::ClientContext ctx;
    SetDeadline(&ctx, absl::Seconds(2));
    if (!stub->SubmitRequest(&ctx, Job(key), &resp).ok()) return;
    std::lock_guard<std::mutex> lock(acked.mu);
    acked.submitted[key] = resp.request().request_id();
  }
}

// Plays the technicians: accepts, starts and completes whatever is offered.
void Worker(const std::shared_ptr<grpc::Channel>& channel, const std::atomic<bool>& stop,
            Acked& acked) {
  auto requests = v1::RequestService::NewStub(channel);
  auto techs = v1::TechnicianService::NewStub(channel);
  while (!stop.load()) {
    v1::ListRequestsRequest list;
    list.set_state(v1::REQUEST_STATE_OFFERED);
    v1::ListRequestsResponse offered;
    if (!Call(requests.get(), &v1::RequestService::Stub::ListRequests, list, &offered).ok()) {
      return;
    }
    for (const v1::Request& r : offered.requests()) {
      v1::AcceptAssignmentRequest accept;
      accept.set_technician_id(r.technician_id());
      accept.set_request_id(r.request_id());
      v1::AcceptAssignmentResponse a;
      v1::StartWorkRequest start;
      start.set_technician_id(r.technician_id());
      start.set_request_id(r.request_id());
      v1::StartWorkResponse s;
      v1::CompleteWorkRequest complete;
      complete.set_technician_id(r.technician_id());
      complete.set_request_id(r.request_id());
      complete.set_resolved(true);
      v1::CompleteWorkResponse c;
      if (!Call(techs.get(), &v1::TechnicianService::Stub::AcceptAssignment, accept, &a).ok() ||
          !Call(techs.get(), &v1::TechnicianService::Stub::StartWork, start, &s).ok() ||
          !Call(techs.get(), &v1::TechnicianService::Stub::CompleteWork, complete, &c).ok()) {
        return;
      }
      std::lock_guard<std::mutex> lock(acked.mu);
      acked.completed.insert(r.request_id());
    }
  }
}

// The live daemon's state digest equals that of an offline replay of its
// journal up to the same event.
void CheckLiveDigestEqualsReplay(const std::shared_ptr<grpc::Channel>& channel,
                                 const std::string& data_dir) {
  auto admin = v1::AdminService::NewStub(channel);
  v1::GetStateDigestResponse live;
  ASSERT_TRUE(Call(admin.get(), &v1::AdminService::Stub::GetStateDigest,
                   v1::GetStateDigestRequest(), &live)
                  .ok());
  const std::string cmd = absl::StrCat(DISPATCH_JOURNAL_BINARY, " digest ", data_dir,
                                       " --to=", live.last_sequence(), " 2>/dev/null");
  std::FILE* out = popen(cmd.c_str(), "r");
  ASSERT_NE(out, nullptr);
  char line[256] = {};
  const bool read = std::fgets(line, sizeof(line), out) != nullptr;
  pclose(out);
  ASSERT_TRUE(read) << cmd;
  EXPECT_EQ(std::string(line), absl::StrCat(live.digest(), " ", live.last_sequence(), "\n"));
}

TEST(CrashTest, KillNineAtRandomMomentsLosesNothingAcknowledged) {
  dispatchd::testing::TestDir dir;
  const std::vector<std::string> flags = {"--listen=127.0.0.1:0", "--data_dir=" + dir.path(),
                                          "--log_events=false"};
  Acked acked;
  std::mt19937 rng(20261124);
  const int cycles = Cycles();
  for (int cycle = 0; cycle <= cycles; ++cycle) {
    SCOPED_TRACE(absl::StrCat("cycle ", cycle));
    Daemon daemon(flags);
    std::optional<std::string> address = ListenAddress(daemon);
    ASSERT_TRUE(address.has_value()) << "dispatchd did not come back";
    auto channel = grpc::CreateChannel(*address, grpc::InsecureChannelCredentials());
    auto stub = v1::RequestService::NewStub(channel);
    if (cycle == 0) SetUpSite(channel);
    CheckNothingLost(stub.get(), acked);
    CheckLiveDigestEqualsReplay(channel, dir.path());
    if (cycle == cycles || ::testing::Test::HasFailure()) break;

    std::atomic<bool> stop{false};
    std::vector<std::thread> clients;
    for (int t = 0; t < 3; ++t) {
      clients.emplace_back(Submitter, channel, absl::StrCat("c", cycle, "-t", t),
                           std::cref(stop), std::ref(acked));
    }
    clients.emplace_back(Worker, channel, std::cref(stop), std::ref(acked));
    absl::SleepFor(absl::Milliseconds(std::uniform_int_distribution<int>(30, 300)(rng)));
    daemon.Stop(SIGKILL);
    stop.store(true);
    for (std::thread& t : clients) t.join();
  }
  {
    std::lock_guard<std::mutex> lock(acked.mu);
    EXPECT_GT(acked.submitted.size(), static_cast<size_t>(cycles));
    EXPECT_GT(acked.completed.size(), 0u);
  }

  // The journal tool agrees the log is whole; damage in the middle makes it
  // and the daemon refuse, and the daemon changes nothing.
  const std::string verify = absl::StrCat(DISPATCH_JOURNAL_BINARY, " verify ", dir.path(),
                                          " >/dev/null 2>&1");
  EXPECT_EQ(std::system(verify.c_str()), 0);
  const std::string segment = dir.path() + "/journal/" + journal::SegmentFileName(1);
  std::string bytes = *journal::PosixFileSystem()->ReadFile(segment);
  ASSERT_GT(bytes.size(), 1000u);
  bytes[bytes.size() / 2] ^= 0x20;
  {
    std::FILE* f = std::fopen(segment.c_str(), "r+b");
    ASSERT_NE(f, nullptr);
    std::fwrite(bytes.data(), 1, bytes.size(), f);
    std::fclose(f);
  }
  EXPECT_NE(std::system(verify.c_str()), 0);
  Daemon refused(flags);
  std::optional<int> status = refused.Stop(0);
  ASSERT_TRUE(status.has_value()) << "dispatchd started on a damaged journal";
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) != 0);
  EXPECT_EQ(*journal::PosixFileSystem()->ReadFile(segment), bytes);
}

}  // namespace
}  // namespace dispatchd::services::testing
