#include "services/request_index.h"

#include <optional>
#include <utility>

#include "engine/engine.h"
#include "services/event_codec.h"

namespace dispatchd::services {

void RequestIndex::Add(const ::dispatch::v1::Event& event) {
  const std::string& request_id = RequestIdOf(event);
  if (request_id.empty()) return;
  if (std::optional<uint32_t> number = engine::RequestNumber(request_id)) {
    EntryFor(*number).push_back(event.sequence());
  } else {
    unnumbered_[request_id].push_back(event.sequence());
  }
}

RequestIndex::Sequences& RequestIndex::EntryFor(uint32_t number) {
  const size_t chunk = (number - 1) / kChunk;
  if (chunk >= chunks_.size()) chunks_.resize(chunk + 1);
  if (chunks_[chunk] == nullptr) chunks_[chunk] = std::make_unique<Chunk>();
  return (*chunks_[chunk])[(number - 1) % kChunk];
}

RequestIndex::Sequences* RequestIndex::Slot(uint64_t number) {
  const size_t chunk = (number - 1) / kChunk;
  if (chunk >= chunks_.size() || chunks_[chunk] == nullptr) return nullptr;
  return &(*chunks_[chunk])[(number - 1) % kChunk];
}

const RequestIndex::Sequences* RequestIndex::Find(absl::string_view request_id) const {
  if (std::optional<uint32_t> number =
          engine::RequestNumber(std::string_view(request_id.data(), request_id.size()))) {
    return Slot(*number);
  }
  auto it = unnumbered_.find(request_id);
  return it == unnumbered_.end() ? nullptr : &it->second;
}

void RequestIndex::Prepend(Sequences&& before, Sequences& into) {
  before.insert(before.end(), into.begin(), into.end());
  into = std::move(before);
}

bool RequestIndex::MergeOlder(RequestIndex* older, size_t max_requests) {
  size_t moved = 0;
  // Numbered entries in order; a chunk never made is skipped whole.
  const uint64_t end = static_cast<uint64_t>(older->chunks_.size()) * kChunk + 1;
  for (uint64_t& n = older->merge_next_; n < end && moved < max_requests;) {
    Sequences* entry = older->Slot(n);
    if (entry == nullptr) {
      n += kChunk - (n - 1) % kChunk;
      continue;
    }
    if (!entry->empty()) {
      Prepend(std::move(*entry), EntryFor(static_cast<uint32_t>(n)));
      entry->clear();
      ++moved;
    }
    ++n;
  }
  for (auto it = older->unnumbered_.begin(); it != older->unnumbered_.end() && moved < max_requests;
       ++moved) {
    Prepend(std::move(it->second), unnumbered_[it->first]);
    older->unnumbered_.erase(it++);
  }
  if (older->merge_next_ < end || !older->unnumbered_.empty()) return false;
  older->chunks_.clear();  // Frees the emptied chunks.
  older->chunks_.shrink_to_fit();
  return true;
}

std::vector<uint64_t> RequestIndex::SequencesOf(absl::string_view request_id) const {
  const Sequences* e = Find(request_id);
  if (e == nullptr) return {};
  return std::vector<uint64_t>(e->begin(), e->end());
}

}  // namespace dispatchd::services
