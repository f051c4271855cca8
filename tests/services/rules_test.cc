// The office's rule book over real loopback gRPC: materials reserved at
// assignment, a job short of stock waiting on hold (visible on the board,
// in ListShortages and in ExplainAssignment) and served when AdjustStock
// brings stock; emergencies preempting the nearest technician on less
// urgent work and assembling a crew across zones; an asset's maintenance
// history; a zone entering surge (an on-call technician asked on their
// stream to start a shift, a waiting job sent across zones); two low jobs
// in the same building bundled into one visit; small deliveries to one
// building merged (ListDeliveries, ExplainAssignment) and the delivery
// policy knobs validated.
#include <memory>
#include <string>
#include <vector>

#include "engine/model.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/codec.h"
#include "tests/services/test_server.h"

namespace dispatchd::services::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::SizeIs;

class RulesTest : public ServerTest {
 protected:
  void AdjustStockOk(const std::string& depot, const std::string& sku, int64_t delta) {
    v1::AdjustStockRequest req;
    req.set_depot_zone_id(depot);
    req.set_sku(sku);
    req.set_delta(delta);
    req.set_reason("delivery");
    v1::AdjustStockResponse resp;
    grpc::Status st = Call(inventory_.get(), &v1::InventoryService::Stub::AdjustStock, req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }

  v1::StockLevel Level(const std::string& depot, const std::string& sku) {
    v1::GetStockRequest req;
    req.set_depot_zone_id(depot);
    req.set_sku(sku);
    v1::GetStockResponse resp;
    EXPECT_TRUE(Call(inventory_.get(), &v1::InventoryService::Stub::GetStock, req, &resp).ok());
    return resp.levels().empty() ? v1::StockLevel() : resp.levels(0);
  }

  v1::Request SubmitWithLamp(v1::Urgency urgency, const std::string& asset_tag = "") {
    v1::SubmitRequestRequest req = LightRequest();
    req.set_urgency(urgency);
    req.set_asset_tag(asset_tag);
    v1::MaterialLine* m = req.add_materials();
    m->set_sku("LAMP");
    m->set_quantity(1);
    return Submit(req);
  }

  grpc::Status Accept(const std::string& tech, const std::string& request_id) {
    v1::AcceptAssignmentRequest req;
    req.set_technician_id(tech);
    req.set_request_id(request_id);
    v1::AcceptAssignmentResponse resp;
    return Call(technicians_.get(), &v1::TechnicianService::Stub::AcceptAssignment, req, &resp);
  }

  void StartAndComplete(const std::string& tech, const std::string& request_id,
                        uint32_t lamps_used, bool resolved, const std::string& notes) {
    v1::StartWorkRequest start;
    start.set_technician_id(tech);
    start.set_request_id(request_id);
    v1::StartWorkResponse started;
    grpc::Status st =
        Call(technicians_.get(), &v1::TechnicianService::Stub::StartWork, start, &started);
    ASSERT_TRUE(st.ok()) << st.error_message();
    v1::CompleteWorkRequest done;
    done.set_technician_id(tech);
    done.set_request_id(request_id);
    done.set_resolved(resolved);
    done.set_notes(notes);
    if (lamps_used > 0) {
      v1::MaterialLine* m = done.add_materials_used();
      m->set_sku("LAMP");
      m->set_quantity(lamps_used);
    }
    v1::CompleteWorkResponse completed;
    st = Call(technicians_.get(), &v1::TechnicianService::Stub::CompleteWork, done, &completed);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }
};

TEST_F(RulesTest, UrgentJobWinsTheLastLampAndTheOtherIsServedWhenStockArrives) {
  SetUpCampus(/*start_shifts=*/false);
  AdjustStockOk("south", "LAMP", 1);
  const v1::Request normal = SubmitWithLamp(v1::URGENCY_NORMAL);
  const v1::Request urgent = SubmitWithLamp(v1::URGENCY_URGENT);
  std::unique_ptr<AssignmentWatcher> stream = WatchAssignments("T-ELEC-01");
  StartShift("T-ELEC-01");
  ASSERT_EQ(GetRequest(urgent.request_id()).technician_id(), "T-ELEC-01");  // Urgent first.
  ASSERT_TRUE(Accept("T-ELEC-01", urgent.request_id()).ok());
  const v1::Request won = GetRequest(urgent.request_id());
  ASSERT_THAT(won.reserved_materials(), SizeIs(1));
  EXPECT_EQ(won.reserved_materials(0).depot_zone_id(), "south");  // The only depot with stock.
  EXPECT_EQ(Level("south", "LAMP").reserved(), 1);
  StartAndComplete("T-ELEC-01", urgent.request_id(), 0, true, "new lamp");
  EXPECT_EQ(Level("south", "LAMP").on_hand(), 0);

  // The loser goes on hold waiting for stock, visible everywhere.
  ASSERT_EQ(GetRequest(normal.request_id()).technician_id(), "T-ELEC-01");
  ASSERT_TRUE(Accept("T-ELEC-01", normal.request_id()).ok());
  const v1::Request waiting = GetRequest(normal.request_id());
  EXPECT_EQ(waiting.state(), v1::REQUEST_STATE_ON_HOLD);
  EXPECT_TRUE(waiting.awaiting_stock());
  std::optional<v1::AssignmentUpdate> held = stream->NextMatching([&](const auto& u) {
    return u.change() == v1::ASSIGNMENT_CHANGE_ON_HOLD &&
           u.request().request_id() == normal.request_id();
  });
  ASSERT_TRUE(held.has_value());
  EXPECT_THAT(held->reason(), HasSubstr("waiting for stock"));
  v1::ListShortagesResponse shortages;
  ASSERT_TRUE(Call(inventory_.get(), &v1::InventoryService::Stub::ListShortages,
                   v1::ListShortagesRequest(), &shortages)
                  .ok());
  ASSERT_THAT(shortages.shortages(), SizeIs(1));
  EXPECT_EQ(shortages.shortages(0).request_id(), normal.request_id());
  bool on_board = false;
  const v1::GetBoardResponse board = Board();
  for (const v1::ZoneBoard& z : board.zones()) on_board |= z.shortages_size() == 1;
  EXPECT_TRUE(on_board);
  v1::ExplainAssignmentRequest explain;
  explain.set_request_id(normal.request_id());
  v1::ExplainAssignmentResponse why;
  ASSERT_TRUE(
      Call(console_.get(), &v1::ConsoleService::Stub::ExplainAssignment, explain, &why).ok());
  EXPECT_THAT(why.waiting_reason(), HasSubstr("waiting for stock"));

  AdjustStockOk("north", "LAMP", 3);
  const v1::Request served = GetRequest(normal.request_id());
  EXPECT_EQ(served.state(), v1::REQUEST_STATE_ASSIGNED);
  EXPECT_FALSE(served.awaiting_stock());
  EXPECT_EQ(Level("north", "LAMP").reserved(), 1);
  std::optional<v1::AssignmentUpdate> back = stream->NextMatching([&](const auto& u) {
    return u.change() == v1::ASSIGNMENT_CHANGE_ASSIGNED &&
           u.request().request_id() == normal.request_id();
  });
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->decision().rule(), "materials: stock arrived");
}

