// Surge mode: a zone whose queue or count of SLA-at-risk jobs reaches the
// policy threshold enters surge, and leaves it once both have fallen below
// half their thresholds (hysteresis, so it does not flap).
//
// While a zone is in surge its queued requests do not wait for a busy
// local technician (rule `cross-zone: surge`), technicians elsewhere pull
// its jobs without that check either, and on entry its on-call technicians
// who are off shift are asked to start one (ShiftRequested).
//
// Cost: only zones whose queue changed during the command are looked at;
// entering surge re-dispatches that zone's queue once.
#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "engine/internal/state.h"

namespace dispatchd::engine {

std::string Engine::State::SurgeEntryReason(const ZoneRec& z) const {
  const uint32_t queued = z.QueuedTotal();
  if (policy_.surge_queue_threshold > 0 && queued >= policy_.surge_queue_threshold) {
    return absl::StrCat("queue of ", queued, " reached the surge threshold ",
                        policy_.surge_queue_threshold);
  }
  if (policy_.surge_at_risk_threshold > 0 && z.at_risk >= policy_.surge_at_risk_threshold) {
    return absl::StrCat(z.at_risk, " jobs with their SLA at risk reached the surge threshold ",
                        policy_.surge_at_risk_threshold);
  }
  return "";
}

bool Engine::State::SurgeCalm(const ZoneRec& z) const {
  // Below half a threshold (2 * count < threshold); a disabled (0)
  // threshold never holds a zone in surge.
  auto below_half = [](uint32_t count, uint32_t threshold) {
    return threshold == 0 || uint64_t{count} * 2 < threshold;
  };
  return below_half(z.QueuedTotal(), policy_.surge_queue_threshold) &&
         below_half(z.at_risk, policy_.surge_at_risk_threshold);
}

void Engine::State::UpdateSurge() {
  // Entering surge re-dispatches, which may change other zones' queues:
  // repeat until settled. Each zone enters at most once per command (it
  // cannot calm down and re-enter: leaving needs the counts below half).
  while (!surge_dirty_.empty()) {
    // The lowest zone index first, as the order of the events it emits.
    const auto lowest = std::min_element(surge_dirty_.begin(), surge_dirty_.end());
    const uint32_t index = *lowest;
    *lowest = surge_dirty_.back();
    surge_dirty_.pop_back();
    ZoneRec& z = zones_[index];
    z.surge_dirty = false;
    const std::string zone_id = z.pub.zone_id;
    if (z.surge) {
      if (!SurgeCalm(z)) continue;
      Emit(ev::ZoneSurgeEnded{
          zone_id, z.QueuedTotal(), z.at_risk,
          absl::StrCat("queue ", z.QueuedTotal(), " and SLA-at-risk ", z.at_risk,
                       " are below half their thresholds (", policy_.surge_queue_threshold,
                       ", ", policy_.surge_at_risk_threshold, ")")});
      continue;
    }
    std::string reason = SurgeEntryReason(z);
    if (reason.empty()) continue;
    Emit(ev::ZoneSurgeStarted{zone_id, z.QueuedTotal(), z.at_risk, reason});
    for (const std::string& id : policy_.on_call_technician_ids) {
      const TechRec* t = Tech(id);
      if (t == nullptr || t->home != index ||
          t->pub.state != TechnicianState::kOffShift) {
        continue;
      }
      Emit(ev::ShiftRequested{id, zone_id,
                              absl::StrCat("zone ", zone_id, " is in surge: ", reason)});
    }
    // Requests waiting for a busy local technician now go cross-zone.
    std::vector<uint32_t> queued;
    for (const internal::NeedQueue& q : z.queues) {
      for (const internal::QueueKey& key : q.queue) queued.push_back(key.number);
    }
    std::sort(queued.begin(), queued.end(), [&](uint32_t a, uint32_t b) {
      return ByNumber(a).Key() < ByNumber(b).Key();
    });
    for (uint32_t number : queued) Dispatch(ByNumber(number));
  }
}

absl::Status Engine::State::On(const ev::ZoneSurgeStarted& e, absl::Time) {
  ASSIGN_OR_RETURN(const uint32_t index, GetZone("zone_id", e.zone_id));
  if (zones_[index].surge) {
    return absl::FailedPreconditionError(
        absl::StrCat("zone ", e.zone_id, " is already in surge"));
  }
  zones_[index].surge = true;
  return absl::OkStatus();
}

absl::Status Engine::State::On(const ev::ZoneSurgeEnded& e, absl::Time) {
  ASSIGN_OR_RETURN(const uint32_t index, GetZone("zone_id", e.zone_id));
  if (!zones_[index].surge) {
    return absl::FailedPreconditionError(absl::StrCat("zone ", e.zone_id, " is not in surge"));
  }
  zones_[index].surge = false;
  return absl::OkStatus();
}

absl::Status Engine::State::On(const ev::ShiftRequested& e, absl::Time) {
  ASSIGN_OR_RETURN(const TechRec* t, GetTech("technician_id", e.technician_id));
  RETURN_IF_ERROR(GetZone("zone_id", e.zone_id).status());
  if (t->pub.state != TechnicianState::kOffShift) {
    return absl::FailedPreconditionError(
        absl::StrCat("technician ", e.technician_id, " is already on shift"));
  }
  return absl::OkStatus();
}

}  // namespace dispatchd::engine
