// The canonical image encoding (format in state_image.h) and the digest.
// Writer appends; Reader bounds-checks every read and remembers the first
// failure, so decoding code reads straight through and checks once.
#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/status_macros.h"
#include "boost/crc.hpp"
#include "engine/internal/strings.h"
#include "engine/state_image.h"

namespace dispatchd::engine {
namespace {

// Nanoseconds field of an infinite time.
constexpr uint32_t kInfiniteNanos = 0xFFFFFFFF;
constexpr int64_t kMaxI64 = std::numeric_limits<int64_t>::max();
constexpr int64_t kMinI64 = std::numeric_limits<int64_t>::min();

class Writer {
 public:
  std::string Finish() && { return std::move(out_); }

  void U8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void U32(uint32_t v) { Fixed(v, 4); }
  void U64(uint64_t v) { Fixed(v, 8); }
  void I64(int64_t v) { Fixed(static_cast<uint64_t>(v), 8); }
  void Bool(bool v) { U8(v ? 1 : 0); }
  template <typename E>
  void Enum(E v) {
    U8(static_cast<uint8_t>(v));
  }
  void Str(const std::string& s) {
    U32(static_cast<uint32_t>(s.size()));
    out_.append(s);
  }
  void Time(absl::Time t) {
    if (t == absl::InfiniteFuture() || t == absl::InfinitePast()) {
      I64(t == absl::InfiniteFuture() ? kMaxI64 : kMinI64);
      U32(kInfiniteNanos);
      return;
    }
    const int64_t seconds = absl::ToUnixSeconds(t);  // Floor.
    I64(seconds);
    U32(static_cast<uint32_t>((t - absl::FromUnixSeconds(seconds)) / absl::Nanoseconds(1)));
  }
  void OptTime(const std::optional<absl::Time>& t) {
    Bool(t.has_value());
    if (t) Time(*t);
  }
  template <typename T, typename F>
  void List(const std::vector<T>& items, F&& each) {
    U32(static_cast<uint32_t>(items.size()));
    for (const T& item : items) each(item);
  }

 private:
  void Fixed(uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) out_.push_back(static_cast<char>(v >> (8 * i)));
  }

  std::string out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}

  bool ok() const { return error_.empty(); }
  size_t remaining() const { return in_.size() - pos_; }
  // The first failure, as DATA_LOSS naming the offset.
  absl::Status status() const {
    if (ok()) return absl::OkStatus();
    return absl::DataLossError(absl::StrCat("state image: ", error_));
  }
  void Fail(std::string_view what) {
    if (ok()) error_ = absl::StrCat(internal::Sv(what), " at offset ", pos_);
  }

