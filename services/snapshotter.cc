#include "services/snapshotter.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/background_thread.h"
#include "base/status_macros.h"
#include "services/event_codec.h"

namespace dispatchd::services {

Snapshotter::Snapshotter(SnapshotStore* store, SnapshotterOptions options)
    : store_(store), options_(std::move(options)), follower_(&clock_),
      last_snapshot_(absl::Now()) {}

Snapshotter::~Snapshotter() {
  quitting_ = true;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

absl::Status Snapshotter::Prime(const engine::StateImage& recovered) {
  absl::MutexLock lock(&engine_mu_);
  return follower_.LoadImage(recovered);
}

void Snapshotter::PrimeFrom(std::string snapshot_path, const EventLog* log, uint64_t through) {
  absl::MutexLock lock(&engine_mu_);
  catch_up_snapshot_ = std::move(snapshot_path);
  catch_up_log_ = log;
  catch_up_through_ = through;
}

absl::Status Snapshotter::CatchUp() {
  absl::MutexLock lock(&engine_mu_);
  if (catch_up_log_ == nullptr) return absl::OkStatus();  // Primed by Prime, or not at all.
  const EventLog* const log = std::exchange(catch_up_log_, nullptr);
  if (const std::string path = std::exchange(catch_up_snapshot_, ""); !path.empty()) {
    // In parts, as it decodes: the whole image of a long history decoded
    // at once would take as much memory again as the follower's engine,
    // and a stop would wait for all of it.
    RETURN_IF_ERROR(store_->LoadInto(path, follower_, [this] { return quitting_.load(); }));
  }
  const uint64_t through = catch_up_through_;
  if (through > follower_.last_sequence()) {
    uint64_t applied = 0;
    absl::Status scanned = log->Scan(
        follower_.last_sequence() + 1, [&](const ::dispatch::v1::Event& e) -> absl::Status {
          if (e.sequence() > through) return absl::CancelledError();  // Caught up.
          if ((++applied & 1023) == 0 && quitting_) return absl::AbortedError("stopping");
          return ApplyRecorded(e, follower_);
        });
    if (!scanned.ok() && !absl::IsCancelled(scanned)) return scanned;
  }
  if (follower_.last_sequence() != through) {
    return absl::DataLossError(absl::StrCat("caught up to event ", follower_.last_sequence(),
                                            " of the journal, not ", through));
  }
  return absl::OkStatus();
}

void Snapshotter::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void Snapshotter::Follow(EventBatch batch) {
  if (batch == nullptr || batch->empty()) return;
  absl::MutexLock lock(&mu_);
  queued_events_ += batch->size();
  queue_.push_back(std::move(batch));
}

absl::Status Snapshotter::ApplyOne(const ::dispatch::v1::Event& event) {
  RETURN_IF_ERROR(ApplyRecorded(event, follower_));
  ++since_snapshot_;
  return absl::OkStatus();
}

void Snapshotter::Loop() {
  // The follower is background work; it still gets its share, so its
  // queue drains.
  base::RunInBackground();
  if (absl::Status caught_up = CatchUp(); !caught_up.ok()) {
    if (quitting_) return;
    if (options_.log) {
      options_.log(absl::StrCat("snapshot follower stopped: cannot catch up from the snapshot: ",
                                caught_up.message()));
    }
    absl::MutexLock lock(&mu_);
    stopped_ = std::move(caught_up);
    return;
  }
  while (true) {
    std::deque<EventBatch> batches;
    uint64_t asked = 0;
    bool answering = false;
    {
      absl::MutexLock lock(&mu_);
      // Not woken per event: each wake-up would cost the engine's core a
      // context switch per durable call. It wakes for a snapshot asked
      // for, once kWakeAt events wait, or after a short while.
      mu_.AwaitWithTimeout(absl::Condition(
                               +[](Snapshotter* s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu_) {
                                 return s->stopping_ || s->queued_events_ >= kWakeAt ||
                                        s->asked_ > s->answered_;
                               },
                               this),
                           queue_.empty() ? absl::Seconds(1) : kFollowLag);
      if (stopping_) return;
      batches.swap(queue_);
      queued_events_ = 0;
      // Every event queued before these tickets were issued is in this
      // batch or an earlier one, so the snapshot after it answers them.
      asked = asked_;
      answering = asked_ > answered_;
    }
    absl::Status applied = FollowBatches(batches);
    if (!applied.ok()) {
      if (options_.log) options_.log(absl::StrCat("snapshot follower stopped: ", applied.message()));
      absl::MutexLock lock(&mu_);
      stopped_ = std::move(applied);
      return;  // Its state is no longer the live one's: take no more snapshots.
    }
    absl::Status taken;
    {
      absl::MutexLock engine_lock(&engine_mu_);
      const bool by_count =
          options_.every_events > 0 && since_snapshot_ >= options_.every_events;
      const bool by_time = options_.every > absl::ZeroDuration() && since_snapshot_ > 0 &&
                           absl::Now() - last_snapshot_ >= options_.every;
      if (!by_count && !by_time && !answering) continue;
      taken = Take();
    }
    if (!taken.ok() && options_.log) {
      options_.log(
          absl::StrCat("snapshot failed (the journal still has everything): ", taken.message()));
    }
    if (answering) {
      absl::MutexLock lock(&mu_);
      answered_ = asked;
      answer_ = std::move(taken);
    }
  }
}

absl::Status Snapshotter::FollowBatches(const std::deque<EventBatch>& batches) {
  absl::MutexLock lock(&engine_mu_);
  for (const EventBatch& batch : batches) {
    for (const ::dispatch::v1::Event& e : *batch) {
      if (e.sequence() <= follower_.last_sequence()) continue;  // Primed already.
      RETURN_IF_ERROR(ApplyOne(e));
    }
  }
  return absl::OkStatus();
}

absl::Status Snapshotter::Take() {
  since_snapshot_ = 0;
  last_snapshot_ = absl::Now();
  if (follower_.last_sequence() == 0) return absl::OkStatus();
  RETURN_IF_ERROR(store_->Write(follower_.last_sequence(), follower_.ExportImage()));
  if (options_.after_snapshot) {
    ASSIGN_OR_RETURN(uint64_t covered, store_->OldestSequence());
    options_.after_snapshot(covered);
  }
  return absl::OkStatus();
}

absl::Status Snapshotter::SnapshotNow() {
  absl::MutexLock lock(&mu_);
  const uint64_t ticket = ++asked_;
  auto settled = [this, ticket]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return answered_ >= ticket || stopping_ || !stopped_.ok();
  };
  mu_.Await(absl::Condition(&settled));
  if (answered_ >= ticket) return answer_;
  if (!stopped_.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("the snapshot follower has stopped: ", stopped_.message()));
  }
  return absl::UnavailableError("the snapshotter is stopping");
}

}  // namespace dispatchd::services
