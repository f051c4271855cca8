// Access control and limits: the role matrix over every dispatch.v1 method
// (read from the service descriptors, so a new method is covered without
// touching this file), technicians bound to their own work, alert triggers
// to their source, mutual TLS, and overload answered instead of queued.
#include "services/access.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <future>
#include <set>
#include <sstream>
#include <thread>

#include "absl/synchronization/notification.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/client_interceptor.h"
#include "tests/journal/test_dir.h"
#include "tests/services/daemon_process.h"
#include "tests/services/test_server.h"

namespace dispatchd::services::testing {
namespace {

using Code = grpc::StatusCode;

constexpr char kDispatcher[] = "dispatcher-token-0001";
constexpr char kTechA[] = "tech-a-token-0000001";    // T-ELEC-01
constexpr char kTechB[] = "tech-b-token-0000001";    // T-ELEC-02
constexpr char kTrigger[] = "trigger-token-000001";  // Source bms-north.
constexpr char kTokens[] = R"(# role          token                  bound to
dispatcher      dispatcher-token-0001
technician      tech-a-token-0000001   T-ELEC-01
technician      tech-b-token-0000001   T-ELEC-02
alert_trigger   trigger-token-000001   bms-north
)";

// Adds "authorization: Bearer <token>" to every call on a channel.
class BearerInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit BearerInterceptor(std::string token) : value_("Bearer " + std::move(token)) {}
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      methods->GetSendInitialMetadata()->emplace("authorization", value_);
    }
    methods->Proceed();
  }

 private:
  const std::string value_;
};

class BearerFactory final : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit BearerFactory(std::string token) : token_(std::move(token)) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo*) override {
    return new BearerInterceptor(token_);
  }

 private:
  const std::string token_;
};

// A channel to `address` whose calls carry `token` (none if empty).
std::shared_ptr<grpc::Channel> ChannelWithToken(const std::string& address,
                                                const std::string& token) {
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> factories;
  if (!token.empty()) factories.push_back(std::make_unique<BearerFactory>(token));
  return grpc::experimental::CreateCustomChannelWithInterceptors(
      address, grpc::InsecureChannelCredentials(), grpc::ChannelArguments(), std::move(factories));
}

// One call by method name with the request's bytes, as any client could
// make it: sends the request, half-closes, and returns the call's status;
// OK if a response arrives or the call is still open after `open_for` (a
// stream that was let in), after which the call is cancelled.
class RawCall final : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  static grpc::Status Run(grpc::Channel* channel, const std::string& method,
                          const google::protobuf::Message& request,
                          absl::Duration open_for = absl::Milliseconds(300)) {
    RawCall call;
    grpc::GenericStub stub(channel->shared_from_this());
    SetDeadline(&call.ctx_);
    const std::string bytes = request.SerializeAsString();
    grpc::Slice slice(bytes);
    call.request_ = grpc::ByteBuffer(&slice, 1);
    stub.PrepareBidiStreamingCall(&call.ctx_, method, grpc::StubOptions(), &call);
    call.StartWriteLast(&call.request_, grpc::WriteOptions());
    call.StartRead(&call.response_);
    call.StartCall();
    absl::MutexLock lock(&call.mu_);
    auto answered = [&call]() ABSL_SHARED_LOCKS_REQUIRED(call.mu_) {
      return call.done_ || call.got_response_;
    };
    call.mu_.AwaitWithTimeout(absl::Condition(&answered), open_for);
    const bool let_in = !call.done_;
    if (let_in) {
      call.ctx_.TryCancel();
    }
    call.mu_.Await(absl::Condition(&call.done_));
    return let_in || call.got_response_ ? grpc::Status::OK : call.status_;
  }

  void OnReadDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    if (ok) got_response_ = true;
  }
  void OnDone(const grpc::Status& status) override {
    absl::MutexLock lock(&mu_);
    status_ = status;
    done_ = true;
  }

 private:
  RawCall() = default;
  grpc::ClientContext ctx_;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;
  absl::Mutex mu_;
  bool got_response_ ABSL_GUARDED_BY(mu_) = false;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status status_ ABSL_GUARDED_BY(mu_);
};

bool LetIn(const grpc::Status& s) {
  return s.error_code() != Code::UNAUTHENTICATED && s.error_code() != Code::PERMISSION_DENIED;
}

class AccessTest : public ServerTest {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<AccessPolicy>> policy = AccessPolicy::Parse(kTokens, "test");
    ASSERT_TRUE(policy.ok()) << policy.status();
    policy_ = *std::move(policy);
    ServerOptions options;
    options.access = policy_.get();
    StartServer(std::move(options));
    UseToken(kDispatcher);  // The fixture's helpers act as the dispatcher.
  }

  // Points the fixture's stubs at a channel carrying `token`.
  void UseToken(const std::string& token) {
    UseChannel(ChannelWithToken(server_->address(), token));
  }

  std::unique_ptr<AccessPolicy> policy_;
};