TEST_F(RulesTest, RemovingReservedStockIsRefusedAndChangesNothing) {
  SetUpCampus();
  AdjustStockOk("north", "LAMP", 1);
  const v1::Request r = SubmitWithLamp(v1::URGENCY_NORMAL);
  ASSERT_TRUE(Accept(GetRequest(r.request_id()).technician_id(), r.request_id()).ok());
  v1::AdjustStockRequest req;
  req.set_depot_zone_id("north");
  req.set_sku("LAMP");
  req.set_delta(-1);
  req.set_reason("broken");
  v1::AdjustStockResponse resp;
  EXPECT_THAT(Call(inventory_.get(), &v1::InventoryService::Stub::AdjustStock, req, &resp),
              StatusIs(grpc::StatusCode::FAILED_PRECONDITION, "reserved"));
  EXPECT_EQ(Level("north", "LAMP").on_hand(), 1);
  EXPECT_EQ(Level("north", "LAMP").reserved(), 1);
}

TEST_F(RulesTest, EmergencyCrewOfThreeAcrossZonesPreemptsAndIsResolvedOnce) {
  UpsertZone("north");
  UpsertZone("south", "north", 10);
  UpsertZone("east", "north", 20);
  engine::Policy policy;
  policy.max_preemptions_per_job = 1;
  policy.emergency_plans = {{"power_outage", 3, {{"electrical", 2}}, {{"GENSET-CABLE", 1}}}};
  v1::SetPolicyRequest set;
  PolicyToProto(policy, set.mutable_policy());
  v1::SetPolicyResponse set_resp;
  ASSERT_TRUE(Call(admin_.get(), &v1::AdminService::Stub::SetPolicy, set, &set_resp).ok());
  ASSERT_THAT(set_resp.policy().emergency_plans(), SizeIs(1));
  AdjustStockOk("north", "GENSET-CABLE", 2);
  Register("T-NORTH", "north", "electrical", 3);
  Register("T-SOUTH", "south", "electrical", 3);
  Register("T-EAST", "east", "electrical", 3);
  for (const char* t : {"T-NORTH", "T-SOUTH", "T-EAST"}) StartShift(t);
  // T-EAST is busy on an ordinary job in its own zone.
  v1::SubmitRequestRequest ordinary = LightRequest();
  ordinary.set_zone_id("east");
  const v1::Request job = Submit(ordinary);
  ASSERT_EQ(GetRequest(job.request_id()).technician_id(), "T-EAST");
  ASSERT_TRUE(Accept("T-EAST", job.request_id()).ok());
  std::unique_ptr<AssignmentWatcher> east = WatchAssignments("T-EAST");

  v1::RaiseAlertRequest raise;
  raise.set_dedupe_key("north/power/1");
  raise.set_source("bms");
  raise.set_kind("power_outage");
  raise.set_zone_id("north");
  raise.set_severity(5);
  v1::RaiseAlertResponse raised;
  ASSERT_TRUE(Call(alerts_.get(), &v1::AlertService::Stub::RaiseAlert, raise, &raised).ok());
  const v1::Request& lead = raised.request();
  EXPECT_EQ(lead.crew_size(), 3u);
  ASSERT_THAT(lead.crew_request_ids(), SizeIs(2));
  ASSERT_THAT(lead.reserved_materials(), SizeIs(1));  // Backup materials, at once.
  EXPECT_EQ(Level("north", "GENSET-CABLE").reserved(), 1);
  EXPECT_EQ(GetRequest(lead.request_id()).technician_id(), "T-NORTH");
  EXPECT_EQ(GetRequest(lead.crew_request_ids(0)).technician_id(), "T-SOUTH");
  const v1::Request third = GetRequest(lead.crew_request_ids(1));
  EXPECT_EQ(third.technician_id(), "T-EAST");
  EXPECT_EQ(third.state(), v1::REQUEST_STATE_ASSIGNED);
  const v1::Request bumped = GetRequest(job.request_id());
  EXPECT_EQ(bumped.state(), v1::REQUEST_STATE_QUEUED);
  EXPECT_EQ(bumped.preemptions(), 1u);
  EXPECT_EQ(bumped.preempted_by(), third.request_id());
  std::optional<v1::AssignmentUpdate> preempted = east->NextMatching([&](const auto& u) {
    return u.change() == v1::ASSIGNMENT_CHANGE_PREEMPTED &&
           u.request().request_id() == job.request_id();
  });
  ASSERT_TRUE(preempted.has_value());
  EXPECT_THAT(preempted->reason(), HasSubstr(third.request_id()));
  ASSERT_TRUE(east->NextMatching([&](const auto& u) {
                    return u.change() == v1::ASSIGNMENT_CHANGE_ASSIGNED &&
                           u.request().request_id() == third.request_id();
                  }).has_value());
  v1::ExplainAssignmentRequest explain;
  explain.set_request_id(third.request_id());
  v1::ExplainAssignmentResponse why;
  ASSERT_TRUE(
      Call(console_.get(), &v1::ConsoleService::Stub::ExplainAssignment, explain, &why).ok());
  EXPECT_EQ(why.decision().rule(), "emergency: preemption");
  explain.set_request_id(job.request_id());
  ASSERT_TRUE(
      Call(console_.get(), &v1::ConsoleService::Stub::ExplainAssignment, explain, &why).ok());
  EXPECT_THAT(why.waiting_reason(), HasSubstr("preempted by emergency " + third.request_id()));

  // GetStats counts the bump and reports SLA hits per urgency, most urgent first.
  v1::GetStatsResponse stats;
  ASSERT_TRUE(Call(console_.get(), &v1::ConsoleService::Stub::GetStats, v1::GetStatsRequest(),
                   &stats)
                  .ok());
  EXPECT_EQ(stats.site().preemptions(), 1u);
  ASSERT_THAT(stats.site().sla_by_urgency(), SizeIs(4));
  EXPECT_EQ(stats.site().sla_by_urgency(0).urgency(), v1::URGENCY_EMERGENCY);
  EXPECT_EQ(stats.site().sla_by_urgency(0).accepted(), 1u);  // The preempting assignment.
  EXPECT_DOUBLE_EQ(stats.site().sla_by_urgency(0).sla_hit_rate(), 1.0);

  // The same key: the same emergency, nothing new.
  v1::RaiseAlertResponse again;
  ASSERT_TRUE(Call(alerts_.get(), &v1::AlertService::Stub::RaiseAlert, raise, &again).ok());
  EXPECT_TRUE(again.duplicate());
  EXPECT_EQ(again.request_id(), lead.request_id());

  v1::ResolveAlertRequest resolve;
  resolve.set_dedupe_key("north/power/1");
  resolve.set_note("grid back");
  v1::ResolveAlertResponse resolved;
  ASSERT_TRUE(
      Call(alerts_.get(), &v1::AlertService::Stub::ResolveAlert, resolve, &resolved).ok());
  EXPECT_EQ(GetRequest(third.request_id()).state(), v1::REQUEST_STATE_CANCELLED);
  EXPECT_EQ(GetRequest(job.request_id()).technician_id(), "T-EAST");  // Back to it.
  EXPECT_EQ(Level("north", "GENSET-CABLE").reserved(), 0);
}

