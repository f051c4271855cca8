#include "services/access.h"

#include <atomic>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/reflection.h"

namespace dispatchd::services {
namespace {

constexpr size_t kMinTokenLength = 16;

// Role sets as bits of 1 << Role.
constexpr unsigned kD = 1u << static_cast<int>(Role::kDispatcher);
constexpr unsigned kT = 1u << static_cast<int>(Role::kTechnician);
constexpr unsigned kA = 1u << static_cast<int>(Role::kAlertTrigger);

// The policy: who may call what. A dispatch.v1 method missing here is
// denied to everyone, so a new method stays closed until it is given an
// entry (the role-matrix test names any such method).
const absl::flat_hash_map<std::string, unsigned>& MethodRoles() {
  static const auto* table = new absl::flat_hash_map<std::string, unsigned>{
      {"/dispatch.v1.AdminService/UpsertZone", kD},
      {"/dispatch.v1.AdminService/ListZones", kD},
      {"/dispatch.v1.AdminService/GetPolicy", kD},
      {"/dispatch.v1.AdminService/SetPolicy", kD},
      {"/dispatch.v1.AdminService/GetStateDigest", kD},
      {"/dispatch.v1.AlertService/RaiseAlert", kD | kA},
      {"/dispatch.v1.AlertService/ResolveAlert", kD | kA},
      {"/dispatch.v1.ConsoleService/GetBoard", kD},
      {"/dispatch.v1.ConsoleService/WatchEvents", kD},
      {"/dispatch.v1.ConsoleService/ExplainAssignment", kD},
      {"/dispatch.v1.ConsoleService/GetStats", kD},
      {"/dispatch.v1.ConsoleService/GetAssetHistory", kD},
      {"/dispatch.v1.InventoryService/AdjustStock", kD},
      {"/dispatch.v1.InventoryService/GetStock", kD},
      {"/dispatch.v1.InventoryService/ListShortages", kD},
      // Site-wide logistics: a technician sees their own jobs' deliveries
      // on the request (delivery_ids), not the depot's whole schedule.
      {"/dispatch.v1.InventoryService/ListDeliveries", kD},
      {"/dispatch.v1.RequestService/SubmitRequest", kD},
      {"/dispatch.v1.RequestService/GetRequest", kD},
      {"/dispatch.v1.RequestService/ListRequests", kD},
      {"/dispatch.v1.RequestService/CancelRequest", kD},
      {"/dispatch.v1.RequestService/ChangeUrgency", kD},
      {"/dispatch.v1.RequestService/AssignRequest", kD},
      {"/dispatch.v1.RequestService/RecordFeedback", kD},
      {"/dispatch.v1.TechnicianService/RegisterTechnician", kD},
      {"/dispatch.v1.TechnicianService/UpdateTechnician", kD},
      {"/dispatch.v1.TechnicianService/ListTechnicians", kD},
      // A technician's own day: each request names the technician, which
      // must be the one the token is bound to.
      {"/dispatch.v1.TechnicianService/StartShift", kD | kT},
      {"/dispatch.v1.TechnicianService/EndShift", kD | kT},
      {"/dispatch.v1.TechnicianService/ReportLocation", kD | kT},
      {"/dispatch.v1.TechnicianService/WatchAssignments", kD | kT},
      {"/dispatch.v1.TechnicianService/AcceptAssignment", kD | kT},
      {"/dispatch.v1.TechnicianService/DeclineAssignment", kD | kT},
      {"/dispatch.v1.TechnicianService/StartWork", kD | kT},
      {"/dispatch.v1.TechnicianService/CompleteWork", kD | kT},
      {"/dispatch.v1.TechnicianService/PutOnHold", kD | kT},
      {"/dispatch.v1.TechnicianService/GetTechnician", kD | kT},
  };
  return *table;
}

absl::Status BadLine(absl::string_view source, int line, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(source, ":", line, ": ", what));
}

// The string field `name` of `message`, if it has one.
const google::protobuf::FieldDescriptor* StringField(const google::protobuf::Message& message,
                                                     const char* name) {
  const google::protobuf::FieldDescriptor* f = message.GetDescriptor()->FindFieldByName(name);
  if (f == nullptr || f->is_repeated() ||
      f->cpp_type() != google::protobuf::FieldDescriptor::CPPTYPE_STRING) {
    return nullptr;
  }
  return f;
}

// Servers enforcing access now; with none, CallAccess skips the lookup.
std::atomic<int> enforcing{0};

// Verdicts of the calls in flight, by their context.
class Verdicts {
 public:
  static Verdicts& Get() {
    static auto* verdicts = new Verdicts();
    return *verdicts;
  }
  void Set(const grpc::ServerContextBase* ctx, absl::Status status) {
    absl::MutexLock lock(&mu_);
    map_[ctx] = std::move(status);
  }
  absl::Status Find(const grpc::ServerContextBase* ctx) {
    absl::MutexLock lock(&mu_);
    auto it = map_.find(ctx);
    return it == map_.end() ? absl::OkStatus() : it->second;
  }
  void Erase(const grpc::ServerContextBase* ctx) {
    absl::MutexLock lock(&mu_);
    map_.erase(ctx);
  }

