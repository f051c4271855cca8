// ZoneGraph: shortest travel minutes between every pair of zones over the
// neighbour links, and for each zone every reachable zone nearest first.
// Rebuilt whole when a zone changes (zones change rarely; a rebuild is
// Dijkstra from every zone), read on every dispatch.
//
// Thread safety: not thread-safe; owned by the engine thread.
#ifndef DISPATCHD_ENGINE_INTERNAL_ZONE_GRAPH_H_
#define DISPATCHD_ENGINE_INTERNAL_ZONE_GRAPH_H_

#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace dispatchd::engine::internal {

inline constexpr uint32_t kUnreachable = std::numeric_limits<uint32_t>::max();

// One reachable zone and how far it is.
struct Reach {
  uint32_t travel_minutes = 0;
  uint32_t zone = 0;  // Zone index.
};

class ZoneGraph {
 public:
  // Direct links of one zone: (neighbour zone index, travel minutes).
  using Links = std::vector<std::pair<uint32_t, uint32_t>>;

  // Recomputes all pairs from `links` (indexed by zone). `ids` (same
  // indexing) break travel ties in Nearest, so the order is deterministic.
  void Rebuild(const std::vector<Links>& links,
               const std::vector<const std::string*>& ids);

  // Shortest travel minutes, or kUnreachable. 0 from a zone to itself.
  uint32_t Travel(uint32_t from, uint32_t to) const {
    return travel_[static_cast<size_t>(from) * size_ + to];
  }

  // Every zone reachable from `from`, nearest first, `from` itself first.
  const std::vector<Reach>& Nearest(uint32_t from) const {
    return nearest_[from];
  }

 private:
  void Dijkstra(uint32_t source, const std::vector<Links>& links);

  size_t size_ = 0;
  std::vector<uint32_t> travel_;  // size_ * size_, row = from.
  std::vector<std::vector<Reach>> nearest_;
};

}  // namespace dispatchd::engine::internal

#endif  // DISPATCHD_ENGINE_INTERNAL_ZONE_GRAPH_H_
