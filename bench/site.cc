#include "bench/site.h"

#include <algorithm>
#include <cstdlib>
#include <variant>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace dispatchd::bench {
namespace {

constexpr int kGridWidth = 20;
constexpr size_t kRecent = 4096;

const char* const kCategories[] = {"lighting", "plumbing", "heating", "doors", "network",
                                   "furniture", "power", "projector"};

}  // namespace

SiteGen::SiteGen(SiteShape shape, uint32_t seed) : shape_(shape), rng_(seed) {}

std::string SiteGen::ZoneId(int z) { return absl::StrFormat("Z%03d", z); }
std::string SiteGen::TechId(int i) { return absl::StrFormat("T%05d", i); }
std::string SiteGen::SkillName(int s) { return absl::StrFormat("skill%02d", s); }

int SiteGen::TechNumber(const std::string& id) {
  if (id.size() < 2 || id[0] != 'T') return -1;
  return std::atoi(id.c_str() + 1);
}

std::vector<engine::Command> SiteGen::SetupCommands() const {
  std::vector<engine::Command> out;
  for (int z = 0; z < shape_.zones; ++z) {
    engine::Zone zone;
    zone.zone_id = ZoneId(z);
    zone.name = absl::StrCat("Building group ", z);
    // Links to zones made earlier (left, above); the engine mirrors them.
    const uint32_t minutes = 5 + static_cast<uint32_t>((z * 7919) % 11);
    if (z % kGridWidth != 0) zone.neighbors.push_back({ZoneId(z - 1), minutes});
    if (z >= kGridWidth) zone.neighbors.push_back({ZoneId(z - kGridWidth), minutes + 2});
    out.push_back(engine::cmd::UpsertZone{std::move(zone)});
  }
  // The campus defaults (120 s offers, 30 min cross-zone) without surge:
  // at this many open requests every zone would be in surge for good, and
  // the naive baseline (naive_matcher.h) does not model it.
  engine::Policy policy;
  policy.surge_queue_threshold = 0;
  policy.surge_at_risk_threshold = 0;
  out.push_back(engine::cmd::SetPolicy{policy});
  return out;
}

engine::cmd::RegisterTechnician SiteGen::Technician(int i) {
  engine::cmd::RegisterTechnician t;
  t.technician_id = TechId(i);
  t.name = absl::StrCat("Technician ", i);
  t.home_zone_id = ZoneId(i % shape_.zones);
  while (t.skills.size() < 3) {
    std::string name = SkillName(Pick(shape_.skills));
    if (std::any_of(t.skills.begin(), t.skills.end(),
                    [&](const engine::SkillLevel& s) { return s.skill == name; })) {
      continue;
    }
    t.skills.push_back({std::move(name), 1 + static_cast<uint32_t>(Pick(5))});
  }
  return t;
}

engine::RequestSpec SiteGen::Spec(absl::Time now, bool scheduled) {
  engine::RequestSpec s;
  const uint64_t key = next_key_++;
  s.idempotency_key = absl::StrCat("bench-", key);
  const int zone = Pick(shape_.zones);
  s.zone_id = ZoneId(zone);
  s.location = absl::StrCat("Building ", zone, ", room ", Pick(400));
  s.category = kCategories[Pick(8)];
  const int first = Pick(shape_.skills);
  s.required_skills.push_back({SkillName(first), 1 + static_cast<uint32_t>(Pick(3))});
  if (Pick(10) < 3) {
    const int second = (first + 1 + Pick(shape_.skills - 1)) % shape_.skills;
    s.required_skills.push_back({SkillName(second), 1 + static_cast<uint32_t>(Pick(2))});
  }
  const int u = Pick(100);
  s.urgency = u < 20   ? engine::Urgency::kLow
              : u < 80 ? engine::Urgency::kNormal
              : u < 95 ? engine::Urgency::kUrgent
                       : engine::Urgency::kEmergency;
  s.estimated_minutes = 15 + static_cast<uint32_t>(Pick(106));
  s.description = "Reported by the front desk; see the location for access.";
  if (scheduled) s.not_before = now + absl::Hours(24 + Pick(48));
  return s;
}

