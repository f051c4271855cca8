#include "services/request_index.h"

#include "services/event_codec.h"

namespace dispatchd::services {

void RequestIndex::Add(const ::dispatch::v1::Event& event) {
  const std::string& request_id = RequestIdOf(event);
  if (request_id.empty()) return;
  sequences_[request_id].push_back(event.sequence());
}

bool RequestIndex::MergeOlder(RequestIndex* older, size_t max_requests) {
  for (size_t moved = 0; moved < max_requests && !older->sequences_.empty(); ++moved) {
    auto it = older->sequences_.begin();
    std::vector<uint64_t>& mine = sequences_[it->first];
    it->second.insert(it->second.end(), mine.begin(), mine.end());
    mine = std::move(it->second);
    older->sequences_.erase(it);
  }
  return older->sequences_.empty();
}

const std::vector<uint64_t>& RequestIndex::SequencesOf(absl::string_view request_id) const {
  static const std::vector<uint64_t>* const kNone = new std::vector<uint64_t>;
  auto it = sequences_.find(request_id);
  return it == sequences_.end() ? *kNone : it->second;
}

}  // namespace dispatchd::services
