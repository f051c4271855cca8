// The demo's narration: one line per thing that happens, stamped with the
// demo clock, e.g. "[demo 09:14] T-ELEC-02 accepted R-000012".
//
// Thread safety: thread-safe; lines from different threads never interleave.
#ifndef DISPATCHD_CLIENTS_DEMO_DEMO_LOG_H_
#define DISPATCHD_CLIENTS_DEMO_DEMO_LOG_H_

#include <ostream>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "clients/demo/demo_clock.h"

namespace dispatchd::demo {

class DemoLog {
 public:
  // "*out" and "*clock" must outlive the log.
  DemoLog(std::ostream* out, const DemoClock* clock) : out_(out), clock_(clock) {}

  // Writes "[demo HH:MM] <text>" and a newline, and flushes. The line goes
  // out in one write, so it does not interleave with the daemon's own
  // printf lines on the same stdout.
  void Line(absl::string_view text) {
    const std::string line = absl::StrCat("[demo ", clock_->Label(absl::Now()), "] ", text, "\n");
    absl::MutexLock lock(&mu_);
    out_->write(line.data(), static_cast<std::streamsize>(line.size()));
    out_->flush();
  }

  template <typename... Args>
  void Printf(const absl::FormatSpec<Args...>& format, const Args&... args) {
    Line(absl::StrFormat(format, args...));
  }

 private:
  absl::Mutex mu_;
  std::ostream* const out_ ABSL_PT_GUARDED_BY(mu_);
  const DemoClock* const clock_;
};

}  // namespace dispatchd::demo

#endif  // DISPATCHD_CLIENTS_DEMO_DEMO_LOG_H_