  uint8_t U8() { return static_cast<uint8_t>(Fixed<1>()); }
  uint32_t U32() { return static_cast<uint32_t>(Fixed<4>()); }
  uint64_t U64() { return Fixed<8>(); }
  int64_t I64() { return static_cast<int64_t>(Fixed<8>()); }
  bool Bool() {
    const uint8_t v = U8();
    if (v > 1) Fail("bool not 0 or 1");
    return v == 1;
  }
  // An enum stored as one byte in [lo, hi].
  template <typename E>
  E Enum(uint8_t lo, uint8_t hi) {
    const uint8_t v = U8();
    if (ok() && (v < lo || v > hi)) Fail("enum value out of range");
    return static_cast<E>(ok() ? v : lo);
  }
  std::string Str() {
    std::string s;
    StrInto(s);
    return s;
  }
  // Str into `out` (left as it is on a failure): no temporary to move.
  void StrInto(std::string& out) {
    const uint32_t size = U32();
    if (!ok()) return;
    if (size > remaining()) {
      Fail("string runs past the end");
      return;
    }
    out.assign(in_.data() + pos_, size);
    pos_ += size;
  }
  absl::Time Time() {
    const int64_t seconds = I64();
    const uint32_t nanos = U32();
    if (!ok()) return absl::UnixEpoch();
    if (nanos == kInfiniteNanos && seconds == kMaxI64) return absl::InfiniteFuture();
    if (nanos == kInfiniteNanos && seconds == kMinI64) return absl::InfinitePast();
    if (nanos >= 1'000'000'000) {
      Fail("time nanoseconds out of range");
      return absl::UnixEpoch();
    }
    return absl::FromUnixSeconds(seconds) + absl::Nanoseconds(nanos);
  }
  std::optional<absl::Time> OptTime() {
    if (!Bool() || !ok()) return std::nullopt;
    return Time();
  }
  // Reads a count, then `each()` that many times. Every item takes at
  // least one byte, so a count beyond the bytes left is corrupt.
  template <typename T, typename F>
  std::vector<T> List(F&& each) {
    const uint32_t count = Count();
    std::vector<T> items;
    items.reserve(Room<T>(count));
    for (uint32_t i = 0; i < count && ok(); ++i) items.push_back(each());
    return items;
  }
  // A list's count (0 after a failure).
  uint32_t Count() {
    const uint32_t count = U32();
    if (!ok()) return 0;
    if (count > remaining()) {
      Fail("list count runs past the end");
      return 0;
    }
    return count;
  }
  // Room to reserve for `count` items up front (the request list runs to
  // hundreds of thousands), but never more than a few times the bytes
  // left, so a corrupt count cannot allocate much.
  template <typename T>
  size_t Room(size_t count) const {
    return std::min<size_t>(count, 4 * remaining() / sizeof(T) + 1);
  }

 private:
  // A little-endian integer of N bytes.
  template <size_t N>
  uint64_t Fixed() {
    if (!ok()) return 0;
    if (remaining() < N) {
      Fail("truncated");
      return 0;
    }
    uint64_t v = 0;
    if constexpr (std::endian::native == std::endian::little) {
      std::memcpy(&v, in_.data() + pos_, N);  // One load, not N shifts.
    } else {
      for (size_t i = 0; i < N; ++i) {
        v |= uint64_t{static_cast<uint8_t>(in_[pos_ + i])} << (8 * i);
      }
    }
    pos_ += N;
    return v;
  }

  std::string_view in_;
  size_t pos_ = 0;
  std::string error_;
};

// --- Encoding. ---

void PutSkills(Writer& w, const std::vector<SkillLevel>& skills) {
  w.List(skills, [&](const SkillLevel& s) {
    w.Str(s.skill);
    w.U32(s.level);
  });
}

void PutMaterials(Writer& w, const std::vector<MaterialLine>& lines) {
  w.List(lines, [&](const MaterialLine& m) {
    w.Str(m.sku);
    w.U32(m.quantity);
  });
}

void PutPolicy(Writer& w, const Policy& p) {
  for (uint32_t v :
       {p.sla_minutes_low, p.sla_minutes_normal, p.sla_minutes_urgent, p.sla_minutes_emergency,
        p.offer_timeout_seconds, p.cross_zone_max_travel_minutes, p.aging_promote_minutes,
        p.surge_queue_threshold, p.surge_at_risk_threshold}) {
    w.U32(v);
  }
  w.Bool(p.preemption_enabled);
  w.U32(p.max_preemptions_per_job);
  w.Bool(p.bundling_enabled);
  w.List(p.on_call_technician_ids, [&](const std::string& id) { w.Str(id); });
  w.List(p.emergency_plans, [&](const EmergencyPlan& plan) {
    w.Str(plan.kind);
    w.U32(plan.crew_size);
    PutSkills(w, plan.required_skills);
    PutMaterials(w, plan.backup_materials);
  });
  w.U32(p.small_delivery_max_units);
  w.U32(p.delivery_merge_minutes);
}

void PutZone(Writer& w, const Zone& z) {
  w.Str(z.zone_id);
  w.Str(z.name);
  w.List(z.neighbors, [&](const Neighbor& n) {
    w.Str(n.zone_id);
    w.U32(n.travel_minutes);
  });
}

