#include "tests/engine/test_util.h"

#include <iterator>
#include <sstream>
#include <variant>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace dispatchd::engine::testing {
namespace {

std::string T(absl::Time t) { return absl::FormatTime(t); }
std::string T(const std::optional<absl::Time>& t) { return t ? T(*t) : "-"; }

std::string SkillsText(const std::vector<SkillLevel>& skills) {
  return absl::StrJoin(skills, ",", [](std::string* out, const SkillLevel& s) {
    absl::StrAppend(out, s.skill, ":", s.level);
  });
}

std::string DecisionText(const Decision& d) {
  std::string out = absl::StrCat(d.rule, " | ", d.detail, " | c:");
  for (const Candidate& c : d.candidates) {
    absl::StrAppend(&out, c.technician_id, "/", c.travel_minutes, "/",
                    c.overqualification, "/", c.score, " ");
  }
  absl::StrAppend(&out, "+", d.candidates_omitted, " x:");
  for (const Exclusion& e : d.exclusions) absl::StrAppend(&out, e.technician_id, "=", e.reason, " ");
  absl::StrAppend(&out, "+", d.exclusions_omitted);
  return out;
}

std::string RequestText(const Request& r) {
  const RequestSpec& s = r.spec;
  std::string out = absl::StrCat(
      r.request_id, " key=", s.idempotency_key, " zone=", s.zone_id, " loc=",
      s.location, " cat=", s.category, " skills=", SkillsText(s.required_skills),
      " u=", static_cast<int>(s.urgency), " eff=", static_cast<int>(r.effective_urgency),
      " est=", s.estimated_minutes, " crew=", s.crew_size, " asset=", s.asset_tag,
      " dept=", s.department, " key_dept=", s.key_department, " desc=", s.description,
      " nb=", T(s.not_before), " due=", T(s.due_by));
  for (const MaterialLine& m : s.materials) absl::StrAppend(&out, " mat=", m.sku, "x", m.quantity);
  absl::StrAppend(&out, " state=", static_cast<int>(r.state), " created=", T(r.created_at),
                  " sla=", T(r.sla_deadline), " tech=", r.technician_id,
                  " exp=", T(r.offer_expires_at), " hold=", r.rare->hold_reason,
                  " resolved=", r.resolved, " fb=", r.feedback_rating, "/",
                  r.rare->feedback_comment, " alert=", r.alert_dedupe_key,
                  " acc=", T(r.rare->accepted_at), " done=", T(r.rare->completed_at),
                  " declined=", absl::StrJoin(r.declined_by, ","));
  if (r.decision) absl::StrAppend(&out, " decision=", DecisionText(*r.decision));
  for (const Reservation& m : r.reserved) {
    absl::StrAppend(&out, " resv=", m.depot_zone_id, ":", m.sku, "x", m.quantity);
  }
  absl::StrAppend(&out, " awaiting=", r.awaiting_stock, " notes=", r.rare->completion_notes,
                  " bumped=", r.preemptions, "/", r.rare->preempted_by,
                  " crew_of=", r.rare->crew_of,
                  " crew=", absl::StrJoin(r.crew_request_ids, ","),
                  " deliveries=", absl::StrJoin(r.delivery_ids, ","));
  for (const MaterialLine& m : r.rare->materials_used) {
    absl::StrAppend(&out, " used=", m.sku, "x", m.quantity);
  }
  return out;
}

std::string TechText(const Technician& t) {
  return absl::StrCat(t.technician_id, " name=", t.name, " home=", t.home_zone_id,
                      " at=", t.current_zone_id, " skills=", SkillsText(t.skills),
                      " state=", static_cast<int>(t.state), " job=", t.request_id,
                      " hold=", absl::StrJoin(t.on_hold_request_ids, ","));
}

std::string KpiText(const Kpis& k) {
  return absl::StrCat(k.submitted, "/", k.open, "/", k.completed, "/", k.resolved, "/",
                      k.cancelled, " resp=", k.mean_response_minutes, " compl=",
                      k.mean_completion_minutes, " res=", k.resolution_rate,
                      " sla=", k.sla_hit_rate, " fb=", k.feedback_average, "x",
                      k.feedback_count, " p90=", k.p90_response_minutes, "/",
                      k.p90_completion_minutes, " by_u=",
                      absl::StrJoin(k.sla_hit_rate_by_urgency, ","), "/",
                      absl::StrJoin(k.accepted_by_urgency, ","), " bumps=", k.preemptions,
                      " util=", k.utilisation);
}

std::string DeliveryText(const Delivery& d) {
  std::string out = absl::StrCat(d.delivery_id, " ", d.depot_zone_id, "->", d.zone_id, "/",
                                 d.location, " state=", static_cast<int>(d.state),
                                 " opened=", T(d.opened_at), " departs=", T(d.departs_at),
                                 " departed=", T(d.departed_at), " why=", d.departure_reason);
  for (const DeliveryShipment& s : d.shipments) {
    absl::StrAppend(&out, " [", s.request_id, ":");
    for (const MaterialLine& m : s.lines) absl::StrAppend(&out, m.sku, "x", m.quantity, " ");
    absl::StrAppend(&out, s.reason, "]");
  }
  return out;
}

std::string ShortageText(const Shortage& s) {
  return absl::StrCat(s.request_id, ":", s.zone_id, ":", s.sku, ":", s.needed, ":",
                      s.on_hand);
}

}  // namespace

