// Images and the digest: an engine loaded from an image (through the
// canonical encoding) behaves exactly like the engine that exported it;
// the digest of a live engine equals that of its replay and changes with
// the state; LoadImage refuses inconsistent images and leaves the engine
// fresh.
#include <functional>
#include <memory>
#include <set>

#include "absl/strings/str_cat.h"
#include "engine/state_image.h"
#include "tests/engine/random_commands.h"
#include "tests/engine/test_util.h"

namespace dispatchd::engine::testing {
namespace {

using ::testing::Contains;

// Decodes `bytes` in runs of `run` requests and loads each part as it
// comes (Engine::PartLoad), as dispatchd loads a snapshot at start.
absl::Status LoadInParts(Engine& engine, const std::string& bytes, size_t run) {
  std::unique_ptr<Engine::PartLoad> load;
  ImageParts parts;
  parts.head = [&](StateImage&& head) -> absl::Status {
    absl::StatusOr<std::unique_ptr<Engine::PartLoad>> started = engine.StartLoad(head);
    if (!started.ok()) return started.status();
    load = *std::move(started);
    return absl::OkStatus();
  };
  parts.requests = [&](std::vector<RequestImage>&& r) { return load->Requests(std::move(r)); };
  parts.rest = [&](StateImage&& rest) { return load->Finish(std::move(rest)); };
  return DecodeImageParts(bytes, run, parts);
}

class ImageTest : public EngineTest {
 protected:
  // A site with every kind of pending work: a completed job with feedback,
  // a job in progress, pending offers (one from an alert), two requests
  // waiting for a local technician (one with an idempotency key and a
  // material shortage), a job on hold, a scheduled job, an aging low job
  // nobody can do, a declined job, and a resolved alert.
  void BuildBusySite() {
    Zone("A");
    Zone("B", {{"A", 10}});
    Zone("C", {{"B", 15}});
    Policy p;
    p.aging_promote_minutes = 60;
    p.offer_timeout_seconds = 120;
    p.preemption_enabled = false;  // The power alert waits; E1 keeps its offer.
    Do(cmd::SetPolicy{p});
    Tech("E1", "A", "electrical:3");
    Tech("E2", "A", "electrical:2");
    Tech("H1", "B", "hvac:2,electrical:1");
    Tech("P1", "C", "plumbing:2");
    Tech("Off", "A", "painting:1", /*start=*/false);
    Do(cmd::AdjustStock{"A", "LAMP", 4, "delivery"});
    done_ = Submit("A", "electrical:3");  // E1, the only one at level 3.
    Accept("E1", done_);
    Do(cmd::StartWork{"E1", done_});
    Advance(absl::Minutes(20));
    Do(cmd::CompleteWork{"E1", done_, true, {}, "fixed"});
    Do(cmd::RecordFeedback{done_, 5, "great"});
    work_ = Submit("A", "electrical:2");  // E2: least over-qualified.
    Accept("E2", work_);
    Do(cmd::StartWork{"E2", work_});
    offer_ = Submit("A", "electrical:1");                   // E1.
    wait_ = Submit("A", "electrical:1", Urgency::kUrgent);  // Waits for E1/E2.
    hold_ = Submit("C", "plumbing:1");
    Accept("P1", hold_);
    Do(cmd::StartWork{"P1", hold_});
    Do(cmd::PutOnHold{"P1", hold_, "parts"});
    RequestSpec later = Spec("C", "plumbing:1");
    later.not_before = clock_.Now() + absl::Hours(3);
    sched_ = Do(cmd::SubmitRequest{later}).request_id;
    aging_ = Submit("B", "carpentry:1", Urgency::kLow);
    declined_ = Submit("B", "hvac:1");  // H1, who declines.
    Do(cmd::DeclineOffer{"H1", declined_, "no ladder"});
    leak_ =
        Do(cmd::RaiseAlert{
               "leak", "sensor-7", "water_leak", "C", "basement", 4, 1, "water on the floor", {}})
            .request_id;
    Do(cmd::RaiseAlert{"pwr", "grid", "power_outage", "B", "", 5, 1, "", {}});
    Do(cmd::ResolveAlert{"pwr", "restored"});
    keyed_spec_ = Spec("A", "electrical:1", Urgency::kNormal, 20);
    keyed_spec_.idempotency_key = "k1";
    keyed_spec_.materials = {{"LAMP", 6}};
    keyed_ = Do(cmd::SubmitRequest{keyed_spec_}).request_id;
  }