// Every method of every dispatch.v1 service, called as each kind of caller.
TEST_F(AccessTest, RoleMatrixOverEveryMethod) {
  SetUpCampus();
  const std::string address = server_->address();
  auto none = ChannelWithToken(address, "");
  auto wrong = ChannelWithToken(address, "not-a-token-at-all-0000");
  auto dispatcher = ChannelWithToken(address, kDispatcher);
  auto tech_a = ChannelWithToken(address, kTechA);
  auto tech_b = ChannelWithToken(address, kTechB);
  auto trigger = ChannelWithToken(address, kTrigger);
  const google::protobuf::DescriptorPool* pool = google::protobuf::DescriptorPool::generated_pool();
  int methods = 0;
  for (const char* name :
       {"dispatch.v1.RequestService", "dispatch.v1.TechnicianService", "dispatch.v1.AlertService",
        "dispatch.v1.InventoryService", "dispatch.v1.ConsoleService", "dispatch.v1.AdminService"}) {
    const google::protobuf::ServiceDescriptor* service = pool->FindServiceByName(name);
    ASSERT_NE(service, nullptr) << name;
    for (int i = 0; i < service->method_count(); ++i) {
      const google::protobuf::MethodDescriptor* m = service->method(i);
      const std::string path = absl::StrCat("/", service->full_name(), "/", m->name());
      SCOPED_TRACE(path);
      ++methods;
      const std::vector<Role> roles = AccessPolicy::RolesFor(path);
      EXPECT_FALSE(roles.empty()) << "no access policy entry: add one in services/access.cc";
      auto allows = [&roles](Role r) {
        return std::find(roles.begin(), roles.end(), r) != roles.end();
      };

      // The request names technician A wherever it names a technician.
      std::unique_ptr<google::protobuf::Message> request(
          google::protobuf::MessageFactory::generated_factory()
              ->GetPrototype(m->input_type())
              ->New());
      if (const auto* f = m->input_type()->FindFieldByName("technician_id")) {
        request->GetReflection()->SetString(request.get(), f, "T-ELEC-01");
      }

      EXPECT_EQ(RawCall::Run(none.get(), path, *request).error_code(), Code::UNAUTHENTICATED);
      EXPECT_EQ(RawCall::Run(wrong.get(), path, *request).error_code(), Code::UNAUTHENTICATED);
      grpc::Status as_dispatcher = RawCall::Run(dispatcher.get(), path, *request);
      EXPECT_TRUE(LetIn(as_dispatcher)) << as_dispatcher.error_message();
      grpc::Status as_a = RawCall::Run(tech_a.get(), path, *request);
      if (allows(Role::kTechnician)) {
        EXPECT_TRUE(LetIn(as_a)) << as_a.error_message();
      } else {
        EXPECT_EQ(as_a.error_code(), Code::PERMISSION_DENIED) << as_a.error_message();
      }
      // B acting as A is refused whatever the method.
      EXPECT_EQ(RawCall::Run(tech_b.get(), path, *request).error_code(), Code::PERMISSION_DENIED);
      grpc::Status as_trigger = RawCall::Run(trigger.get(), path, *request);
      if (allows(Role::kAlertTrigger)) {
        EXPECT_TRUE(LetIn(as_trigger)) << as_trigger.error_message();
      } else {
        EXPECT_EQ(as_trigger.error_code(), Code::PERMISSION_DENIED) << as_trigger.error_message();
      }
    }
  }
  EXPECT_GE(methods, 34);
  // Health stays open to anyone.
  EXPECT_TRUE(HealthServing(none));
}

TEST_F(AccessTest, ATechnicianActsOnTheirOwnJobOnly) {
  SetUpCampus();
  const v1::Request job = Submit(LightRequest("job"));
  const std::string holder = GetRequest(job.request_id()).technician_id();
  ASSERT_FALSE(holder.empty());
  const std::string other = holder == "T-ELEC-01" ? "T-ELEC-02" : "T-ELEC-01";
  const std::string holder_token = holder == "T-ELEC-01" ? kTechA : kTechB;
  const std::string other_token = holder == "T-ELEC-01" ? kTechB : kTechA;

  UseToken(other_token);
  v1::AcceptAssignmentRequest accept;
  accept.set_request_id(job.request_id());
  accept.set_technician_id(holder);  // Claiming to be the holder: the service refuses.
  v1::AcceptAssignmentResponse resp;
  EXPECT_THAT(
      Call(technicians_.get(), &v1::TechnicianService::Stub::AcceptAssignment, accept, &resp),
      StatusIs(Code::PERMISSION_DENIED, "acts for technician"));
  accept.set_technician_id(other);  // As themselves: the engine says it is not theirs.
  EXPECT_THAT(
      Call(technicians_.get(), &v1::TechnicianService::Stub::AcceptAssignment, accept, &resp),
      StatusIs(Code::FAILED_PRECONDITION, "is not offered to technician"));
  // The other technician's stream of the holder's work is refused too.
  auto peek = WatchAssignments(holder);
  EXPECT_THAT(peek->Final().value_or(grpc::Status::OK),
              StatusIs(Code::PERMISSION_DENIED, "acts for technician"));

  UseToken(holder_token);
  accept.set_technician_id(holder);
  EXPECT_TRUE(
      Call(technicians_.get(), &v1::TechnicianService::Stub::AcceptAssignment, accept, &resp).ok());
  UseToken(kDispatcher);
  EXPECT_EQ(GetRequest(job.request_id()).state(), v1::REQUEST_STATE_ASSIGNED);
}

