// StateImage: everything an Engine needs to rebuild its state exactly,
// without replaying events — the content of a snapshot. It holds what the
// fold cannot recompute (the records, their creation order, a few internal
// times); every index, queue, timer set, KPI sum and the travel graph is
// derived again by Engine::LoadImage.
//
//   StateImage image = engine.ExportImage();
//   std::string bytes = EncodeImageCanonical(image);   // Snapshot payload.
//   ...
//   absl::StatusOr<StateImage> back = DecodeImageCanonical(bytes);
//   Engine fresh(&clock);
//   absl::Status s = fresh.LoadImage(*back);  // Now behaves as `engine` did.
//
// Order is state: technicians are kept in registration order and skills in
// interning order because both break ties the engine exposes (who a waiting
// request names, the order of exclusions in a Decision). Zones keep their
// creation order and requests their number order. Only what the engine
// keeps in hash maps (alerts) is sorted, by key, so an image and its
// encoding are a function of the state alone.
//
// The canonical encoding ("image format", version kImageFormatVersion) is
// byte-exact and deterministic, so equal states encode to equal bytes:
//   u32 version, then the fields of StateImage in declaration order;
//   integers fixed-width little-endian; bool and enums one byte;
//   strings u32 byte length + bytes; lists u32 count + items;
//   optionals one byte 0/1 + the value if 1; durations i64 nanoseconds;
//   absl::Time as i64 Unix seconds (floor) + u32 nanoseconds 0..999999999,
//   or u32 0xFFFFFFFF with i64 max/min seconds for infinite future/past
//   (seconds, not nanos, so the journal's full 0001..9999 range fits;
//   sub-nanosecond parts are dropped, as the journal's codec does).
// The encoding carries no checksum: the snapshot file that stores it adds
// one. See engine/README.md ("Images and digest").
//
// Thread safety: plain values and pure functions.
#ifndef DISPATCHD_ENGINE_STATE_IMAGE_H_
#define DISPATCHD_ENGINE_STATE_IMAGE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engine/model.h"

namespace dispatchd::engine {

// 2: requests carry reservations, the wait for stock, materials used,
// completion notes, preemptions and crews (crew_of; an emergency's
// crew_request_ids are derived, not encoded); stock levels carry their
// reserved units; policy carries emergency plans.
// 3: policy carries on_call_technician_ids; zones in surge are listed.
// 4: policy carries small_delivery_max_units and delivery_merge_minutes;
// requests carry delivery_ids; deliveries (open and kept departed) and the
// last delivery number are listed.
inline constexpr uint32_t kImageFormatVersion = 4;

struct TechnicianImage {
  Technician technician;  // The public record, whole.
  // When they last became available (ranks equal candidates); the Unix
  // epoch if never.
  absl::Time available_since = absl::UnixEpoch();
  // When their current (or last) job was offered, taken or started; with
  // its estimated_minutes this says when they are expected free.
  absl::Time busy_since = absl::UnixEpoch();
  // Utilisation: time on shift and working in closed periods, and when the
  // open period began (meaningful while on shift / working).
  absl::Duration shift_total;
  absl::Duration work_total;
  absl::Time shift_since = absl::UnixEpoch();
  absl::Time work_since = absl::UnixEpoch();
};

struct RequestImage {
  Request request;  // The public record, whole.
  // The urgency it was filed with (idempotent retries compare against it).
  Urgency submitted_urgency = Urgency::kNormal;
  // Aging counts from here: window start, or the last promotion/change.
  absl::Time aging_base = absl::UnixEpoch();
  // A live wait for a local technician: when dispatch runs again. Not
  // derived from events (see README, "Timers"); only while queued.
  std::optional<absl::Time> reevaluate_at;
};

struct AlertImage {
  std::string dedupe_key;
  std::string request_id;  // The emergency request it opened.
  bool resolved = false;
};

struct StateImage {
  uint64_t last_sequence = 0;
  absl::Time last_event_time = absl::UnixEpoch();
  // Set after Apply from outside: the next Tick re-runs dispatch over the
  // queue to re-establish waits (see README, "Timers").
  bool sweep_pending = false;
  Policy policy;
  std::vector<std::string> skills;           // Interning order (bit order).
  std::vector<Zone> zones;                   // Creation order.
  std::vector<TechnicianImage> technicians;  // Registration order.
  std::vector<RequestImage> requests;        // By number: R-000001 first.
  // By (depot, sku); `reserved` must equal the sum of the requests'
  // reservations there (checked on load).
  std::vector<StockLevel> stock;
  std::vector<AlertImage> alerts;            // By dedupe key.
  std::vector<std::string> surge_zones;      // Zones in surge, creation order.
  // Deliveries: the number of the last one opened (ids are never reused),
  // then the open ones and the departed ones still kept, by number.
  uint32_t last_delivery_number = 0;
  std::vector<Delivery> deliveries;
};

// The canonical encoding of `image` (format above). Two images encode to
// the same bytes iff they are equal (times to the nanosecond), so compare
// images by their encodings.
std::string EncodeImageCanonical(const StateImage& image);

// Parses an encoding. DATA_LOSS if it is truncated, has trailing bytes, an
// unknown version, a length or count running past the end, a bool, enum
// or optional flag out of range, or a bad time. Never reads out of bounds.
// A decoded image is only well-formed, not necessarily consistent:
// Engine::LoadImage checks that. For any accepted input `b`,
// EncodeImageCanonical(*DecodeImageCanonical(b)) == b.
absl::StatusOr<StateImage> DecodeImageCanonical(std::string_view bytes);

// An image handed over in parts while it is decoded (Engine::PartLoad
// loads them): the head is the image up to its requests (the lists after
// them empty), then the requests in runs, then the rest: stock, alerts,
// surge zones and deliveries (the head's fields left empty).
struct ImageParts {
  std::function<absl::Status(StateImage&& head)> head;
  std::function<absl::Status(std::vector<RequestImage>&& run)> requests;
  std::function<absl::Status(StateImage&& rest)> rest;
};

// Decodes as DecodeImageCanonical does and hands the image over as it
// goes: `head` once, `requests` for each run of up to `run` requests in
// number order (never an empty run), and `rest` once the whole input has
// been read and checked. Stops at the first error: DATA_LOSS as
// DecodeImageCanonical gives it, or what a callback returned. A caller
// must therefore drop what it took from the parts on an error.
absl::Status DecodeImageParts(std::string_view bytes, size_t run, const ImageParts& parts);

// A digest of the event-derived state in `image`: 32 lowercase hex digits,
// FNV-1a-64 then CRC-64/XZ of the canonical encoding with the live-only
// parts (reevaluate_at, sweep_pending) cleared. An engine and a replica
// that applied its events have equal digests. Not a cryptographic hash.
std::string ImageDigest(const StateImage& image);

}  // namespace dispatchd::engine

#endif  // DISPATCHD_ENGINE_STATE_IMAGE_H_
