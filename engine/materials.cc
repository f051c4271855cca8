// Materials: reservation at assignment, waiting for stock, serving the
// waiters when stock arrives, and consumption at completion — the deciding
// side, and the fold of MaterialsReserved / MaterialsAwaited /
// MaterialsConsumed. (Release on cancel and completion is part of the
// RequestCancelled / WorkCompleted folds; the reserved sums follow every
// request change through IndexRequest / UnindexRequest.)
//
// A job's materials are reserved the moment it is assigned (an offer
// accepted, or a dispatcher's assignment), all or nothing, from the nearest
// depots with free stock (free = on hand - reserved; nearest by travel from
// the job's zone, the job's own zone first). If free stock cannot cover
// every line the job goes on hold, held by the same technician, and waits
// for stock; when stock of a sku arrives its waiters are served most urgent
// first, then key departments, then oldest, without overtaking: a waiter
// still short of that sku keeps the later ones waiting. An emergency never
// waits: short, it goes ahead unreserved (its shortage listed); its plan's
// backup materials are reserved the moment it is raised. Every reservation
// then travels on deliveries (deliveries.cc).
#include <algorithm>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/status_macros.h"
#include "engine/internal/state.h"
#include "engine/internal/validate.h"

namespace dispatchd::engine {
namespace internal {

std::string MaterialLinesText(const std::vector<MaterialLine>& lines) {
  return absl::StrJoin(lines, ", ", [](std::string* out, const MaterialLine& m) {
    absl::StrAppend(out, m.sku, " x", m.quantity);
  });
}

}  // namespace internal

namespace {

void AddTo(std::vector<Reservation>& lines, const std::string& depot,
           const std::string& sku, uint32_t quantity) {
  for (Reservation& r : lines) {
    if (r.depot_zone_id == depot && r.sku == sku) {
      r.quantity += quantity;
      return;
    }
  }
  lines.push_back({depot, sku, quantity});
}

uint32_t QuantityAt(const std::vector<Reservation>& lines, const std::string& depot,
                    const std::string& sku) {
  uint32_t total = 0;
  for (const Reservation& r : lines) {
    if (r.depot_zone_id == depot && r.sku == sku) total += r.quantity;
  }
  return total;
}

void AddMissing(std::vector<MaterialLine>& missing, const std::string& sku,
                uint32_t quantity) {
  for (MaterialLine& m : missing) {
    if (m.sku == sku) {
      m.quantity += quantity;
      return;
    }
  }
  missing.push_back({sku, quantity});
}

// Units per sku in `lines`.
absl::btree_map<std::string, uint64_t> PerSku(const std::vector<MaterialLine>& lines) {
  absl::btree_map<std::string, uint64_t> out;
  for (const MaterialLine& m : lines) out[m.sku] += m.quantity;
  return out;
}

}  // namespace

int64_t Engine::State::FreeStock(const std::string& zone_id, const std::string& sku) const {
  const auto key = std::make_pair(zone_id, sku);
  auto it = stock_.find(key);
  if (it == stock_.end()) return 0;
  auto held = stock_reserved_.find(key);
  return it->second - (held == stock_reserved_.end() ? 0 : held->second);
}

int64_t Engine::State::FreeStockTotal(const std::string& sku) const {
  auto it = stock_total_.find(sku);
  auto held = reserved_total_.find(sku);
  return (it == stock_total_.end() ? 0 : it->second) -
         (held == reserved_total_.end() ? 0 : held->second);
}

std::vector<Reservation> Engine::State::PlanMaterials(
    const ReqRec& r, std::vector<MaterialLine>* missing) const {
  std::vector<Reservation> plan;
  for (const MaterialLine& line : r.pub.spec.materials) {
    int64_t need = line.quantity;
    for (const internal::Reach& reach : graph().Nearest(r.zone)) {
      if (need == 0) break;
      const std::string& depot = zones_[reach.zone].pub.zone_id;
      const int64_t free =
          FreeStock(depot, line.sku) - QuantityAt(plan, depot, line.sku);
      if (free <= 0) continue;
      const int64_t take = std::min(need, free);
      AddTo(plan, depot, line.sku, static_cast<uint32_t>(take));
      need -= take;
    }
    if (need > 0) AddMissing(*missing, line.sku, static_cast<uint32_t>(need));
  }
  return plan;
}

bool Engine::State::SecureMaterials(ReqRec& r) {
  if (r.pub.spec.materials.empty() || !r.pub.reserved.empty()) return false;
  std::vector<MaterialLine> missing;
  std::vector<Reservation> plan = PlanMaterials(r, &missing);
  if (missing.empty()) {
    ReserveMaterials(r, std::move(plan), "reserved at assignment");
    return false;
  }
  // An emergency never waits for stock: it goes ahead, its shortage listed.
  if (r.pub.effective_urgency == Urgency::kEmergency) return false;
  Emit(ev::WorkPutOnHold{r.pub.request_id, r.pub.technician_id,
                         absl::StrCat("waiting for stock: ", internal::MaterialLinesText(missing), " short")});
  Emit(ev::MaterialsAwaited{r.pub.request_id, std::move(missing)});
  return true;
}

void Engine::State::ServeStockWaiters(const std::string& sku) {
  auto it = stock_waiters_.find(sku);
  if (it == stock_waiters_.end()) return;
  const std::vector<internal::StockWaitKey> waiting(it->second.begin(), it->second.end());
  for (const internal::StockWaitKey& key : waiting) {
    ReqRec& r = ByNumber(key.number);
    std::vector<MaterialLine> missing;
    std::vector<Reservation> plan = PlanMaterials(r, &missing);
    if (!missing.empty()) {
      const bool short_here = std::any_of(missing.begin(), missing.end(),
                                          [&](const MaterialLine& m) { return m.sku == sku; });
      if (short_here) break;  // No overtaking on this sku.
      continue;
    }
    ReserveMaterials(r, std::move(plan), absl::StrCat("stock of ", sku, " arrived"));
    TechRec& t = techs_[r.tech];
    if (t.pub.state != TechnicianState::kAvailable) continue;  // Resumes later.
    Decision d = OverrideDecision(r, t, "materials reserved");
    d.rule = "materials: stock arrived";
    d.detail = absl::StrCat("Stock of ", sku, " arrived and covers ", r.pub.request_id,
                            ", which waited for it; back to ", t.pub.technician_id,
                            ", who holds it.");
    Emit(ev::RequestAssigned{r.pub.request_id, t.pub.technician_id,
                             absl::StrCat("stock of ", sku, " arrived"), "", std::move(d)});
  }
}

std::vector<Reservation> Engine::State::ConsumptionFor(
    const ReqRec& r, const std::vector<MaterialLine>& used) const {
  if (used.empty()) return r.pub.reserved;  // Used as reserved.
  std::vector<Reservation> out;
  for (const MaterialLine& line : used) {
    int64_t need = line.quantity;
    // The job's own reservation first, then free stock nearest first.
    for (const Reservation& held : r.pub.reserved) {
      if (need == 0) break;
      if (held.sku != line.sku) continue;
      const int64_t left =
          static_cast<int64_t>(QuantityAt(r.pub.reserved, held.depot_zone_id, held.sku)) -
          QuantityAt(out, held.depot_zone_id, held.sku);
      const int64_t take = std::min(need, left);
      if (take <= 0) continue;
      AddTo(out, held.depot_zone_id, held.sku, static_cast<uint32_t>(take));
      need -= take;
    }
    for (const internal::Reach& reach : graph().Nearest(r.zone)) {
      if (need == 0) break;
      const std::string& depot = zones_[reach.zone].pub.zone_id;
      const int64_t left = FreeStock(depot, line.sku) +
                           QuantityAt(r.pub.reserved, depot, line.sku) -
                           QuantityAt(out, depot, line.sku);
      const int64_t take = std::min(need, left);
      if (take <= 0) continue;
      AddTo(out, depot, line.sku, static_cast<uint32_t>(take));
      need -= take;
    }
    // Units beyond all free stock were not in any depot: nothing to take.
  }
  return out;
}

std::string Engine::State::StockWaitText(const ReqRec& r) const {
  std::vector<std::string> parts;
  for (const auto& [sku, need] : PerSku(r.pub.spec.materials)) {
    const int64_t free = FreeStockTotal(sku);
    if (static_cast<int64_t>(need) > free) {
      parts.push_back(absl::StrCat(sku, ": needs ", need, ", ", std::max<int64_t>(free, 0),
                                   " free across depots"));
    }
  }
  return absl::StrCat("materials: waiting for stock (", absl::StrJoin(parts, "; "),
                      "); served when stock arrives, urgent first");
}

// --- The fold. ---

absl::Status Engine::State::On(const ev::MaterialsReserved& e, absl::Time) {
  ASSIGN_OR_RETURN(ReqRec * r, GetReq("request_id", e.request_id));
  const RequestState s = r->pub.state;
  // Queued: an emergency's backup materials, reserved when it is raised.
  if ((s != RequestState::kAssigned && s != RequestState::kOnHold &&
       s != RequestState::kQueued) ||
      r->pub.spec.materials.empty() || !r->pub.reserved.empty() || e.lines.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("request ", e.request_id, " cannot reserve materials now"));
  }
  absl::btree_map<std::string, uint64_t> got;
  std::vector<Reservation> merged;
  for (const Reservation& line : e.lines) {
    RETURN_IF_ERROR(GetZone("lines.depot_zone_id", line.depot_zone_id).status());
    RETURN_IF_ERROR(internal::CheckPresent("lines.sku", line.sku));
    if (line.quantity == 0) return absl::InvalidArgumentError("lines.quantity: must be >= 1");
    got[line.sku] += line.quantity;
    AddTo(merged, line.depot_zone_id, line.sku, line.quantity);
  }
  if (got != PerSku(r->pub.spec.materials)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "reservation for ", e.request_id, " does not match its materials"));
  }
  for (const Reservation& line : merged) {
    if (FreeStock(line.depot_zone_id, line.sku) < line.quantity) {
      return absl::FailedPreconditionError(absl::StrCat(
          "depot '", line.depot_zone_id, "' has fewer than ", line.quantity, " free '",
          line.sku, "'"));
    }
  }
  MutateRequest(*r, [&](ReqRec& x) {
    x.pub.reserved = std::move(merged);
    if (x.pub.awaiting_stock) {
      x.pub.awaiting_stock = false;
      x.pub.rare.mut().hold_reason =
          absl::StrCat("materials reserved (", e.reason, "); ready to resume");
    }
  });
  return absl::OkStatus();
}

