// Test support for services_tests: an in-process dispatchd server on a free
// loopback port, driven by a ManualClock, with client stubs for every
// service, stream watchers, and a small campus to work with.
#ifndef DISPATCHD_TESTS_SERVICES_TEST_SERVER_H_
#define DISPATCHD_TESTS_SERVICES_TEST_SERVER_H_

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "dispatch/v1/admin.grpc.pb.h"
#include "dispatch/v1/alerts.grpc.pb.h"
#include "dispatch/v1/console.grpc.pb.h"
#include "dispatch/v1/inventory.grpc.pb.h"
#include "dispatch/v1/requests.grpc.pb.h"
#include "dispatch/v1/technicians.grpc.pb.h"
#include "engine/clock.h"
#include "gmock/gmock.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "services/server.h"
#include "services/snapshotter.h"

namespace dispatchd::services::testing {

namespace v1 = ::dispatch::v1;

// Matches a grpc::Status with `code` whose message contains `substring`.
MATCHER_P2(StatusIs, code, substring,
           std::string("status ") + std::to_string(static_cast<int>(code)) +
               " with a message containing \"" + substring + "\"") {
  *result_listener << "got code " << arg.error_code() << " \"" << arg.error_message() << "\"";
  return arg.error_code() == code &&
         arg.error_message().find(substring) != std::string::npos;
}

inline void SetDeadline(grpc::ClientContext* ctx, absl::Duration d = absl::Seconds(10)) {
  ctx->set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(d));
}

// One blocking unary call with a deadline.
template <typename Stub, typename Req, typename Resp>
grpc::Status Call(Stub* stub,
                  grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
                  const Req& request, Resp* response) {
  grpc::ClientContext ctx;
  SetDeadline(&ctx);
  return (stub->*method)(&ctx, request, response);
}

// The items a stream message carries: by default the message itself; an
// assignment message read as updates holds one command's (or the snapshot).
template <typename Message>
void AddItems(Message m, std::deque<Message>* out) {
  out->push_back(std::move(m));
}
inline void AddItems(v1::AssignmentUpdates m, std::deque<v1::AssignmentUpdate>* out) {
  for (v1::AssignmentUpdate& u : *m.mutable_updates()) out->push_back(std::move(u));
}

// Reads a server stream on its own thread and keeps the items that arrive
// (Wire messages, unpacked by AddItems).
// Construction returns once the server has subscribed the stream (headers
// received), or once the stream has already ended (e.g. NOT_FOUND).
template <typename Wire, typename Message = Wire>
class StreamWatcher {
 public:
  using Open = std::function<std::unique_ptr<grpc::ClientReader<Wire>>(grpc::ClientContext*)>;

  explicit StreamWatcher(const Open& open) {
    reader_ = open(&ctx_);
    reader_->WaitForInitialMetadata();
    thread_ = std::thread([this] { ReadAll(); });
  }
  ~StreamWatcher() { Cancel(); }

  // The next message not yet taken, waiting up to `timeout`.
  std::optional<Message> Next(absl::Duration timeout = absl::Seconds(5)) {
    absl::MutexLock lock(&mu_);
    auto ready = [this] { return !messages_.empty() || ended_; };
    mu_.AwaitWithTimeout(absl::Condition(&ready), timeout);
    if (messages_.empty()) return std::nullopt;
    Message m = std::move(messages_.front());
    messages_.pop_front();
    return m;
  }

  // Skips messages until one satisfies `pred`; nullopt on timeout or end.
  std::optional<Message> NextMatching(const std::function<bool(const Message&)>& pred,
                                      absl::Duration timeout = absl::Seconds(5)) {
    const absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      std::optional<Message> m = Next(deadline - absl::Now());
      if (!m || pred(*m)) return m;
    }
    return std::nullopt;
  }

  // The stream's final status, waiting up to `timeout` for it to end.
  std::optional<grpc::Status> Final(absl::Duration timeout = absl::Seconds(5)) {
    absl::MutexLock lock(&mu_);
    auto ended = [this] { return ended_; };
    mu_.AwaitWithTimeout(absl::Condition(&ended), timeout);
    return ended_ ? std::optional<grpc::Status>(status_) : std::nullopt;
  }

  void Cancel() {
    ctx_.TryCancel();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void ReadAll() {
    Wire m;
    while (reader_->Read(&m)) {
      absl::MutexLock lock(&mu_);
      AddItems(std::move(m), &messages_);
    }
    grpc::Status status = reader_->Finish();
    absl::MutexLock lock(&mu_);
    status_ = std::move(status);
    ended_ = true;
  }

  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::ClientReader<Wire>> reader_;
  std::thread thread_;
  absl::Mutex mu_;
  std::deque<Message> messages_ ABSL_GUARDED_BY(mu_);
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status status_ ABSL_GUARDED_BY(mu_);
};

