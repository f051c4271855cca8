#include "services/request_index.h"

#include "services/event_codec.h"

namespace dispatchd::services {

void RequestIndex::Add(const ::dispatch::v1::Event& event) {
  const std::string& request_id = RequestIdOf(event);
  if (request_id.empty()) return;
  if (auto* e = sequences_.Find(request_id)) {
    e->second.push_back(event.sequence());
  } else {
    sequences_.Insert(Sequences::value_type(request_id, {event.sequence()}));
  }
}

bool RequestIndex::MergeOlder(RequestIndex* older, size_t max_requests) {
  for (size_t moved = 0; moved < max_requests; ++moved) {
    std::optional<Sequences::value_type> taken = older->sequences_.TakeAny();
    if (!taken) break;
    std::vector<uint64_t>& before = taken->second;
    if (auto* e = sequences_.Find(taken->first)) {
      before.insert(before.end(), e->second.begin(), e->second.end());
      e->second = std::move(before);
    } else {
      sequences_.Insert(std::move(*taken));
    }
  }
  return older->sequences_.empty();
}

const std::vector<uint64_t>& RequestIndex::SequencesOf(absl::string_view request_id) const {
  static const std::vector<uint64_t>* const kNone = new std::vector<uint64_t>;
  const auto* e = sequences_.Find(request_id);
  return e == nullptr ? *kNone : e->second;
}

}  // namespace dispatchd::services