absl::Status Engine::State::On(const ev::MaterialsAwaited& e, absl::Time) {
  ASSIGN_OR_RETURN(ReqRec * r, GetReq("request_id", e.request_id));
  RETURN_IF_ERROR(internal::CheckMaterials("short_lines", e.short_lines));
  if (r->pub.state != RequestState::kOnHold || r->pub.awaiting_stock ||
      !r->pub.reserved.empty() || r->pub.spec.materials.empty() || e.short_lines.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("request ", e.request_id, " cannot wait for stock now"));
  }
  MutateRequest(*r, [](ReqRec& x) { x.pub.awaiting_stock = true; });
  return absl::OkStatus();
}

absl::Status Engine::State::On(const ev::MaterialsConsumed& e, absl::Time) {
  ASSIGN_OR_RETURN(ReqRec * r, GetReq("request_id", e.request_id));
  if (r->pub.state != RequestState::kInProgress) {
    return absl::FailedPreconditionError(
        absl::StrCat("request ", e.request_id, " is not in progress"));
  }
  using Key = std::pair<std::string, std::string>;
  absl::btree_map<Key, int64_t> taken;     // Units out of each depot.
  absl::btree_map<Key, int64_t> released;  // Of those, from r's reservation.
  std::vector<Reservation> remaining = r->pub.reserved;
  for (const Reservation& line : e.lines) {
    RETURN_IF_ERROR(GetZone("lines.depot_zone_id", line.depot_zone_id).status());
    const Key key(line.depot_zone_id, line.sku);
    if (line.quantity == 0 || !stock_.contains(key)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "no stock of '", line.sku, "' at '", line.depot_zone_id, "' to consume"));
    }
    taken[key] += line.quantity;
    int64_t q = line.quantity;
    for (Reservation& held : remaining) {
      if (held.depot_zone_id != key.first || held.sku != key.second || q == 0) continue;
      const int64_t from_held = std::min<int64_t>(q, held.quantity);
      held.quantity -= static_cast<uint32_t>(from_held);
      released[key] += from_held;
      q -= from_held;
    }
  }
  for (const auto& [key, units] : taken) {
    auto held = stock_reserved_.find(key);
    const int64_t reserved_after =
        (held == stock_reserved_.end() ? 0 : held->second) - released[key];
    if (stock_.at(key) - units < reserved_after) {
      return absl::FailedPreconditionError(absl::StrCat(
          "consuming ", units, " '", key.second, "' at '", key.first,
          "' would take reserved or missing stock"));
    }
  }
  std::erase_if(remaining, [](const Reservation& x) { return x.quantity == 0; });
  MutateRequest(*r, [&](ReqRec& x) { x.pub.reserved = std::move(remaining); });
  for (const auto& [key, units] : taken) {
    stock_[key] -= units;
    stock_total_[key.second] -= units;
  }
  return absl::OkStatus();
}

}  // namespace dispatchd::engine