// A technician's stream as updates, or as the messages that carry them.
using AssignmentWatcher = StreamWatcher<v1::AssignmentUpdates, v1::AssignmentUpdate>;
using AssignmentMessageWatcher = StreamWatcher<v1::AssignmentUpdates>;
using EventWatcher = StreamWatcher<v1::Event>;

// A dispatchd server on 127.0.0.1:0 with a ManualClock and timers fired
// only by hand (AdvanceAndTick).
class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override { StartServer(ServerOptions()); }
  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown(absl::Seconds(2));
  }

  // Starts the server with `options` plus the test clock and port 0.
  void StartServer(ServerOptions options) {
    options.listen_address = "127.0.0.1:0";
    options.clock = &clock_;
    options.run_timers = false;
    absl::StatusOr<std::unique_ptr<Server>> server = Server::Start(std::move(options));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    UseChannel(grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials()));
  }

  // Starts the server on `log`, from `snapshot` if set, with `follower`
  // primed from the recovered engine and fed every durable event (as
  // dispatchd runs its snapshot follower); then starts the follower.
  void StartWithFollower(std::unique_ptr<EventLog> log, const engine::StateImage* snapshot,
                         Snapshotter* follower) {
    ServerOptions options;
    options.log = std::move(log);
    if (snapshot != nullptr) options.snapshot = *snapshot;
    options.on_recovered = [follower](const engine::Engine& recovered) {
      ASSERT_TRUE(follower->Prime(recovered.ExportImage()).ok());
    };
    options.on_batch = [follower](const EventBatch& b) { follower->Follow(b); };
    StartServer(std::move(options));
    follower->Start();
  }

  // Points the client stubs at `channel`.
  void UseChannel(std::shared_ptr<grpc::Channel> channel) {
    channel_ = std::move(channel);
    requests_ = v1::RequestService::NewStub(channel_);
    technicians_ = v1::TechnicianService::NewStub(channel_);
    alerts_ = v1::AlertService::NewStub(channel_);
    inventory_ = v1::InventoryService::NewStub(channel_);
    console_ = v1::ConsoleService::NewStub(channel_);
    admin_ = v1::AdminService::NewStub(channel_);
  }

  // Moves the engine's clock on the engine thread, then fires due timers.
  void AdvanceAndTick(absl::Duration d) {
    server_->runner().RunOnEngineThread([this, d] { clock_.Advance(d); });
    server_->runner().FireTimersNow();
  }

  template <typename Watcher = AssignmentWatcher>
  std::unique_ptr<Watcher> WatchAssignments(const std::string& technician_id) {
    return std::make_unique<Watcher>([this, technician_id](grpc::ClientContext* ctx) {
      SetDeadline(ctx, absl::Seconds(60));
      v1::WatchAssignmentsRequest req;
      req.set_technician_id(technician_id);
      return technicians_->WatchAssignments(ctx, req);
    });
  }

  std::unique_ptr<EventWatcher> WatchEvents(uint64_t from_sequence) {
    return std::make_unique<EventWatcher>([this, from_sequence](grpc::ClientContext* ctx) {
      SetDeadline(ctx, absl::Seconds(60));
      v1::WatchEventsRequest req;
      req.set_from_sequence(from_sequence);
      return console_->WatchEvents(ctx, req);
    });
  }

  // --- A small campus: zones north and south (10 min apart), two
  // electricians in north, one plumber in south. ---

  void UpsertZone(const std::string& id, const std::string& neighbor = "",
                  uint32_t minutes = 10) {
    v1::UpsertZoneRequest req;
    req.set_zone_id(id);
    req.set_name(id + " campus");
    if (!neighbor.empty()) {
      v1::Neighbor* n = req.add_neighbors();
      n->set_zone_id(neighbor);
      n->set_travel_minutes(minutes);
    }
    v1::UpsertZoneResponse resp;
    ASSERT_TRUE(Call(admin_.get(), &v1::AdminService::Stub::UpsertZone, req, &resp).ok());
  }

  void Register(const std::string& id, const std::string& zone, const std::string& skill,
                uint32_t level) {
    v1::RegisterTechnicianRequest req;
    req.set_technician_id(id);
    req.set_name("Tech " + id);
    req.set_home_zone_id(zone);
    v1::Skill* s = req.add_skills();
    s->set_skill(skill);
    s->set_level(level);
    v1::RegisterTechnicianResponse resp;
    grpc::Status st =
        Call(technicians_.get(), &v1::TechnicianService::Stub::RegisterTechnician, req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }

  void StartShift(const std::string& id) {
    v1::StartShiftRequest req;
    req.set_technician_id(id);
    v1::StartShiftResponse resp;
    grpc::Status st =
        Call(technicians_.get(), &v1::TechnicianService::Stub::StartShift, req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }

  void SetUpCampus(bool start_shifts = true) {
    UpsertZone("north");
    UpsertZone("south", "north", 10);
    Register("T-ELEC-01", "north", "electrical", 3);
    Register("T-ELEC-02", "north", "electrical", 3);
    Register("T-PLUMB-01", "south", "plumbing", 3);
    if (start_shifts) {
      StartShift("T-ELEC-01");
      StartShift("T-ELEC-02");
      StartShift("T-PLUMB-01");
    }
  }

  v1::SubmitRequestRequest LightRequest(const std::string& key = "") {
    v1::SubmitRequestRequest req;
    req.set_idempotency_key(key);
    req.set_zone_id("north");
    req.set_location("Library, room 101");
    req.set_category("lighting");
    v1::SkillRequirement* s = req.add_required_skills();
    s->set_skill("electrical");
    s->set_min_level(2);
    req.set_urgency(v1::URGENCY_NORMAL);
    req.set_estimated_minutes(30);
    req.set_description("Ceiling light flickers");
    return req;
  }

  v1::Request Submit(const v1::SubmitRequestRequest& req) {
    v1::SubmitRequestResponse resp;
    grpc::Status st = Call(requests_.get(), &v1::RequestService::Stub::SubmitRequest, req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp.request();
  }

  v1::Technician GetTechnician(const std::string& id) {
    v1::GetTechnicianRequest req;
    req.set_technician_id(id);
    v1::GetTechnicianResponse resp;
    EXPECT_TRUE(
        Call(technicians_.get(), &v1::TechnicianService::Stub::GetTechnician, req, &resp).ok());
    return resp.technician();
  }

  v1::Request GetRequest(const std::string& id) {
    v1::GetRequestRequest req;
    req.set_request_id(id);
    v1::GetRequestResponse resp;
    EXPECT_TRUE(Call(requests_.get(), &v1::RequestService::Stub::GetRequest, req, &resp).ok());
    return resp.request();
  }

  // ExplainAssignment's history lines for request `id`.
  std::vector<std::string> HistoryOf(const std::string& id) {
    v1::ExplainAssignmentRequest req;
    req.set_request_id(id);
    v1::ExplainAssignmentResponse resp;
    EXPECT_TRUE(
        Call(console_.get(), &v1::ConsoleService::Stub::ExplainAssignment, req, &resp).ok());
    return std::vector<std::string>(resp.history().begin(), resp.history().end());
  }

  v1::GetBoardResponse Board() {
    v1::GetBoardResponse resp;
    EXPECT_TRUE(
        Call(console_.get(), &v1::ConsoleService::Stub::GetBoard, v1::GetBoardRequest(), &resp)
            .ok());
    return resp;
  }

  engine::ManualClock clock_;
  std::unique_ptr<Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::RequestService::Stub> requests_;
  std::unique_ptr<v1::TechnicianService::Stub> technicians_;
  std::unique_ptr<v1::AlertService::Stub> alerts_;
  std::unique_ptr<v1::InventoryService::Stub> inventory_;
  std::unique_ptr<v1::ConsoleService::Stub> console_;
  std::unique_ptr<v1::AdminService::Stub> admin_;
};

// The technician a request is offered to or held by, given two candidates.
inline std::string Other(const std::string& tech, const std::string& a, const std::string& b) {
  return tech == a ? b : a;
}

}  // namespace dispatchd::services::testing

#endif  // DISPATCHD_TESTS_SERVICES_TEST_SERVER_H_