TEST_F(RulesTest, SurgeAsksOnCallTechnicianAndSendsWaitingJobAcrossZones) {
  UpsertZone("north");
  UpsertZone("south", "north", 10);
  engine::Policy policy;
  policy.surge_queue_threshold = 3;
  policy.surge_at_risk_threshold = 0;
  policy.on_call_technician_ids = {"T-ONCALL"};
  v1::SetPolicyRequest set;
  PolicyToProto(policy, set.mutable_policy());
  v1::SetPolicyResponse set_resp;
  ASSERT_TRUE(Call(admin_.get(), &v1::AdminService::Stub::SetPolicy, set, &set_resp).ok());
  ASSERT_THAT(set_resp.policy().on_call_technician_ids(), SizeIs(1));
  Register("T-NORTH", "north", "electrical", 3);
  Register("T-SOUTH", "south", "electrical", 3);
  Register("T-ONCALL", "north", "electrical", 3);  // On call, off shift.
  StartShift("T-NORTH");
  StartShift("T-SOUTH");
  std::unique_ptr<AssignmentWatcher> on_call = WatchAssignments("T-ONCALL");
  const v1::Request first = Submit(LightRequest());
  ASSERT_TRUE(Accept("T-NORTH", first.request_id()).ok());
  // T-NORTH is expected free within the SLA: the next jobs wait for them.
  const v1::Request second = Submit(LightRequest());
  EXPECT_EQ(GetRequest(second.request_id()).technician_id(), "");
  Submit(LightRequest());
  v1::GetBoardRequest board_req;
  board_req.set_zone_id("north");
  v1::GetBoardResponse board;
  ASSERT_TRUE(Call(console_.get(), &v1::ConsoleService::Stub::GetBoard, board_req, &board).ok());
  EXPECT_FALSE(board.zones(0).in_surge());

  Submit(LightRequest());  // Three queued: north enters surge.
  std::optional<v1::AssignmentUpdate> asked = on_call->NextMatching([](const auto& u) {
    return u.change() == v1::ASSIGNMENT_CHANGE_SHIFT_REQUESTED;
  });
  ASSERT_TRUE(asked.has_value());
  EXPECT_THAT(asked->reason(), HasSubstr("zone north is in surge"));
  EXPECT_EQ(asked->request().request_id(), "");
  EXPECT_EQ(GetRequest(second.request_id()).technician_id(), "T-SOUTH");
  v1::ExplainAssignmentRequest explain;
  explain.set_request_id(second.request_id());
  v1::ExplainAssignmentResponse why;
  ASSERT_TRUE(
      Call(console_.get(), &v1::ConsoleService::Stub::ExplainAssignment, explain, &why).ok());
  EXPECT_EQ(why.decision().rule(), "cross-zone: surge");
  EXPECT_THAT(why.decision().detail(), HasSubstr("Zone north is in surge"));
  ASSERT_TRUE(Call(console_.get(), &v1::ConsoleService::Stub::GetBoard, board_req, &board).ok());
  EXPECT_TRUE(board.zones(0).in_surge());
  EXPECT_EQ(board.zones(0).queued_total(), 2u);
}