 private:
  absl::Mutex mu_;
  absl::flat_hash_map<const grpc::ServerContextBase*, absl::Status> map_ ABSL_GUARDED_BY(mu_);
};

class AccessInterceptor final : public grpc::experimental::Interceptor {
 public:
  AccessInterceptor(grpc::experimental::ServerRpcInfo* info, const AccessPolicy* policy)
      : ctx_(info->server_context()), method_(info->method()), policy_(policy) {}
  ~AccessInterceptor() override {
    if (recorded_) Verdicts::Get().Erase(ctx_);
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    using Hook = grpc::experimental::InterceptionHookPoints;
    if (!AccessPolicy::IsOpen(method_)) {
      if (methods->QueryInterceptionHookPoint(Hook::POST_RECV_INITIAL_METADATA)) {
        verdict_ = Decide(*methods->GetRecvInitialMetadata());
        Record();
      }
      if (methods->QueryInterceptionHookPoint(Hook::POST_RECV_MESSAGE) && verdict_.ok() &&
          methods->GetRecvMessage() != nullptr) {
        // dispatch.v1 methods take protobuf messages.
        auto* request = static_cast<google::protobuf::Message*>(methods->GetRecvMessage());
        verdict_ = AccessPolicy::Authorize(identity_, method_, request);
        Record();
      }
    }
    methods->Proceed();
  }

 private:
  absl::Status Decide(const std::multimap<grpc::string_ref, grpc::string_ref>& metadata) {
    auto it = metadata.find("authorization");
    const absl::string_view header = it == metadata.end()
                                         ? absl::string_view()
                                         : absl::string_view(it->second.data(), it->second.size());
    absl::StatusOr<Identity> who = policy_->Authenticate(header);
    if (!who.ok()) return who.status();
    identity_ = *std::move(who);
    return AccessPolicy::Authorize(identity_, method_, nullptr);
  }

  void Record() {
    Verdicts::Get().Set(ctx_, verdict_);
    recorded_ = true;
  }

  const grpc::ServerContextBase* const ctx_;
  const std::string method_;
  const AccessPolicy* const policy_;
  Identity identity_;
  absl::Status verdict_;
  bool recorded_ = false;
};

class AccessFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit AccessFactory(const AccessPolicy* policy) : policy_(policy) { ++enforcing; }
  ~AccessFactory() override { --enforcing; }
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new AccessInterceptor(info, policy_);
  }

 private:
  const AccessPolicy* const policy_;
};

}  // namespace

absl::string_view RoleName(Role role) {
  switch (role) {
    case Role::kDispatcher:
      return "dispatcher";
    case Role::kTechnician:
      return "technician";
    case Role::kAlertTrigger:
      return "alert_trigger";
  }
  return "unknown";
}

absl::StatusOr<std::unique_ptr<AccessPolicy>> AccessPolicy::Parse(absl::string_view text,
                                                                  absl::string_view source) {
  std::unique_ptr<AccessPolicy> policy(new AccessPolicy());
  int number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++number;
    line = absl::StripAsciiWhitespace(line.substr(0, line.find('#')));
    if (line.empty()) continue;
    std::vector<absl::string_view> words =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    Identity who;
    if (words[0] == "dispatcher") {
      who.role = Role::kDispatcher;
    } else if (words[0] == "technician") {
      who.role = Role::kTechnician;
    } else if (words[0] == "alert_trigger") {
      who.role = Role::kAlertTrigger;
    } else {
      return BadLine(source, number,
                     absl::StrCat("unknown role '", std::string(words[0]),
                                  "' (dispatcher, technician or alert_trigger)"));
    }
    const size_t want = who.role == Role::kDispatcher ? 2 : 3;
    if (words.size() != want) {
      return BadLine(
          source, number,
          who.role == Role::kDispatcher
              ? "expected: dispatcher <token>"
              : absl::StrCat("expected: ", std::string(words[0]), " <token> <",
                             who.role == Role::kTechnician ? "technician id" : "alert source",
                             ">"));
    }
    const std::string token(words[1]);
    if (token.size() < kMinTokenLength) {
      return BadLine(source, number,
                     absl::StrCat("token shorter than ", kMinTokenLength, " characters"));
    }
    if (want == 3) who.bound_to = std::string(words[2]);
    if (!policy->tokens_.emplace(token, std::move(who)).second) {
      return BadLine(source, number, "token already given on an earlier line");
    }
  }
  if (policy->tokens_.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": no tokens"));
  }
  return policy;
}

