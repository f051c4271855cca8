// Deliveries: merging small shipments to one building into one trip — the
// deciding side (Handle), the fold of DeliveryPlanned / DeliveryDeparted,
// the departure timer, the queries, and the checked load from an image.
//
// Every reservation (at assignment, when arriving stock serves a waiter,
// an emergency plan's backup materials) goes through ReserveMaterials: the
// lines taken from each depot form a shipment from that depot to the job's
// zone and location. A shipment of at most policy.small_delivery_max_units
// units is small; a small one joins the oldest open delivery from the same
// depot to the same zone and location whose window is still open and which
// stays small with it, else it opens a new delivery whose window ends
// policy.delivery_merge_minutes later. A delivery leaves at its window's
// end (Tick), or at once when it is not small, merging is off (0 minutes),
// the job has no location to merge by, or it carries an emergency's
// materials. Which delivery a shipment rides is decided here and recorded
// in DeliveryPlanned, so replay never re-runs the rule.
//
// A job cancelled or completed before its delivery leaves comes off it (an
// emptied delivery is dropped) in the fold of RequestCancelled /
// WorkCompleted. Departed deliveries are history: the last
// kKeptDepartedDeliveries stay listed, older ones leave state.
#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/status_macros.h"
#include "engine/internal/state.h"
#include "engine/internal/validate.h"