std::vector<SkillLevel> Skills(std::string_view text) {
  std::vector<SkillLevel> out;
  for (absl::string_view part : absl::StrSplit(absl::string_view(text.data(), text.size()),
                                               ',', absl::SkipEmpty())) {
    std::vector<std::string> kv = absl::StrSplit(part, ':');
    SkillLevel s{kv[0], 1};
    if (kv.size() > 1) {
      int level = 0;
      EXPECT_TRUE(absl::SimpleAtoi(kv[1], &level));
      s.level = static_cast<uint32_t>(level);
    }
    out.push_back(s);
  }
  return out;
}

std::string Dump(const Engine& engine) {
  std::ostringstream out;
  out << "seq " << engine.last_sequence() << "\n";
  const Policy& p = engine.policy();
  out << "policy " << p.sla_minutes_low << " " << p.sla_minutes_normal << " "
      << p.sla_minutes_urgent << " " << p.sla_minutes_emergency << " "
      << p.offer_timeout_seconds << " " << p.cross_zone_max_travel_minutes << " "
      << p.aging_promote_minutes << " " << p.small_delivery_max_units << " "
      << p.delivery_merge_minutes << "\n";
  for (const Zone* z : engine.ListZones()) {
    out << "zone " << z->zone_id << " " << z->name;
    for (const Neighbor& n : z->neighbors) out << " " << n.zone_id << ":" << n.travel_minutes;
    out << "\n";
    for (const Zone* other : engine.ListZones()) {
      auto t = engine.TravelMinutes(z->zone_id, other->zone_id);
      out << "  to " << other->zone_id << "=" << (t ? std::to_string(*t) : "-") << "\n";
    }
  }
  for (const Technician* t : engine.ListTechnicians("")) {
    out << "tech " << TechText(*t) << "\n";
    for (const Request* r : engine.OpenRequestsOf(t->technician_id)) {
      out << "  open " << r->request_id << "\n";
    }
  }
  std::string token;
  do {
    auto page = engine.ListRequests({}, token, 7);
    EXPECT_TRUE(page.ok());
    for (const Request* r : page->requests) {
      out << "req " << RequestText(*r) << "\n";
      auto e = engine.Explain(r->request_id);
      out << "  why " << e->waiting_reason << "\n";
      for (const std::string& d : e->deliveries) out << "  delivery " << d << "\n";
      if (!r->alert_dedupe_key.empty()) {
        out << "  alert " << (engine.FindAlert(r->alert_dedupe_key) == r) << "\n";
      }
    }
    token = page->next_page_token;
  } while (!token.empty());
  auto boards = engine.GetBoard("");
  for (const ZoneBoard& b : *boards) {
    out << "board " << b.zone->zone_id << " counts=" << absl::StrJoin(b.queued_counts, ",")
        << (b.in_surge ? " surge" : "") << " at_risk=" << b.at_risk;
    for (const Request* r : b.queued) out << " q:" << r->request_id;
    for (const Request* r : b.in_progress) out << " p:" << r->request_id;
    for (const Technician* t : b.technicians) out << " t:" << t->technician_id;
    for (const Shortage& s : b.shortages) out << " s:" << ShortageText(s);
    out << "\n";
  }
  auto stats = engine.GetStats("", "");
  out << "site " << KpiText(stats->site) << "\n";
  for (const auto& [id, k] : stats->zones) out << "zkpi " << id << " " << KpiText(k) << "\n";
  for (const auto& [id, k] : stats->technicians) out << "tkpi " << id << " " << KpiText(k) << "\n";
  for (const StockLevel& s : engine.GetStock("", "")) {
    out << "stock " << s.depot_zone_id << " " << s.sku << " " << s.on_hand << " reserved "
        << s.reserved << "\n";
  }
  for (const std::string tag : {"A1", "A2", "A3"}) {
    for (const Request* r : engine.GetAssetHistory(tag)) {
      out << "asset " << tag << " " << r->request_id << "\n";
    }
  }
  for (const Shortage& s : engine.ListShortages("")) out << "short " << ShortageText(s) << "\n";
  for (const Delivery* d : engine.ListDeliveries({})) out << "delivery " << DeliveryText(*d) << "\n";
  return out.str();
}

