// StatsBook: KPI accumulators kept up to date as events are applied, so
// GetStats reads sums instead of scanning requests. Every request
// contributes to three scopes: the site, its zone, and its technician
// (Request::technician_id, the current or last one). A change to a request
// is booked as Remove(old contribution) then Add(new contribution); sums
// are exact integers and durations, so removal is exact.
//
// Thread safety: not thread-safe; owned by the engine thread.
#ifndef DISPATCHD_ENGINE_INTERNAL_STATS_BOOK_H_
#define DISPATCHD_ENGINE_INTERNAL_STATS_BOOK_H_

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "engine/engine.h"
#include "engine/model.h"

namespace dispatchd::engine::internal {

// What one request contributes to the sums of its scopes: computed before
// and after a change, so that only what differs is rebooked.
struct KpiEntry {
  bool open = false;
  bool completed = false;
  bool resolved = false;  // Completed and resolved.
  bool cancelled = false;
  bool accepted = false;
  bool sla_hit = false;  // Accepted by the SLA deadline.
  bool has_completion = false;
  int urgency = 0;  // As filed, 0-based.
  uint32_t feedback_rating = 0;
  uint32_t preemptions = 0;
  absl::Duration response;    // Accepted: acceptance - window start.
  absl::Duration completion;  // has_completion: completion - window start.

  friend bool operator==(const KpiEntry&, const KpiEntry&) = default;
};

KpiEntry KpiEntryOf(const Request& r);

// A multiset of durations for a nearest-rank percentile, to the whole
// second: each time is truncated (toward zero) to whole seconds as it goes
// in, and a count kept per distinct second in a hash map, so adding and
// removing cost one probe whatever the size (the fold does them); Nth
// selects on demand in time linear in the number of distinct seconds
// (GetStats, a query). A p90 in minutes needs no finer grain, and whole
// seconds keep the distinct values few: at nanosecond grain nearly every
// time of a long history was distinct, and loading a snapshot of two
// million requests spent a quarter of its time inserting them into maps
// too large for any cache.
class DurationBag {
 public:
  void Add(absl::Duration d) {
    ++counts_[Grain(d)];
    ++size_;
  }
  // REQUIRES: a time of the same whole second is in the bag.
  void Remove(absl::Duration d);
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // The value at 1-based position `rank` in ascending order, in whole
  // seconds. REQUIRES: 1 <= rank <= size().
  absl::Duration Nth(size_t rank) const;

 private:
  // What the bag keeps of `d`: its whole seconds, truncated toward zero
  // (as absl::Trunc(d, absl::Seconds(1)), without its division).
  static absl::Duration Grain(absl::Duration d) { return absl::Seconds(absl::ToInt64Seconds(d)); }

  absl::flat_hash_map<absl::Duration, uint32_t> counts_;
  size_t size_ = 0;
};

// Raw sums for one scope.
struct KpiSums {
  int64_t submitted = 0;
  int64_t open = 0;
  int64_t completed = 0;
  int64_t resolved = 0;
  int64_t cancelled = 0;
  int64_t accepted = 0;
  int64_t sla_hits = 0;
  absl::Duration response_total;
  absl::Duration completion_total;
  int64_t feedback_count = 0;
  int64_t feedback_total = 0;
  int64_t preemptions = 0;
  std::array<int64_t, kUrgencyCount> accepted_by{};  // By urgency as filed.
  std::array<int64_t, kUrgencyCount> hits_by{};
  // Every response and completion time, for the p90 (exact under removal).
  DurationBag responses;
  DurationBag completions;

  void Book(const KpiEntry& e, int sign);
  // Book(before, -1) then Book(after, +1), touching the ordered sets only
  // where a time changed.
  void Rebook(const KpiEntry& before, const KpiEntry& after);
  Kpis ToKpis() const;

 private:
  // Book without the ordered sets.
  void BookSums(const KpiEntry& e, int sign);
};

// When a request's clock starts: creation, or its window for scheduled work.
absl::Time WindowStart(const Request& r);

// One request's contribution and scopes, for a load's bulk booking (below).
struct KpiBooking {
  KpiEntry entry;
  uint32_t zone = 0;
  int64_t tech = -1;  // Index of the technician, or -1 for none.
};

class StatsBook {
 public:
  // Makes room for zone index `zone` / technician index `tech`.
  void EnsureZone(uint32_t zone);
  void EnsureTechnician(uint32_t tech);

  // Books (sign +1) or unbooks (sign -1) `r`; `tech` is the index of
  // r.technician_id, or -1 for none.
  void Book(const Request& r, uint32_t zone, int64_t tech, int sign);
  // A load books its requests in bulk, as Book would one by one (sign
  // +1), but one kind of scope at a time and each zone's and technician's
  // entries together, so that a scope's time bags stay in cache while
  // they fill: booked one by one in request order, two million requests
  // touched some twenty thousand bags at random, a cache miss per time.
  // BookSiteAndZones takes the requests part by part as they load (a few
  // thousand fill each of some hundred zones a little); BookTechnicians
  // takes larger batches (a part of a few thousand holds too few per
  // technician of a large site for their bags to be worth reading in).
  void BookSiteAndZones(std::span<const KpiBooking> part);
  void BookTechnicians(std::span<const KpiBooking> all);
  // Moves a request's contribution from `before` (in zone `zone_before`,
  // technician `tech_before`) to `after`; nothing if neither changed.
  void Rebook(const KpiEntry& before, uint32_t zone_before, int64_t tech_before,
              const KpiEntry& after, uint32_t zone, int64_t tech);

  const KpiSums& site() const { return site_; }
  const KpiSums& zone(uint32_t z) const { return zones_[z]; }
  const KpiSums& technician(uint32_t t) const { return techs_[t]; }

 private:
  KpiSums site_;
  std::vector<KpiSums> zones_;
  std::vector<KpiSums> techs_;
};

}  // namespace dispatchd::engine::internal

#endif  // DISPATCHD_ENGINE_INTERNAL_STATS_BOOK_H_
