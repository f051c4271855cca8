// Commands: what callers ask the engine to do. Engine::Handle validates a
// command against the current state, decides, and returns the events it
// produced — or an error status and no change at all.
//
// Thread safety: plain values.
#ifndef DISPATCHD_ENGINE_COMMANDS_H_
#define DISPATCHD_ENGINE_COMMANDS_H_

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "engine/model.h"

namespace dispatchd::engine::cmd {

struct UpsertZone {
  Zone zone;
};

struct SetPolicy {
  Policy policy;
};

struct RegisterTechnician {
  std::string technician_id;
  std::string name;
  std::string home_zone_id;
  std::vector<SkillLevel> skills;
};

// Empty optionals leave the field unchanged.
struct UpdateTechnician {
  std::string technician_id;
  std::optional<std::string> name;
  std::optional<std::string> home_zone_id;
  std::optional<std::vector<SkillLevel>> skills;
};

struct StartShift {
  std::string technician_id;
  std::string zone_id;  // Empty: home zone.
};

struct EndShift {
  std::string technician_id;
};

struct ReportLocation {
  std::string technician_id;
  std::string zone_id;
};

struct SubmitRequest {
  RequestSpec spec;
};

struct CancelRequest {
  std::string request_id;
  std::string reason;
};

struct ChangeUrgency {
  std::string request_id;
  Urgency urgency = Urgency::kNormal;
  std::string reason;
};

// A dispatcher's override.
struct AssignRequest {
  std::string request_id;
  std::string technician_id;
  std::string reason;
};

struct RecordFeedback {
  std::string request_id;
  uint32_t rating = 0;
  std::string comment;
};

struct AcceptOffer {
  std::string technician_id;
  std::string request_id;
};

struct DeclineOffer {
  std::string technician_id;
  std::string request_id;
  std::string reason;
};

struct StartWork {
  std::string technician_id;
  std::string request_id;
};

struct CompleteWork {
  std::string technician_id;
  std::string request_id;
  bool resolved = true;
  std::vector<MaterialLine> materials_used;
  std::string notes;
};

struct PutOnHold {
  std::string technician_id;
  std::string request_id;
  std::string reason;
};

struct AdjustStock {
  std::string depot_zone_id;
  std::string sku;
  int64_t delta = 0;
  std::string reason;
};

struct RaiseAlert {
  std::string dedupe_key;
  std::string source;
  std::string kind;
  std::string zone_id;
  std::string location;
  uint32_t severity = 0;
  uint32_t crew_size = 1;
  std::string description;
  std::vector<SkillLevel> required_skills;  // Empty: the kind's default.
};

struct ResolveAlert {
  std::string dedupe_key;
  std::string note;
};

// Fires whatever timers are due at the clock's now: offer timeouts, aging.
struct Tick {};

}  // namespace dispatchd::engine::cmd

namespace dispatchd::engine {

using Command =
    std::variant<cmd::UpsertZone, cmd::SetPolicy, cmd::RegisterTechnician,
                 cmd::UpdateTechnician, cmd::StartShift, cmd::EndShift,
                 cmd::ReportLocation, cmd::SubmitRequest, cmd::CancelRequest,
                 cmd::ChangeUrgency, cmd::AssignRequest, cmd::RecordFeedback,
                 cmd::AcceptOffer, cmd::DeclineOffer, cmd::StartWork,
                 cmd::CompleteWork, cmd::PutOnHold, cmd::AdjustStock,
                 cmd::RaiseAlert, cmd::ResolveAlert, cmd::Tick>;

}  // namespace dispatchd::engine

#endif  // DISPATCHD_ENGINE_COMMANDS_H_
