// The proto <-> engine codecs: every event kind survives engine -> proto ->
// engine unchanged (the journal will replay proto events through
// Engine::Apply), and API requests are validated where the wire can go wrong.
#include <set>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "engine/events.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/codec.h"
#include "services/event_codec.h"
#include "services/event_text.h"
#include "services/request_codec.h"

namespace dispatchd::services {
namespace {

namespace ev = engine::ev;
using ::testing::HasSubstr;

const absl::Time kT0 = absl::FromUnixSeconds(1'790'000'000) + absl::Nanoseconds(123'456'789);

engine::Decision SampleDecision() {
  engine::Decision d;
  d.rule = "zone-first";
  d.detail = "T-ELEC-02 is in the zone and least overqualified.";
  d.candidates = {{"T-ELEC-02", 0, 1, 100}, {"T-ELEC-01", 10, 2, 250}};
  d.exclusions = {{"T-PLUMB-01", "missing skill electrical"}};
  d.candidates_omitted = 3;
  d.exclusions_omitted = 7;
  return d;
}

engine::RequestSpec SampleSpec() {
  engine::RequestSpec s;
  s.idempotency_key = "key-1";
  s.zone_id = "north";
  s.location = "Library 101";
  s.category = "lighting";
  s.required_skills = {{"electrical", 2}, {"ladder", 1}};
  s.urgency = engine::Urgency::kUrgent;
  s.estimated_minutes = 45;
  s.materials = {{"LAMP-T8-18W", 4}};
  s.crew_size = 2;
  s.asset_tag = "ASSET-77";
  s.department = "Library";
  s.key_department = true;
  s.description = "Flickers";
  s.not_before = kT0 + absl::Hours(3);
  s.due_by = kT0 + absl::Hours(30);
  return s;
}

// One event of every kind, with every field set to something non-default.
std::vector<engine::EventKind> OneOfEachKind() {
  engine::Zone zone{"north", "North campus", {{"south", 10}, {"east", 25}}};
  engine::Policy policy;
  policy.offer_timeout_seconds = 300;
  policy.bundling_enabled = false;
  policy.on_call_technician_ids = {"T-1", "T-9"};
  policy.emergency_plans = {{"power_outage", 3, {{"electrical", 2}}, {{"GENSET-CABLE", 1}}}};
  policy.small_delivery_max_units = 6;
  policy.delivery_merge_minutes = 0;  // Off: an explicit 0 survives the trip.
  const std::vector<engine::SkillLevel> skills = {{"electrical", 3}, {"hvac", 1}};
  return {
      ev::ZoneUpserted{zone},
      ev::PolicySet{policy},
      ev::TechnicianRegistered{"T-1", "Ann", "north", skills},
      ev::TechnicianUpdated{"T-1", "Ann B.", "south", skills},
      ev::ShiftStarted{"T-1", "north"},
      ev::ShiftEnded{"T-1"},
      ev::LocationReported{"T-1", "south"},
      ev::RequestSubmitted{"R-000001", SampleSpec(), engine::RequestState::kScheduled,
                           kT0 + absl::Minutes(60), "bldg-7/power"},
      ev::RequestCancelled{"R-000001", "duplicate", "T-1"},
      ev::UrgencyChanged{"R-000001", engine::Urgency::kEmergency, kT0 + absl::Minutes(15),
                         "water spreading"},
      ev::RequestPromoted{"R-000001", engine::Urgency::kUrgent, "waited 240 min"},
      ev::OfferMade{"R-000001", "T-1", kT0 + absl::Seconds(120), SampleDecision()},
      ev::RequestAssigned{"R-000001", "T-2", "knows the building", "T-1", SampleDecision()},
      ev::OfferAccepted{"R-000001", "T-1"},
      ev::OfferDeclined{"R-000001", "T-1", "no ladder"},
      ev::OfferExpired{"R-000001", "T-1"},
      ev::OfferWithdrawn{"R-000001", "T-1", "shift ended"},
      ev::RequestRequeued{"R-000001", "T-1", "shift ended"},
      ev::WorkStarted{"R-000001", "T-1"},
      ev::WorkPutOnHold{"R-000001", "T-1", "waiting for parts"},
      ev::WorkCompleted{"R-000001", "T-1", false, {{"LAMP-T8-18W", 2}}, "needs rewiring"},
      ev::FeedbackRecorded{"R-000001", 4, "quick"},
      ev::StockAdjusted{"north", "LAMP-T8-18W", -3, 17, "used"},
      ev::AlertRaised{"bldg-7/power", "bms-12", "power_outage", 5, "R-000002"},
      ev::AlertResolved{"bldg-7/power", "R-000002", "power back"},
      ev::MaterialsReserved{"R-000001", {{"north", "LAMP-T8-18W", 2}, {"south", "FUSE", 1}},
                            "reserved at assignment"},
      ev::MaterialsAwaited{"R-000001", {{"LAMP-T8-18W", 1}}},
      ev::MaterialsConsumed{"R-000001", {{"north", "LAMP-T8-18W", 1}}},
      ev::RequestPreempted{"R-000001", "T-1", "R-000003", "preempted by emergency R-000003"},
      ev::RequestSubmitted{"R-000004", SampleSpec(), engine::RequestState::kQueued,
                           kT0 + absl::Minutes(15), "", "R-000003"},
      ev::ZoneSurgeStarted{"north", 12, 4, "queue of 12 reached the surge threshold 10"},
      ev::ZoneSurgeEnded{"north", 4, 1, "queue 4 and SLA-at-risk 1 are below half"},
      ev::ShiftRequested{"T-1", "north", "zone north is in surge"},
      ev::RequestsBundled{"R-000005", "R-000004", "T-1", "same place, quiet zone"},
      ev::DeliveryPlanned{"R-000006", "D-000002", "north", {{"LAMP-T8-18W", 2}}, false,
                          kT0 + absl::Minutes(30),
                          "merged with R-000005: same building, within 30 min"},
      ev::DeliveryDeparted{"D-000002", "window of 30 min closed: 2 job(s), 3 units"},
  };
}

TEST(EventCodecTest, EveryEventKindRoundTripsThroughProto) {
  std::set<size_t> kinds;
  std::set<int> proto_cases;
  uint64_t sequence = 0;
  for (engine::EventKind& kind : OneOfEachKind()) {
    engine::Event event{++sequence, kT0 + absl::Seconds(sequence), std::move(kind)};
    kinds.insert(event.kind.index());

    const ::dispatch::v1::Event proto = EventToProto(event);
    proto_cases.insert(proto.kind_case());
    absl::StatusOr<engine::Event> back = EventFromProto(proto);

    ASSERT_TRUE(back.ok()) << EventKindName(proto) << ": " << back.status();
    EXPECT_EQ(*back, event) << EventKindName(proto) << " changed in the round trip";
    EXPECT_THAT(EventLine(proto), HasSubstr(EventKindName(proto)));
  }
  EXPECT_EQ(kinds.size(), std::variant_size_v<engine::EventKind>) << "a kind is not covered";
  EXPECT_EQ(proto_cases.size(), kinds.size()) << "two kinds share a proto case";
}

TEST(EventCodecTest, RoundTripSurvivesSerialization) {
  engine::Event event{7, kT0, ev::OfferMade{"R-000009", "T-9", kT0, SampleDecision()}};
  std::string bytes;
  ASSERT_TRUE(EventToProto(event).SerializeToString(&bytes));
  ::dispatch::v1::Event parsed;
  ASSERT_TRUE(parsed.ParseFromString(bytes));
  absl::StatusOr<engine::Event> back = EventFromProto(parsed);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, event);
}

TEST(EventCodecTest, DecodingRejectsEventsTheEngineCannotApply) {
  ::dispatch::v1::Event no_kind;
  no_kind.set_sequence(1);
  EXPECT_THAT(EventFromProto(no_kind).status().message(), HasSubstr("no kind"));

  ::dispatch::v1::Event bad_urgency;
  bad_urgency.mutable_urgency_changed()->set_request_id("R-1");
  EXPECT_THAT(EventFromProto(bad_urgency).status().message(),
              HasSubstr("urgency_changed.urgency: required"));

  ::dispatch::v1::Event bad_time;
  bad_time.mutable_time()->set_nanos(-1);
  bad_time.mutable_shift_ended()->set_technician_id("T-1");
  EXPECT_THAT(EventFromProto(bad_time).status().message(), HasSubstr("time: invalid"));
}

TEST(EventTextTest, OfferLineShowsWhoWhyAndCost) {
  engine::Event event{12, kT0, ev::OfferMade{"R-000004", "T-ELEC-02", kT0, SampleDecision()}};
  EXPECT_EQ(EventLine(EventToProto(event)),
            "#12 OfferMade R-000004 -> T-ELEC-02 [zone-first] 0 min, overqual 1");
}

TEST(RequestCodecTest, UnsetUrgencyIsRejectedNamingTheField) {
  ::dispatch::v1::SubmitRequestRequest req;
  req.set_zone_id("north");
  absl::StatusOr<engine::Command> c = ToCommand(req);
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(c.status().message(), "urgency: required");

  req.set_urgency(static_cast<::dispatch::v1::Urgency>(42));
  EXPECT_EQ(ToCommand(req).status().message(), "urgency: unknown value 42");
}

TEST(RequestCodecTest, MalformedTimestampIsRejectedNamingTheField) {
  ::dispatch::v1::SubmitRequestRequest req;
  req.set_urgency(::dispatch::v1::URGENCY_LOW);
  req.mutable_due_by()->set_nanos(2'000'000'000);
  EXPECT_THAT(ToCommand(req).status().message(), HasSubstr("due_by: invalid timestamp"));
  req.clear_due_by();
  req.mutable_not_before()->set_seconds(-99'999'999'999);
  EXPECT_THAT(ToCommand(req).status().message(), HasSubstr("not_before: invalid timestamp"));
}

TEST(RequestCodecTest, DocumentedDefaultsAreFilledIn) {
  ::dispatch::v1::SubmitRequestRequest req;
  req.set_urgency(::dispatch::v1::URGENCY_NORMAL);
  req.add_required_skills()->set_skill("plumbing");  // min_level 0 -> 1.
  absl::StatusOr<engine::Command> c = ToCommand(req);
  ASSERT_TRUE(c.ok()) << c.status();
  const auto& submit = std::get<engine::cmd::SubmitRequest>(*c);
  EXPECT_EQ(submit.spec.crew_size, 1u);
  EXPECT_EQ(submit.spec.required_skills[0].level, 1u);
}

TEST(RequestCodecTest, PageSizeIsLimited) {
  ::dispatch::v1::ListRequestsRequest req;
  EXPECT_EQ(ToQuery(req)->page_size, kDefaultPageSize);
  req.set_page_size(1001);
  EXPECT_THAT(ToQuery(req).status().message(), HasSubstr("page_size: at most 1000"));
}

TEST(StatusCodecTest, AbslCodesMapOneToOneToGrpc) {
  for (int code = 0; code <= 16; ++code) {
    const absl::Status s(static_cast<absl::StatusCode>(code), code == 0 ? "" : "why");
    const grpc::Status g = ToGrpcStatus(s);
    EXPECT_EQ(static_cast<int>(g.error_code()), code);
    EXPECT_EQ(g.error_message(), std::string(s.message()));
  }
}

}  // namespace
}  // namespace dispatchd::services
