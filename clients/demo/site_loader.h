// Loading the demo campus into dispatchd, and the depots' deliveries.
//
// Thread safety: the functions make blocking calls; call them from one
// thread at a time (Start's thread, then the scheduler thread).
#ifndef DISPATCHD_CLIENTS_DEMO_SITE_LOADER_H_
#define DISPATCHD_CLIENTS_DEMO_SITE_LOADER_H_

#include "absl/status/statusor.h"
#include "clients/demo/demo_context.h"

namespace dispatchd::demo {

// If the daemon has no zones yet, loads the campus: the policy, the zones
// (first bare, then again with their links, so no link names a zone that
// does not exist yet; links are made symmetric), the technicians (off
// shift: shifts are the technician players' business) and each depot's
// opening stock. Returns true if it loaded the site, false if the daemon
// already had zones (then it changes nothing). Fails with the daemon's
// status, its message naming the call and the item.
absl::StatusOr<bool> LoadSiteIfEmpty(const DemoContext& ctx);

// A delivery: tops every depot up to its opening stock, and logs what came.
// Failures are logged, not returned: the demo carries on.
void Restock(const DemoContext& ctx, int delivery_number);

}  // namespace dispatchd::demo

#endif  // DISPATCHD_CLIENTS_DEMO_SITE_LOADER_H_