void PutTechnician(Writer& w, const TechnicianImage& image) {
  const Technician& t = image.technician;
  w.Str(t.technician_id);
  w.Str(t.name);
  w.Str(t.home_zone_id);
  w.Str(t.current_zone_id);
  PutSkills(w, t.skills);
  w.Enum(t.state);
  w.Str(t.request_id);
  w.List(t.on_hold_request_ids, [&](const std::string& id) { w.Str(id); });
  w.Time(image.available_since);
  w.Time(image.busy_since);
  w.I64(absl::ToInt64Nanoseconds(image.shift_total));
  w.I64(absl::ToInt64Nanoseconds(image.work_total));
  w.Time(image.shift_since);
  w.Time(image.work_since);
}

void PutSpec(Writer& w, const RequestSpec& s) {
  w.Str(s.idempotency_key);
  w.Str(s.zone_id);
  w.Str(s.location);
  w.Str(s.category);
  PutSkills(w, s.required_skills);
  w.Enum(s.urgency);
  w.U32(s.estimated_minutes);
  PutMaterials(w, s.materials);
  w.U32(s.crew_size);
  w.Str(s.asset_tag);
  w.Str(s.department);
  w.Bool(s.key_department);
  w.Str(s.description);
  w.OptTime(s.not_before);
  w.OptTime(s.due_by);
}

void PutDecision(Writer& w, const Decision& d) {
  w.Str(d.rule);
  w.Str(d.detail);
  w.List(d.candidates, [&](const Candidate& c) {
    w.Str(c.technician_id);
    w.U32(c.travel_minutes);
    w.U32(c.overqualification);
    w.I64(c.score);
  });
  w.List(d.exclusions, [&](const Exclusion& e) {
    w.Str(e.technician_id);
    w.Str(e.reason);
  });
  w.U32(d.candidates_omitted);
  w.U32(d.exclusions_omitted);
}

// `live`: include reevaluate_at (the image) or not (the digest).
void PutRequest(Writer& w, const RequestImage& image, bool live) {
  const Request& r = image.request;
  w.Str(r.request_id);
  PutSpec(w, r.spec);
  w.Enum(r.effective_urgency);
  w.Enum(r.state);
  w.Time(r.created_at);
  w.Time(r.sla_deadline);
  w.Str(r.technician_id);
  w.OptTime(r.offer_expires_at);
  w.Str(r.rare->hold_reason);
  w.Bool(r.resolved);
  w.U32(r.feedback_rating);
  w.Str(r.rare->feedback_comment);
  w.Str(r.alert_dedupe_key);
  w.OptTime(r.rare->accepted_at);
  w.OptTime(r.rare->completed_at);
  w.List(r.declined_by, [&](const std::string& id) { w.Str(id); });
  w.Bool(r.decision.has_value());
  if (r.decision) PutDecision(w, *r.decision);
  w.List(r.reserved, [&](const Reservation& m) {
    w.Str(m.depot_zone_id);
    w.Str(m.sku);
    w.U32(m.quantity);
  });
  w.Bool(r.awaiting_stock);
  PutMaterials(w, r.rare->materials_used);
  w.Str(r.rare->completion_notes);
  w.U32(r.preemptions);
  w.Str(r.rare->preempted_by);
  w.Str(r.rare->crew_of);  // crew_request_ids is derived from the crew's crew_of.
  w.Enum(image.submitted_urgency);
  w.Time(image.aging_base);
  w.OptTime(live ? image.reevaluate_at : std::nullopt);
  w.List(r.delivery_ids, [&](const std::string& id) { w.Str(id); });
}

void PutDelivery(Writer& w, const Delivery& d) {
  w.Str(d.delivery_id);
  w.Str(d.depot_zone_id);
  w.Str(d.zone_id);
  w.Str(d.location);
  w.Enum(d.state);
  w.Time(d.opened_at);
  w.Time(d.departs_at);
  w.OptTime(d.departed_at);
  w.Str(d.departure_reason);
  w.List(d.shipments, [&](const DeliveryShipment& s) {
    w.Str(s.request_id);
    PutMaterials(w, s.lines);
    w.Str(s.reason);
  });
}