int SiteGen::NearZone(int z) {
  const int step[] = {0, 1, -1, kGridWidth, -kGridWidth};
  const int n = z + step[Pick(5)];
  return n >= 0 && n < shape_.zones ? n : z;
}

MixDriver::MixDriver(SiteGen* gen, engine::ManualClock* clock)
    : gen_(gen),
      clock_(clock),
      techs_(gen->shape().technicians),
      pos_(gen->shape().technicians, -1),
      buckets_(static_cast<int>(TechState::kCount)) {}

absl::Status MixDriver::Populate(engine::Engine& engine,
                                 const std::function<void(const engine::Outcome&)>& sink) {
  auto run = [&](const engine::Command& c) -> absl::Status {
    absl::StatusOr<engine::Outcome> out = engine.Handle(c);
    if (!out.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("bench site setup rejected: ", out.status().ToString()));
    }
    Saw(out);
    if (sink) sink(*out);
    return absl::OkStatus();
  };
  for (const engine::Command& c : gen_->SetupCommands()) {
    if (absl::Status s = run(c); !s.ok()) return s;
  }
  const SiteShape& shape = gen_->shape();
  for (int i = 0; i < shape.technicians; ++i) {
    techs_[i].home = techs_[i].zone = i % shape.zones;
    pos_[i] = static_cast<int>(buckets_[0].items.size());
    buckets_[0].items.push_back(i);
    if (absl::Status s = run(gen_->Technician(i)); !s.ok()) return s;
  }
  const int on_shift = static_cast<int>(shape.technicians * shape.on_shift);
  for (int i = 0; i < on_shift; ++i) {
    if (absl::Status s = run(engine::cmd::StartShift{SiteGen::TechId(i), ""}); !s.ok()) {
      return s;
    }
  }
  for (int i = 0; i < shape.open_requests; ++i) {
    const bool scheduled = gen_->Pick(1000) < static_cast<int>(shape.scheduled * 1000);
    if (absl::Status s = run(engine::cmd::SubmitRequest{gen_->Spec(clock_->Now(), scheduled)});
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

void MixDriver::Move(int tech, TechState to, const std::string& request_id) {
  if (tech < 0 || tech >= static_cast<int>(techs_.size())) return;
  TechView& t = techs_[tech];
  Bucket& from = buckets_[static_cast<int>(t.state)];
  const int p = pos_[tech];
  from.items[p] = from.items.back();
  pos_[from.items[p]] = p;
  from.items.pop_back();
  Bucket& into = buckets_[static_cast<int>(to)];
  pos_[tech] = static_cast<int>(into.items.size());
  into.items.push_back(tech);
  t.state = to;
  t.request_id = request_id;
}

void MixDriver::Release(int tech) {
  if (tech < 0 || tech >= static_cast<int>(techs_.size())) return;
  const TechState s = techs_[tech].state;
  if (s == TechState::kOffered || s == TechState::kAssigned || s == TechState::kWorking) {
    Move(tech, TechState::kAvailable);
  }
}

int MixDriver::RandomIn(TechState s) {
  const std::vector<int>& items = buckets_[static_cast<int>(s)].items;
  return items.empty() ? -1 : items[gen_->Pick(static_cast<int>(items.size()))];
}

void MixDriver::Saw(const absl::StatusOr<engine::Outcome>& outcome) {
  if (!outcome.ok()) {
    ++rejected_;
    return;
  }
  for (const engine::Event& e : outcome->events) {
    std::visit(
        [&](const auto& k) {
          using K = std::decay_t<decltype(k)>;
          if constexpr (std::is_same_v<K, engine::ev::OfferMade>) {
            Move(SiteGen::TechNumber(k.technician_id), TechState::kOffered, k.request_id);
          } else if constexpr (std::is_same_v<K, engine::ev::RequestAssigned>) {
            Release(SiteGen::TechNumber(k.released_technician_id));
            Move(SiteGen::TechNumber(k.technician_id), TechState::kAssigned, k.request_id);
          } else if constexpr (std::is_same_v<K, engine::ev::OfferAccepted>) {
            Move(SiteGen::TechNumber(k.technician_id), TechState::kAssigned, k.request_id);
          } else if constexpr (std::is_same_v<K, engine::ev::WorkStarted>) {
            Move(SiteGen::TechNumber(k.technician_id), TechState::kWorking, k.request_id);
          } else if constexpr (std::is_same_v<K, engine::ev::WorkCompleted> ||
                               std::is_same_v<K, engine::ev::RequestCancelled> ||
                               std::is_same_v<K, engine::ev::OfferDeclined> ||
                               std::is_same_v<K, engine::ev::OfferExpired> ||
                               std::is_same_v<K, engine::ev::OfferWithdrawn> ||
                               std::is_same_v<K, engine::ev::RequestRequeued> ||
                               std::is_same_v<K, engine::ev::WorkPutOnHold>) {
            Release(SiteGen::TechNumber(k.technician_id));
          } else if constexpr (std::is_same_v<K, engine::ev::ShiftStarted>) {
            const int t = SiteGen::TechNumber(k.technician_id);
            Move(t, TechState::kAvailable);
          } else if constexpr (std::is_same_v<K, engine::ev::ShiftEnded>) {
            Move(SiteGen::TechNumber(k.technician_id), TechState::kOff);
          } else if constexpr (std::is_same_v<K, engine::ev::RequestSubmitted>) {
            if (recent_.size() < kRecent) {
              recent_.push_back(k.request_id);
            } else {
              recent_[recent_next_++ % kRecent] = k.request_id;
            }
          }
        },
        e.kind);
  }
}

engine::Command MixDriver::Submit() {
  return engine::cmd::SubmitRequest{gen_->Spec(clock_->Now(), gen_->Pick(10) == 0)};
}

engine::Command MixDriver::Next(const engine::Engine& engine) {
  clock_->Advance(absl::Milliseconds(5));
  if (std::optional<absl::Time> due = engine.NextTimer(); due && *due <= clock_->Now()) {
    return engine::cmd::Tick{};
  }
  const int roll = gen_->Pick(100);
  int t = -1;
  if (roll < 20) return Submit();
  if (roll < 38 && (t = RandomIn(TechState::kOffered)) >= 0) {
    return engine::cmd::AcceptOffer{SiteGen::TechId(t), techs_[t].request_id};
  }
  if (roll < 54 && (t = RandomIn(TechState::kAssigned)) >= 0) {
    return engine::cmd::StartWork{SiteGen::TechId(t), techs_[t].request_id};
  }
  if (roll < 70 && (t = RandomIn(TechState::kWorking)) >= 0) {
    engine::cmd::CompleteWork c;
    c.technician_id = SiteGen::TechId(t);
    c.request_id = techs_[t].request_id;
    c.resolved = gen_->Pick(20) != 0;
    c.notes = "Replaced the faulty part.";
    return c;
  }
  if (roll < 72 && (t = RandomIn(TechState::kOffered)) >= 0) {
    return engine::cmd::DeclineOffer{SiteGen::TechId(t), techs_[t].request_id,
                                     "on another job"};
  }
  if (roll < 76 && !recent_.empty()) {
    return engine::cmd::CancelRequest{recent_[gen_->Pick(static_cast<int>(recent_.size()))],
                                      "no longer needed"};
  }
  if (roll < 80 && (t = RandomIn(TechState::kAvailable)) >= 0) {
    return engine::cmd::EndShift{SiteGen::TechId(t)};
  }
  if (roll < 84 && (t = RandomIn(TechState::kOff)) >= 0) {
    return engine::cmd::StartShift{SiteGen::TechId(t), ""};
  }
  // Location reports: the default when the chosen kind has no one to act.
  t = RandomIn(TechState::kAvailable);
  if (t < 0) t = gen_->Pick(static_cast<int>(techs_.size()));
  techs_[t].zone = gen_->NearZone(techs_[t].home);
  return engine::cmd::ReportLocation{SiteGen::TechId(t), SiteGen::ZoneId(techs_[t].zone)};
}

}  // namespace dispatchd::bench
