// StreamStopper: ends a blocking stream read when the user is done — at
// Ctrl-C, and optionally at the end of input (Ctrl-D) — by cancelling the
// call's context from a helper thread.
//
// Thread safety: owned by the thread that reads the stream. The context
// must outlive the stopper.
#ifndef DISPATCHD_CLIENTS_DISPATCHCTL_STREAM_STOPPER_H_
#define DISPATCHD_CLIENTS_DISPATCHCTL_STREAM_STOPPER_H_

#include <atomic>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "clients/dispatchctl/cli.h"
#include "grpcpp/client_context.h"

namespace dispatchd::ctl {

class StreamStopper {
 public:
  // Watches `io` for Ctrl-C (and end of input if `on_end_of_input`) and
  // then cancels the current context.
  StreamStopper(Io* io, bool on_end_of_input);
  // Stops the helper thread; sets io->stop so that a pending read returns.
  ~StreamStopper();
  StreamStopper(const StreamStopper&) = delete;
  StreamStopper& operator=(const StreamStopper&) = delete;

  // The call to cancel from now on (nullptr: none). Cancelled at once if
  // the user is already done.
  void Watch(grpc::ClientContext* context);
  // True once the user is done.
  bool done() const { return done_.load(); }

 private:
  void Run(bool on_end_of_input);
  void Done();

  Io* const io_;
  std::atomic<bool> done_{false};
  absl::Mutex mu_;
  grpc::ClientContext* context_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::thread thread_;
};

}  // namespace dispatchd::ctl

#endif  // DISPATCHD_CLIENTS_DISPATCHCTL_STREAM_STOPPER_H_