// --- Decoding: the mirror image, field for field. ---

Urgency GetUrgency(Reader& r) { return r.Enum<Urgency>(1, kUrgencyCount); }

std::vector<SkillLevel> GetSkills(Reader& r) {
  return r.List<SkillLevel>([&] {
    SkillLevel s;
    s.skill = r.Str();
    s.level = r.U32();
    return s;
  });
}

std::vector<MaterialLine> GetMaterials(Reader& r) {
  return r.List<MaterialLine>([&] {
    MaterialLine m;
    m.sku = r.Str();
    m.quantity = r.U32();
    return m;
  });
}

Policy GetPolicy(Reader& r) {
  Policy p;
  for (uint32_t* v :
       {&p.sla_minutes_low, &p.sla_minutes_normal, &p.sla_minutes_urgent, &p.sla_minutes_emergency,
        &p.offer_timeout_seconds, &p.cross_zone_max_travel_minutes, &p.aging_promote_minutes,
        &p.surge_queue_threshold, &p.surge_at_risk_threshold}) {
    *v = r.U32();
  }
  p.preemption_enabled = r.Bool();
  p.max_preemptions_per_job = r.U32();
  p.bundling_enabled = r.Bool();
  p.on_call_technician_ids = r.List<std::string>([&] { return r.Str(); });
  p.emergency_plans = r.List<EmergencyPlan>([&] {
    EmergencyPlan plan;
    plan.kind = r.Str();
    plan.crew_size = r.U32();
    plan.required_skills = GetSkills(r);
    plan.backup_materials = GetMaterials(r);
    return plan;
  });
  p.small_delivery_max_units = r.U32();
  p.delivery_merge_minutes = r.U32();
  return p;
}

Zone GetZone(Reader& r) {
  Zone z;
  z.zone_id = r.Str();
  z.name = r.Str();
  z.neighbors = r.List<Neighbor>([&] {
    Neighbor n;
    n.zone_id = r.Str();
    n.travel_minutes = r.U32();
    return n;
  });
  return z;
}

TechnicianImage GetTechnician(Reader& r) {
  TechnicianImage image;
  Technician& t = image.technician;
  t.technician_id = r.Str();
  t.name = r.Str();
  t.home_zone_id = r.Str();
  t.current_zone_id = r.Str();
  t.skills = GetSkills(r);
  t.state = r.Enum<TechnicianState>(1, 5);
  t.request_id = r.Str();
  t.on_hold_request_ids = r.List<std::string>([&] { return r.Str(); });
  image.available_since = r.Time();
  image.busy_since = r.Time();
  image.shift_total = absl::Nanoseconds(r.I64());
  image.work_total = absl::Nanoseconds(r.I64());
  image.shift_since = r.Time();
  image.work_since = r.Time();
  return image;
}

// The request decoders fill their target in place (a request's fields
// are read straight into the record the image holds): two million
// requests made as temporaries and moved cost a tenth of a snapshot's
// decode.
void GetSpec(Reader& r, RequestSpec& s) {
  r.StrInto(s.idempotency_key);
  r.StrInto(s.zone_id);
  r.StrInto(s.location);
  r.StrInto(s.category);
  s.required_skills = GetSkills(r);
  s.urgency = GetUrgency(r);
  s.estimated_minutes = r.U32();
  s.materials = GetMaterials(r);
  s.crew_size = r.U32();
  r.StrInto(s.asset_tag);
  r.StrInto(s.department);
  s.key_department = r.Bool();
  r.StrInto(s.description);
  s.not_before = r.OptTime();
  s.due_by = r.OptTime();
}

void GetDecision(Reader& r, Decision& d) {
  r.StrInto(d.rule);
  r.StrInto(d.detail);
  d.candidates = r.List<Candidate>([&] {
    Candidate c;
    r.StrInto(c.technician_id);
    c.travel_minutes = r.U32();
    c.overqualification = r.U32();
    c.score = r.I64();
    return c;
  });
  d.exclusions = r.List<Exclusion>([&] {
    Exclusion e;
    r.StrInto(e.technician_id);
    r.StrInto(e.reason);
    return e;
  });
  d.candidates_omitted = r.U32();
  d.exclusions_omitted = r.U32();
}

