// Commands that set the stage: zones, policy, technicians, shifts, stock.
// Each validates fully before its first Emit.
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "engine/internal/state.h"
#include "engine/internal/validate.h"

namespace dispatchd::engine {

absl::Status Engine::State::Do(const cmd::UpsertZone& c) {
  RETURN_IF_ERROR(internal::CheckZoneShape(c.zone));
  for (size_t i = 0; i < c.zone.neighbors.size(); ++i) {
    RETURN_IF_ERROR(GetZone(absl::StrCat("zone.neighbors[", i, "].zone_id"),
                            c.zone.neighbors[i].zone_id)
                        .status());
  }
  Emit(ev::ZoneUpserted{c.zone});
  return absl::OkStatus();
}

absl::Status Engine::State::Do(const cmd::SetPolicy& c) {
  RETURN_IF_ERROR(internal::CheckPolicy(c.policy));
  Emit(ev::PolicySet{c.policy});
  return absl::OkStatus();
}

absl::Status Engine::State::Do(const cmd::RegisterTechnician& c) {
  RETURN_IF_ERROR(internal::CheckTechnicianId("technician_id", c.technician_id));
  if (Tech(c.technician_id) != nullptr) {
    return absl::AlreadyExistsError(
        absl::StrCat("technician_id: technician '", c.technician_id, "' already exists"));
  }
  RETURN_IF_ERROR(GetZone("home_zone_id", c.home_zone_id).status());
  RETURN_IF_ERROR(internal::CheckTechnicianSkills("skills", c.skills));
  RETURN_IF_ERROR(skills_.CheckRoom(c.skills));
  Emit(ev::TechnicianRegistered{c.technician_id, c.name, c.home_zone_id, c.skills});
  return absl::OkStatus();
}

absl::Status Engine::State::Do(const cmd::UpdateTechnician& c) {
  ASSIGN_OR_RETURN(TechRec * t, GetTech("technician_id", c.technician_id));
  ev::TechnicianUpdated e{t->pub.technician_id, c.name.value_or(t->pub.name),
                          c.home_zone_id.value_or(t->pub.home_zone_id),
                          c.skills.value_or(t->pub.skills)};
  RETURN_IF_ERROR(GetZone("home_zone_id", e.home_zone_id).status());
  RETURN_IF_ERROR(internal::CheckTechnicianSkills("skills", e.skills));
  RETURN_IF_ERROR(skills_.CheckRoom(e.skills));
  Emit(std::move(e));
  Pull(*t);  // New skills may fit waiting work; an offer in hand is kept.
  return absl::OkStatus();
}

absl::Status Engine::State::Do(const cmd::StartShift& c) {
  ASSIGN_OR_RETURN(TechRec * t, GetTech("technician_id", c.technician_id));
  if (t->pub.state != TechnicianState::kOffShift) {
    return absl::FailedPreconditionError(
        absl::StrCat("technician '", c.technician_id, "' is already on shift"));
  }
  const std::string& zone = c.zone_id.empty() ? t->pub.home_zone_id : c.zone_id;
  RETURN_IF_ERROR(GetZone("zone_id", zone).status());
  Emit(ev::ShiftStarted{c.technician_id, zone});
  Pull(*t);
  return absl::OkStatus();
}

absl::Status Engine::State::Do(const cmd::EndShift& c) {
  ASSIGN_OR_RETURN(TechRec * t, GetTech("technician_id", c.technician_id));
  const TechnicianState s = t->pub.state;
  if (s == TechnicianState::kOffShift) {
    return absl::FailedPreconditionError(
        absl::StrCat("technician '", c.technician_id, "' is already off shift"));
  }
  if (s == TechnicianState::kWorking) {
    return absl::FailedPreconditionError(absl::StrCat(
        "technician '", c.technician_id, "' is working on ", t->pub.request_id,
        ": complete or put on hold ", t->pub.request_id, " first"));
  }
  const uint32_t job = t->job;
  const std::string reason = "technician ended shift";
  if (s == TechnicianState::kOffered) {
    Emit(ev::OfferWithdrawn{t->pub.request_id, c.technician_id, reason});
  } else if (s == TechnicianState::kAssigned) {
    Emit(ev::RequestRequeued{t->pub.request_id, c.technician_id, reason});
  }
  Emit(ev::ShiftEnded{c.technician_id});
  if (job != 0) {
    outcome_->request_id = ByNumber(job).pub.request_id;
    Dispatch(ByNumber(job));
  }
  return absl::OkStatus();
}

absl::Status Engine::State::Do(const cmd::ReportLocation& c) {
  ASSIGN_OR_RETURN(TechRec * t, GetTech("technician_id", c.technician_id));
  RETURN_IF_ERROR(GetZone("zone_id", c.zone_id).status());
  Emit(ev::LocationReported{c.technician_id, c.zone_id});
  Pull(*t);  // Only if available: nearby work may now be theirs.
  return absl::OkStatus();
}

absl::Status Engine::State::Do(const cmd::AdjustStock& c) {
  RETURN_IF_ERROR(GetZone("depot_zone_id", c.depot_zone_id).status());
  RETURN_IF_ERROR(internal::CheckPresent("sku", c.sku));
  if (c.delta == 0) return absl::InvalidArgumentError("delta: must not be 0");
  RETURN_IF_ERROR(internal::CheckPresent("reason", c.reason));
  auto it = stock_.find(std::make_pair(c.depot_zone_id, c.sku));
  const int64_t before = it == stock_.end() ? 0 : it->second;
  int64_t after = 0;
  if (__builtin_add_overflow(before, c.delta, &after)) {
    return absl::InvalidArgumentError("delta: out of range");
  }
  if (after < 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "stock of '", c.sku, "' at depot '", c.depot_zone_id, "' is ", before,
        "; removing ", -c.delta, " would go below zero"));
  }
  auto held = stock_reserved_.find(std::make_pair(c.depot_zone_id, c.sku));
  const int64_t reserved = held == stock_reserved_.end() ? 0 : held->second;
  if (after < reserved) {
    return absl::FailedPreconditionError(absl::StrCat(
        "stock of '", c.sku, "' at depot '", c.depot_zone_id, "' is ", before, ", of which ",
        reserved, " reserved for assigned jobs; removing ", -c.delta,
        " would take reserved units"));
  }
  Emit(ev::StockAdjusted{c.depot_zone_id, c.sku, c.delta, after, c.reason});
  if (c.delta > 0) ServeStockWaiters(c.sku);
  return absl::OkStatus();
}

}  // namespace dispatchd::engine