TEST_F(RulesTest, TwoLowJobsInTheSameBuildingAreBundled) {
  UpsertZone("north");
  Register("T-NORTH", "north", "electrical", 3);
  StartShift("T-NORTH");
  v1::SubmitRequestRequest low = LightRequest();
  low.set_urgency(v1::URGENCY_LOW);
  const v1::Request first = Submit(low);
  ASSERT_EQ(GetRequest(first.request_id()).technician_id(), "T-NORTH");
  v1::SubmitRequestRequest elsewhere = low;
  elsewhere.set_location("Gym");
  const v1::Request gym = Submit(elsewhere);  // Older, but another building.
  const v1::Request same = Submit(low);       // Library, room 101 again.
  ASSERT_TRUE(Accept("T-NORTH", first.request_id()).ok());
  std::unique_ptr<AssignmentWatcher> tech = WatchAssignments("T-NORTH");
  StartAndComplete("T-NORTH", first.request_id(), 0, true, "bulb");
  std::optional<v1::AssignmentUpdate> offer = tech->NextMatching([&](const auto& u) {
    return u.change() == v1::ASSIGNMENT_CHANGE_OFFERED &&
           u.request().request_id() == same.request_id();
  });
  ASSERT_TRUE(offer.has_value());
  EXPECT_EQ(offer->decision().rule(), "bundle");
  EXPECT_EQ(GetRequest(gym.request_id()).technician_id(), "");
  v1::ExplainAssignmentRequest explain;
  explain.set_request_id(same.request_id());
  v1::ExplainAssignmentResponse why;
  ASSERT_TRUE(
      Call(console_.get(), &v1::ConsoleService::Stub::ExplainAssignment, explain, &why).ok());
  EXPECT_EQ(why.decision().rule(), "bundle");
  EXPECT_THAT(why.decision().detail(), HasSubstr("Bundled with " + first.request_id()));
}

