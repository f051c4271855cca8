// Timers. Three kinds live in one ordered set keyed by (time, kind, request):
// offer expiries, scheduled windows opening, and live re-evaluations of
// requests waiting for a local technician (internal::TimerSet keeps the
// windows in a set of their own, read as one). Aging is kept apart, keyed by
// the time a request's aging started, so a policy change needs no re-key:
// due = aging base + policy.aging_promote_minutes.
//
// Deliveries waiting for their merge window to close are kept apart too
// (Engine::State::departures_, by departs_at).
//
// Tick fires what is due at the clock's now, earliest first; at equal
// times: expiries, windows, aging, re-evaluations, then departures. It
// fires at most kMaxFiringsPerTick: after a long stop thousands may be due
// at once (a start an hour after the last event on the benchmark's site
// had 422,461 events to emit), and one command that long would hold every
// caller. The rest stay due, so NextTimer() has passed and the caller
// ticks again, with other commands in between.
#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/internal/state.h"

namespace dispatchd::engine {
namespace {

// Aging fires between windows (1) and re-evaluations (2) at equal times;
// departures after everything else.
constexpr int kAgingOrder = 2;
constexpr int kDepartureOrder = 4;
constexpr int kMaxFiringsPerTick = 1024;
int Order(internal::TimerKind k) {
  return k == internal::TimerKind::kReevaluate ? 3 : static_cast<int>(k);
}

}  // namespace

std::optional<absl::Time> Engine::State::AgingDue() const {
  if (policy_.aging_promote_minutes == 0 || aging_.empty()) return std::nullopt;
  return aging_.begin()->first + absl::Minutes(policy_.aging_promote_minutes);
}

std::optional<absl::Time> Engine::State::NextTimer() const {
  std::optional<absl::Time> next = AgingDue();
  if (!timers_.empty() && (!next || timers_.first().at < *next)) {
    next = timers_.first().at;
  }
  if (const std::optional<absl::Time> departure = DepartureDue();
      departure && (!next || *departure < *next)) {
    next = departure;
  }
  if (sweep_pending_ && queued_total_ > 0 && (!next || last_event_time_ < *next)) {
    next = last_event_time_;  // Due now: re-evaluate after a replay.
  }
  return next;
}

absl::Status Engine::State::Do(const cmd::Tick&) {
  enum class Due { kNone, kTimer, kAging, kDeparture };
  bool more_due = false;
  for (int fired = 0;; ++fired) {
    // The earliest due of the three sources, by (time, order).
    Due due = Due::kNone;
    std::pair<absl::Time, int> first;
    auto consider = [&](std::optional<absl::Time> at, int order, Due which) {
      if (!at || *at > now_) return;
      if (due == Due::kNone || std::make_pair(*at, order) < first) {
        due = which;
        first = {*at, order};
      }
    };
    if (!timers_.empty()) {
      consider(timers_.first().at, Order(timers_.first().kind), Due::kTimer);
    }
    consider(AgingDue(), kAgingOrder, Due::kAging);
    consider(DepartureDue(), kDepartureOrder, Due::kDeparture);
    if (due == Due::kNone) break;
    if (fired == kMaxFiringsPerTick) {
      more_due = true;
      break;
    }
    if (due == Due::kTimer) {
      FireTimer(timers_.first());
    } else if (due == Due::kAging) {
      PromoteAged(ByNumber(aging_.begin()->second));
    } else {
      DepartFirstDue();
    }
  }
  if (sweep_pending_ && !more_due) {  // After the timers due: they may dispatch.
    sweep_pending_ = false;
    Sweep();
  }
  return absl::OkStatus();
}

void Engine::State::FireTimer(internal::TimerKey key) {
  ReqRec& r = ByNumber(key.number);
  switch (key.kind) {
    case internal::TimerKind::kOfferExpiry: {
      const uint32_t tech = r.tech;
      Emit(ev::OfferExpired{r.pub.request_id, r.pub.technician_id});
      Dispatch(r);
      Pull(techs_[tech]);
      break;
    }
    case internal::TimerKind::kWindowOpen:
      Emit(ev::RequestRequeued{r.pub.request_id, "", "scheduled window opened"});
      Dispatch(r);
      break;
    case internal::TimerKind::kReevaluate:
      timers_.erase(key);
      r.reevaluate_at.reset();
      Dispatch(r);
      break;
  }
}

void Engine::State::PromoteAged(ReqRec& r) {
  const auto next = static_cast<Urgency>(static_cast<int>(r.pub.effective_urgency) + 1);
  Emit(ev::RequestPromoted{
      r.pub.request_id, next,
      absl::StrCat("queued ", policy_.aging_promote_minutes,
                   " min without a technician (aging)")});
}

void Engine::State::Sweep() {
  std::vector<internal::QueueKey> keys;
  for (const ZoneRec& z : zones_) {
    for (const internal::NeedQueue& q : z.queues) {
      keys.insert(keys.end(), q.queue.begin(), q.queue.end());
    }
  }
  std::sort(keys.begin(), keys.end());
  for (const internal::QueueKey& k : keys) Dispatch(ByNumber(k.number));
}

}  // namespace dispatchd::engine