void GetRequest(Reader& r, RequestImage& image) {
  Request& q = image.request;
  r.StrInto(q.request_id);
  GetSpec(r, q.spec);
  q.effective_urgency = GetUrgency(r);
  q.state = r.Enum<RequestState>(1, 8);
  q.created_at = r.Time();
  q.sla_deadline = r.Time();
  r.StrInto(q.technician_id);
  q.offer_expires_at = r.OptTime();
  r.StrInto(q.rare.mut().hold_reason);
  q.resolved = r.Bool();
  q.feedback_rating = r.U32();
  r.StrInto(q.rare.mut().feedback_comment);
  r.StrInto(q.alert_dedupe_key);
  q.rare.mut().accepted_at = r.OptTime();
  q.rare.mut().completed_at = r.OptTime();
  q.declined_by = r.List<std::string>([&] { return r.Str(); });
  if (r.Bool() && r.ok()) {
    Decision d;
    GetDecision(r, d);
    q.decision = std::move(d);
  }
  q.reserved = r.List<Reservation>([&] {
    Reservation m;
    r.StrInto(m.depot_zone_id);
    r.StrInto(m.sku);
    m.quantity = r.U32();
    return m;
  });
  q.awaiting_stock = r.Bool();
  q.rare.mut().materials_used = GetMaterials(r);
  r.StrInto(q.rare.mut().completion_notes);
  q.preemptions = r.U32();
  r.StrInto(q.rare.mut().preempted_by);
  r.StrInto(q.rare.mut().crew_of);
  image.submitted_urgency = GetUrgency(r);
  image.aging_base = r.Time();
  image.reevaluate_at = r.OptTime();
  q.delivery_ids = r.List<std::string>([&] { return r.Str(); });
  q.rare.Trim();  // A request with none of them set keeps none on the heap.
}

Delivery GetDelivery(Reader& r) {
  Delivery d;
  d.delivery_id = r.Str();
  d.depot_zone_id = r.Str();
  d.zone_id = r.Str();
  d.location = r.Str();
  d.state = r.Enum<DeliveryState>(1, 2);
  d.opened_at = r.Time();
  d.departs_at = r.Time();
  d.departed_at = r.OptTime();
  d.departure_reason = r.Str();
  d.shipments = r.List<DeliveryShipment>([&] {
    DeliveryShipment s;
    s.request_id = r.Str();
    s.lines = GetMaterials(r);
    s.reason = r.Str();
    return s;
  });
  return d;
}

uint64_t Fnv1a64(std::string_view bytes) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : bytes) {
    h ^= static_cast<uint8_t>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

uint64_t Crc64Xz(std::string_view bytes) {
  boost::crc_optimal<64, 0x42F0E1EBA9EA3693ULL, ~0ULL, ~0ULL, true, true> crc;
  crc.process_bytes(bytes.data(), bytes.size());
  return crc.checksum();
}

// With `live` false, the live-only parts (sweep_pending, reevaluate_at)
// encode as cleared.
std::string Encode(const StateImage& image, bool live) {
  Writer w;
  w.U32(kImageFormatVersion);
  w.U64(image.last_sequence);
  w.Time(image.last_event_time);
  w.Bool(live && image.sweep_pending);
  PutPolicy(w, image.policy);
  w.List(image.skills, [&](const std::string& s) { w.Str(s); });
  w.List(image.zones, [&](const Zone& z) { PutZone(w, z); });
  w.List(image.technicians, [&](const TechnicianImage& t) { PutTechnician(w, t); });
  w.List(image.requests, [&](const RequestImage& r) { PutRequest(w, r, live); });
  w.List(image.stock, [&](const StockLevel& s) {
    w.Str(s.depot_zone_id);
    w.Str(s.sku);
    w.I64(s.on_hand);
    w.I64(s.reserved);
  });
  w.List(image.alerts, [&](const AlertImage& a) {
    w.Str(a.dedupe_key);
    w.Str(a.request_id);
    w.Bool(a.resolved);
  });
  w.List(image.surge_zones, [&](const std::string& z) { w.Str(z); });
  w.U32(image.last_delivery_number);
  w.List(image.deliveries, [&](const Delivery& d) { PutDelivery(w, d); });
  return std::move(w).Finish();
}

}  // namespace