TEST_F(AccessTest, AnAlertTriggerRaisesForItsSourceAndTenSendersOpenOneEmergency) {
  SetUpCampus();
  UseToken(kTrigger);
  v1::RaiseAlertRequest raise;
  raise.set_dedupe_key("library/power/2026-11-28");
  raise.set_kind("power_outage");
  raise.set_zone_id("north");
  raise.set_severity(5);
  raise.set_description("Library lost power");
  raise.set_source("someone-else");
  v1::RaiseAlertResponse resp;
  EXPECT_THAT(Call(alerts_.get(), &v1::AlertService::Stub::RaiseAlert, raise, &resp),
              StatusIs(Code::PERMISSION_DENIED, "bms-north"));
  raise.clear_source();  // Filled in from the token.

  std::vector<std::future<std::string>> senders;
  for (int i = 0; i < 10; ++i) {
    senders.push_back(std::async(std::launch::async, [this, raise] {
      v1::RaiseAlertResponse r;
      grpc::Status st = Call(alerts_.get(), &v1::AlertService::Stub::RaiseAlert, raise, &r);
      EXPECT_TRUE(st.ok()) << st.error_message();
      return r.request().request_id();
    }));
  }
  std::set<std::string> ids;
  for (auto& s : senders) ids.insert(s.get());
  EXPECT_EQ(ids.size(), 1u);
  EXPECT_FALSE(ids.begin()->empty());

  UseToken(kDispatcher);
  v1::ListRequestsRequest list;
  list.set_urgency(v1::URGENCY_EMERGENCY);
  v1::ListRequestsResponse emergencies;
  ASSERT_TRUE(
      Call(requests_.get(), &v1::RequestService::Stub::ListRequests, list, &emergencies).ok());
  EXPECT_EQ(emergencies.requests_size(), 1);
}

TEST(AccessPolicyTest, ABadTokensFileIsRefusedNamingTheLine) {
  EXPECT_THAT(AccessPolicy::Parse("dispatcher short\n", "t").status().message(),
              ::testing::HasSubstr("t:1: token shorter than 16"));
  EXPECT_THAT(AccessPolicy::Parse("# ok\nmechanic abcdefghijklmnopq\n", "t").status().message(),
              ::testing::HasSubstr("t:2: unknown role 'mechanic'"));
  EXPECT_THAT(AccessPolicy::Parse("technician abcdefghijklmnopq\n", "t").status().message(),
              ::testing::HasSubstr("t:1: expected: technician <token> <technician id>"));
  EXPECT_THAT(
      AccessPolicy::Parse("dispatcher abcdefghijklmnopq\ndispatcher abcdefghijklmnopq\n", "t")
          .status()
          .message(),
      ::testing::HasSubstr("t:2: token already given"));
  EXPECT_FALSE(AccessPolicy::Parse("# nothing\n", "t").ok());
}

// --- Limits -------------------------------------------------------------

class LimitsTest : public ServerTest {
 protected:
  void SetUp() override {}
  void Start(size_t max_pending, absl::Duration max_wait) {
    ServerOptions options;
    options.max_pending_calls = max_pending;
    options.max_queue_wait = max_wait;
    StartServer(std::move(options));
  }
  // Holds the engine thread until the returned notification is notified.
  std::shared_ptr<absl::Notification> BlockEngine() {
    auto release = std::make_shared<absl::Notification>();
    auto blocked = std::make_shared<absl::Notification>();
    blocker_ = std::thread([this, release, blocked] {
      server_->runner().RunOnEngineThread([release, blocked] {
        blocked->Notify();
        release->WaitForNotification();
      });
    });
    blocked->WaitForNotification();
    return release;
  }
  void TearDown() override {
    if (blocker_.joinable()) blocker_.join();
    ServerTest::TearDown();
  }
  std::future<grpc::Status> SubmitAsync(const std::string& key) {
    return std::async(std::launch::async, [this, key] {
      v1::SubmitRequestResponse resp;
      return Call(requests_.get(), &v1::RequestService::Stub::SubmitRequest, LightRequest(key),
                  &resp);
    });
  }
  std::thread blocker_;
};

