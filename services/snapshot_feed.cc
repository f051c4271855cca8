#include "services/snapshot_feed.h"

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"

namespace dispatchd::services {

absl::Status SnapshotFeed::Head(std::string path, engine::StateImage&& head) {
  return Push(Part{Part::kHead, std::move(path), std::move(head), {}, {}});
}

absl::Status SnapshotFeed::Requests(std::vector<engine::RequestImage>&& run) {
  return Push(Part{Part::kRequests, {}, {}, std::move(run), {}});
}

absl::Status SnapshotFeed::Rest(engine::StateImage&& rest) {
  return Push(Part{Part::kRest, {}, std::move(rest), {}, {}});
}

void SnapshotFeed::Abandon() { (void)Push(Part{Part::kAbandon, {}, {}, {}, {}}); }

void SnapshotFeed::End(absl::Status status) {
  (void)Push(Part{Part::kEnd, {}, {}, {}, std::move(status)});
}

void SnapshotFeed::Close() {
  absl::MutexLock lock(&mu_);
  closed_ = true;
  parts_.clear();
}

absl::Status SnapshotFeed::Push(Part part) {
  absl::MutexLock lock(&mu_);
  // The end always fits: it must reach a consumer waiting on a full queue.
  if (part.kind != Part::kEnd) {
    mu_.Await(absl::Condition(
        +[](SnapshotFeed* f) ABSL_EXCLUSIVE_LOCKS_REQUIRED(f->mu_) {
          return f->closed_ || f->parts_.size() < f->max_queued_;
        },
        this));
  }
  if (closed_) return absl::CancelledError("the snapshot's loader has stopped");
  parts_.push_back(std::move(part));
  return absl::OkStatus();
}

SnapshotFeed::Part SnapshotFeed::Pop() {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(
      +[](std::deque<Part>* parts) { return !parts->empty(); }, &parts_));
  Part part = std::move(parts_.front());
  parts_.pop_front();
  return part;
}

absl::StatusOr<bool> SnapshotFeed::LoadInto(engine::Engine& engine,
                                            const std::function<absl::Status(uint64_t)>& fits) {
  struct Closer {
    SnapshotFeed* feed;
    ~Closer() { feed->Close(); }
  } closer{this};
  std::unique_ptr<engine::Engine::PartLoad> load;
  std::string path;
  auto failed = [&path](const absl::Status& s) {
    if (s.code() != absl::StatusCode::kDataLoss) return s;
    return absl::DataLossError(absl::StrCat("snapshot ", path, ": ", s.message()));
  };
  while (true) {
    Part part = Pop();
    switch (part.kind) {
      case Part::kHead: {
        path = std::move(part.path);
        if (absl::Status s = fits(part.image.last_sequence); !s.ok()) return s;
        absl::StatusOr<std::unique_ptr<engine::Engine::PartLoad>> started =
            engine.StartLoad(part.image);
        if (!started.ok()) return failed(started.status());
        load = *std::move(started);
        break;
      }
      case Part::kRequests:
        if (load == nullptr) return absl::InternalError("snapshot feed: requests before a head");
        if (absl::Status s = load->Requests(std::move(part.run)); !s.ok()) return failed(s);
        break;
      case Part::kRest:
        if (load == nullptr) return absl::InternalError("snapshot feed: rest before a head");
        if (absl::Status s = load->Finish(std::move(part.image)); !s.ok()) return failed(s);
        load.reset();
        loaded_path_ = path;
        break;
      case Part::kAbandon:
        load.reset();  // The engine took nothing of it.
        path.clear();
        break;
      case Part::kEnd:
        if (!part.status.ok()) return part.status;
        return !loaded_path_.empty();
    }
  }
}

}  // namespace dispatchd::services