std::string EncodeImageCanonical(const StateImage& image) { return Encode(image, /*live=*/true); }

absl::StatusOr<StateImage> DecodeImageCanonical(std::string_view bytes) {
  StateImage image;
  ImageParts parts;
  parts.head = [&](StateImage&& head) {
    image = std::move(head);
    return absl::OkStatus();
  };
  parts.requests = [&](std::vector<RequestImage>&& run) {
    image.requests = std::move(run);  // One run: it is as long as the list.
    return absl::OkStatus();
  };
  parts.rest = [&](StateImage&& rest) {
    image.stock = std::move(rest.stock);
    image.alerts = std::move(rest.alerts);
    image.surge_zones = std::move(rest.surge_zones);
    image.last_delivery_number = rest.last_delivery_number;
    image.deliveries = std::move(rest.deliveries);
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(DecodeImageParts(bytes, std::numeric_limits<size_t>::max(), parts));
  return image;
}

absl::Status DecodeImageParts(std::string_view bytes, size_t run, const ImageParts& parts) {
  Reader r(bytes);
  const uint32_t version = r.U32();
  if (r.ok() && version != kImageFormatVersion) {
    return absl::DataLossError(absl::StrCat("state image: format version ", version,
                                            ", this engine reads ", kImageFormatVersion));
  }
  StateImage head;
  head.last_sequence = r.U64();
  head.last_event_time = r.Time();
  head.sweep_pending = r.Bool();
  head.policy = GetPolicy(r);
  head.skills = r.List<std::string>([&] { return r.Str(); });
  head.zones = r.List<Zone>([&] { return GetZone(r); });
  head.technicians = r.List<TechnicianImage>([&] { return GetTechnician(r); });
  if (!r.ok()) return r.status();
  RETURN_IF_ERROR(parts.head(std::move(head)));
  const uint32_t count = r.Count();
  std::vector<RequestImage> requests;
  for (uint32_t i = 0; i < count && r.ok(); ++i) {
    if (requests.empty()) requests.reserve(r.Room<RequestImage>(std::min<size_t>(run, count - i)));
    GetRequest(r, requests.emplace_back());
    if (r.ok() && (requests.size() >= run || i + 1 == count)) {
      RETURN_IF_ERROR(parts.requests(std::move(requests)));
      requests.clear();
    }
  }
  StateImage image;  // The rest.
  image.stock = r.List<StockLevel>([&] {
    StockLevel s;
    s.depot_zone_id = r.Str();
    s.sku = r.Str();
    s.on_hand = r.I64();
    s.reserved = r.I64();
    return s;
  });
  image.alerts = r.List<AlertImage>([&] {
    AlertImage a;
    a.dedupe_key = r.Str();
    a.request_id = r.Str();
    a.resolved = r.Bool();
    return a;
  });
  image.surge_zones = r.List<std::string>([&] { return r.Str(); });
  image.last_delivery_number = r.U32();
  image.deliveries = r.List<Delivery>([&] { return GetDelivery(r); });
  if (r.ok() && r.remaining() != 0) r.Fail("trailing bytes after the image");
  if (!r.ok()) return r.status();
  return parts.rest(std::move(image));
}

std::string ImageDigest(const StateImage& image) {
  const std::string bytes = Encode(image, /*live=*/false);
  return absl::StrFormat("%016x%016x", Fnv1a64(bytes), Crc64Xz(bytes));
}

}  // namespace dispatchd::engine
