#include "tests/engine/random_commands.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tests/engine/test_util.h"

namespace dispatchd::engine::testing {

RandomCommands::RandomCommands(uint32_t seed, ManualClock* clock) : rng_(seed), clock_(clock) {}

std::string RandomCommands::SkillText(int count) {
  std::string out;
  const int first = Pick(4);
  for (int i = 0; i < count; ++i) {
    absl::StrAppend(&out, i ? "," : "", skills_[(first + i) % 4], ":", 1 + Pick(i ? 3 : 5));
  }
  return out;
}

std::string RandomCommands::AnyRequest() {
  return requests_ == 0 ? std::string("R-000001") : absl::StrFormat("R-%06d", 1 + Pick(requests_));
}

const std::string& RandomCommands::AnyTech() {
  return techs_[Pick(static_cast<int>(techs_.size()))];
}

std::vector<Command> RandomCommands::Setup() {
  auto zone = [](std::string id, std::vector<Neighbor> links) {
    return cmd::UpsertZone{engine::Zone{id, "Zone " + id, std::move(links)}};
  };
  std::vector<Command> out = {zone("Z0", {}), zone("Z1", {{"Z0", 10}}), zone("Z2", {{"Z1", 15}}),
                              zone("Z3", {{"Z0", 40}})};
  Policy& p = policy_;
  p.aging_promote_minutes = 45;
  p.offer_timeout_seconds = 300;
  p.max_preemptions_per_job = 1;
  p.surge_queue_threshold = 4;  // Low, so zones enter and leave surge.
  p.surge_at_risk_threshold = 3;
  p.on_call_technician_ids = {"T0", "T1", "T2", "T3", "T9"};
  p.emergency_plans = {{"power_outage", 2, Skills("electrical:2"), {{"LAMP", 1}}}};
  p.small_delivery_max_units = 4;  // Small, so deliveries fill and split.
  p.delivery_merge_minutes = 240;
  out.push_back(cmd::SetPolicy{p});
  for (int i = 0; i < 10; ++i) {
    techs_.push_back("T" + std::to_string(i));
    const std::string& home = AnyZone();
    const std::string skills = SkillText(1 + Pick(3));
    out.push_back(cmd::RegisterTechnician{techs_.back(), "", home, Skills(skills)});
  }
  // Some stock up front, so reservations (and their deliveries) are common
  // before it runs short and jobs wait for more.
  out.push_back(cmd::AdjustStock{"Z0", "LAMP", 60, "opening stock"});
  out.push_back(cmd::AdjustStock{"Z2", "LAMP", 30, "opening stock"});
  return out;
}

void RandomCommands::Saw(const Outcome& outcome) {
  if (!outcome.request_id.empty() && !outcome.duplicate) {
    requests_ = std::max(requests_, std::stoi(outcome.request_id.substr(2)));
  }
}

Command RandomCommands::Next(const Engine& engine) {
  auto tech = [&]() -> const Technician& { return *engine.FindTechnician(AnyTech()); };
  switch (Pick(16)) {
    case 0:
    case 1:
    case 2: {
      RequestSpec s;
      s.zone_id = AnyZone();
      s.required_skills = Skills(SkillText(1 + Pick(2)));
      s.urgency = Pick(2) ? Urgency::kLow : static_cast<Urgency>(1 + Pick(4));
      s.estimated_minutes = 10 + Pick(60);
      s.description = "broken";
      if (Pick(8) == 0) s.not_before = clock_->Now() + absl::Minutes(Pick(120));
      if (Pick(2) == 0) s.materials = {{"LAMP", 1u + Pick(3)}};
      if (Pick(8) == 0) s.materials.push_back({"FUSE", 1u + Pick(2)});
      if (Pick(5) == 0) s.key_department = true;
      if (Pick(4) == 0) s.asset_tag = "A" + std::to_string(1 + Pick(3));
      if (Pick(5) == 0) s.idempotency_key = "k" + std::to_string(Pick(20));
      // A few buildings per zone, so small deliveries merge.
      if (Pick(4) != 0) s.location = Pick(3) ? "Block 1" : "Block 2";
      return cmd::SubmitRequest{s};
    }
    case 3: {
      const std::string& id = AnyTech();
      return cmd::StartShift{id, Pick(3) ? "" : AnyZone()};
    }
    case 4:
      return cmd::EndShift{AnyTech()};
    case 5: {  // Accept some outstanding offer.
      const size_t start = Pick(static_cast<int>(techs_.size()));
      for (size_t i = 0; i < techs_.size(); ++i) {
        const Technician* t = engine.FindTechnician(techs_[(start + i) % techs_.size()]);
        if (t->state == TechnicianState::kOffered) {
          return cmd::AcceptOffer{t->technician_id, t->request_id};
        }
      }
      return cmd::AcceptOffer{techs_[start], AnyRequest()};
    }
    case 6: {  // Accept the offer a random technician holds, if any.
      const Technician& t = tech();
      return cmd::AcceptOffer{t.technician_id, t.request_id.empty() ? AnyRequest() : t.request_id};
    }
    case 7: {
      const Technician& t = tech();
      return cmd::DeclineOffer{t.technician_id, t.request_id, "busy"};
    }
    case 8: {
      const Technician& t = tech();
      const bool resume = !t.on_hold_request_ids.empty() && Pick(2);
      return cmd::StartWork{t.technician_id, resume ? t.on_hold_request_ids[0] : t.request_id};
    }
    case 9: {
      const Technician& t = tech();
      if (Pick(3) == 0) return cmd::PutOnHold{t.technician_id, t.request_id, "parts"};
      std::vector<MaterialLine> used;
      if (Pick(3) == 0) used.push_back({Pick(2) ? "LAMP" : "FUSE", 1u + Pick(3)});
      return cmd::CompleteWork{t.technician_id, t.request_id, Pick(4) != 0, used, "done"};
    }
    case 10:
      return cmd::CancelRequest{AnyRequest(), "changed mind"};
    case 11: {
      std::string request = AnyRequest();
      return cmd::AssignRequest{std::move(request), AnyTech(), "dispatcher"};
    }
    case 12: {
      std::string request = AnyRequest();
      return cmd::ChangeUrgency{std::move(request), static_cast<Urgency>(1 + Pick(4)), "re-filed"};
    }
    case 13: {
      if (Pick(2)) {  // Stock arrives (or is written off) at some depot.
        const int64_t delta = Pick(4) ? 1 + Pick(3) : -1 - Pick(2);
        return cmd::AdjustStock{AnyZone(), Pick(3) ? "LAMP" : "FUSE", delta, "delivery"};
      }
      if (Pick(4) == 0) {  // Surge thresholds move: zones enter and leave surge.
        policy_.surge_queue_threshold = Pick(3) == 0 ? 0 : 2 + Pick(60);
        policy_.surge_at_risk_threshold = Pick(3) == 0 ? 0 : 1 + Pick(30);
        // Merging turns off now and then; open deliveries keep their windows.
        policy_.delivery_merge_minutes = Pick(10) == 0 ? 0 : 240;
        return cmd::SetPolicy{policy_};
      }
      const std::string& id = AnyTech();
      return cmd::ReportLocation{id, AnyZone()};
    }
    case 14:
      if (Pick(2)) {
        std::string key = "alert" + std::to_string(Pick(8));
        const char* kind = Pick(2) ? "power_outage" : "gas";
        const uint32_t crew = Pick(3) ? 1 : 2 + Pick(2);
        return cmd::RaiseAlert{std::move(key), "s", kind, AnyZone(), "", 0, crew, "", {}};
      }
      return cmd::ResolveAlert{"alert" + std::to_string(Pick(8)), "ok"};
    default:
      clock_->Advance(absl::Seconds(30 + Pick(1200)));
      return cmd::Tick{};
  }
}

}  // namespace dispatchd::engine::testing