namespace dispatchd::engine {
namespace {

uint64_t UnitsOf(const std::vector<MaterialLine>& lines) {
  uint64_t units = 0;
  for (const MaterialLine& m : lines) units += m.quantity;
  return units;
}

std::string Hhmm(absl::Time t) { return absl::FormatTime("%H:%M", t, absl::UTCTimeZone()); }

// The lines of `reserved` held at `depot`, in reservation order.
std::vector<MaterialLine> LinesAt(const std::vector<Reservation>& reserved,
                                  const std::string& depot) {
  std::vector<MaterialLine> lines;
  for (const Reservation& x : reserved) {
    if (x.depot_zone_id == depot) lines.push_back({x.sku, x.quantity});
  }
  return lines;
}

std::string RequestIdsOf(const Delivery& d) {
  return absl::StrJoin(d.shipments, ", ", [](std::string* out, const DeliveryShipment& s) {
    out->append(s.request_id);
  });
}

uint32_t NumberOf(const Delivery& d) { return *internal::ParseDeliveryId(d.delivery_id); }

}  // namespace

uint32_t Delivery::Units() const {
  uint64_t units = 0;
  for (const DeliveryShipment& s : shipments) units += UnitsOf(s.lines);
  return static_cast<uint32_t>(std::min<uint64_t>(units, UINT32_MAX));
}

// --- Deciding (inside Handle). ---

void Engine::State::ReserveMaterials(ReqRec& r, std::vector<Reservation> plan, std::string reason) {
  Emit(ev::MaterialsReserved{r.pub.request_id, std::move(plan), std::move(reason)});
  PlanDeliveries(r);
}

void Engine::State::PlanDeliveries(const ReqRec& r) {
  std::vector<std::string> depots;  // In the order the reservation names them.
  for (const Reservation& x : r.pub.reserved) {
    if (std::find(depots.begin(), depots.end(), x.depot_zone_id) == depots.end()) {
      depots.push_back(x.depot_zone_id);
    }
  }
  for (const std::string& depot : depots) PlanShipment(r, depot, LinesAt(r.pub.reserved, depot));
}

const Delivery* Engine::State::JoinableDelivery(const ReqRec& r, const std::string& depot,
                                                uint64_t units) const {
  auto it = open_deliveries_.find(
      internal::DeliveryPlace(depot, r.pub.spec.zone_id, r.pub.spec.location));
  if (it == open_deliveries_.end()) return nullptr;
  for (uint32_t number : it->second) {  // Oldest first.
    const Delivery& d = deliveries_.at(number);
    if (d.departs_at > now_ && d.Units() + units <= policy_.small_delivery_max_units) return &d;
  }
  return nullptr;
}

void Engine::State::PlanShipment(const ReqRec& r, const std::string& depot,
                                 std::vector<MaterialLine> lines) {
  const uint64_t units = UnitsOf(lines);
  const uint32_t window = policy_.delivery_merge_minutes;
  const uint32_t max = policy_.small_delivery_max_units;
  const bool small = units <= max;
  const bool mergeable = window > 0 && small && !r.pub.spec.location.empty();
  // Why it leaves at once; empty: it waits for its window to close.
  std::string at_once;
  if (window == 0) {
    at_once = "merging is off";
  } else if (!small) {
    at_once = absl::StrCat(units, " units, more than ", max, ": not a small delivery");
  } else if (r.pub.spec.location.empty()) {
    at_once = "no location to merge by";
  } else if (r.pub.effective_urgency == Urgency::kEmergency) {
    at_once = "emergency materials never wait";
  }
  const Delivery* join = mergeable ? JoinableDelivery(r, depot, units) : nullptr;
  ev::DeliveryPlanned e;
  e.request_id = r.pub.request_id;
  e.depot_zone_id = depot;
  e.lines = std::move(lines);
  if (join != nullptr) {
    e.delivery_id = join->delivery_id;
    e.departs_at = join->departs_at;
    e.reason = absl::StrCat("merged with ", RequestIdsOf(*join), ": same building, within ", window,
                            " min");
  } else {
    e.delivery_id = internal::FormatDeliveryId(last_delivery_number_ + 1);
    e.opens = true;
    e.departs_at = at_once.empty() ? now_ + absl::Minutes(window) : now_;
    e.reason = at_once.empty()
                   ? absl::StrCat("small (", units, " of at most ", max, " units): waits up to ",
                                  window, " min for others to the same building")
                   : absl::StrCat("own delivery: ", at_once);
  }
  if (join != nullptr && !at_once.empty()) absl::StrAppend(&e.reason, "; ", at_once);
  const std::string id = e.delivery_id;
  Emit(std::move(e));
  if (!at_once.empty()) {
    Emit(ev::DeliveryDeparted{id, absl::StrCat("left at once: ", at_once)});
  }
}

std::optional<absl::Time> Engine::State::DepartureDue() const {
  if (departures_.empty()) return std::nullopt;
  return departures_.begin()->first;
}

void Engine::State::DepartFirstDue() {
  const Delivery& d = deliveries_.at(departures_.begin()->second);
  Emit(ev::DeliveryDeparted{
      d.delivery_id,
      absl::StrCat("window of ", absl::ToInt64Minutes(d.departs_at - d.opened_at),
                   " min closed: ", d.shipments.size(), " job(s), ", d.Units(), " units")});
}

// --- The fold. ---

absl::Status Engine::State::On(const ev::DeliveryPlanned& e, absl::Time t) {
  ASSIGN_OR_RETURN(ReqRec * r, GetReq("request_id", e.request_id));
  RETURN_IF_ERROR(GetZone("depot_zone_id", e.depot_zone_id).status());
  RETURN_IF_ERROR(internal::CheckMaterials("lines", e.lines));
  if (!IsOpen(r->pub.state) || e.lines.empty() ||
      LinesAt(r->pub.reserved, e.depot_zone_id) != e.lines) {
    return absl::FailedPreconditionError(absl::StrCat(
        "request ", e.request_id, " holds no such reservation at '", e.depot_zone_id, "'"));
  }
  for (const std::string& id : r->pub.delivery_ids) {
    const Delivery* other = KeptDelivery(id);
    if (other != nullptr && other->depot_zone_id == e.depot_zone_id) {
      return absl::FailedPreconditionError(absl::StrCat(
          "request ", e.request_id, " already ships from '", e.depot_zone_id, "' on ", id));
    }
  }
  DeliveryShipment shipment{e.request_id, e.lines, e.reason};
  if (e.opens) {
    const uint32_t number = last_delivery_number_ + 1;
    if (e.delivery_id != internal::FormatDeliveryId(number) || e.departs_at < t) {
      return absl::FailedPreconditionError(absl::StrCat(
          "delivery_id: '", e.delivery_id, "' out of order or leaving in the past, expected ",
          internal::FormatDeliveryId(number)));
    }
    Delivery d;
    d.delivery_id = e.delivery_id;
    d.depot_zone_id = e.depot_zone_id;
    d.zone_id = r->pub.spec.zone_id;
    d.location = r->pub.spec.location;
    d.opened_at = t;
    d.departs_at = e.departs_at;
    d.shipments.push_back(std::move(shipment));
    last_delivery_number_ = number;
    IndexOpenDelivery(deliveries_.emplace(number, std::move(d)).first->second, number);
  } else {
    Delivery* d = KeptDelivery(e.delivery_id);
    if (d == nullptr || d->state != DeliveryState::kOpen || t >= d->departs_at ||
        d->depot_zone_id != e.depot_zone_id || d->zone_id != r->pub.spec.zone_id ||
        d->location != r->pub.spec.location || d->departs_at != e.departs_at) {
      return absl::FailedPreconditionError(absl::StrCat("delivery ", e.delivery_id,
                                                        " is not open from '", e.depot_zone_id,
                                                        "' to ", e.request_id, "'s place"));
    }
    d->shipments.push_back(std::move(shipment));
  }
  r->pub.delivery_ids.push_back(e.delivery_id);  // Not indexed: no Mutate.
  return absl::OkStatus();
}

absl::Status Engine::State::On(const ev::DeliveryDeparted& e, absl::Time t) {
  Delivery* d = KeptDelivery(e.delivery_id);
  if (d == nullptr || d->state != DeliveryState::kOpen) {
    return absl::FailedPreconditionError(
        absl::StrCat("delivery_id: '", e.delivery_id, "' is not an open delivery"));
  }
  const uint32_t number = NumberOf(*d);
  UnindexOpenDelivery(*d, number);
  d->state = DeliveryState::kDeparted;
  d->departed_at = t;
  d->departure_reason = e.reason;
  KeepDeparted(*d, number);
  return absl::OkStatus();
}

void Engine::State::TakeOffDeliveries(ReqRec& r) {
  std::vector<std::string>& ids = r.pub.delivery_ids;
  for (auto it = ids.begin(); it != ids.end();) {
    Delivery* d = KeptDelivery(*it);
    if (d == nullptr || d->state != DeliveryState::kOpen) {
      ++it;
      continue;
    }
    std::erase_if(d->shipments,
                  [&](const DeliveryShipment& s) { return s.request_id == r.pub.request_id; });
    if (d->shipments.empty()) {
      const uint32_t number = NumberOf(*d);
      UnindexOpenDelivery(*d, number);
      deliveries_.erase(number);
    }
    it = ids.erase(it);
  }
}

Delivery* Engine::State::KeptDelivery(std::string_view delivery_id) {
  const std::optional<uint32_t> n = internal::ParseDeliveryId(delivery_id);
  if (!n) return nullptr;
  auto it = deliveries_.find(*n);
  return it == deliveries_.end() ? nullptr : &it->second;
}

void Engine::State::IndexOpenDelivery(const Delivery& d, uint32_t number) {
  open_deliveries_[internal::DeliveryPlace(d.depot_zone_id, d.zone_id, d.location)].insert(number);
  departures_.insert({d.departs_at, number});
}

void Engine::State::UnindexOpenDelivery(const Delivery& d, uint32_t number) {
  auto it = open_deliveries_.find(internal::DeliveryPlace(d.depot_zone_id, d.zone_id, d.location));
  if (it != open_deliveries_.end()) {
    it->second.erase(number);
    if (it->second.empty()) open_deliveries_.erase(it);
  }
  departures_.erase({d.departs_at, number});
}

void Engine::State::KeepDeparted(const Delivery& d, uint32_t number) {
  departed_.insert({*d.departed_at, number});
  while (departed_.size() > kKeptDepartedDeliveries) {
    deliveries_.erase(departed_.begin()->second);
    departed_.erase(departed_.begin());
  }
}

// --- Queries. ---

std::vector<const Delivery*> Engine::State::ListDeliveries(const DeliveryFilter& f) const {
  std::vector<const Delivery*> out;
  for (const auto& [number, d] : deliveries_) {
    if ((f.zone_id.empty() || d.zone_id == f.zone_id) &&
        (f.location.empty() || d.location == f.location) && (!f.state || d.state == *f.state)) {
      out.push_back(&d);
    }
  }
  return out;
}

const Delivery* Engine::State::FindDelivery(std::string_view delivery_id) const {
  return const_cast<State*>(this)->KeptDelivery(delivery_id);
}

std::vector<std::string> Engine::State::DeliveryNotes(const ReqRec& r) const {
  std::vector<std::string> notes;
  for (const std::string& id : r.pub.delivery_ids) {
    const Delivery* d = FindDelivery(id);
    if (d == nullptr) {
      notes.push_back(absl::StrCat(id, ": departed (no longer listed)"));
      continue;
    }
    std::string line = absl::StrCat(id, " from depot ", d->depot_zone_id, " to ", d->zone_id,
                                    d->location.empty() ? "" : " / ", d->location, ", ",
                                    d->state == DeliveryState::kOpen
                                        ? absl::StrCat("open, leaves at ", Hhmm(d->departs_at))
                                        : absl::StrCat("departed at ", Hhmm(*d->departed_at)));
    for (const DeliveryShipment& s : d->shipments) {
      if (s.request_id == r.pub.request_id) {
        absl::StrAppend(&line, ": carries ", internal::MaterialLinesText(s.lines), " (", s.reason, ")");
      }
    }
    std::vector<std::string> others;
    for (const DeliveryShipment& s : d->shipments) {
      if (s.request_id != r.pub.request_id) others.push_back(s.request_id);
    }
    absl::StrAppend(&line, others.empty() ? "; no other jobs on it"
                                          : absl::StrCat("; with ", absl::StrJoin(others, ", ")));
    notes.push_back(std::move(line));
  }
  return notes;
}

// --- Loading an image. ---

absl::Status Engine::State::CheckDelivery(const Delivery& d, size_t i) const {
  const std::string where = absl::StrCat("state image: deliveries[", i, "] ", d.delivery_id);
  auto corrupt = [&](std::string_view what) {
    return absl::DataLossError(absl::StrCat(where, ": ", internal::Sv(what)));
  };
  if (!ZoneIndex(d.depot_zone_id) || !ZoneIndex(d.zone_id)) return corrupt("unknown zone");
  if (d.state != DeliveryState::kOpen && d.state != DeliveryState::kDeparted) {
    return corrupt("bad state");
  }
  const bool open = d.state == DeliveryState::kOpen;
  if (open ? (d.departed_at.has_value() || d.departs_at <= d.opened_at ||
              !d.departure_reason.empty())
           : (!d.departed_at || d.departs_at < d.opened_at || *d.departed_at < d.opened_at)) {
    return corrupt("times or departure do not fit its state");
  }
  if (d.shipments.empty()) return corrupt("carries nothing");
  for (size_t j = 0; j < d.shipments.size(); ++j) {
    const DeliveryShipment& s = d.shipments[j];
    const ReqRec* r = Req(s.request_id);
    if (r == nullptr || r->pub.spec.zone_id != d.zone_id || r->pub.spec.location != d.location) {
      return corrupt(
          absl::StrCat("shipment of unknown request '", s.request_id, "' or one going elsewhere"));
    }
    if (s.lines.empty() || !internal::CheckMaterials("lines", s.lines).ok()) {
      return corrupt(absl::StrCat("bad lines for ", s.request_id));
    }
    if (open && !IsOpen(r->pub.state)) {
      return corrupt(absl::StrCat(s.request_id, " is closed but still on an open delivery"));
    }
    const auto& ids = r->pub.delivery_ids;
    if (std::find(ids.begin(), ids.end(), d.delivery_id) == ids.end()) {
      return corrupt(absl::StrCat(s.request_id, " does not name this delivery"));
    }
    for (size_t k = 0; k < j; ++k) {
      if (d.shipments[k].request_id == s.request_id) {
        return corrupt(absl::StrCat(s.request_id, " rides it twice"));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status Engine::State::LoadDeliveries(const StateImage& image) {
  uint32_t previous = 0;
  for (size_t i = 0; i < image.deliveries.size(); ++i) {
    const Delivery& d = image.deliveries[i];
    const std::optional<uint32_t> n = internal::ParseDeliveryId(d.delivery_id);
    if (!n || *n <= previous || *n > image.last_delivery_number) {
      return absl::DataLossError(absl::StrCat("state image: deliveries[", i, "]: id '",
                                              d.delivery_id,
                                              "' bad, repeated, out of order "
                                              "or beyond the last delivery number"));
    }
    RETURN_IF_ERROR(CheckDelivery(d, i));
    previous = *n;
    deliveries_.emplace(*n, d);
    if (d.state == DeliveryState::kOpen) {
      IndexOpenDelivery(d, *n);
    } else {
      departed_.insert({*d.departed_at, *n});
    }
  }
  if (departed_.size() > kKeptDepartedDeliveries) {
    return absl::DataLossError("state image: more departed deliveries than are kept");
  }
  last_delivery_number_ = image.last_delivery_number;
  for (const ReqRec& r : requests_) {  // Request -> delivery.
    const auto& ids = r.pub.delivery_ids;
    for (size_t j = 0; j < ids.size(); ++j) {
      const std::optional<uint32_t> n = internal::ParseDeliveryId(ids[j]);
      bool rides = false;
      if (n) {
        auto it = deliveries_.find(*n);
        rides = it == deliveries_.end() ||
                std::any_of(
                    it->second.shipments.begin(), it->second.shipments.end(),
                    [&](const DeliveryShipment& s) { return s.request_id == r.pub.request_id; });
      }
      if (!n || *n > last_delivery_number_ || !rides ||
          std::find(ids.begin(), ids.begin() + j, ids[j]) != ids.begin() + j) {
        return absl::DataLossError(absl::StrCat("state image: ", r.pub.request_id,
                                                ": delivery_ids names '", ids[j], "' wrongly"));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace dispatchd::engine
