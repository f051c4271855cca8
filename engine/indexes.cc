// Lookups, and the maintenance of every index the matcher reads: per-zone
// queues, availability sets, zone membership, timers and KPI sums.
#include <algorithm>
#include <bit>
#include <charconv>

#include "absl/strings/str_cat.h"
#include "engine/internal/state.h"

namespace dispatchd::engine {
namespace internal {

namespace {

// Decimal digits of `n` (1 for 0).
size_t DigitCount(uint32_t n) {
  size_t count = 1;
  while (n >= 10) {
    n /= 10;
    ++count;
  }
  return count;
}

}  // namespace

// As absl::StrFormat("%c-%06u", kind, number), without the format parser
// (every id of every request goes through here and ParseNumberedId).
std::string FormatNumberedId(char kind, uint32_t number) {
  const size_t digits = DigitCount(number);
  const size_t width = std::max<size_t>(digits, 6);
  std::string out(2 + width, '0');
  out[0] = kind;
  out[1] = '-';
  for (size_t i = out.size(); number != 0; number /= 10) {
    out[--i] = static_cast<char>('0' + number % 10);
  }
  return out;
}

std::optional<uint32_t> ParseNumberedId(char kind, std::string_view id) {
  if (id.size() < 8 || id[0] != kind || id[1] != '-') return std::nullopt;
  uint32_t n = 0;
  const char* begin = id.data() + 2;
  const char* end = id.data() + id.size();
  auto [ptr, ec] = std::from_chars(begin, end, n);
  if (ec != std::errc() || ptr != end || n == 0) return std::nullopt;
  // Exactly as FormatNumberedId writes it: six digits, zero-padded, or
  // more without leading zeros.
  if (id.size() - 2 != std::max<size_t>(DigitCount(n), 6)) return std::nullopt;
  return n;
}

std::optional<uint32_t> IdempotencyIndex::Build() {
  std::vector<uint64_t> entries = std::move(added_);
  added_ = {};
  if (entries.empty()) return std::nullopt;
  set_.Reserve(entries.size());
  // An absl table starts probing for hash h at slot ((h >> 7) ^ salt) &
  // capacity, the salt fixed per table. Sorted by the bits of h that pick
  // the slot (rotated to the top of the sort key, the rest of h below
  // them), the entries land in aligned blocks of slots, each filled at
  // once, and equal hashes lie side by side.
  const int slot_bits = std::min(std::countr_one(set_.capacity()), 25);
  auto sort_key = [slot_bits](uint64_t entry) {
    return std::rotl(static_cast<uint32_t>(entry >> 32), 25 - slot_bits);
  };
  // Radix sort, least significant digit first: three passes of 11 bits.
  std::vector<uint64_t> scratch(entries.size());
  for (int shift = 0; shift < 32; shift += 11) {
    std::vector<uint32_t> start(2049, 0);
    for (uint64_t e : entries) ++start[((sort_key(e) >> shift) & 2047) + 1];
    for (size_t d = 1; d < start.size(); ++d) start[d] += start[d - 1];
    for (uint64_t e : entries) scratch[start[(sort_key(e) >> shift) & 2047]++] = e;
    entries.swap(scratch);
  }
  // Two requests with one key have one hash: compare the keys within each
  // run of equal hashes (a 32-bit hash makes runs rare and short).
  std::optional<uint32_t> refused;
  for (size_t i = 1; i < entries.size(); ++i) {
    for (size_t j = i; j-- > 0 && entries[j] >> 32 == entries[i] >> 32;) {
      const auto a = static_cast<uint32_t>(entries[i]);
      const auto b = static_cast<uint32_t>(entries[j]);
      if (KeyOf(records_, entries[i]) != KeyOf(records_, entries[j])) continue;
      const uint32_t later = std::max(a, b);
      if (!refused || later < *refused) refused = later;
    }
  }
  if (refused) return refused;
  for (uint64_t e : entries) set_.Insert(e);
  return std::nullopt;
}

}  // namespace internal

using internal::TimerKey;
using internal::TimerKind;

// --- Lookups. ---

Engine::State::ReqRec* Engine::State::Req(std::string_view id) {
  const auto n = internal::ParseRequestId(id);
  if (!n || *n > requests_.size()) return nullptr;
  return &ByNumber(*n);
}

const Engine::State::ReqRec* Engine::State::Req(std::string_view id) const {
  return const_cast<State*>(this)->Req(id);
}

Engine::State::TechRec* Engine::State::Tech(std::string_view id) {
  const std::optional<uint32_t> index = TechIndex(id);
  return index ? &techs_[*index] : nullptr;
}

const Engine::State::TechRec* Engine::State::Tech(std::string_view id) const {
  return const_cast<State*>(this)->Tech(id);
}

std::optional<uint32_t> Engine::State::TechIndex(std::string_view id) const {
  return tech_index_.Find(id);
}

std::optional<uint32_t> Engine::State::ZoneIndex(std::string_view id) const {
  auto it = zone_index_.find(id);
  if (it == zone_index_.end()) return std::nullopt;
  return it->second;
}

absl::StatusOr<Engine::State::ReqRec*> Engine::State::GetReq(
    std::string_view field, std::string_view id) {
  if (id.empty()) return absl::InvalidArgumentError(absl::StrCat(internal::Sv(field), ": required"));
  ReqRec* r = Req(id);
  if (r == nullptr) {
    return absl::NotFoundError(absl::StrCat(internal::Sv(field), ": unknown request '", internal::Sv(id), "'"));
  }
  return r;
}

absl::StatusOr<Engine::State::TechRec*> Engine::State::GetTech(
    std::string_view field, std::string_view id) {
  if (id.empty()) return absl::InvalidArgumentError(absl::StrCat(internal::Sv(field), ": required"));
  TechRec* t = Tech(id);
  if (t == nullptr) {
    return absl::NotFoundError(
        absl::StrCat(internal::Sv(field), ": unknown technician '", internal::Sv(id), "'"));
  }
  return t;
}

absl::StatusOr<uint32_t> Engine::State::GetZone(std::string_view field,
                                                std::string_view id) const {
  if (id.empty()) return absl::InvalidArgumentError(absl::StrCat(internal::Sv(field), ": required"));
  const auto z = ZoneIndex(id);
  if (!z) return absl::NotFoundError(absl::StrCat(internal::Sv(field), ": unknown zone '", internal::Sv(id), "'"));
  return *z;
}

// --- Requests. ---

namespace {

// Open, with materials not yet reserved.
bool NeedsMaterials(const Request& r) {
  return IsOpen(r.state) && !r.spec.materials.empty() && r.reserved.empty();
}

bool AwaitsStock(const Request& r) {
  return r.awaiting_stock && r.state == RequestState::kOnHold;
}

// Each sku of `r`'s materials once.
std::vector<std::string> DistinctSkus(const Request& r) {
  std::vector<std::string> out;
  for (const MaterialLine& m : r.spec.materials) {
    if (std::find(out.begin(), out.end(), m.sku) == out.end()) out.push_back(m.sku);
  }
  return out;
}

bool IsActive(RequestState s) {
  return s == RequestState::kOffered || s == RequestState::kAssigned ||
         s == RequestState::kInProgress || s == RequestState::kOnHold;
}

}  // namespace

void Engine::State::IndexRequest(ReqRec& r, bool book) {
  if (book) stats_.Book(r.pub, r.zone, KpiTech(r), +1);
  r.declined_bits = 0;
  for (const std::string& id : r.pub.declined_by) r.declined_bits |= internal::DeclineBit(id);
  ZoneRec& z = zones_[r.zone];
  const uint32_t n = r.number;
  switch (r.pub.state) {
    case RequestState::kQueued: {
      z.queues.Insert(r.need, r.Key());
      ++z.queued_counts[static_cast<int>(r.pub.effective_urgency) - 1];
      ++queued_total_;
      if (internal::IsAtRisk(r.pub)) ++z.at_risk;
      if (r.pub.effective_urgency == Urgency::kLow && !r.pub.spec.location.empty()) {
        z.low_by_location[r.pub.spec.location].insert(r.Key());
      }
      MarkSurgeDirty(z);
      if (r.pub.effective_urgency < Urgency::kUrgent) aging_.insert({r.aging_base, n});
      if (r.reevaluate_at) timers_.insert({*r.reevaluate_at, TimerKind::kReevaluate, n});
      break;
    }
    case RequestState::kOffered:
      timers_.insert({*r.pub.offer_expires_at, TimerKind::kOfferExpiry, n});
      break;
    case RequestState::kScheduled:
      timers_.insert({*r.pub.spec.not_before, TimerKind::kWindowOpen, n});
      break;
    default:
      break;
  }
  if (IsActive(r.pub.state)) z.active.push_back(n);
  if (NeedsMaterials(r.pub)) material_requests_.insert(n);
  BookReserved(r.pub.reserved, +1);
  if (AwaitsStock(r.pub)) {
    for (const std::string& sku : DistinctSkus(r.pub)) stock_waiters_[sku].insert(r.WaitKey());
  }
  if (r.pub.state == RequestState::kCompleted && !r.pub.spec.asset_tag.empty()) {
    assets_[r.pub.spec.asset_tag].insert({*r.pub.rare->completed_at, n});
  }
}

void Engine::State::UnindexRequest(ReqRec& r, bool book) {
  if (book) stats_.Book(r.pub, r.zone, KpiTech(r), -1);
  ZoneRec& z = zones_[r.zone];
  const uint32_t n = r.number;
  switch (r.pub.state) {
    case RequestState::kQueued: {
      z.queues.Erase(r.need, r.Key());
      --z.queued_counts[static_cast<int>(r.pub.effective_urgency) - 1];
      --queued_total_;
      if (internal::IsAtRisk(r.pub)) --z.at_risk;
      if (r.pub.effective_urgency == Urgency::kLow && !r.pub.spec.location.empty()) {
        auto at = z.low_by_location.find(r.pub.spec.location);
        at->second.erase(r.Key());
        if (at->second.empty()) z.low_by_location.erase(at);
      }
      MarkSurgeDirty(z);
      aging_.erase({r.aging_base, n});
      break;
    }
    case RequestState::kOffered:
      timers_.erase({*r.pub.offer_expires_at, TimerKind::kOfferExpiry, n});
      break;
    case RequestState::kScheduled:
      timers_.erase({*r.pub.spec.not_before, TimerKind::kWindowOpen, n});
      break;
    default:
      break;
  }
  if (r.reevaluate_at) timers_.erase({*r.reevaluate_at, TimerKind::kReevaluate, n});
  // r is as IndexRequest saw it: only erase what it inserted.
  if (IsActive(r.pub.state)) {
    auto at = std::find(z.active.begin(), z.active.end(), n);
    *at = z.active.back();
    z.active.pop_back();
  }
  if (NeedsMaterials(r.pub)) material_requests_.erase(n);
  BookReserved(r.pub.reserved, -1);
  if (AwaitsStock(r.pub)) {
    for (const std::string& sku : DistinctSkus(r.pub)) {
      auto it = stock_waiters_.find(sku);
      it->second.erase(r.WaitKey());
      if (it->second.empty()) stock_waiters_.erase(it);
    }
  }
  if (r.pub.state == RequestState::kCompleted && !r.pub.spec.asset_tag.empty()) {
    auto it = assets_.find(r.pub.spec.asset_tag);
    it->second.erase({*r.pub.rare->completed_at, n});
    if (it->second.empty()) assets_.erase(it);
  }
}

void Engine::State::BookReserved(const std::vector<Reservation>& lines, int sign) {
  for (const Reservation& line : lines) {
    const int64_t units = sign * static_cast<int64_t>(line.quantity);
    auto key = std::make_pair(line.depot_zone_id, line.sku);
    int64_t& at = stock_reserved_[key];
    at += units;
    if (at == 0) stock_reserved_.erase(key);
    int64_t& total = reserved_total_[line.sku];
    total += units;
    if (total == 0) reserved_total_.erase(line.sku);
  }
}

void Engine::State::SetRequestTech(ReqRec& r, uint32_t tech) {
  r.tech = tech;
  if (tech == internal::kNoTech) {
    r.pub.technician_id.clear();
  } else {
    r.pub.technician_id = techs_[tech].pub.technician_id;
  }
}

void Engine::State::SetReevaluate(ReqRec& r, absl::Time at) {
  if (r.reevaluate_at) {
    timers_.erase({*r.reevaluate_at, TimerKind::kReevaluate, r.number});
  }
  r.reevaluate_at = at;
  timers_.insert({at, TimerKind::kReevaluate, r.number});
}

// --- Technicians. ---

void Engine::State::AddOnShift(ZoneRec& z, TechRec& t, int slot) {
  t.on_shift_pos[slot] = static_cast<uint32_t>(z.on_shift.size());
  z.on_shift.push_back({t.index, t.decline_bit, t.skills, t.free_at});
  z.on_shift_masks.push_back(t.skills.mask());
  z.BumpOnShift(t.skills.mask());
}

void Engine::State::RemoveOnShift(ZoneRec& z, TechRec& t, int slot) {
  const uint32_t at = t.on_shift_pos[slot];
  z.BumpOnShift(z.on_shift_masks[at]);  // The skills it was listed with.
  if (at + 1 != z.on_shift.size()) {
    z.on_shift[at] = z.on_shift.back();
    z.on_shift_masks[at] = z.on_shift_masks.back();
    TechRec& moved = techs_[z.on_shift[at].tech];
    moved.on_shift_pos[moved.home == z.index ? 0 : 1] = at;
  }
  z.on_shift.pop_back();
  z.on_shift_masks.pop_back();
  t.on_shift_pos[slot] = internal::kNoTech;
}

void Engine::State::UpdateOnShift(ZoneRec& z, const TechRec& t, int slot) {
  internal::OnShiftMember& m = z.on_shift[t.on_shift_pos[slot]];
  if (m.free_at == t.free_at) return;
  m.free_at = t.free_at;
  z.BumpOnShift(m.skills.mask());
}

void Engine::State::IndexAvailable(TechRec& t, uint32_t home, uint32_t current,
                                   const internal::SkillSet& skills, int sign) {
  ZoneRec& here = zones_[current];
  zones_[home].available_members += sign;
  if (current != home) here.available_members += sign;
  if (sign > 0) {
    t.available_pos = static_cast<uint32_t>(here.available_list.size());
    here.available_list.push_back({t.index, skills, t.available_since});
    here.available_masks.push_back(skills.mask());
  } else {
    const uint32_t at = t.available_pos;
    if (at + 1 != here.available_list.size()) {
      here.available_list[at] = here.available_list.back();
      here.available_masks[at] = here.available_masks.back();
      techs_[here.available_list[at].tech].available_pos = at;
    }
    here.available_list.pop_back();
    here.available_masks.pop_back();
    t.available_pos = internal::kNoTech;
  }
  for (uint64_t m = skills.mask(); m != 0; m &= m - 1) {
    here.available_by_skill[std::countr_zero(m)] += sign;
  }
}

void Engine::State::IndexTech(TechRec& t) {
  t.free_at = FreeAt(t);
  t.decline_bit = internal::DeclineBit(t.pub.technician_id);
  zones_[t.home].members.insert(t.index);
  ZoneRec& here = zones_[t.current];
  here.members.insert(t.index);
  if (t.pub.state != TechnicianState::kOffShift) {
    AddOnShift(zones_[t.home], t, 0);
    if (t.current != t.home) AddOnShift(here, t, 1);
  }
  if (t.pub.state == TechnicianState::kAvailable) {
    IndexAvailable(t, t.home, t.current, t.skills, +1);
  }
}

void Engine::State::UnindexTech(TechRec& t, const TechPlace& place) {
  zones_[place.home].members.erase(t.index);
  ZoneRec& here = zones_[place.current];
  here.members.erase(t.index);
  if (t.on_shift_pos[0] != internal::kNoTech) RemoveOnShift(zones_[place.home], t, 0);
  if (t.on_shift_pos[1] != internal::kNoTech) RemoveOnShift(here, t, 1);
  if (place.state == TechnicianState::kAvailable) {
    IndexAvailable(t, place.home, place.current, place.skills, -1);
  }
}

void Engine::State::ReindexTech(TechRec& t, const TechPlace& before) {
  if (t.home != before.home || !(t.skills == before.skills)) {
    UnindexTech(t, before);
    IndexTech(t);
    return;
  }
  // Same home and skills: the home zone's membership stays, and its
  // on-shift entry follows the state and the job in place. A move (a
  // location report) only leaves the zone it was in and joins the new one.
  t.free_at = FreeAt(t);
  const bool moved = t.current != before.current;
  if (moved) {
    if (before.current != t.home) zones_[before.current].members.erase(t.index);
    if (t.current != t.home) zones_[t.current].members.insert(t.index);
  }
  const bool was_on = before.state != TechnicianState::kOffShift;
  const bool is_on = t.pub.state != TechnicianState::kOffShift;
  ZoneRec& home = zones_[t.home];
  MoveOnShift(home, home, t, 0, was_on, is_on);
  // The entry away from home, in the zone it is in.
  MoveOnShift(zones_[before.current], zones_[t.current], t, 1,
              was_on && before.current != t.home, is_on && t.current != t.home);
  const bool was_available = before.state == TechnicianState::kAvailable;
  const bool is_available = t.pub.state == TechnicianState::kAvailable;
  if (was_available && is_available && !moved) {
    zones_[t.current].available_list[t.available_pos].since = t.available_since;
  } else {
    if (was_available) IndexAvailable(t, t.home, before.current, t.skills, -1);
    if (is_available) IndexAvailable(t, t.home, t.current, t.skills, +1);
  }
}

void Engine::State::ClockTech(TechRec& t, TechnicianState before) {
  const TechnicianState after = t.pub.state;
  const bool was_on = before != TechnicianState::kOffShift;
  const bool is_on = after != TechnicianState::kOffShift;
  if (was_on && !is_on) t.shift_total += fold_time_ - t.shift_since;
  if (!was_on && is_on) t.shift_since = fold_time_;
  const bool was_working = before == TechnicianState::kWorking;
  const bool is_working = after == TechnicianState::kWorking;
  if (was_working && !is_working) t.work_total += fold_time_ - t.work_since;
  if (!was_working && is_working) t.work_since = fold_time_;
}

void Engine::State::FreeTech(TechRec& t, absl::Time at) {
  MutateTech(t, [&](TechRec& x) {
    x.pub.state = TechnicianState::kAvailable;
    x.pub.request_id.clear();
    x.job = 0;
    x.available_since = at;
  });
}

void Engine::State::BindTech(TechRec& t, TechnicianState s, const ReqRec& r,
                             absl::Time at) {
  MutateTech(t, [&](TechRec& x) {
    x.pub.state = s;
    x.pub.request_id = r.pub.request_id;
    x.job = r.number;
    x.busy_since = at;
  });
}

std::vector<uint32_t> Engine::State::PresentIn(const ZoneRec& z) const {
  std::vector<uint32_t> out;
  for (uint32_t index : z.members) {
    if (techs_[index].current == z.index) out.push_back(index);
  }
  std::sort(out.begin(), out.end(), [&](uint32_t a, uint32_t b) {
    return techs_[a].pub.technician_id < techs_[b].pub.technician_id;
  });
  return out;
}

// --- Zones. ---

void Engine::State::RebuildGraph() const {
  std::vector<internal::ZoneGraph::Links> links(zones_.size());
  std::vector<const std::string*> ids(zones_.size());
  for (const ZoneRec& z : zones_) {
    ids[z.index] = &z.pub.zone_id;
    for (const Neighbor& n : z.pub.neighbors) {
      links[z.index].push_back({zone_index_.at(n.zone_id), n.travel_minutes});
    }
  }
  graph_.Rebuild(links, ids);
  graph_dirty_ = false;
}

}  // namespace dispatchd::engine
