// State is the fold of events: a fresh engine that applies the same events
// answers every query identically. Also a randomized run that checks the
// technician <-> request invariants after every command.
#include "tests/engine/random_commands.h"
#include "tests/engine/test_util.h"

namespace dispatchd::engine::testing {
namespace {

using ::testing::IsEmpty;

// Checks that technicians and requests agree about who holds what.
void CheckInvariants(const Engine& engine) {
  std::vector<const Request*> all;
  std::string token;
  do {
    auto page = engine.ListRequests({}, token, 1000);
    all.insert(all.end(), page->requests.begin(), page->requests.end());
    token = page->next_page_token;
  } while (!token.empty());
  for (const Technician* t : engine.ListTechnicians("")) {
    const bool busy = t->state == TechnicianState::kOffered ||
                      t->state == TechnicianState::kAssigned ||
                      t->state == TechnicianState::kWorking;
    ASSERT_EQ(busy, !t->request_id.empty()) << t->technician_id;
    if (busy) {
      const Request* r = engine.FindRequest(t->request_id);
      ASSERT_NE(r, nullptr);
      EXPECT_EQ(r->technician_id, t->technician_id);
      const RequestState want = t->state == TechnicianState::kOffered ? RequestState::kOffered
                                : t->state == TechnicianState::kAssigned
                                    ? RequestState::kAssigned
                                    : RequestState::kInProgress;
      EXPECT_EQ(r->state, want) << r->request_id;
    }
    for (const std::string& id : t->on_hold_request_ids) {
      const Request* r = engine.FindRequest(id);
      ASSERT_NE(r, nullptr);
      EXPECT_EQ(r->state, RequestState::kOnHold);
      EXPECT_EQ(r->technician_id, t->technician_id);
    }
  }
  uint32_t open = 0, queued = 0;
  for (const Request* r : all) {
    open += IsOpen(r->state);
    const Technician* t = engine.FindTechnician(r->technician_id);
    switch (r->state) {
      case RequestState::kOffered:
      case RequestState::kAssigned:
      case RequestState::kInProgress:
        ASSERT_NE(t, nullptr) << r->request_id;
        EXPECT_EQ(t->request_id, r->request_id);
        break;
      case RequestState::kOnHold:
        ASSERT_NE(t, nullptr);
        EXPECT_THAT(t->on_hold_request_ids, ::testing::Contains(r->request_id));
        break;
      case RequestState::kQueued: {
        ++queued;
        EXPECT_EQ(r->technician_id, "");
        // Zone first: no free local technician who could do it is idle.
        for (const Technician* local : engine.ListTechnicians(r->spec.zone_id)) {
          if (local->state != TechnicianState::kAvailable) continue;
          bool covers = true;
          for (const SkillLevel& need : r->spec.required_skills) {
            bool has = false;
            for (const SkillLevel& s : local->skills) {
              has |= s.skill == need.skill && s.level >= need.level;
            }
            covers &= has;
          }
          const bool declined =
              std::count(r->declined_by.begin(), r->declined_by.end(), local->technician_id);
          EXPECT_FALSE(covers && !declined)
              << r->request_id << " idle local " << local->technician_id;
        }
        break;
      }
      default:
        break;
    }
  }
  EXPECT_EQ(engine.GetStats("", "")->site.open, open);
  EXPECT_EQ(engine.GetStats("", "")->site.submitted, all.size());
  uint32_t board_queued = 0;
  const absl::StatusOr<std::vector<ZoneBoard>> boards = engine.GetBoard("");
  const Policy& policy = engine.policy();
  auto reached = [](uint32_t count, uint32_t threshold) {
    return threshold > 0 && count >= threshold;
  };
  auto at_least_half = [](uint32_t count, uint32_t threshold) {
    return threshold > 0 && uint64_t{count} * 2 >= threshold;
  };
  for (const ZoneBoard& b : *boards) {
    for (uint32_t c : b.queued_counts) board_queued += c;
    // Surge settles after every command: a zone at a threshold is in
    // surge; one in surge has a count at half a threshold or more.
    if (b.in_surge) {
      EXPECT_TRUE(at_least_half(b.queued_total, policy.surge_queue_threshold) ||
                  at_least_half(b.at_risk, policy.surge_at_risk_threshold))
          << b.zone->zone_id;
    } else {
      EXPECT_FALSE(reached(b.queued_total, policy.surge_queue_threshold) ||
                   reached(b.at_risk, policy.surge_at_risk_threshold))
          << b.zone->zone_id;
    }
  }
  EXPECT_EQ(board_queued, queued);
}

class ReplayTest : public EngineTest {};

TEST_F(ReplayTest, ScriptedDayReplaysToIdenticalState) {
  Zone("A");
  Zone("B", {{"A", 10}});
  Zone("C", {{"B", 15}});
  Zone("A", {{"B", 12}});  // Replace, keep symmetric.
  Policy p;
  p.aging_promote_minutes = 90;
  Do(cmd::SetPolicy{p});
  Tech("E1", "A", "electrical:3");
  Tech("E2", "B", "electrical:1,hvac:2");
  Tech("P1", "C", "plumbing:2");
  Tech("Off", "A", "painting:1", false);
  Do(cmd::AdjustStock{"A", "LAMP", 6, "delivery"});
  RequestSpec spec = Spec("A", "electrical:1");
  spec.materials = {{"LAMP", 6}};
  spec.idempotency_key = "k1";
  const std::string r1 = Do(cmd::SubmitRequest{spec}).request_id;
  Do(cmd::SubmitRequest{spec});  // Duplicate.
  const std::string r2 = Submit("B", "hvac:2", Urgency::kUrgent);
  const std::string r3 = Submit("C", "plumbing:1", Urgency::kLow);
  const std::string r4 = Submit("A", "electrical:2");
  RequestSpec later = Spec("C", "plumbing:1");
  later.not_before = clock_.Now() + absl::Hours(3);
  const std::string r5 = Do(cmd::SubmitRequest{later}).request_id;
  Accept("E1", r1);
  Do(cmd::DeclineOffer{"E2", r2, "wrong tools"});
  Do(cmd::StartWork{"E1", r1});
  Do(cmd::PutOnHold{"E1", r1, "parts"});
  Advance(absl::Minutes(5));
  Tick();  // Expire whatever is offered.
  Do(cmd::AssignRequest{r2, "E2", "only hvac tech"});
  Do(cmd::StartWork{"E2", r2});
  const std::string alert =
      Do(cmd::RaiseAlert{"leak", "s1", "water_leak", "C", "", 4, 1, "", {}}).request_id;
  Do(cmd::ReportLocation{"E1", "B"});
  Do(cmd::ChangeUrgency{r4, Urgency::kUrgent, "exam room"});
  Advance(absl::Hours(4));
  Tick();
  Do(cmd::CompleteWork{"E2", r2, true, {{"FILTER", 1}}, "filter"});
  Do(cmd::RecordFeedback{r2, 4, "ok"});
  Do(cmd::ResolveAlert{"leak", "dry now"});
  RequestSpec fuse = Spec("B", "hvac:1");  // Short of stock: waits on hold.
  fuse.materials = {{"FUSE", 2}};
  const std::string r6 = Do(cmd::SubmitRequest{fuse}).request_id;
  if (Holder(r6) != "") Accept(Holder(r6), r6);
  Do(cmd::UpdateTechnician{"P1", std::string("Pat"), std::string("B"), std::nullopt});
  Do(cmd::CancelRequest{r3, "tenant moved"});
  Do(cmd::EndShift{"P1"});
  (void)r5;
  (void)alert;
  const std::vector<std::string> kinds = Kinds(log_);
  for (const char* k : {"RequestPromoted", "OfferExpired", "RequestRequeued",
                        "AlertResolved", "TechnicianUpdated", "WorkPutOnHold",
                        "MaterialsReserved", "MaterialsAwaited"}) {
    EXPECT_THAT(kinds, ::testing::Contains(k));
  }
  CheckInvariants(engine_);

  std::unique_ptr<Engine> replica = Replay(&clock_, log_);
  EXPECT_EQ(Dump(*replica), Dump(engine_));
  EXPECT_EQ(replica->last_sequence(), engine_.last_sequence());
  // Time moves on: both fire the same timers, the same way.
  Advance(absl::Hours(30));
  const Outcome live = Tick();
  absl::StatusOr<Outcome> replayed = replica->Handle(cmd::Tick{});
  ASSERT_TRUE(replayed.ok());
  EXPECT_EQ(replayed->events, live.events);
  EXPECT_EQ(Dump(*replica), Dump(engine_));
  EXPECT_EQ(replica->NextTimer(), engine_.NextTimer());
}

TEST_F(ReplayTest, ReplayedEngineReestablishesWaitsOnItsFirstTick) {
  Zone("A");
  Zone("B", {{"A", 10}});
  Tech("L1", "A", "electrical:1");
  const std::string busy = Submit("A", "electrical:1", Urgency::kNormal, 30);
  Accept("L1", busy);
  Tech("B1", "B", "electrical:1");
  const std::string r = Submit("A", "electrical:1", Urgency::kUrgent);  // Waits.
  ASSERT_EQ(Req(r).state, RequestState::kQueued);
  std::unique_ptr<Engine> replica = Replay(&clock_, log_);
  EXPECT_LE(replica->NextTimer(), clock_.Now());  // Asks for a tick now.
  EXPECT_THAT(replica->Handle(cmd::Tick{})->events, IsEmpty());
  EXPECT_EQ(replica->NextTimer(), engine_.NextTimer());
  clock_.Set(Req(r).sla_deadline);  // L1 overran: both go cross-zone.
  const Outcome live = Tick();
  EXPECT_EQ(replica->Handle(cmd::Tick{})->events, live.events);
  EXPECT_EQ(Holder(r), "B1");
}

// Random commands over a small site; after each: invariants; at the end:
// replay equality.
TEST_F(ReplayTest, RandomCommandsKeepInvariantsAndReplayIdentically) {
  RandomCommands gen(20260922, &clock_);
  for (const Command& c : gen.Setup()) Do(c);
  int failures = 0;
  for (int step = 0; step < 4000; ++step) {
    const Command c = gen.Next(engine_);
    const uint64_t seq = engine_.last_sequence();
    absl::StatusOr<Outcome> out = engine_.Handle(c);
    if (out.ok()) {
      log_.insert(log_.end(), out->events.begin(), out->events.end());
      gen.Saw(*out);
    } else {
      ++failures;
      ASSERT_EQ(engine_.last_sequence(), seq) << out.status();
      ASSERT_NE(out.status().code(), absl::StatusCode::kInternal);
    }
    CheckInvariants(engine_);
    if (HasFailure()) FAIL() << "after step " << step;
  }
  EXPECT_GT(gen.requests(), 300);
  EXPECT_GT(log_.size(), 2000u);
  EXPECT_GT(failures, 0);
  // (RequestsBundled needs a quiet zone, which this busy site rarely has;
  // bundling_test.cc covers its replay.)
  for (const char* k : {"ZoneSurgeStarted", "ZoneSurgeEnded", "ShiftRequested",
                        "DeliveryPlanned", "DeliveryDeparted"}) {
    EXPECT_THAT(Kinds(log_), ::testing::Contains(k));
  }
  // Deliveries merged (a DeliveryPlanned joining one) and some left on Tick
  // when their window closed, not only at once.
  size_t joins = 0, closed = 0;
  for (const Event& e : log_) {
    if (const auto* p = std::get_if<ev::DeliveryPlanned>(&e.kind)) joins += !p->opens;
    if (const auto* d = std::get_if<ev::DeliveryDeparted>(&e.kind)) {
      closed += d->reason.find("window of") == 0;
    }
  }
  EXPECT_GT(joins, 0u);
  EXPECT_GT(closed, 0u);
  std::unique_ptr<Engine> replica = Replay(&clock_, log_);
  EXPECT_EQ(Dump(*replica), Dump(engine_));
  EXPECT_EQ(replica->Digest(), engine_.Digest());
  Engine loaded(&clock_);
  ASSERT_TRUE(loaded.LoadImage(engine_.ExportImage()).ok());
  EXPECT_EQ(loaded.Digest(), engine_.Digest());
}

}  // namespace
}  // namespace dispatchd::engine::testing
