#include "clients/dispatchctl/stream_stopper.h"

#include "absl/time/clock.h"

namespace dispatchd::ctl {

StreamStopper::StreamStopper(Io* io, bool on_end_of_input)
    : io_(io), thread_([this, on_end_of_input] { Run(on_end_of_input); }) {}

StreamStopper::~StreamStopper() {
  io_->stop->store(true);
  thread_.join();
}

void StreamStopper::Run(bool on_end_of_input) {
  if (on_end_of_input) {
    while (io_->read_line()) {
    }
  } else {
    while (!io_->stop->load()) absl::SleepFor(absl::Milliseconds(100));
  }
  Done();
}

void StreamStopper::Done() {
  done_.store(true);
  absl::MutexLock lock(&mu_);
  if (context_ != nullptr) context_->TryCancel();
}

void StreamStopper::Watch(grpc::ClientContext* context) {
  absl::MutexLock lock(&mu_);
  context_ = context;
  if (context_ != nullptr && done_.load()) context_->TryCancel();
}

}  // namespace dispatchd::ctl
