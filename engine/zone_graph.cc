#include "engine/internal/zone_graph.h"

#include <algorithm>
#include <functional>
#include <queue>
#include <tuple>

namespace dispatchd::engine::internal {

void ZoneGraph::Rebuild(const std::vector<Links>& links,
                        const std::vector<const std::string*>& ids) {
  size_ = links.size();
  travel_.assign(size_ * size_, kUnreachable);
  nearest_.assign(size_, {});
  for (uint32_t z = 0; z < size_; ++z) Dijkstra(z, links);
  for (uint32_t z = 0; z < size_; ++z) {
    std::vector<Reach>& list = nearest_[z];
    for (uint32_t to = 0; to < size_; ++to) {
      const uint32_t t = Travel(z, to);
      if (t != kUnreachable) list.push_back({t, to});
    }
    std::sort(list.begin(), list.end(), [&](const Reach& a, const Reach& b) {
      return std::tie(a.travel_minutes, *ids[a.zone]) <
             std::tie(b.travel_minutes, *ids[b.zone]);
    });
  }
}

void ZoneGraph::Dijkstra(uint32_t source, const std::vector<Links>& links) {
  using Item = std::pair<uint64_t, uint32_t>;  // (distance, zone)
  std::priority_queue<Item, std::vector<Item>, std::greater<>> heap;
  uint32_t* row = &travel_[static_cast<size_t>(source) * size_];
  row[source] = 0;
  heap.push({0, source});
  while (!heap.empty()) {
    auto [dist, z] = heap.top();
    heap.pop();
    if (dist > row[z]) continue;
    for (auto [next, minutes] : links[z]) {
      const uint64_t d = dist + minutes;
      if (d < row[next]) {
        row[next] = static_cast<uint32_t>(std::min<uint64_t>(d, kUnreachable - 1));
        heap.push({row[next], next});
      }
    }
  }
}

}  // namespace dispatchd::engine::internal
