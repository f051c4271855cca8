// Engine images: Export copies out the records (what the fold cannot
// recompute); Load checks an image for consistency and rebuilds every index,
// queue, timer and KPI sum from it through the same IndexRequest/IndexTech
// the fold uses, so a loaded engine cannot differ from the original in any
// derived structure.
//
// Load's checks are the invariants the rest of the engine relies on without
// checking (a held request names a technician who holds it back, an offer
// has an expiry, a scheduled request a window, every skill is interned ...),
// so an image that passes cannot make a later command crash.
#include <algorithm>
#include <span>
#include <tuple>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "engine/internal/state.h"
#include "engine/internal/validate.h"

namespace dispatchd::engine {
namespace {

template <typename... Parts>
absl::Status Corrupt(const Parts&... parts) {
  return absl::DataLossError(absl::StrCat("state image: ", parts...));
}

// An image of a fresh engine (last sequence 0) holds nothing else; each
// part of an image checks its own fields.
absl::Status HoldsStateAtZero() { return Corrupt("last_sequence is 0 but the image holds state"); }

// A field check's INVALID_ARGUMENT, re-labelled as a corrupt image.
absl::Status Relabel(const std::string& where, const absl::Status& s) {
  if (s.ok()) return s;
  return Corrupt(where, ": ", s.message());
}

bool HoldsJob(TechnicianState s) {
  return s == TechnicianState::kOffered || s == TechnicianState::kAssigned ||
         s == TechnicianState::kWorking;
}

// The request state a technician in state `s` holds its job in.
RequestState JobStateFor(TechnicianState s) {
  switch (s) {
    case TechnicianState::kOffered:
      return RequestState::kOffered;
    case TechnicianState::kAssigned:
      return RequestState::kAssigned;
    default:
      return RequestState::kInProgress;
  }
}

}  // namespace

StateImage Engine::State::Export() const {
  StateImage image;
  image.last_sequence = last_sequence_;
  image.last_event_time = last_event_time_;
  image.sweep_pending = sweep_pending_;
  image.policy = policy_;
  for (int bit = 0; bit < skills_.size(); ++bit) image.skills.push_back(skills_.Name(bit));
  image.zones.reserve(zones_.size());
  for (const ZoneRec& z : zones_) image.zones.push_back(z.pub);
  image.technicians.reserve(techs_.size());
  for (const TechRec& t : techs_) {
    image.technicians.push_back({t.pub, t.available_since, t.busy_since, t.shift_total,
                                 t.work_total, t.shift_since, t.work_since});
  }
  image.requests.reserve(requests_.size());
  for (const ReqRec& r : requests_) {
    image.requests.push_back({r.pub, r.submitted_urgency, r.aging_base, r.reevaluate_at});
  }
  for (const auto& [key, on_hand] : stock_) {
    auto held = stock_reserved_.find(key);
    image.stock.push_back({key.first, key.second, on_hand,
                           held == stock_reserved_.end() ? 0 : held->second});
  }
  for (const auto& [key, alert] : alerts_) {
    image.alerts.push_back({key, internal::FormatRequestId(alert.number), alert.resolved});
  }
  std::sort(image.alerts.begin(), image.alerts.end(),
            [](const AlertImage& a, const AlertImage& b) { return a.dedupe_key < b.dedupe_key; });
  for (const ZoneRec& z : zones_) {
    if (z.surge) image.surge_zones.push_back(z.pub.zone_id);
  }
  image.last_delivery_number = last_delivery_number_;
  image.deliveries.reserve(deliveries_.size());
  for (const auto& [number, d] : deliveries_) image.deliveries.push_back(d);
  return image;
}

absl::Status Engine::State::Load(StateImage& image) {
  RETURN_IF_ERROR(LoadHead(image));
  RETURN_IF_ERROR(LoadRequests(image.requests));
  return LoadRest(image);
}

absl::Status Engine::State::LoadHead(const StateImage& head) {
  RETURN_IF_ERROR(LoadHeader(head));
  RETURN_IF_ERROR(LoadZones(head.zones));
  return LoadTechnicians(head.technicians);
}

absl::Status Engine::State::LoadRest(const StateImage& rest) {
  if (last_sequence_ == 0 &&
      (!rest.stock.empty() || !rest.alerts.empty() || !rest.surge_zones.empty() ||
       !rest.deliveries.empty() || rest.last_delivery_number != 0)) {
    return HoldsStateAtZero();
  }
  if (std::optional<uint32_t> twice = idempotency_.Build()) {
    const Request& r = ByNumber(*twice).pub;
    return Corrupt(r.request_id, ": idempotency key '", r.spec.idempotency_key, "' used twice");
  }
  RETURN_IF_ERROR(LinkHolders());
  RETURN_IF_ERROR(LoadStock(rest.stock));
  RETURN_IF_ERROR(LoadAlerts(rest.alerts));
  for (TechRec& t : techs_) IndexTech(t);
  // The requests were indexed and booked as they loaded, save the last
  // batch's bookings for their technicians (see StatsBook).
  stats_.BookTechnicians(loaded_kpis_);
  loaded_kpis_ = {};
  // Zones in surge: known, each once, in creation order.
  uint32_t next_zone = 0;
  for (size_t i = 0; i < rest.surge_zones.size(); ++i) {
    std::optional<uint32_t> index = ZoneIndex(rest.surge_zones[i]);
    if (!index || *index < next_zone) {
      return Corrupt("surge_zones[", i, "]: unknown, repeated or out of order zone '",
                     rest.surge_zones[i], "'");
    }
    zones_[*index].surge = true;
    next_zone = *index + 1;
  }
  // The exporter had settled surge after its last command.
  for (uint32_t index : surge_dirty_) zones_[index].surge_dirty = false;
  surge_dirty_.clear();
  graph_dirty_ = true;
  RETURN_IF_ERROR(LoadDeliveries(rest));
  return CheckReserved(rest.stock);
}

absl::Status Engine::State::CheckReserved(const std::vector<StockLevel>& stock) const {
  size_t listed = 0;
  for (const StockLevel& s : stock) {
    auto held = stock_reserved_.find(std::make_pair(s.depot_zone_id, s.sku));
    const int64_t derived = held == stock_reserved_.end() ? 0 : held->second;
    if (s.reserved != derived || s.reserved > s.on_hand) {
      return Corrupt("stock of '", s.sku, "' at '", s.depot_zone_id, "': reserved ",
                     s.reserved, ", requests hold ", derived, ", on hand ", s.on_hand);
    }
    listed += derived != 0;
  }
  if (listed != stock_reserved_.size()) {
    return Corrupt("requests reserve stock at a depot with no stock level");
  }
  return absl::OkStatus();
}

absl::Status Engine::State::LoadHeader(const StateImage& image) {
  // The requests and the rest are checked where they load.
  if (image.last_sequence == 0 &&
      (!image.skills.empty() || !image.zones.empty() || !image.technicians.empty() ||
       image.sweep_pending || image.last_event_time != absl::UnixEpoch() ||
       image.policy != Policy{})) {
    return HoldsStateAtZero();
  }
  RETURN_IF_ERROR(Relabel("policy", internal::CheckPolicy(image.policy)));
  if (image.skills.size() > internal::kMaxSkills) {
    return Corrupt(image.skills.size(), " skills, at most ", internal::kMaxSkills);
  }
  for (size_t i = 0; i < image.skills.size(); ++i) {
    const std::string& name = image.skills[i];
    if (name.empty() || skills_.Find(name) >= 0) {
      return Corrupt("skills[", i, "]: empty or duplicate name '", name, "'");
    }
    skills_.Build({{name, 1}});  // Interns at bit i.
  }
  last_sequence_ = image.last_sequence;
  last_event_time_ = image.last_event_time;
  sweep_pending_ = image.sweep_pending;
  policy_ = image.policy;
  return absl::OkStatus();
}

absl::Status Engine::State::LoadZones(const std::vector<Zone>& zones) {
  for (size_t i = 0; i < zones.size(); ++i) {
    const Zone& zone = zones[i];
    RETURN_IF_ERROR(Relabel(absl::StrCat("zones[", i, "]"), internal::CheckZoneShape(zone)));
    if (ZoneIndex(zone.zone_id)) return Corrupt("duplicate zone '", zone.zone_id, "'");
    const auto index = static_cast<uint32_t>(zones_.size());
    ZoneRec& z = zones_.emplace_back();
    z.index = index;
    z.pub = zone;
    zone_index_.emplace(zone.zone_id, index);
    zones_by_id_.emplace(zone.zone_id, index);
    stats_.EnsureZone(index);
  }
  for (const ZoneRec& z : zones_) {  // Links: known and mirrored.
    for (const Neighbor& n : z.pub.neighbors) {
      const std::optional<uint32_t> other = ZoneIndex(n.zone_id);
      if (!other) {
        return Corrupt("zone '", z.pub.zone_id, "' links unknown zone '", n.zone_id, "'");
      }
      const std::vector<Neighbor>& back = zones_[*other].pub.neighbors;
      if (std::find(back.begin(), back.end(), Neighbor{z.pub.zone_id, n.travel_minutes}) ==
          back.end()) {
        return Corrupt("link ", z.pub.zone_id, " -> ", n.zone_id, " is not mirrored");
      }
    }
  }
  return absl::OkStatus();
}

absl::Status Engine::State::LoadTechnicians(const std::vector<TechnicianImage>& techs) {
  tech_index_.Reserve(techs_.size() + techs.size());
  for (size_t i = 0; i < techs.size(); ++i) {
    const Technician& pub = techs[i].technician;
    const std::string where = absl::StrCat("technicians[", i, "]");
    RETURN_IF_ERROR(
        Relabel(where, internal::CheckTechnicianId("technician_id", pub.technician_id)));
    if (Tech(pub.technician_id) != nullptr) {
      return Corrupt("duplicate technician '", pub.technician_id, "'");
    }
    const std::optional<uint32_t> home = ZoneIndex(pub.home_zone_id);
    const std::optional<uint32_t> current = ZoneIndex(pub.current_zone_id);
    if (!home || !current) {
      return Corrupt(where, ": unknown zone '", home ? pub.current_zone_id : pub.home_zone_id, "'");
    }
    RETURN_IF_ERROR(Relabel(where, internal::CheckTechnicianSkills("skills", pub.skills)));
    for (const SkillLevel& s : pub.skills) {
      if (skills_.Find(s.skill) < 0) return Corrupt(where, ": skill '", s.skill, "' not interned");
    }
    if (pub.state < TechnicianState::kOffShift || pub.state > TechnicianState::kWorking) {
      return Corrupt(where, ": bad state ", static_cast<int>(pub.state));
    }
    const auto index = static_cast<uint32_t>(techs_.size());
    TechRec& t = techs_.emplace_back();
    t.pub = pub;
    t.index = index;
    t.home = *home;
    t.current = *current;
    t.skills = skills_.Lookup(pub.skills);
    t.available_since = techs[i].available_since;
    t.busy_since = techs[i].busy_since;
    if (techs[i].shift_total < absl::ZeroDuration() ||
        techs[i].work_total < absl::ZeroDuration()) {
      return Corrupt(where, ": negative time on shift or working");
    }
    t.shift_total = techs[i].shift_total;
    t.work_total = techs[i].work_total;
    t.shift_since = techs[i].shift_since;
    t.work_since = techs[i].work_since;
    tech_index_.Insert(index);
    techs_by_id_.emplace(pub.technician_id, index);
    stats_.EnsureTechnician(index);
  }
  return absl::OkStatus();
}

absl::Status Engine::State::LoadRequests(std::vector<RequestImage>& requests) {
  if (last_sequence_ == 0 && !requests.empty()) return HoldsStateAtZero();
  const size_t kpis_before = loaded_kpis_.size();
  for (size_t i = 0; i < requests.size(); ++i) {
    const Request& pub = requests[i].request;
    // Runs follow each other: numbers continue from the requests loaded.
    const auto number = static_cast<uint32_t>(requests_.size() + 1);
    if (pub.request_id != internal::FormatRequestId(number)) {
      return Corrupt("requests[", number - 1, "]: id '", pub.request_id, "', expected ",
                     internal::FormatRequestId(number));
    }
    const std::string& where = pub.request_id;
    // Stored specs are normalized: with no default left to fill, the
    // checks run in place and change nothing (no copy per request).
    if (!internal::SpecDefaultsFilled(pub.spec)) return Corrupt(where, ": spec not normalized");
    const bool allow_no_skills = !pub.alert_dedupe_key.empty() || !pub.rare->crew_of.empty();
    RETURN_IF_ERROR(
        Relabel(where, internal::NormalizeSpec(requests[i].request.spec, allow_no_skills)));
    const std::optional<uint32_t> zone = ZoneIndex(pub.spec.zone_id);
    if (!zone) return Corrupt(where, ": unknown zone '", pub.spec.zone_id, "'");
    for (const SkillLevel& s : pub.spec.required_skills) {
      if (skills_.Find(s.skill) < 0) return Corrupt(where, ": skill '", s.skill, "' not interned");
    }
    RETURN_IF_ERROR(
        Relabel(where, internal::CheckUrgency("effective_urgency", pub.effective_urgency)));
    RETURN_IF_ERROR(
        Relabel(where, internal::CheckUrgency("submitted_urgency", requests[i].submitted_urgency)));
    uint32_t holder = internal::kNoTech;
    RETURN_IF_ERROR(CheckRequestShape(requests[i], &holder));
    if (!pub.rare->preempted_by.empty() && !internal::ParseRequestId(pub.rare->preempted_by)) {
      return Corrupt(where, ": preempted_by '", pub.rare->preempted_by, "' is not a request id");
    }
    ReqRec* lead = nullptr;
    if (!pub.rare->crew_of.empty()) {
      lead = Req(pub.rare->crew_of);  // Only earlier requests are loaded yet.
      if (lead == nullptr || !lead->pub.rare->crew_of.empty() ||
          lead->pub.crew_request_ids.size() + 1 >= lead->pub.spec.crew_size) {
        return Corrupt(where, ": crew_of '", pub.rare->crew_of, "' is no emergency with room");
      }
    }
    ReqRec& r = requests_.emplace_back();
    r.pub = std::move(requests[i].request);  // From here on `pub` and `where` are empty.
    r.pub.crew_request_ids.clear();          // Derived from the crew's crew_of.
    if (lead != nullptr) lead->pub.crew_request_ids.push_back(r.pub.request_id);
    r.number = number;
    r.zone = *zone;
    r.need = skills_.Lookup(r.pub.spec.required_skills);
    r.tech = holder;
    r.submitted_urgency = requests[i].submitted_urgency;
    r.aging_base = requests[i].aging_base;
    r.reevaluate_at = requests[i].reevaluate_at;
    // Keys used twice are found when the index is built (LoadRest).
    const std::string& key = r.pub.spec.idempotency_key;
    if (!key.empty()) idempotency_.Add(number, key);
    // Indexed and its KPI entry taken while the record is in cache; a
    // request's indexes depend on nothing loaded after it.
    IndexRequest(r, /*book=*/false);
    loaded_kpis_.push_back({internal::KpiEntryOf(r.pub), r.zone, KpiTech(r)});
  }
  stats_.BookSiteAndZones(std::span(loaded_kpis_).subspan(kpis_before));
  // A quarter of a million requests come to some 25 per technician of a
  // large site: enough for each technician's bags to be read in once.
  constexpr size_t kTechnicianBatch = size_t{1} << 18;
  if (loaded_kpis_.size() >= kTechnicianBatch) {
    stats_.BookTechnicians(loaded_kpis_);
    loaded_kpis_.clear();
  }
  return absl::OkStatus();
}

absl::Status Engine::State::CheckRequestShape(const RequestImage& image, uint32_t* holder) const {
  const Request& r = image.request;
  const std::string& where = r.request_id;
  if (r.state < RequestState::kQueued || r.state > RequestState::kScheduled) {
    return Corrupt(where, ": bad state ", static_cast<int>(r.state));
  }
  const bool waiting = r.state == RequestState::kQueued || r.state == RequestState::kScheduled;
  if (r.state == RequestState::kScheduled && !r.spec.not_before) {
    return Corrupt(where, ": scheduled without not_before");
  }
  if (r.offer_expires_at.has_value() != (r.state == RequestState::kOffered)) {
    return Corrupt(where, ": offer expiry present iff offered");
  }
  if (image.reevaluate_at && r.state != RequestState::kQueued) {
    return Corrupt(where, ": re-evaluation timer but not queued");
  }
  if (r.technician_id.empty() ? internal::HasHolder(r.state) : waiting) {
    return Corrupt(where, ": technician_id '", r.technician_id, "' does not fit its state");
  }
  if (!r.technician_id.empty()) {
    const std::optional<uint32_t> t = TechIndex(r.technician_id);
    if (!t) return Corrupt(where, ": unknown technician '", r.technician_id, "'");
    *holder = *t;
  }
  if (IsOpen(r.state) == r.rare->completed_at.has_value()) {
    return Corrupt(where, ": completion time present iff completed or cancelled");
  }
  RETURN_IF_ERROR(CheckMaterialsShape(r));
  if (r.feedback_rating > 5 || (r.feedback_rating > 0 && r.state != RequestState::kCompleted)) {
    return Corrupt(where, ": bad feedback rating ", r.feedback_rating);
  }
  absl::flat_hash_set<std::string_view> declined;
  for (const std::string& id : r.declined_by) {
    if (!TechIndex(id) || !declined.insert(id).second) {
      return Corrupt(where, ": declined_by '", id, "' unknown or repeated");
    }
  }
  return absl::OkStatus();
}

absl::Status Engine::State::CheckMaterialsShape(const Request& r) const {
  const std::string& where = r.request_id;
  if (r.awaiting_stock && (r.state != RequestState::kOnHold || !r.reserved.empty() ||
                           r.spec.materials.empty())) {
    return Corrupt(where, ": waits for stock but is not on hold without a reservation");
  }
  if (r.reserved.empty()) return absl::OkStatus();
  if (!IsOpen(r.state) || r.state == RequestState::kScheduled) {
    return Corrupt(where, ": holds a reservation in a closed or scheduled state");
  }
  absl::btree_map<std::string, uint64_t> want, got;
  for (const MaterialLine& m : r.spec.materials) want[m.sku] += m.quantity;
  for (const Reservation& m : r.reserved) {
    if (!ZoneIndex(m.depot_zone_id) || m.quantity == 0) {
      return Corrupt(where, ": reservation at unknown depot '", m.depot_zone_id,
                     "' or of 0 units");
    }
    got[m.sku] += m.quantity;
  }
  // A reservation is whole at first, then shrinks as MaterialsConsumed
  // takes from it while the job is in progress.
  for (const auto& [sku, units] : got) {
    auto it = want.find(sku);
    if (it == want.end() || units > it->second ||
        (r.state != RequestState::kInProgress && units != it->second)) {
      return Corrupt(where, ": reservation of '", sku, "' does not match its materials");
    }
  }
  if (r.state != RequestState::kInProgress && got.size() != want.size()) {
    return Corrupt(where, ": reservation does not cover its materials");
  }
  return absl::OkStatus();
}

absl::Status Engine::State::LinkHolders() {
  for (TechRec& t : techs_) {  // Technician -> request.
    const std::string& id = t.pub.technician_id;
    if (HoldsJob(t.pub.state)) {
      const ReqRec* r = Req(t.pub.request_id);
      if (r == nullptr || r->tech != t.index || r->pub.state != JobStateFor(t.pub.state)) {
        return Corrupt("technician '", id, "' holds '", t.pub.request_id,
                       "', which does not name them in the matching state");
      }
      t.job = r->number;
    } else if (!t.pub.request_id.empty()) {
      return Corrupt("technician '", id, "' is not busy but holds '", t.pub.request_id, "'");
    }
    absl::flat_hash_set<std::string_view> held;
    for (const std::string& hold : t.pub.on_hold_request_ids) {
      const ReqRec* r = Req(hold);
      if (r == nullptr || r->tech != t.index || r->pub.state != RequestState::kOnHold ||
          !held.insert(hold).second) {
        return Corrupt("technician '", id, "' lists '", hold, "' as on hold wrongly");
      }
    }
  }
  for (const ReqRec& r : requests_) {  // Request -> technician.
    if (!internal::HasHolder(r.pub.state)) continue;
    const TechRec& t = techs_[r.tech];
    const auto& holds = t.pub.on_hold_request_ids;
    const bool back = r.pub.state == RequestState::kOnHold
                          ? std::find(holds.begin(), holds.end(), r.pub.request_id) != holds.end()
                          : t.job == r.number;
    if (!back) {
      return Corrupt(r.pub.request_id, " names technician '", t.pub.technician_id,
                     "', who does not hold it");
    }
  }
  return absl::OkStatus();
}

absl::Status Engine::State::LoadStock(const std::vector<StockLevel>& stock) {
  for (size_t i = 0; i < stock.size(); ++i) {
    const StockLevel& s = stock[i];
    if (!ZoneIndex(s.depot_zone_id) || s.sku.empty() || s.on_hand < 0) {
      return Corrupt("stock[", i, "]: unknown depot, empty sku or negative level");
    }
    if (i > 0 && std::tie(stock[i - 1].depot_zone_id, stock[i - 1].sku) >=
                     std::tie(s.depot_zone_id, s.sku)) {
      return Corrupt("stock[", i, "]: not in (depot, sku) order");
    }
    stock_.emplace(std::make_pair(s.depot_zone_id, s.sku), s.on_hand);
    int64_t& total = stock_total_[s.sku];  // Wraps as the fold's += would.
    total = static_cast<int64_t>(static_cast<uint64_t>(total) + static_cast<uint64_t>(s.on_hand));
  }
  return absl::OkStatus();
}

absl::Status Engine::State::LoadAlerts(const std::vector<AlertImage>& alerts) {
  for (size_t i = 0; i < alerts.size(); ++i) {
    const AlertImage& a = alerts[i];
    if (a.dedupe_key.empty() || (i > 0 && alerts[i - 1].dedupe_key >= a.dedupe_key)) {
      return Corrupt("alerts[", i, "]: empty key, or not in key order");
    }
    const ReqRec* r = Req(a.request_id);
    if (r == nullptr || r->pub.alert_dedupe_key != a.dedupe_key) {
      return Corrupt("alert '", a.dedupe_key, "' does not match request '", a.request_id, "'");
    }
    alerts_.emplace(a.dedupe_key, internal::AlertRec{r->number, a.resolved});
  }
  return absl::OkStatus();
}

}  // namespace dispatchd::engine
