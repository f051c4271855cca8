// SnapshotFeed: a snapshot's image handed, part by part, from the thread
// that reads and decodes it (SnapshotStore::FeedNewest) to the thread that
// loads it into the engine (EngineRunner::Recover), so that at start-up
// decoding and loading run side by side instead of one after the other.
//
// The parts are those of engine::DecodeImageParts, for one snapshot file
// at a time: its head, runs of requests, then the rest. A file whose
// decode fails half way is abandoned (the loader drops what it took; the
// engine takes nothing before the rest has loaded) and the reader goes on
// with the next older one, as SnapshotStore::LoadNewest does. At most
// `max_queued` parts wait, so a slow loader bounds the memory held.
//
// Thread safety: one producer thread and one consumer thread.
#ifndef DISPATCHD_SERVICES_SNAPSHOT_FEED_H_
#define DISPATCHD_SERVICES_SNAPSHOT_FEED_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "engine/engine.h"
#include "engine/state_image.h"

namespace dispatchd::services {

class SnapshotFeed {
 public:
  explicit SnapshotFeed(size_t max_queued = 16) : max_queued_(max_queued) {}

  // --- Producer. Each returns CANCELLED once the consumer has gone. ---
  // A new snapshot file, `path`, starts with its head.
  absl::Status Head(std::string path, engine::StateImage&& head);
  absl::Status Requests(std::vector<engine::RequestImage>&& run);
  absl::Status Rest(engine::StateImage&& rest);
  // The parts since the last Head are void (the file failed to decode).
  void Abandon();
  // No more parts: after a file's Rest, or with no snapshot found (OK),
  // or with the error that stopped the reader.
  void End(absl::Status status);

  // --- Consumer. ---
  // Loads what arrives into the fresh `engine` until the feed ends, after
  // asking `fits` about each file's last sequence (its error stops the
  // load). True if a snapshot was loaded (then loaded_path() names it),
  // false if there was none; an error, from the reader, `fits` or the
  // engine (DATA_LOSS naming the snapshot), leaves the engine unchanged.
  // Either way the feed is closed when it returns.
  absl::StatusOr<bool> LoadInto(engine::Engine& engine,
                                const std::function<absl::Status(uint64_t)>& fits);
  // Stops the feed: the producer's calls return CANCELLED from now on.
  void Close();
  // The file LoadInto loaded; empty if none.
  const std::string& loaded_path() const { return loaded_path_; }

 private:
  struct Part {
    enum Kind { kHead, kRequests, kRest, kAbandon, kEnd } kind;
    std::string path;                       // kHead.
    engine::StateImage image;               // kHead, kRest.
    std::vector<engine::RequestImage> run;  // kRequests.
    absl::Status status;                    // kEnd.
  };
  absl::Status Push(Part part);
  Part Pop();

  const size_t max_queued_;
  absl::Mutex mu_;
  std::deque<Part> parts_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  std::string loaded_path_;  // Consumer only.
};

}  // namespace dispatchd::services

#endif  // DISPATCHD_SERVICES_SNAPSHOT_FEED_H_
