// State is the fold of events: a fresh engine that applies the same events
// answers every query identically. Also a randomized run that checks the
// technician <-> request invariants after every command.
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tests/engine/test_util.h"

namespace dispatchd::engine::testing {
namespace {

using ::testing::IsEmpty;

// Applies `events` to a fresh engine on `clock`.
std::unique_ptr<Engine> Replay(const Clock* clock, const std::vector<Event>& events) {
  auto engine = std::make_unique<Engine>(clock);
  for (const Event& e : events) {
    absl::Status s = engine->Apply(e);
    EXPECT_TRUE(s.ok()) << KindName(e) << " #" << e.sequence << ": " << s;
  }
  return engine;
}

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
  for (const ZoneBoard& b : *boards) {
    for (uint32_t c : b.queued_counts) board_queued += c;
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
  Do(cmd::AdjustStock{"A", "LAMP", 4, "delivery"});
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
  Do(cmd::UpdateTechnician{"P1", std::string("Pat"), std::string("B"), std::nullopt});
  Do(cmd::CancelRequest{r3, "tenant moved"});
  Do(cmd::EndShift{"P1"});
  (void)r5;
  (void)alert;
  const std::vector<std::string> kinds = Kinds(log_);
  for (const char* k : {"RequestPromoted", "OfferExpired", "RequestRequeued",
                        "AlertResolved", "TechnicianUpdated", "WorkPutOnHold"}) {
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
  std::mt19937 rng(20260922);
  auto pick = [&](int n) { return static_cast<int>(rng() % n); };
  const std::vector<std::string> zones = {"Z0", "Z1", "Z2", "Z3"};
  Zone("Z0");
  Zone("Z1", {{"Z0", 10}});
  Zone("Z2", {{"Z1", 15}});
  Zone("Z3", {{"Z0", 40}});
  Policy p;
  p.aging_promote_minutes = 45;
  p.offer_timeout_seconds = 300;
  Do(cmd::SetPolicy{p});
  const std::vector<std::string> skills = {"electrical", "plumbing", "hvac", "carpentry"};
  auto skill_text = [&](int count) {
    std::string out;
    const int first = pick(4);
    for (int i = 0; i < count; ++i) {
      absl::StrAppend(&out, i ? "," : "", skills[(first + i) % 4], ":", 1 + pick(i ? 3 : 5));
    }
    return out;
  };
  std::vector<std::string> techs;
  for (int i = 0; i < 10; ++i) {
    techs.push_back("T" + std::to_string(i));
    Do(cmd::RegisterTechnician{techs.back(), "", zones[pick(4)], Skills(skill_text(1 + pick(3)))});
  }
  int requests = 0;
  auto any_request = [&] { return requests == 0 ? std::string("R-000001")
                                                : absl::StrFormat("R-%06d", 1 + pick(requests)); };
  auto any_tech = [&] { return techs[pick(static_cast<int>(techs.size()))]; };
  int failures = 0;
  for (int step = 0; step < 4000; ++step) {
    Command c;
    switch (pick(16)) {
      case 0: case 1: case 2: {
        RequestSpec s = Spec(zones[pick(4)], skill_text(1 + pick(2)),
                             static_cast<Urgency>(1 + pick(4)), 10 + pick(60));
        if (pick(8) == 0) s.not_before = clock_.Now() + absl::Minutes(pick(120));
        if (pick(6) == 0) s.materials = {{"LAMP", 1u + pick(3)}};
        if (pick(5) == 0) s.idempotency_key = "k" + std::to_string(pick(20));
        c = cmd::SubmitRequest{s};
        break;
      }
      case 3: c = cmd::StartShift{any_tech(), pick(3) ? "" : zones[pick(4)]}; break;
      case 4: c = cmd::EndShift{any_tech()}; break;
      case 5: {  // Accept some outstanding offer.
        const int start = pick(static_cast<int>(techs.size()));
        c = cmd::AcceptOffer{techs[start], any_request()};
        for (size_t i = 0; i < techs.size(); ++i) {
          const Technician* t = engine_.FindTechnician(techs[(start + i) % techs.size()]);
          if (t->state == TechnicianState::kOffered) {
            c = cmd::AcceptOffer{t->technician_id, t->request_id};
            break;
          }
        }
        break;
      }
      case 6: {  // Accept the offer a random technician holds, if any.
        const Technician* t = engine_.FindTechnician(any_tech());
        c = cmd::AcceptOffer{t->technician_id, t->request_id.empty() ? any_request() : t->request_id};
        break;
      }
      case 7: {
        const Technician* t = engine_.FindTechnician(any_tech());
        c = cmd::DeclineOffer{t->technician_id, t->request_id, "busy"};
        break;
      }
      case 8: {
        const Technician* t = engine_.FindTechnician(any_tech());
        const std::string r = !t->on_hold_request_ids.empty() && pick(2)
                                  ? t->on_hold_request_ids[0] : t->request_id;
        c = cmd::StartWork{t->technician_id, r};
        break;
      }
      case 9: {
        const Technician* t = engine_.FindTechnician(any_tech());
        if (pick(3) == 0) {
          c = cmd::PutOnHold{t->technician_id, t->request_id, "parts"};
        } else {
          c = cmd::CompleteWork{t->technician_id, t->request_id, pick(4) != 0, {}, ""};
        }
        break;
      }
      case 10: c = cmd::CancelRequest{any_request(), "changed mind"}; break;
      case 11: c = cmd::AssignRequest{any_request(), any_tech(), "dispatcher"}; break;
      case 12: c = cmd::ChangeUrgency{any_request(), static_cast<Urgency>(1 + pick(4)), "re-filed"}; break;
      case 13: c = cmd::ReportLocation{any_tech(), zones[pick(4)]}; break;
      case 14:
        if (pick(2)) {
          c = cmd::RaiseAlert{"alert" + std::to_string(pick(8)), "s", pick(2) ? "power_outage" : "gas",
                              zones[pick(4)], "", 0, 1, "", {}};
        } else {
          c = cmd::ResolveAlert{"alert" + std::to_string(pick(8)), "ok"};
        }
        break;
      default:
        Advance(absl::Seconds(30 + pick(1200)));
        c = cmd::Tick{};
        break;
    }
    const uint64_t seq = engine_.last_sequence();
    absl::StatusOr<Outcome> out = engine_.Handle(c);
    if (out.ok()) {
      log_.insert(log_.end(), out->events.begin(), out->events.end());
      if (!out->request_id.empty() && !out->duplicate) {
        const int n = std::stoi(out->request_id.substr(2));
        requests = std::max(requests, n);
      }
    } else {
      ++failures;
      ASSERT_EQ(engine_.last_sequence(), seq) << out.status();
      ASSERT_NE(out.status().code(), absl::StatusCode::kInternal);
    }
    CheckInvariants(engine_);
    if (HasFailure()) FAIL() << "after step " << step;
  }
  EXPECT_GT(requests, 300);
  EXPECT_GT(log_.size(), 2000u);
  EXPECT_GT(failures, 0);
  std::unique_ptr<Engine> replica = Replay(&clock_, log_);
  EXPECT_EQ(Dump(*replica), Dump(engine_));
}

}  // namespace
}  // namespace dispatchd::engine::testing
