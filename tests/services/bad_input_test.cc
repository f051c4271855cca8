// Bad input to every method of every service gets the right status code and
// a message naming the field or object — and changes nothing.
#include <functional>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/services/test_server.h"

namespace dispatchd::services::testing {
namespace {

using Code = grpc::StatusCode;

struct BadCall {
  std::string what;                    // The method and what is wrong.
  std::function<grpc::Status()> call;  // Makes the call.
  Code code;
  std::string mentions;  // The message must contain this (field or object).
};

class BadInputTest : public ServerTest {
 protected:
  // A campus with two requests, each offered to one of the electricians,
  // so the FAILED_PRECONDITION cases have subjects.
  void SetUp() override {
    ServerTest::SetUp();
    SetUpCampus();
    offered_ = Submit(LightRequest("offered"));
    v1::SubmitRequestRequest other = LightRequest("other");
    other.set_location("Gym");
    second_ = Submit(other);  // Offered to the other electrician.
  }

  // A snapshot of everything a caller could see change.
  std::string Observable() {
    v1::ListRequestsResponse requests;
    EXPECT_TRUE(Call(requests_.get(), &v1::RequestService::Stub::ListRequests,
                     v1::ListRequestsRequest(), &requests).ok());
    v1::ListTechniciansResponse techs;
    EXPECT_TRUE(Call(technicians_.get(), &v1::TechnicianService::Stub::ListTechnicians,
                     v1::ListTechniciansRequest(), &techs).ok());
    v1::GetPolicyResponse policy;
    EXPECT_TRUE(Call(admin_.get(), &v1::AdminService::Stub::GetPolicy, v1::GetPolicyRequest(),
                     &policy).ok());
    v1::GetStockResponse stock;
    EXPECT_TRUE(Call(inventory_.get(), &v1::InventoryService::Stub::GetStock,
                     v1::GetStockRequest(), &stock).ok());
    return Board().SerializeAsString() + requests.SerializeAsString() +
           techs.SerializeAsString() + policy.SerializeAsString() + stock.SerializeAsString();
  }

  std::vector<BadCall> RequestServiceCases();
  std::vector<BadCall> TechnicianServiceCases();
  std::vector<BadCall> OtherServiceCases();