  // Through the canonical encoding into a fresh engine on the same clock.
  std::unique_ptr<Engine> RoundTrip(const Engine& from) {
    const std::string bytes = EncodeImageCanonical(from.ExportImage());
    absl::StatusOr<StateImage> decoded = DecodeImageCanonical(bytes);
    EXPECT_TRUE(decoded.ok()) << decoded.status();
    auto copy = std::make_unique<Engine>(&clock_);
    if (!decoded.ok()) return copy;
    EXPECT_EQ(EncodeImageCanonical(*decoded), bytes);
    const absl::Status loaded = copy->LoadImage(*decoded);
    EXPECT_TRUE(loaded.ok()) << loaded;
    EXPECT_EQ(EncodeImageCanonical(copy->ExportImage()), bytes);
    EXPECT_EQ(copy->Digest(), from.Digest());
    EXPECT_EQ(copy->NextTimer(), from.NextTimer());
    EXPECT_EQ(Dump(*copy), Dump(from));
    return copy;
  }

  // Handles `c` on engine_ and on `copy`; expects identical outcomes.
  Outcome Both(Engine& copy, const Command& c) {
    absl::StatusOr<Outcome> live = engine_.Handle(c);
    absl::StatusOr<Outcome> loaded = copy.Handle(c);
    EXPECT_EQ(live.status(), loaded.status());
    if (!live.ok() || !loaded.ok()) return {};
    EXPECT_EQ(live->events, loaded->events);
    EXPECT_EQ(live->request_id, loaded->request_id);
    EXPECT_EQ(live->duplicate, loaded->duplicate);
    EXPECT_EQ(copy.NextTimer(), engine_.NextTimer());
    log_.insert(log_.end(), live->events.begin(), live->events.end());
    return *std::move(live);
  }

