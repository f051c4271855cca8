#include "services/request_index.h"

#include "services/event_codec.h"

namespace dispatchd::services {

void RequestIndex::Add(const ::dispatch::v1::Event& event) {
  const std::string& request_id = RequestIdOf(event);
  if (request_id.empty()) return;
  sequences_[request_id].push_back(event.sequence());
}

const std::vector<uint64_t>& RequestIndex::SequencesOf(absl::string_view request_id) const {
  static const std::vector<uint64_t>* const kNone = new std::vector<uint64_t>;
  auto it = sequences_.find(request_id);
  return it == sequences_.end() ? *kNone : it->second;
}

}  // namespace dispatchd::services
