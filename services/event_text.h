// One human-readable line per event, for the daemon's stdout and for the
// request history in ExplainAssignment, e.g.
//   #12 OfferMade R-000004 -> T-ELEC-02 [zone-first] 0 min, overqual 1
//
// Thread safety: stateless functions; safe from any thread.
#ifndef DISPATCHD_SERVICES_EVENT_TEXT_H_
#define DISPATCHD_SERVICES_EVENT_TEXT_H_

#include <string>

#include "dispatch/v1/events.pb.h"

namespace dispatchd::services {

// "#<sequence> <Kind> <details>". No trailing newline.
std::string EventLine(const ::dispatch::v1::Event& event);

// Like EventLine, prefixed with the event's UTC time: "2026-09-21 08:15:00 #12 ...".
std::string EventLineWithTime(const ::dispatch::v1::Event& event);

}  // namespace dispatchd::services

#endif  // DISPATCHD_SERVICES_EVENT_TEXT_H_
