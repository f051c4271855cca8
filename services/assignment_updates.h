// Maps engine events to the AssignmentUpdates each concerned technician's
// WatchAssignments stream receives, and builds the snapshot of open work a
// stream starts with. A command's updates for one technician travel as one
// AssignmentUpdates message (so a decline's WITHDRAWN and the OFFERED of
// the job pulled next are one write, not two in turn).
//
//   OfferMade                     -> OFFERED (with the decision)
//   RequestAssigned               -> ASSIGNED to the new technician,
//                                    WITHDRAWN to the released one
//   OfferAccepted / WorkStarted / WorkPutOnHold / WorkCompleted
//                                 -> ACCEPTED / STARTED / ON_HOLD / COMPLETED
//   RequestCancelled, OfferExpired, OfferDeclined, OfferWithdrawn,
//   RequestRequeued               -> WITHDRAWN
//   RequestPreempted              -> PREEMPTED (with the emergency's id)
//   UrgencyChanged, RequestPromoted, MaterialsReserved, MaterialsAwaited
//                                 -> UPDATED to the technician holding it
//
// Thread safety: call on the engine thread (reads engine state).
#ifndef DISPATCHD_SERVICES_ASSIGNMENT_UPDATES_H_
#define DISPATCHD_SERVICES_ASSIGNMENT_UPDATES_H_

#include <string>
#include <vector>

#include "dispatch/v1/technicians.pb.h"
#include "engine/engine.h"

namespace dispatchd::services {

// One technician's updates from one command, in event order.
struct TechnicianUpdates {
  std::string technician_id;
  ::dispatch::v1::AssignmentUpdates message;
};

// The updates `events` (one command's, just produced by engine.Handle) mean
// for technicians: one entry per technician, in the order each is first
// concerned. Each update carries the request as it is now.
std::vector<TechnicianUpdates> AssignmentUpdatesFor(const std::vector<engine::Event>& events,
                                                    const engine::Engine& engine);

// What is open for `technician_id` now, as OPEN updates with snapshot=true
// (none if nothing is): the first message of their stream.
::dispatch::v1::AssignmentUpdates AssignmentSnapshot(const std::string& technician_id,
                                                     const engine::Engine& engine);

}  // namespace dispatchd::services

#endif  // DISPATCHD_SERVICES_ASSIGNMENT_UPDATES_H_