absl::StatusOr<std::unique_ptr<AccessPolicy>> AccessPolicy::Load(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read tokens file ", path));
  std::stringstream text;
  text << in.rdbuf();
  return Parse(text.str(), path);
}

absl::Status AccessPolicy::Add(std::string token, Identity who) {
  if (!tokens_.emplace(std::move(token), std::move(who)).second) {
    return absl::AlreadyExistsError("token already in the policy");
  }
  return absl::OkStatus();
}

absl::StatusOr<Identity> AccessPolicy::Authenticate(absl::string_view authorization) const {
  if (authorization.empty()) {
    return absl::UnauthenticatedError(
        "no credentials: send metadata 'authorization: Bearer <token>'");
  }
  absl::string_view token = authorization;
  if (!absl::ConsumePrefix(&token, "Bearer ") && !absl::ConsumePrefix(&token, "bearer ")) {
    return absl::UnauthenticatedError("authorization must be 'Bearer <token>'");
  }
  auto it = tokens_.find(absl::StripAsciiWhitespace(token));
  if (it == tokens_.end()) return absl::UnauthenticatedError("unknown token");
  return it->second;
}

absl::Status AccessPolicy::Authorize(const Identity& who, absl::string_view method,
                                     google::protobuf::Message* request) {
  const auto& table = MethodRoles();
  auto it = table.find(method);
  if (it == table.end()) {
    return absl::PermissionDeniedError(
        absl::StrCat("no access policy for ", std::string(method), ": denied to every role"));
  }
  if ((it->second & (1u << static_cast<int>(who.role))) == 0) {
    return absl::PermissionDeniedError(absl::StrCat("the ", std::string(RoleName(who.role)),
                                                    " role may not call ", std::string(method)));
  }
  if (request == nullptr || who.role == Role::kDispatcher) return absl::OkStatus();
  const google::protobuf::Reflection* reflection = request->GetReflection();
  if (who.role == Role::kTechnician) {
    const google::protobuf::FieldDescriptor* f = StringField(*request, "technician_id");
    if (f == nullptr) {
      return absl::PermissionDeniedError(
          absl::StrCat(std::string(method), " does not name a technician"));
    }
    if (const std::string id = reflection->GetString(*request, f); id != who.bound_to) {
      return absl::PermissionDeniedError(
          absl::StrCat("this token acts for technician '", who.bound_to, "' only, not '", id, "'"));
    }
    return absl::OkStatus();
  }
  // An alert trigger raises alerts from its own source only.
  if (const google::protobuf::FieldDescriptor* f = StringField(*request, "source")) {
    const std::string source = reflection->GetString(*request, f);
    if (source.empty()) {
      reflection->SetString(request, f, who.bound_to);
    } else if (source != who.bound_to) {
      return absl::PermissionDeniedError(absl::StrCat("this token raises alerts for source '",
                                                      who.bound_to, "' only, not '", source, "'"));
    }
  }
  return absl::OkStatus();
}

bool AccessPolicy::IsOpen(absl::string_view method) {
  return absl::StartsWith(method, "/grpc.health.v1.") ||
         absl::StartsWith(method, "/grpc.reflection.");
}

std::vector<Role> AccessPolicy::RolesFor(absl::string_view method) {
  std::vector<Role> roles;
  auto it = MethodRoles().find(method);
  if (it == MethodRoles().end()) return roles;
  for (Role r : {Role::kDispatcher, Role::kTechnician, Role::kAlertTrigger}) {
    if (it->second & (1u << static_cast<int>(r))) roles.push_back(r);
  }
  return roles;
}

absl::Status CallAccess(const grpc::ServerContextBase* ctx) {
  if (enforcing.load(std::memory_order_relaxed) == 0) return absl::OkStatus();
  return Verdicts::Get().Find(ctx);
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> AccessInterceptorFactory(
    const AccessPolicy* policy) {
  return std::make_unique<AccessFactory>(policy);
}

}  // namespace dispatchd::services