  v1::Request offered_;
  v1::Request second_;
};

template <typename Stub, typename Req, typename Resp>
std::function<grpc::Status()> Make(Stub* stub,
                                   grpc::Status (Stub::*method)(grpc::ClientContext*,
                                                                const Req&, Resp*),
                                   Req request) {
  return [stub, method, request] {
    Resp response;
    return Call(stub, method, request, &response);
  };
}

std::vector<BadCall> BadInputTest::RequestServiceCases() {
  using S = v1::RequestService::Stub;
  S* s = requests_.get();
  const std::string id = offered_.request_id();
  std::vector<BadCall> cases;

  v1::SubmitRequestRequest no_urgency = LightRequest();
  no_urgency.set_urgency(v1::URGENCY_UNSPECIFIED);
  cases.push_back({"SubmitRequest without urgency", Make(s, &S::SubmitRequest, no_urgency),
                   Code::INVALID_ARGUMENT, "urgency: required"});
  v1::SubmitRequestRequest unknown_zone = LightRequest();
  unknown_zone.set_zone_id("atlantis");
  cases.push_back({"SubmitRequest in an unknown zone", Make(s, &S::SubmitRequest, unknown_zone),
                   Code::NOT_FOUND, "zone_id"});
  v1::SubmitRequestRequest no_skills = LightRequest();
  no_skills.clear_required_skills();
  cases.push_back({"SubmitRequest without skills", Make(s, &S::SubmitRequest, no_skills),
                   Code::INVALID_ARGUMENT, "required_skills"});
  v1::SubmitRequestRequest bad_time = LightRequest();
  bad_time.mutable_not_before()->set_nanos(-5);
  cases.push_back({"SubmitRequest with a malformed timestamp",
                   Make(s, &S::SubmitRequest, bad_time), Code::INVALID_ARGUMENT,
                   "not_before"});
  v1::SubmitRequestRequest long_key = LightRequest(std::string(200, 'k'));
  cases.push_back({"SubmitRequest with a 200-byte key", Make(s, &S::SubmitRequest, long_key),
                   Code::INVALID_ARGUMENT, "idempotency_key"});

  v1::GetRequestRequest get_empty;
  cases.push_back({"GetRequest without id", Make(s, &S::GetRequest, get_empty),
                   Code::INVALID_ARGUMENT, "request_id: required"});
  v1::GetRequestRequest get_unknown;
  get_unknown.set_request_id("R-999999");
  cases.push_back({"GetRequest unknown", Make(s, &S::GetRequest, get_unknown), Code::NOT_FOUND,
                   "R-999999"});

  v1::ListRequestsRequest big_page;
  big_page.set_page_size(5000);
  cases.push_back({"ListRequests page too big", Make(s, &S::ListRequests, big_page),
                   Code::INVALID_ARGUMENT, "page_size"});
  v1::ListRequestsRequest bad_state;
  bad_state.set_state(static_cast<v1::RequestState>(99));
  cases.push_back({"ListRequests unknown state", Make(s, &S::ListRequests, bad_state),
                   Code::INVALID_ARGUMENT, "state"});
  v1::ListRequestsRequest bad_token;
  bad_token.set_page_token("not-a-token");
  cases.push_back({"ListRequests foreign page token", Make(s, &S::ListRequests, bad_token),
                   Code::INVALID_ARGUMENT, "page_token"});
  v1::ListRequestsRequest list_zone;
  list_zone.set_zone_id("atlantis");
  cases.push_back({"ListRequests unknown zone", Make(s, &S::ListRequests, list_zone),
                   Code::NOT_FOUND, "zone_id"});

  v1::CancelRequestRequest cancel;
  cancel.set_request_id(id);
  cases.push_back({"CancelRequest without reason", Make(s, &S::CancelRequest, cancel),
                   Code::INVALID_ARGUMENT, "reason"});
  cancel.set_request_id("R-999999");
  cancel.set_reason("dup");
  cases.push_back({"CancelRequest unknown", Make(s, &S::CancelRequest, cancel), Code::NOT_FOUND,
                   "request_id"});

  v1::ChangeUrgencyRequest urgency;
  urgency.set_request_id(id);
  urgency.set_reason("worse");
  cases.push_back({"ChangeUrgency without urgency", Make(s, &S::ChangeUrgency, urgency),
                   Code::INVALID_ARGUMENT, "urgency: required"});

  v1::AssignRequestRequest assign;
  assign.set_request_id(id);
  assign.set_technician_id("T-NOBODY");
  assign.set_reason("why not");
  cases.push_back({"AssignRequest to an unknown technician", Make(s, &S::AssignRequest, assign),
                   Code::NOT_FOUND, "technician_id"});
  assign.set_technician_id("T-ELEC-01");
  assign.clear_reason();
  cases.push_back({"AssignRequest without reason", Make(s, &S::AssignRequest, assign),
                   Code::INVALID_ARGUMENT, "reason"});

  v1::RecordFeedbackRequest feedback;
  feedback.set_request_id(id);
  feedback.set_rating(9);
  cases.push_back({"RecordFeedback rating 9", Make(s, &S::RecordFeedback, feedback),
                   Code::INVALID_ARGUMENT, "rating"});
  feedback.set_rating(4);
  cases.push_back({"RecordFeedback on open work", Make(s, &S::RecordFeedback, feedback),
                   Code::FAILED_PRECONDITION, id});
  return cases;
}

std::vector<BadCall> BadInputTest::TechnicianServiceCases() {
  using S = v1::TechnicianService::Stub;
  S* s = technicians_.get();
  const std::string id = offered_.request_id();
  const std::string holder = offered_.technician_id();
  const std::string other = Other(holder, "T-ELEC-01", "T-ELEC-02");
  std::vector<BadCall> cases;

  v1::RegisterTechnicianRequest reg;
  reg.set_home_zone_id("north");
  reg.add_skills()->set_skill("electrical");
  reg.mutable_skills(0)->set_level(2);
  cases.push_back({"RegisterTechnician without id", Make(s, &S::RegisterTechnician, reg),
                   Code::INVALID_ARGUMENT, "technician_id"});
  reg.set_technician_id("T-ELEC-01");
  cases.push_back({"RegisterTechnician taken id", Make(s, &S::RegisterTechnician, reg),
                   Code::ALREADY_EXISTS, "T-ELEC-01"});
  reg.set_technician_id("T-NEW");
  reg.set_home_zone_id("atlantis");
  cases.push_back({"RegisterTechnician unknown zone", Make(s, &S::RegisterTechnician, reg),
                   Code::NOT_FOUND, "home_zone_id"});
  reg.set_home_zone_id("north");
  reg.clear_skills();
  cases.push_back({"RegisterTechnician without skills", Make(s, &S::RegisterTechnician, reg),
                   Code::INVALID_ARGUMENT, "skills"});

  v1::UpdateTechnicianRequest update;
  update.set_technician_id("T-NOBODY");
  update.set_name("X");
  cases.push_back({"UpdateTechnician unknown", Make(s, &S::UpdateTechnician, update),
                   Code::NOT_FOUND, "technician_id"});

  v1::StartShiftRequest start_shift;
  start_shift.set_technician_id("T-ELEC-01");
  cases.push_back({"StartShift when on shift", Make(s, &S::StartShift, start_shift),
                   Code::FAILED_PRECONDITION, "T-ELEC-01"});

  v1::EndShiftRequest end_shift;
  cases.push_back({"EndShift without id", Make(s, &S::EndShift, end_shift),
                   Code::INVALID_ARGUMENT, "technician_id"});

  v1::ReportLocationRequest location;
  location.set_technician_id("T-ELEC-01");
  location.set_zone_id("atlantis");
  cases.push_back({"ReportLocation unknown zone", Make(s, &S::ReportLocation, location),
                   Code::NOT_FOUND, "zone_id"});

  v1::AcceptAssignmentRequest accept;
  accept.set_technician_id(other);
  accept.set_request_id(id);
  cases.push_back({"AcceptAssignment of another's offer", Make(s, &S::AcceptAssignment, accept),
                   Code::FAILED_PRECONDITION, id});
  accept.clear_request_id();
  cases.push_back({"AcceptAssignment without request", Make(s, &S::AcceptAssignment, accept),
                   Code::INVALID_ARGUMENT, "request_id"});

  v1::DeclineAssignmentRequest decline;
  decline.set_technician_id(holder);
  decline.set_request_id(id);
  cases.push_back({"DeclineAssignment without reason", Make(s, &S::DeclineAssignment, decline),
                   Code::INVALID_ARGUMENT, "reason"});

  v1::StartWorkRequest start;
  start.set_technician_id(holder);
  start.set_request_id("R-999999");
  cases.push_back({"StartWork unknown request", Make(s, &S::StartWork, start), Code::NOT_FOUND,
                   "request_id"});
  start.set_request_id(id);
  cases.push_back({"StartWork before accepting", Make(s, &S::StartWork, start),
                   Code::FAILED_PRECONDITION, id});

  v1::CompleteWorkRequest complete;
  complete.set_technician_id(holder);
  complete.set_request_id(id);
  complete.add_materials_used()->set_sku("LAMP");
  cases.push_back({"CompleteWork with quantity 0", Make(s, &S::CompleteWork, complete),
                   Code::INVALID_ARGUMENT, "materials_used[0].quantity"});

  v1::PutOnHoldRequest hold;
  hold.set_technician_id(holder);
  hold.set_request_id(id);
  cases.push_back({"PutOnHold without reason", Make(s, &S::PutOnHold, hold),
                   Code::INVALID_ARGUMENT, "reason"});

  v1::GetTechnicianRequest get;
  cases.push_back({"GetTechnician without id", Make(s, &S::GetTechnician, get),
                   Code::INVALID_ARGUMENT, "technician_id: required"});
  get.set_technician_id("T-NOBODY");
  cases.push_back({"GetTechnician unknown", Make(s, &S::GetTechnician, get), Code::NOT_FOUND,
                   "T-NOBODY"});

  v1::ListTechniciansRequest list;
  list.set_zone_id("atlantis");
  cases.push_back({"ListTechnicians unknown zone", Make(s, &S::ListTechnicians, list),
                   Code::NOT_FOUND, "zone_id"});
  return cases;
}

std::vector<BadCall> BadInputTest::OtherServiceCases() {
  using A = v1::AlertService::Stub;
  using I = v1::InventoryService::Stub;
  using C = v1::ConsoleService::Stub;
  using D = v1::AdminService::Stub;
  std::vector<BadCall> cases;

  v1::RaiseAlertRequest raise;
  raise.set_zone_id("north");
  raise.set_kind("power_outage");
  cases.push_back({"RaiseAlert without key", Make(alerts_.get(), &A::RaiseAlert, raise),
                   Code::INVALID_ARGUMENT, "dedupe_key"});
  raise.set_dedupe_key("k1");
  raise.set_zone_id("atlantis");
  cases.push_back({"RaiseAlert unknown zone", Make(alerts_.get(), &A::RaiseAlert, raise),
                   Code::NOT_FOUND, "zone_id"});
  raise.set_zone_id("north");
  raise.set_severity(9);
  cases.push_back({"RaiseAlert severity 9", Make(alerts_.get(), &A::RaiseAlert, raise),
                   Code::INVALID_ARGUMENT, "severity"});
  v1::ResolveAlertRequest resolve;
  resolve.set_dedupe_key("never-raised");
  cases.push_back({"ResolveAlert unknown", Make(alerts_.get(), &A::ResolveAlert, resolve),
                   Code::NOT_FOUND, "dedupe_key"});

  v1::AdjustStockRequest adjust;
  adjust.set_depot_zone_id("north");
  adjust.set_sku("FUSE");
  adjust.set_reason("count");
  cases.push_back({"AdjustStock delta 0", Make(inventory_.get(), &I::AdjustStock, adjust),
                   Code::INVALID_ARGUMENT, "delta"});
  adjust.set_delta(-5);
  cases.push_back({"AdjustStock below zero", Make(inventory_.get(), &I::AdjustStock, adjust),
                   Code::FAILED_PRECONDITION, "below zero"});
  adjust.set_delta(5);
  adjust.clear_reason();
  cases.push_back({"AdjustStock without reason", Make(inventory_.get(), &I::AdjustStock, adjust),
                   Code::INVALID_ARGUMENT, "reason"});
  v1::GetStockRequest stock;
  stock.set_depot_zone_id("atlantis");
  cases.push_back({"GetStock unknown depot", Make(inventory_.get(), &I::GetStock, stock),
                   Code::NOT_FOUND, "depot_zone_id"});
  v1::ListShortagesRequest shortages;
  shortages.set_zone_id("atlantis");
  cases.push_back({"ListShortages unknown zone",
                   Make(inventory_.get(), &I::ListShortages, shortages), Code::NOT_FOUND,
                   "zone_id"});

  v1::GetBoardRequest board;
  board.set_zone_id("atlantis");
  cases.push_back({"GetBoard unknown zone", Make(console_.get(), &C::GetBoard, board),
                   Code::NOT_FOUND, "zone_id"});
  v1::ExplainAssignmentRequest explain;
  cases.push_back({"ExplainAssignment without id",
                   Make(console_.get(), &C::ExplainAssignment, explain),
                   Code::INVALID_ARGUMENT, "request_id: required"});
  explain.set_request_id("R-999999");
  cases.push_back({"ExplainAssignment unknown",
                   Make(console_.get(), &C::ExplainAssignment, explain), Code::NOT_FOUND,
                   "R-999999"});
  v1::GetStatsRequest stats;
  stats.set_technician_id("T-NOBODY");
  cases.push_back({"GetStats unknown technician", Make(console_.get(), &C::GetStats, stats),
                   Code::NOT_FOUND, "technician_id"});

  v1::UpsertZoneRequest zone;
  cases.push_back({"UpsertZone without id", Make(admin_.get(), &D::UpsertZone, zone),
                   Code::INVALID_ARGUMENT, "zone_id"});
  zone.set_zone_id("east");
  zone.add_neighbors()->set_zone_id("atlantis");
  zone.mutable_neighbors(0)->set_travel_minutes(5);
  cases.push_back({"UpsertZone unknown neighbour", Make(admin_.get(), &D::UpsertZone, zone),
                   Code::NOT_FOUND, "neighbors[0].zone_id"});
  v1::SetPolicyRequest policy;
  cases.push_back({"SetPolicy without policy", Make(admin_.get(), &D::SetPolicy, policy),
                   Code::INVALID_ARGUMENT, "policy: required"});
  policy.mutable_policy()->set_sla_minutes_emergency(15);
  cases.push_back({"SetPolicy with zero SLAs", Make(admin_.get(), &D::SetPolicy, policy),
                   Code::INVALID_ARGUMENT, "policy."});
  return cases;
}

TEST_F(BadInputTest, EveryUnaryMethodRejectsBadInputNamingTheFieldAndChangesNothing) {
  const std::string before = Observable();
  std::vector<BadCall> cases = RequestServiceCases();
  for (std::vector<BadCall> more : {TechnicianServiceCases(), OtherServiceCases()}) {
    cases.insert(cases.end(), more.begin(), more.end());
  }
  for (const BadCall& c : cases) {
    EXPECT_THAT(c.call(), StatusIs(c.code, c.mentions)) << c.what;
  }
  EXPECT_EQ(Observable(), before) << "a rejected call changed something";
}

TEST_F(BadInputTest, StreamsRejectBadInputNamingTheField) {
  auto unknown = WatchAssignments("T-NOBODY");
  EXPECT_THAT(unknown->Final().value_or(grpc::Status::OK),
              StatusIs(Code::NOT_FOUND, "technician_id"));
  auto empty = WatchAssignments("");
  EXPECT_THAT(empty->Final().value_or(grpc::Status::OK),
              StatusIs(Code::INVALID_ARGUMENT, "technician_id: required"));
  auto future = WatchEvents(1'000'000);
  EXPECT_THAT(future->Final().value_or(grpc::Status::OK),
              StatusIs(Code::OUT_OF_RANGE, "from_sequence"));
}

TEST_F(BadInputTest, MethodsWithoutInputFieldsAnswerAndChangeNothing) {
  const std::string before = Observable();
  v1::ListZonesResponse zones;
  EXPECT_TRUE(Call(admin_.get(), &v1::AdminService::Stub::ListZones, v1::ListZonesRequest(),
                   &zones).ok());
  EXPECT_EQ(zones.zones_size(), 2);
  v1::GetPolicyResponse policy;
  EXPECT_TRUE(Call(admin_.get(), &v1::AdminService::Stub::GetPolicy, v1::GetPolicyRequest(),
                   &policy).ok());
  EXPECT_GT(policy.policy().offer_timeout_seconds(), 0u);
  EXPECT_EQ(Observable(), before);
}

TEST_F(BadInputTest, OversizedMessageIsRejected) {
  v1::SubmitRequestRequest huge = LightRequest();
  huge.set_description(std::string(2 << 20, 'x'));  // Over the 1 MiB limit.
  v1::SubmitRequestResponse resp;
  EXPECT_EQ(Call(requests_.get(), &v1::RequestService::Stub::SubmitRequest, huge, &resp)
                .error_code(),
            Code::RESOURCE_EXHAUSTED);
}

}  // namespace
}  // namespace dispatchd::services::testing
