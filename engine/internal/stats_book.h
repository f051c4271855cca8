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
#include <vector>

#include "absl/container/btree_set.h"

#include "absl/time/time.h"
#include "engine/engine.h"
#include "engine/model.h"

namespace dispatchd::engine::internal {

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
  absl::btree_multiset<absl::Duration> responses;
  absl::btree_multiset<absl::Duration> completions;

  void Book(const Request& r, int sign);
  Kpis ToKpis() const;
};

// When a request's clock starts: creation, or its window for scheduled work.
absl::Time WindowStart(const Request& r);

class StatsBook {
 public:
  // Makes room for zone index `zone` / technician index `tech`.
  void EnsureZone(uint32_t zone);
  void EnsureTechnician(uint32_t tech);

  // Books (sign +1) or unbooks (sign -1) `r`; `tech` is the index of
  // r.technician_id, or -1 for none.
  void Book(const Request& r, uint32_t zone, int64_t tech, int sign);

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
