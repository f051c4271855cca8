// QueuedWriter<T>: a server-streaming gRPC reactor (callback API) that
// writes a bounded queue of messages, one write in flight at a time.
//
// Producers Push from any thread. A consumer too slow to keep the queue
// within `capacity` loses its stream: the queue is dropped and the stream
// finishes RESOURCE_EXHAUSTED with a message saying so, instead of memory
// growing without bound. Close() finishes the stream after the write in
// flight. Subclasses may refill an empty queue on demand (RefillLocked),
// which paces a catch-up read by the consumer's own speed.
//
// Lifetime: the writer holds itself (Hold) until gRPC calls OnDone; others
// (a StreamHub) may share ownership, so Push after the end is harmless.
//
// Thread safety: Push, Close and closed are thread-safe. The gRPC
// reactions (OnWriteDone, OnCancel, OnDone) may run on any gRPC thread.
// No lock is held while calling StartWrite or Finish.
#ifndef DISPATCHD_SERVICES_QUEUED_WRITER_H_
#define DISPATCHD_SERVICES_QUEUED_WRITER_H_

#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/support/server_callback.h"
#include "grpcpp/support/status.h"

namespace dispatchd::services {

template <typename T>
class QueuedWriter : public grpc::ServerWriteReactor<T> {
 public:
  // `capacity`: messages that may wait behind the one being written; >= 1.
  explicit QueuedWriter(size_t capacity) : capacity_(capacity < 1 ? 1 : capacity) {}
  ~QueuedWriter() override = default;

  // Makes the writer own itself until OnDone, and sets what to run then
  // (e.g. unsubscribe). REQUIRES: called once, before the reactor is
  // returned to gRPC.
  void Hold(std::shared_ptr<QueuedWriter> self, std::function<void()> on_done) {
    self_ = std::move(self);
    on_done_ = std::move(on_done);
  }

  // Queues `item`. Returns false (and drops it) if the stream is
  // finishing, or if it overflows the queue, which finishes it
  // RESOURCE_EXHAUSTED.
  bool Push(T item) {
    bool ok;
    {
      absl::MutexLock lock(&mu_);
      ok = AppendLocked(std::move(item));
    }
    Pump();
    return ok;
  }

  // Finishes the stream with `status` once the write in flight is done;
  // what is still queued is dropped. Later calls and Pushes are ignored.
  void Close(const grpc::Status& status) {
    {
      absl::MutexLock lock(&mu_);
      FinishLocked(status);
    }
    Pump();
  }

  // Sends the response headers now, before any message, so a client
  // waiting for them knows the stream is subscribed. At most once, and
  // only before the first write; otherwise a no-op.
  void SendHeaders() {
    {
      absl::MutexLock lock(&mu_);
      if (headers_sent_ || writing_ || finish_sent_) return;
      headers_sent_ = true;
      writing_ = true;  // Holds writes and Finish until the headers are out.
    }
    this->StartSendInitialMetadata();
  }

  // True once the stream is finishing or finished.
  bool closed() const {
    absl::MutexLock lock(&mu_);
    return finish_.has_value();
  }

 protected:
  // Called with mu_ held when the queue is empty, nothing is in flight and
  // the stream is not finishing. May AppendLocked more messages.
  virtual void RefillLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {}

  // Queues one message; false if finishing or on overflow (then finishes).
  bool AppendLocked(T item) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finish_) return false;
    // When idle, the first queued message goes straight into flight.
    if (queue_.size() >= capacity_ + (writing_ ? 0 : 1)) {
      FinishLocked(grpc::Status(
          grpc::StatusCode::RESOURCE_EXHAUSTED,
          absl::StrCat("stream closed: the consumer is too slow (more than ", capacity_,
                       " messages waiting); reconnect to resume")));
      return false;
    }
    queue_.push_back(std::move(item));
    return true;
  }

  void FinishLocked(const grpc::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finish_) return;
    finish_ = status;
    queue_.clear();
  }

  size_t capacity() const { return capacity_; }

  // Starts the next write, or Finish, if nothing is in flight. Call
  // without mu_ held.
  void Pump() ABSL_LOCKS_EXCLUDED(mu_) {
    const T* write = nullptr;
    std::optional<grpc::Status> finish;
    {
      absl::MutexLock lock(&mu_);
      if (writing_ || finish_sent_) return;
      if (!finish_ && queue_.empty()) RefillLocked();
      if (finish_) {
        finish_sent_ = true;
        finish = *finish_;
      } else if (!queue_.empty()) {
        current_ = std::move(queue_.front());
        queue_.pop_front();
        writing_ = true;
        headers_sent_ = true;
        write = &current_;
      }
    }
    if (finish) {
      this->Finish(*finish);
    } else if (write != nullptr) {
      this->StartWrite(write);
    }
  }

  mutable absl::Mutex mu_;

 private:
  void OnWriteDone(bool ok) override {
    {
      absl::MutexLock lock(&mu_);
      writing_ = false;
      if (!ok) FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "write failed"));
    }
    Pump();
  }

  void OnSendInitialMetadataDone(bool ok) override { OnWriteDone(ok); }

  void OnCancel() override {
    Close(grpc::Status(grpc::StatusCode::CANCELLED, "stream cancelled"));
  }

  void OnDone() override {
    if (on_done_) on_done_();
    std::shared_ptr<QueuedWriter> self = std::move(self_);  // May free this.
  }

  const size_t capacity_;
  std::shared_ptr<QueuedWriter> self_;  // Set before gRPC sees the reactor.
  std::function<void()> on_done_;       // Likewise.
  T current_;                           // In flight while writing_.
  std::deque<T> queue_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;  // A write (or headers) in flight.
  bool headers_sent_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<grpc::Status> finish_ ABSL_GUARDED_BY(mu_);
  bool finish_sent_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace dispatchd::services

#endif  // DISPATCHD_SERVICES_QUEUED_WRITER_H_