  std::string done_, work_, offer_, wait_, hold_, sched_, aging_, declined_, leak_, keyed_;
  RequestSpec keyed_spec_;
};

// The busy site really holds what its comment promises (so the tests below
// exercise every part of the image).
TEST_F(ImageTest, BusySiteHoldsEveryKindOfPendingWork) {
  BuildBusySite();
  const StateImage image = engine_.ExportImage();
  auto req = [&](const std::string& id) -> const RequestImage& {
    return image.requests.at(std::stoi(id.substr(2)) - 1);
  };
  EXPECT_EQ(req(done_).request.feedback_rating, 5u);
  EXPECT_EQ(req(work_).request.state, RequestState::kInProgress);
  EXPECT_EQ(req(offer_).request.state, RequestState::kOffered);
  EXPECT_EQ(req(leak_).request.state, RequestState::kOffered);
  EXPECT_TRUE(req(wait_).reevaluate_at.has_value());
  EXPECT_TRUE(req(keyed_).reevaluate_at.has_value());
  EXPECT_EQ(req(hold_).request.state, RequestState::kOnHold);
  EXPECT_EQ(req(sched_).request.state, RequestState::kScheduled);
  EXPECT_EQ(req(aging_).request.state, RequestState::kQueued);
  EXPECT_THAT(req(declined_).request.declined_by, Contains("H1"));
  ASSERT_EQ(image.alerts.size(), 2u);
  EXPECT_EQ(image.alerts[0].dedupe_key, "leak");
  EXPECT_FALSE(image.alerts[0].resolved);
  EXPECT_TRUE(image.alerts[1].resolved);
  EXPECT_THAT(image.skills, Contains("carpentry"));
  EXPECT_FALSE(engine_.ListShortages("").empty());
}

TEST_F(ImageTest, LiveDigestEqualsDigestOfReplay) {
  BuildBusySite();
  std::unique_ptr<Engine> replica = Replay(&clock_, log_);
  EXPECT_EQ(replica->Digest(), engine_.Digest());
  // The images differ only in the live-only parts the digest leaves out:
  // the replica has no re-evaluation timers yet and a sweep pending.
  EXPECT_NE(EncodeImageCanonical(replica->ExportImage()),
            EncodeImageCanonical(engine_.ExportImage()));
  EXPECT_EQ(Dump(*replica), Dump(engine_));
}

TEST_F(ImageTest, DigestIsThirtyTwoHexDigitsOfTheImage) {
  const std::string fresh = engine_.Digest();
  EXPECT_EQ(fresh.size(), 32u);
  EXPECT_EQ(fresh.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(Engine(&clock_).Digest(), fresh);
  BuildBusySite();
  EXPECT_NE(engine_.Digest(), fresh);
  EXPECT_EQ(engine_.Digest(), ImageDigest(engine_.ExportImage()));
  EXPECT_EQ(engine_.Digest(), engine_.Digest());
}

TEST_F(ImageTest, EveryCommandChangesTheDigestAndNothingElseDoes) {
  BuildBusySite();
  std::set<std::string> seen = {engine_.Digest()};
  auto changes = [&](const Command& c) {
    Do(c);
    EXPECT_TRUE(seen.insert(engine_.Digest()).second) << KindName(log_.back());
  };
  changes(cmd::ReportLocation{"H1", "A"});
  changes(cmd::UpdateTechnician{"Off", std::string("Olive"), std::nullopt, std::nullopt});
  changes(cmd::AdjustStock{"B", "LAMP", 1, "found one"});
  changes(cmd::ChangeUrgency{aging_, Urgency::kNormal, "tenant called"});
  changes(cmd::StartShift{"Off", ""});
  const std::string before = engine_.Digest();
  EXPECT_TRUE(Do(cmd::SubmitRequest{keyed_spec_}).duplicate);
  Do(cmd::RaiseAlert{"leak", "sensor-7", "water_leak", "C", "", 4, 1, "", {}});
  ExpectRejected(cmd::StartShift{"E1", ""}, absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(engine_.Digest(), before);
}

TEST_F(ImageTest, EnginesDifferingInOneTechnicianDifferInDigest) {
  ManualClock clock;
  auto site = [&](const std::string& shift_zone, absl::Duration delay) {
    auto e = std::make_unique<Engine>(&clock);
    clock.Set(absl::FromUnixSeconds(1'800'000'000));
    EXPECT_TRUE(e->Handle(cmd::UpsertZone{{"A", "A", {}}}).ok());
    EXPECT_TRUE(e->Handle(cmd::UpsertZone{{"B", "B", {{"A", 5}}}}).ok());
    EXPECT_TRUE(e->Handle(cmd::RegisterTechnician{"T", "", "A", Skills("hvac")}).ok());
    clock.Advance(delay);
    EXPECT_TRUE(e->Handle(cmd::StartShift{"T", shift_zone}).ok());
    clock.Set(absl::FromUnixSeconds(1'800'000'000));
    return e;
  };
  const std::string base = site("A", absl::ZeroDuration())->Digest();
  EXPECT_EQ(site("A", absl::ZeroDuration())->Digest(), base);
  EXPECT_NE(site("B", absl::ZeroDuration())->Digest(), base);  // Elsewhere.
  // Only the internal became-available time differs: still a different state.
  std::unique_ptr<Engine> later = site("A", absl::Seconds(1));
  EXPECT_NE(later->Digest(), base);
}

TEST_F(ImageTest, LoadedEngineBehavesIdentically) {
  BuildBusySite();
  std::unique_ptr<Engine> copy = RoundTrip(engine_);
  // Idempotent retries after the load: same key and payload is a duplicate,
  // a different payload is refused; alert keys dedupe, resolved or not.
  const Outcome again = Both(*copy, cmd::SubmitRequest{keyed_spec_});
  EXPECT_TRUE(again.duplicate);
  EXPECT_EQ(again.request_id, keyed_);
  RequestSpec changed = keyed_spec_;
  changed.description = "different";
  EXPECT_THAT(copy->Handle(cmd::SubmitRequest{changed}),
              StatusIs(absl::StatusCode::kAlreadyExists));
  Both(*copy, cmd::SubmitRequest{changed});
  EXPECT_TRUE(
      Both(*copy, cmd::RaiseAlert{"leak", "x", "water_leak", "C", "", 4, 1, "", {}}).duplicate);
  EXPECT_TRUE(
      Both(*copy, cmd::RaiseAlert{"pwr", "x", "power_outage", "B", "", 4, 1, "", {}}).duplicate);
  // Timers: offers lapse, waits re-evaluate, aging promotes, the window opens.
  const size_t before = log_.size();
  for (absl::Duration step :
       {absl::Minutes(2) + absl::Seconds(1), absl::Minutes(10), absl::Minutes(25),
        absl::Minutes(30), absl::Hours(1), absl::Hours(2)}) {
    Advance(step);
    Both(*copy, cmd::Tick{});
    Both(*copy, cmd::AcceptOffer{"E1", offer_});
    Both(*copy, cmd::StartWork{"P1", hold_});
    EXPECT_EQ(Dump(*copy), Dump(engine_));
  }
  Both(*copy, cmd::CompleteWork{"E2", work_, true, {}, ""});
  Both(*copy, cmd::UpdateTechnician{"H1", std::nullopt, std::nullopt,
                                    Skills("hvac:2,electrical:1,carpentry:1")});
  Both(*copy, cmd::EndShift{"E1"});
  Both(*copy, cmd::ResolveAlert{"leak", "dry"});
  Both(*copy, cmd::CancelRequest{declined_, "gone"});
  Advance(absl::Hours(30));
  Both(*copy, cmd::Tick{});
  const std::vector<Event> after(log_.begin() + before, log_.end());
  for (const char* kind : {"OfferExpired", "RequestPromoted", "RequestRequeued", "OfferMade",
                           "WorkStarted", "AlertResolved"}) {
    EXPECT_THAT(Kinds(after), Contains(kind));
  }
  EXPECT_EQ(Dump(*copy), Dump(engine_));
  EXPECT_EQ(copy->Digest(), engine_.Digest());
  EXPECT_EQ(EncodeImageCanonical(copy->ExportImage()), EncodeImageCanonical(engine_.ExportImage()));
}

// A replica (sweep pending, no waits yet) exports that too: its copy does
// the same sweep on the first Tick.
TEST_F(ImageTest, ImageOfAReplicaCarriesThePendingSweep) {
  BuildBusySite();
  std::unique_ptr<Engine> replica = Replay(&clock_, log_);
  ASSERT_TRUE(replica->ExportImage().sweep_pending);
  std::unique_ptr<Engine> copy = RoundTrip(*replica);
  EXPECT_LE(copy->NextTimer(), clock_.Now());
  absl::StatusOr<Outcome> a = replica->Handle(cmd::Tick{});
  absl::StatusOr<Outcome> b = copy->Handle(cmd::Tick{});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->events, b->events);
  EXPECT_EQ(EncodeImageCanonical(copy->ExportImage()),
            EncodeImageCanonical(replica->ExportImage()));
  // After the sweep the replica has re-established the live engine's waits.
  EXPECT_EQ(EncodeImageCanonical(replica->ExportImage()),
            EncodeImageCanonical(engine_.ExportImage()));
}

TEST_F(ImageTest, RandomRunMatchesCopiesLoadedAtManyPoints) {
  RandomCommands gen(777, &clock_);
  for (const Command& c : gen.Setup()) Do(c);
  const std::set<int> checkpoints = {0, 120, 450, 900, 1400, 2000, 2600};
  std::vector<std::unique_ptr<Engine>> copies;
  for (int step = 0; step < 3000; ++step) {
    if (checkpoints.contains(step)) {
      copies.push_back(RoundTrip(engine_));
      if (HasFailure()) FAIL() << "round trip at step " << step;
    }
    const Command c = gen.Next(engine_);
    absl::StatusOr<Outcome> live = engine_.Handle(c);
    if (live.ok()) {
      log_.insert(log_.end(), live->events.begin(), live->events.end());
      gen.Saw(*live);
    }
    for (const auto& copy : copies) {
      absl::StatusOr<Outcome> out = copy->Handle(c);
      ASSERT_EQ(out.status(), live.status()) << "step " << step;
      if (out.ok()) {
        ASSERT_EQ(out->events, live->events) << "step " << step;
        ASSERT_EQ(out->request_id, live->request_id);
        ASSERT_EQ(out->duplicate, live->duplicate);
      }
      ASSERT_EQ(copy->NextTimer(), engine_.NextTimer()) << "step " << step;
      if (step % 250 == 0) {
        ASSERT_EQ(copy->Digest(), engine_.Digest()) << "step " << step;
      }
    }
  }
  EXPECT_GT(gen.requests(), 200);
  const std::string image = EncodeImageCanonical(engine_.ExportImage());
  const std::string dump = Dump(engine_);
  for (const auto& copy : copies) {
    EXPECT_EQ(EncodeImageCanonical(copy->ExportImage()), image);
    EXPECT_EQ(copy->Digest(), engine_.Digest());
    EXPECT_EQ(Dump(*copy), dump);
  }
  EXPECT_EQ(Replay(&clock_, log_)->Digest(), engine_.Digest());
}

// --- LoadImage's checks. ---

TEST_F(ImageTest, LoadImageRequiresAFreshEngine) {
  BuildBusySite();
  const StateImage image = engine_.ExportImage();
  const std::string before = engine_.Digest();
  EXPECT_THAT(engine_.LoadImage(image), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(engine_.Digest(), before);
  Engine fresh(&clock_);
  ASSERT_TRUE(fresh.LoadImage(StateImage{}).ok());  // Empty: still fresh.
  EXPECT_TRUE(fresh.LoadImage(image).ok());
  EXPECT_EQ(fresh.Digest(), before);
}

TEST_F(ImageTest, LoadImageRejectsInconsistentImagesAndStaysFresh) {
  BuildBusySite();
  const StateImage good = engine_.ExportImage();
  auto tech = [](StateImage& m, const std::string& id) -> Technician& {
    for (TechnicianImage& t : m.technicians) {
      if (t.technician.technician_id == id) return t.technician;
    }
    throw std::logic_error("no such technician");
  };
  auto req = [](StateImage& m, const std::string& id) -> RequestImage& {
    return m.requests.at(std::stoi(id.substr(2)) - 1);
  };
  const std::vector<std::pair<std::string, std::function<void(StateImage&)>>> cases = {
      {"unknown home zone", [&](StateImage& m) { tech(m, "E1").home_zone_id = "nowhere"; }},
      {"unknown current zone", [&](StateImage& m) { tech(m, "E1").current_zone_id = "Q"; }},
      {"duplicate technician", [&](StateImage& m) { tech(m, "E2").technician_id = "E1"; }},
      {"duplicate zone", [](StateImage& m) { m.zones.push_back(m.zones[0]); }},
      {"one-way link", [](StateImage& m) { m.zones[1].neighbors[0].travel_minutes += 1; }},
      {"link to unknown zone",
       [](StateImage& m) {
         m.zones[0].neighbors.push_back({"Q", 3});
       }},
      {"requests out of order", [](StateImage& m) { std::swap(m.requests[0], m.requests[1]); }},
      {"request in unknown zone",
       [&](StateImage& m) { req(m, aging_).request.spec.zone_id = "Q"; }},
      {"request held by an idle technician",
       [&](StateImage& m) { req(m, offer_).request.technician_id = "Off"; }},
      {"request held by an unknown technician",
       [&](StateImage& m) { req(m, work_).request.technician_id = "ghost"; }},
      {"technician holds a job offered to another",
       [&](StateImage& m) { tech(m, "E2").request_id = offer_; }},
      {"idle technician holds a job", [&](StateImage& m) { tech(m, "Off").request_id = aging_; }},
      {"queued request names a technician",
       [&](StateImage& m) { req(m, aging_).request.technician_id = "H1"; }},
      {"offer without expiry",
       [&](StateImage& m) { req(m, offer_).request.offer_expires_at.reset(); }},
      {"expiry without offer",
       [&](StateImage& m) { req(m, aging_).request.offer_expires_at = clock_.Now(); }},
      {"scheduled without window",
       [&](StateImage& m) { req(m, sched_).request.spec.not_before.reset(); }},
      {"re-evaluation of an offered request",
       [&](StateImage& m) { req(m, offer_).reevaluate_at = clock_.Now(); }},
      {"on-hold list names a queued request",
       [&](StateImage& m) { tech(m, "P1").on_hold_request_ids.push_back(aging_); }},
      {"on-hold request missing from the list",
       [&](StateImage& m) { tech(m, "P1").on_hold_request_ids.clear(); }},
      {"alert for another request", [](StateImage& m) { m.alerts[0].request_id = "R-000001"; }},
      {"alert for an unknown request", [](StateImage& m) { m.alerts[0].request_id = "R-999999"; }},
      {"alerts out of order", [](StateImage& m) { std::swap(m.alerts[0], m.alerts[1]); }},
      {"idempotency key used twice",
       [&](StateImage& m) { req(m, aging_).request.spec.idempotency_key = "k1"; }},
      {"renamed skill", [](StateImage& m) { m.skills[0] = "juggling"; }},
      {"duplicate skill", [](StateImage& m) { m.skills.push_back(m.skills[0]); }},
      {"too many skills",
       [](StateImage& m) {
         for (int i = 0; i < 64; ++i) m.skills.push_back(absl::StrCat("s", i));
       }},
      {"negative stock", [](StateImage& m) { m.stock[0].on_hand = -1; }},
      {"stock unknown depot", [](StateImage& m) { m.stock[0].depot_zone_id = "Q"; }},
      {"duplicate stock line", [](StateImage& m) { m.stock.push_back(m.stock[0]); }},
      {"sequence 0 with state", [](StateImage& m) { m.last_sequence = 0; }},

      {"bad policy", [](StateImage& m) { m.policy.offer_timeout_seconds = 0; }},
      {"bad technician state",
       [&](StateImage& m) { tech(m, "Off").state = static_cast<TechnicianState>(9); }},
      {"bad request state",
       [&](StateImage& m) { req(m, done_).request.state = static_cast<RequestState>(0); }},
      {"bad urgency", [&](StateImage& m) { req(m, aging_).submitted_urgency = Urgency{7}; }},
      {"unknown decliner",
       [&](StateImage& m) { req(m, declined_).request.declined_by.push_back("ghost"); }},
      {"feedback on an open request",
       [&](StateImage& m) { req(m, aging_).request.feedback_rating = 3; }},
      {"spec not normalized", [&](StateImage& m) { req(m, aging_).request.spec.crew_size = 0; }},
      {"skill level not normalized",
       [&](StateImage& m) { req(m, aging_).request.spec.required_skills[0].level = 0; }},
      {"request skill level out of range",
       [&](StateImage& m) { req(m, aging_).request.spec.required_skills[0].level = 6; }},
      {"skill level out of range", [&](StateImage& m) { tech(m, "E1").skills[0].level = 9; }},
      {"waits for stock while queued",
       [&](StateImage& m) { req(m, keyed_).request.awaiting_stock = true; }},
      {"reservation of materials it does not need",
       [&](StateImage& m) { req(m, work_).request.reserved = {{"A", "LAMP", 1}}; }},
      {"reserved units no request holds", [](StateImage& m) { m.stock[0].reserved = 1; }},
      {"crew of an unknown request",
       [&](StateImage& m) { req(m, aging_).request.rare.mut().crew_of = "R-999999"; }},
      {"completed without a completion time",
       [&](StateImage& m) { req(m, done_).request.rare.mut().completed_at.reset(); }},
  };
  const std::string fresh_digest = Engine(&clock_).Digest();
  for (const auto& [name, mutate] : cases) {
    SCOPED_TRACE(name);
    StateImage bad = good;
    mutate(bad);
    Engine fresh(&clock_);
    EXPECT_THAT(fresh.LoadImage(bad), StatusIs(absl::StatusCode::kDataLoss));
    EXPECT_EQ(fresh.last_sequence(), 0u);
    EXPECT_EQ(fresh.Digest(), fresh_digest);
    EXPECT_TRUE(fresh.ListZones().empty());
    ASSERT_TRUE(fresh.LoadImage(good).ok());  // Still fresh: loads.
    EXPECT_EQ(fresh.Digest(), engine_.Digest());
    // Loaded in parts, through the encoding, it is refused the same way.
    Engine parted(&clock_);
    EXPECT_THAT(LoadInParts(parted, EncodeImageCanonical(bad), 2),
                StatusIs(absl::StatusCode::kDataLoss));
    EXPECT_EQ(parted.Digest(), fresh_digest);
    ASSERT_TRUE(LoadInParts(parted, EncodeImageCanonical(good), 2).ok());
    EXPECT_EQ(parted.Digest(), engine_.Digest());
  }
}

// A loaded engine builds its idempotency index in one go, in the order of
// where the keys land: every key of thousands still finds its request,
// and two requests with one key are refused, naming the later request of
// the first such pair in request order.
TEST_F(ImageTest, ALoadedEngineFindsEveryIdempotencyKeyAndRefusesOneUsedTwice) {
  Zone("A");
  constexpr int kRequests = 20000;
  auto keyed = [&](std::string key) {
    RequestSpec s = Spec("A", "electrical:1");
    s.idempotency_key = std::move(key);
    return cmd::SubmitRequest{s};
  };
  std::vector<std::string> ids;
  for (int i = 0; i < kRequests; ++i) {
    ids.push_back(Do(keyed(absl::StrCat("key-", i))).request_id);
  }
  ASSERT_EQ(ids[11999], "R-012000");
  std::unique_ptr<Engine> copy = RoundTrip(engine_);
  for (int i = 0; i < kRequests; ++i) {
    absl::StatusOr<Outcome> retry = copy->Handle(keyed(absl::StrCat("key-", i)));
    ASSERT_TRUE(retry.ok()) << retry.status();
    EXPECT_TRUE(retry->duplicate) << i;
    EXPECT_EQ(retry->request_id, ids[i]);
  }
  absl::StatusOr<Outcome> fresh = copy->Handle(keyed("key-new"));
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  EXPECT_FALSE(fresh->duplicate);

  StateImage bad = engine_.ExportImage();
  bad.requests[14999].request.spec.idempotency_key = "key-6999";  // R-015000 as R-007000.
  bad.requests[11999].request.spec.idempotency_key = "key-2999";  // R-012000 as R-003000.
  Engine refused(&clock_);
  const absl::Status loaded = refused.LoadImage(bad);
  EXPECT_THAT(loaded, StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(std::string(loaded.message()), ::testing::HasSubstr("R-012000"));
  EXPECT_THAT(std::string(loaded.message()),
              ::testing::HasSubstr("idempotency key 'key-2999' used twice"));
}

// Each part of an image checks its own fields against a last sequence of
// 0: an image of nothing but requests, or nothing but stock, is refused for
// that, whole or in parts, before anything else is looked at.
TEST_F(ImageTest, AnImageAtSequenceZeroHoldsNothingInAnyPart) {
  BuildBusySite();
  const StateImage good = engine_.ExportImage();
  StateImage requests_only;
  requests_only.requests = good.requests;
  StateImage stock_only;
  stock_only.stock = good.stock;
  for (const StateImage* bad : {&requests_only, &stock_only}) {
    Engine whole(&clock_);
    const absl::Status loaded = whole.LoadImage(*bad);
    EXPECT_THAT(loaded, StatusIs(absl::StatusCode::kDataLoss));
    EXPECT_THAT(std::string(loaded.message()), ::testing::HasSubstr("last_sequence is 0"));
    Engine parted(&clock_);
    const absl::Status parts = LoadInParts(parted, EncodeImageCanonical(*bad), 2);
    EXPECT_THAT(parts, StatusIs(absl::StatusCode::kDataLoss));
    EXPECT_THAT(std::string(parts.message()), ::testing::HasSubstr("last_sequence is 0"));
    EXPECT_EQ(parted.last_sequence(), 0u);
  }
}

// Loading in parts gives the engine LoadImage gives, whatever the runs.
TEST_F(ImageTest, AnImageLoadedInPartsIsTheImageLoadedWhole) {
  BuildBusySite();
  const std::string bytes = EncodeImageCanonical(engine_.ExportImage());
  for (size_t run : {size_t{1}, size_t{3}, size_t{1000}}) {
    SCOPED_TRACE(run);
    Engine parted(&clock_);
    ASSERT_TRUE(LoadInParts(parted, bytes, run).ok());
    EXPECT_EQ(EncodeImageCanonical(parted.ExportImage()), bytes);
    EXPECT_EQ(Dump(parted), Dump(engine_));
  }
  // An image without requests hands over none and loads.
  Engine empty(&clock_);
  ASSERT_TRUE(LoadInParts(empty, EncodeImageCanonical(StateImage{}), 3).ok());
  EXPECT_EQ(empty.last_sequence(), 0u);
}

// Nothing reaches the engine before Finish: a load dropped half way, or
// one that finds the engine loaded meanwhile, leaves the engine as it was.
TEST_F(ImageTest, APartLoadChangesNothingBeforeItFinishes) {
  BuildBusySite();
  const StateImage image = engine_.ExportImage();
  const std::string fresh_digest = Engine(&clock_).Digest();
  Engine target(&clock_);
  {
    absl::StatusOr<std::unique_ptr<Engine::PartLoad>> load = target.StartLoad(image);
    ASSERT_TRUE(load.ok()) << load.status();
    StateImage copy = image;
    ASSERT_TRUE((*load)->Requests(std::move(copy.requests)).ok());
    EXPECT_EQ(target.Digest(), fresh_digest);  // Dropped before Finish.
  }
  EXPECT_EQ(target.Digest(), fresh_digest);
  absl::StatusOr<std::unique_ptr<Engine::PartLoad>> late = target.StartLoad(image);
  ASSERT_TRUE(late.ok()) << late.status();
  ASSERT_TRUE(target.LoadImage(image).ok());  // Loaded meanwhile.
  StateImage copy = image;
  ASSERT_TRUE((*late)->Requests(std::move(copy.requests)).ok());
  EXPECT_THAT((*late)->Finish(std::move(copy)), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(target.Digest(), engine_.Digest());
  EXPECT_THAT(target.StartLoad(image), StatusIs(absl::StatusCode::kFailedPrecondition));
}

// Runs must follow each other: a run that skips numbers is refused, and
// every later part gets the same error.
TEST_F(ImageTest, APartLoadRefusesRequestsOutOfOrderAndStaysRefused) {
  BuildBusySite();
  StateImage image = engine_.ExportImage();
  ASSERT_GE(image.requests.size(), 3u);
  Engine target(&clock_);
  absl::StatusOr<std::unique_ptr<Engine::PartLoad>> load = target.StartLoad(image);
  ASSERT_TRUE(load.ok()) << load.status();
  std::vector<RequestImage> first(image.requests.begin(), image.requests.begin() + 1);
  std::vector<RequestImage> third(image.requests.begin() + 2, image.requests.begin() + 3);
  ASSERT_TRUE((*load)->Requests(std::move(first)).ok());
  const absl::Status skipped = (*load)->Requests(std::move(third));
  EXPECT_THAT(skipped, StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(std::string(skipped.message()), ::testing::HasSubstr("requests[1]"));
  EXPECT_EQ((*load)->Finish(StateImage{}), skipped);
  EXPECT_EQ(target.last_sequence(), 0u);
}

}  // namespace
}  // namespace dispatchd::engine::testing