TEST_F(LimitsTest, BeyondThePendingCapCallsAreRefusedAtOnceNotQueued) {
  Start(/*max_pending=*/2, absl::Seconds(30));
  SetUpCampus();
  std::shared_ptr<absl::Notification> release = BlockEngine();
  std::future<grpc::Status> first = SubmitAsync("first");
  std::future<grpc::Status> second = SubmitAsync("second");
  // Wait until both are queued behind the blocked engine.
  absl::SleepFor(absl::Milliseconds(300));
  grpc::Status third = SubmitAsync("third").get();  // Answered while the engine is still blocked.
  EXPECT_THAT(third, StatusIs(Code::RESOURCE_EXHAUSTED, "overloaded"));
  release->Notify();
  EXPECT_TRUE(first.get().ok());
  EXPECT_TRUE(second.get().ok());
  v1::ListRequestsResponse all;
  ASSERT_TRUE(Call(requests_.get(), &v1::RequestService::Stub::ListRequests,
                   v1::ListRequestsRequest(), &all)
                  .ok());
  EXPECT_EQ(all.requests_size(), 2);
}

TEST_F(LimitsTest, ACallThatWaitedPastTheCapIsAnsweredAndNotApplied) {
  Start(/*max_pending=*/100, absl::Milliseconds(100));
  SetUpCampus();
  std::shared_ptr<absl::Notification> release = BlockEngine();
  std::future<grpc::Status> late = SubmitAsync("late");
  absl::SleepFor(absl::Milliseconds(400));
  release->Notify();
  EXPECT_THAT(late.get(), StatusIs(Code::DEADLINE_EXCEEDED, "nothing was done"));
  v1::ListRequestsResponse all;
  ASSERT_TRUE(Call(requests_.get(), &v1::RequestService::Stub::ListRequests,
                   v1::ListRequestsRequest(), &all)
                  .ok());
  EXPECT_EQ(all.requests_size(), 0);
}

// --- TLS ------------------------------------------------------------------

// Makes a CA, a server certificate for localhost and a client certificate
// in `dir` with the openssl tool; false if it is not there.
bool MakeCertificates(const std::string& dir) {
  const std::string script = absl::StrCat(
      "cd ", dir, " && ",
      "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=test-ca "
      "-keyout ca.key -out ca.pem && ",
      "openssl req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout server.key "
      "-out server.csr && ",
      "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1' > san.ext && ",
      "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 "
      "-extfile san.ext -out server.pem && ",
      "openssl req -newkey rsa:2048 -nodes -subj /CN=console -keyout client.key "
      "-out client.csr && ",
      "openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 "
      "-out client.pem) >/dev/null 2>&1");
  return std::system(("(" + script).c_str()) == 0;
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(TlsTest, MutualTlsAdmitsOnlyClientsWithACertificateFromTheCa) {
  dispatchd::testing::TestDir dir;
  ASSERT_TRUE(MakeCertificates(dir.path())) << "openssl failed";
  const std::string d = dir.path() + "/";
  EXPECT_EQ(TlsCredentialsFromFiles(d + "missing.pem", d + "server.key", "").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(TlsCredentialsFromFiles(d + "san.ext", d + "server.key", "").status().code(),
            absl::StatusCode::kInvalidArgument);
  auto credentials = TlsCredentialsFromFiles(d + "server.pem", d + "server.key", d + "ca.pem");
  ASSERT_TRUE(credentials.ok()) << credentials.status();
  ServerOptions options;
  options.listen_address = "127.0.0.1:0";
  options.credentials = *credentials;
  auto server = Server::Start(std::move(options));
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string target = absl::StrCat("localhost:", (*server)->port());

  grpc::SslCredentialsOptions with_cert;
  with_cert.pem_root_certs = ReadText(d + "ca.pem");
  with_cert.pem_cert_chain = ReadText(d + "client.pem");
  with_cert.pem_private_key = ReadText(d + "client.key");
  EXPECT_TRUE(HealthServing(grpc::CreateChannel(target, grpc::SslCredentials(with_cert))));

  grpc::SslCredentialsOptions without_cert;
  without_cert.pem_root_certs = ReadText(d + "ca.pem");
  EXPECT_FALSE(HealthServing(grpc::CreateChannel(target, grpc::SslCredentials(without_cert))));
  EXPECT_FALSE(HealthServing(grpc::CreateChannel(target, grpc::InsecureChannelCredentials())));
  (*server)->Shutdown(absl::Seconds(1));
}

}  // namespace
}  // namespace dispatchd::services::testing