std::unique_ptr<Engine> Replay(const Clock* clock, const std::vector<Event>& events) {
  auto engine = std::make_unique<Engine>(clock);
  for (const Event& e : events) {
    absl::Status s = engine->Apply(e);
    EXPECT_TRUE(s.ok()) << KindName(e) << " #" << e.sequence << ": " << s;
  }
  return engine;
}

std::string KindName(const Event& event) {
  static const char* const kNames[] = {
      "ZoneUpserted",     "PolicySet",       "TechnicianRegistered",
      "TechnicianUpdated", "ShiftStarted",   "ShiftEnded",
      "LocationReported", "RequestSubmitted", "RequestCancelled",
      "UrgencyChanged",   "RequestPromoted", "OfferMade",
      "RequestAssigned",  "OfferAccepted",   "OfferDeclined",
      "OfferExpired",     "OfferWithdrawn",  "RequestRequeued",
      "WorkStarted",      "WorkPutOnHold",   "WorkCompleted",
      "FeedbackRecorded", "StockAdjusted",   "AlertRaised",
      "AlertResolved",    "MaterialsReserved", "MaterialsAwaited",
      "MaterialsConsumed", "RequestPreempted", "ZoneSurgeStarted",
      "ZoneSurgeEnded",   "ShiftRequested",  "RequestsBundled",
      "DeliveryPlanned",  "DeliveryDeparted"};
  static_assert(std::size(kNames) == std::variant_size_v<EventKind>);
  return kNames[event.kind.index()];
}

std::vector<std::string> Kinds(const std::vector<Event>& events) {
  std::vector<std::string> out;
  for (const Event& e : events) out.push_back(KindName(e));
  return out;
}

Outcome EngineTest::Do(const Command& c) {
  absl::StatusOr<Outcome> out = engine_.Handle(c);
  EXPECT_TRUE(out.ok()) << out.status();
  if (!out.ok()) return {};
  log_.insert(log_.end(), out->events.begin(), out->events.end());
  return *std::move(out);
}

void EngineTest::ExpectRejected(const Command& c, absl::StatusCode code,
                                std::string_view message_part) {
  const std::string before = Dump(engine_);
  const uint64_t seq = engine_.last_sequence();
  absl::StatusOr<Outcome> out = engine_.Handle(c);
  EXPECT_THAT(out, StatusIs(code));
  if (!message_part.empty() && !out.ok()) {
    EXPECT_THAT(std::string(out.status().message()),
                ::testing::HasSubstr(std::string(message_part)));
  }
  EXPECT_EQ(engine_.last_sequence(), seq);
  EXPECT_EQ(Dump(engine_), before);
}

void EngineTest::Zone(const std::string& id,
                      std::vector<std::pair<std::string, uint32_t>> neighbors) {
  engine::Zone z{id, "Zone " + id, {}};
  for (auto& [n, m] : neighbors) z.neighbors.push_back({n, m});
  Do(cmd::UpsertZone{z});
}

void EngineTest::Tech(const std::string& id, const std::string& home,
                      std::string_view skills, bool start) {
  Do(cmd::RegisterTechnician{id, "Tech " + id, home, Skills(skills)});
  if (start) Do(cmd::StartShift{id, ""});
}

RequestSpec EngineTest::Spec(const std::string& zone, std::string_view skills,
                             Urgency urgency, uint32_t estimated_minutes) {
  RequestSpec spec;
  spec.zone_id = zone;
  spec.required_skills = Skills(skills);
  spec.urgency = urgency;
  spec.estimated_minutes = estimated_minutes;
  spec.description = "broken";
  return spec;
}

std::string EngineTest::Submit(const std::string& zone, std::string_view skills,
                               Urgency urgency, uint32_t estimated_minutes) {
  return Do(cmd::SubmitRequest{Spec(zone, skills, urgency, estimated_minutes)}).request_id;
}

const Request& EngineTest::Req(std::string_view id) {
  const Request* r = engine_.FindRequest(id);
  EXPECT_NE(r, nullptr) << id;
  static const Request kNone;
  return r ? *r : kNone;
}

const Technician& EngineTest::TechOf(std::string_view id) {
  const Technician* t = engine_.FindTechnician(id);
  EXPECT_NE(t, nullptr) << id;
  static const Technician kNone;
  return t ? *t : kNone;
}

std::string EngineTest::Holder(std::string_view request_id) {
  const Request& r = Req(request_id);
  if (r.state == RequestState::kQueued || r.state == RequestState::kScheduled) return "";
  return r.technician_id;
}

void EngineTest::Accept(const std::string& tech, const std::string& request) {
  Do(cmd::AcceptOffer{tech, request});
}

}  // namespace dispatchd::engine::testing
