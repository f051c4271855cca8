// RequestIndex: request id -> the sequences of the events about that
// request, so ExplainAssignment can show a request's history by reading a
// handful of events from the log instead of scanning it. Built from durable
// events as they are published; the events a start replayed (or a snapshot
// covered) are indexed in the background and merged in (EngineRunner).
// Memory: one 8-byte sequence per request event. The table grows a little
// with each new request (base::GradualTable), not in one rehash of every
// request at once, which would hold the engine's strand.
//
// Thread safety: not thread-safe. Owned and used by the engine thread.
#ifndef DISPATCHD_SERVICES_REQUEST_INDEX_H_
#define DISPATCHD_SERVICES_REQUEST_INDEX_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "base/gradual_table.h"
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
  const std::vector<uint64_t>& SequencesOf(absl::string_view request_id) const;

 private:
  using Sequences = absl::flat_hash_map<std::string, std::vector<uint64_t>>;
  base::GradualTable<Sequences> sequences_;
};

}  // namespace dispatchd::services

#endif  // DISPATCHD_SERVICES_REQUEST_INDEX_H_
