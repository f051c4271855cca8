// Marks the calling thread as background work: on a busy machine the
// engine thread and gRPC's threads go first, and it still gets its share.
// Linux applies nice per thread, so only the caller is lowered.
//
//   std::thread([] { base::RunInBackground(); ScanTheJournal(); });
#ifndef DISPATCHD_BASE_BACKGROUND_THREAD_H_
#define DISPATCHD_BASE_BACKGROUND_THREAD_H_

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace dispatchd::base {

// Nice 10 for the calling thread; a failure (no such permission) leaves
// it as it was.
inline void RunInBackground() {
  (void)setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), 10);
}

}  // namespace dispatchd::base

#endif  // DISPATCHD_BASE_BACKGROUND_THREAD_H_