TEST_F(RulesTest, SmallDeliveriesToOneBuildingMergeAndLeaveWhenTheWindowCloses) {
  SetUpCampus();
  AdjustStockOk("north", "LAMP", 10);
  const v1::Request first = SubmitWithLamp(v1::URGENCY_NORMAL);
  const v1::Request second = SubmitWithLamp(v1::URGENCY_NORMAL);  // Same building.
  ASSERT_TRUE(Accept(GetRequest(first.request_id()).technician_id(), first.request_id()).ok());
  AdvanceAndTick(absl::Minutes(1));
  ASSERT_TRUE(Accept(GetRequest(second.request_id()).technician_id(), second.request_id()).ok());

  v1::ListDeliveriesRequest list;
  list.set_zone_id("north");
  v1::ListDeliveriesResponse open;
  ASSERT_TRUE(
      Call(inventory_.get(), &v1::InventoryService::Stub::ListDeliveries, list, &open).ok());
  ASSERT_THAT(open.deliveries(), SizeIs(1));
  const v1::Delivery& d = open.deliveries(0);
  EXPECT_EQ(d.delivery_id(), "D-000001");
  EXPECT_EQ(d.state(), v1::DELIVERY_STATE_OPEN);
  EXPECT_EQ(d.depot_zone_id(), "north");
  EXPECT_EQ(d.location(), "Library, room 101");
  EXPECT_THAT(d.request_ids(), ::testing::ElementsAre(first.request_id(), second.request_id()));
  EXPECT_EQ(d.units(), 2u);
  ASSERT_THAT(d.lines(), SizeIs(1));
  EXPECT_EQ(d.lines(0).quantity(), 2u);
  EXPECT_EQ(d.departs_at().seconds() - d.opened_at().seconds(), 30 * 60);
  EXPECT_THAT(d.shipments(1).reason(), HasSubstr("merged with " + first.request_id()));
  EXPECT_THAT(GetRequest(second.request_id()).delivery_ids(),
              ::testing::ElementsAre("D-000001"));

  v1::ExplainAssignmentRequest explain;
  explain.set_request_id(second.request_id());
  v1::ExplainAssignmentResponse why;
  ASSERT_TRUE(
      Call(console_.get(), &v1::ConsoleService::Stub::ExplainAssignment, explain, &why).ok());
  ASSERT_THAT(why.deliveries(), SizeIs(1));
  EXPECT_THAT(why.deliveries(0), HasSubstr("D-000001 from depot north"));
  EXPECT_THAT(why.deliveries(0), HasSubstr("with " + first.request_id()));

  // The window closes: it leaves, and is listed as departed.
  AdvanceAndTick(absl::Minutes(29));
  list.set_state(v1::DELIVERY_STATE_DEPARTED);
  v1::ListDeliveriesResponse departed;
  ASSERT_TRUE(
      Call(inventory_.get(), &v1::InventoryService::Stub::ListDeliveries, list, &departed).ok());
  ASSERT_THAT(departed.deliveries(), SizeIs(1));
  EXPECT_THAT(departed.deliveries(0).departure_reason(), HasSubstr("window of 30 min closed"));

  // Filters: another building has none; an unknown zone or state is refused.
  list.set_location("Gym");
  v1::ListDeliveriesResponse none;
  ASSERT_TRUE(
      Call(inventory_.get(), &v1::InventoryService::Stub::ListDeliveries, list, &none).ok());
  EXPECT_THAT(none.deliveries(), ::testing::IsEmpty());
  list.set_zone_id("atlantis");
  EXPECT_EQ(Call(inventory_.get(), &v1::InventoryService::Stub::ListDeliveries, list, &none)
                .error_code(),
            grpc::StatusCode::NOT_FOUND);
  list.set_zone_id("");
  list.set_state(static_cast<v1::DeliveryState>(9));
  EXPECT_EQ(Call(inventory_.get(), &v1::InventoryService::Stub::ListDeliveries, list, &none)
                .error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(RulesTest, DeliveryPolicyKnobsAreValidatedAndDefaultWhenUnset) {
  v1::GetPolicyResponse current;
  ASSERT_TRUE(Call(admin_.get(), &v1::AdminService::Stub::GetPolicy, v1::GetPolicyRequest(),
                   &current)
                  .ok());
  EXPECT_EQ(current.policy().small_delivery_max_units(), 10u);
  EXPECT_EQ(current.policy().delivery_merge_minutes(), 30u);
  v1::SetPolicyRequest set;
  *set.mutable_policy() = current.policy();
  set.mutable_policy()->set_small_delivery_max_units(0);
  v1::SetPolicyResponse resp;
  grpc::Status st = Call(admin_.get(), &v1::AdminService::Stub::SetPolicy, set, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(st.error_message(), HasSubstr("small_delivery_max_units"));
  set.mutable_policy()->set_small_delivery_max_units(4);
  set.mutable_policy()->set_delivery_merge_minutes(100000);
  st = Call(admin_.get(), &v1::AdminService::Stub::SetPolicy, set, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  set.mutable_policy()->set_delivery_merge_minutes(0);
  ASSERT_TRUE(Call(admin_.get(), &v1::AdminService::Stub::SetPolicy, set, &resp).ok());
  EXPECT_EQ(resp.policy().small_delivery_max_units(), 4u);
  EXPECT_EQ(resp.policy().delivery_merge_minutes(), 0u);
  // A policy written before the knobs existed gets their defaults.
  set.mutable_policy()->clear_small_delivery_max_units();
  set.mutable_policy()->clear_delivery_merge_minutes();
  ASSERT_TRUE(Call(admin_.get(), &v1::AdminService::Stub::SetPolicy, set, &resp).ok());
  EXPECT_EQ(resp.policy().small_delivery_max_units(), 10u);
  EXPECT_EQ(resp.policy().delivery_merge_minutes(), 30u);
}

TEST_F(RulesTest, AssetHistoryAfterThreeRepairs) {
  SetUpCampus();
  AdjustStockOk("north", "LAMP", 10);
  const char* const notes[] = {"flicker, loose socket", "replaced ballast", "lamp swapped"};
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    const v1::Request r = SubmitWithLamp(v1::URGENCY_NORMAL, "LIB-101-L3");
    const std::string tech = GetRequest(r.request_id()).technician_id();
    ASSERT_TRUE(Accept(tech, r.request_id()).ok());
    AdvanceAndTick(absl::Minutes(20));
    StartAndComplete(tech, r.request_id(), i + 1, i != 0, notes[i]);
    ids.push_back(r.request_id());
    AdvanceAndTick(absl::Hours(2));
  }
  v1::GetAssetHistoryRequest req;
  req.set_asset_tag("LIB-101-L3");
  v1::GetAssetHistoryResponse resp;
  ASSERT_TRUE(Call(console_.get(), &v1::ConsoleService::Stub::GetAssetHistory, req, &resp).ok());
  EXPECT_EQ(resp.asset_tag(), "LIB-101-L3");
  ASSERT_THAT(resp.repairs(), SizeIs(3));
  for (int i = 0; i < 3; ++i) {
    const v1::AssetRepair& r = resp.repairs(i);
    EXPECT_EQ(r.request_id(), ids[i]);
    EXPECT_THAT(r.technician_id(), HasSubstr("T-ELEC-0"));
    EXPECT_EQ(r.category(), "lighting");
    EXPECT_EQ(r.notes(), notes[i]);
    EXPECT_EQ(r.resolved(), i != 0);
    ASSERT_THAT(r.materials_used(), SizeIs(1));
    EXPECT_EQ(r.materials_used(0).quantity(), static_cast<uint32_t>(i + 1));
    if (i > 0) {
      EXPECT_GT(r.completed_at().seconds(), resp.repairs(i - 1).completed_at().seconds());
    }
  }
  EXPECT_EQ(Level("north", "LAMP").on_hand(), 10 - 1 - 2 - 3);

  v1::GetAssetHistoryRequest empty;
  EXPECT_THAT(Call(console_.get(), &v1::ConsoleService::Stub::GetAssetHistory, empty, &resp),
              StatusIs(grpc::StatusCode::INVALID_ARGUMENT, "asset_tag"));
}

}  // namespace
}  // namespace dispatchd::services::testing
