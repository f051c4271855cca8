// RequestIndex: request id -> the sequences of the events about that
// request, so ExplainAssignment can show a request's history by reading a
// handful of events from the log instead of scanning it. Built from durable
// events as they are published; the events a start replayed (or a snapshot
// covered) are indexed in the background and merged in (EngineRunner).
//
// The engine numbers requests from 1 in the order they are filed
// (engine::RequestNumber), so the index is an array by number, in chunks
// allocated as numbers reach them: a new request's entry is at the end,
// where the previous one was, so indexing touches memory that is already
// in cache, and nothing ever rehashes or moves. An entry holds up to three
// sequences in place (32 bytes); a request with more events keeps them in
// one heap block. Ids not in the engine's form (none in a journal the
// engine wrote) go to a plain hash map.
//
// Thread safety: not thread-safe. Owned and used by the engine thread.
#ifndef DISPATCHD_SERVICES_REQUEST_INDEX_H_
#define DISPATCHD_SERVICES_REQUEST_INDEX_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/strings/string_view.h"
#include "dispatch/v1/events.pb.h"

namespace dispatchd::services {

class RequestIndex {
 public:
  // Records `event` under its request, if it concerns one. Events must be
  // added in sequence order.
  void Add(const ::dispatch::v1::Event& event);

  // Moves up to `max_requests` requests' sequences out of `older` (an index
  // of events that all come before every event added here) and puts them
  // in front of this index's. True once `older` is empty.
  bool MergeOlder(RequestIndex* older, size_t max_requests);

  // Sequences of the events about `request_id`, ascending; empty if none.
  std::vector<uint64_t> SequencesOf(absl::string_view request_id) const;

 private:
  using Sequences = absl::InlinedVector<uint64_t, 3>;
  static constexpr size_t kChunk = 1024;  // Entries per chunk: 32 KiB.
  using Chunk = std::array<Sequences, kChunk>;

  // The entry of request `number`, made (with its chunk) if need be.
  Sequences& EntryFor(uint32_t number);
  // The entry of request `number`; null if its chunk was never made.
  Sequences* Slot(uint64_t number);
  const Sequences* Slot(uint64_t number) const {
    return const_cast<RequestIndex*>(this)->Slot(number);
  }
  // The entry of `request_id`, or null if it has none.
  const Sequences* Find(absl::string_view request_id) const;
  // `before` goes in front of what `into` holds.
  static void Prepend(Sequences&& before, Sequences& into);

  // By (number - 1) / kChunk; null until a number in it is indexed.
  std::vector<std::unique_ptr<Chunk>> chunks_;
  absl::flat_hash_map<std::string, Sequences> unnumbered_;
  // MergeOlder's place in an index being merged away: the next number.
  uint64_t merge_next_ = 1;
};

}  // namespace dispatchd::services

#endif  // DISPATCHD_SERVICES_REQUEST_INDEX_H_
