// Read-only lookups and listings (no board, explanation or stats here).
#include "absl/strings/str_cat.h"
#include "engine/internal/state.h"

namespace dispatchd::engine {

const Zone* Engine::State::FindZone(std::string_view zone_id) const {
  const auto z = ZoneIndex(zone_id);
  return z ? &zones_[*z].pub : nullptr;
}

std::vector<const Zone*> Engine::State::ListZones() const {
  std::vector<const Zone*> out;
  out.reserve(zones_by_id_.size());
  for (const auto& [id, index] : zones_by_id_) out.push_back(&zones_[index].pub);
  return out;
}

const Request* Engine::State::FindRequest(std::string_view request_id) const {
  const ReqRec* r = Req(request_id);
  return r ? &r->pub : nullptr;
}

const Request* Engine::State::FindAlert(std::string_view dedupe_key) const {
  auto it = alerts_.find(dedupe_key);
  return it == alerts_.end() ? nullptr : &ByNumber(it->second.number).pub;
}

absl::StatusOr<RequestPage> Engine::State::ListRequests(
    const RequestFilter& filter, std::string_view page_token,
    size_t page_size) const {
  size_t next = 0;  // Index into requests_ to resume from.
  if (!page_token.empty()) {
    const auto n = internal::ParseRequestId(page_token);
    if (!n || *n > requests_.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("page_token: '", internal::Sv(page_token), "' is not a valid token"));
    }
    next = *n;  // The token is the last id returned.
  }
  if (page_size == 0) page_size = 100;
  page_size = std::min<size_t>(page_size, 1000);
  auto matches = [&](const Request& r) {
    return (filter.zone_id.empty() || r.spec.zone_id == filter.zone_id) &&
           (!filter.state || r.state == *filter.state) &&
           (!filter.urgency || r.effective_urgency == *filter.urgency);
  };
  RequestPage page;
  for (; next < requests_.size(); ++next) {
    const Request& r = requests_[next].pub;
    if (!matches(r)) continue;
    if (page.requests.size() == page_size) {
      page.next_page_token = page.requests.back()->request_id;
      break;
    }
    page.requests.push_back(&r);
  }
  return page;
}

const Technician* Engine::State::FindTechnician(std::string_view technician_id) const {
  const TechRec* t = Tech(technician_id);
  return t ? &t->pub : nullptr;
}

std::vector<const Technician*> Engine::State::ListTechnicians(
    std::string_view zone_id) const {
  std::vector<const Technician*> out;
  if (zone_id.empty()) {
    out.reserve(techs_by_id_.size());
    for (const auto& [id, index] : techs_by_id_) out.push_back(&techs_[index].pub);
    return out;
  }
  const auto z = ZoneIndex(zone_id);
  if (!z) return out;
  for (uint32_t index : PresentIn(zones_[*z])) out.push_back(&techs_[index].pub);
  return out;
}

std::vector<const Request*> Engine::State::OpenRequestsOf(
    std::string_view technician_id) const {
  std::vector<const Request*> out;
  const TechRec* t = Tech(technician_id);
  if (t == nullptr) return out;
  if (t->job != 0) out.push_back(&ByNumber(t->job).pub);
  for (const std::string& id : t->pub.on_hold_request_ids) {
    if (const ReqRec* r = Req(id)) out.push_back(&r->pub);
  }
  return out;
}

std::vector<StockLevel> Engine::State::GetStock(std::string_view depot_zone_id,
                                                std::string_view sku) const {
  std::vector<StockLevel> out;
  for (const auto& [key, on_hand] : stock_) {
    if (!depot_zone_id.empty() && key.first != depot_zone_id) continue;
    if (!sku.empty() && key.second != sku) continue;
    auto held = stock_reserved_.find(key);
    out.push_back({key.first, key.second, on_hand,
                   held == stock_reserved_.end() ? 0 : held->second});
  }
  return out;
}

void Engine::State::AppendShortages(const ReqRec& r, std::vector<Shortage>& out) const {
  for (const MaterialLine& line : r.pub.spec.materials) {
    const int64_t free = FreeStockTotal(line.sku);
    if (line.quantity > free) {
      out.push_back({r.pub.request_id, r.pub.spec.zone_id, line.sku, line.quantity, free});
    }
  }
}

std::vector<const Request*> Engine::State::AssetHistory(std::string_view asset_tag) const {
  std::vector<const Request*> out;
  auto it = assets_.find(std::string(asset_tag));
  if (it == assets_.end()) return out;
  for (const auto& [when, number] : it->second) out.push_back(&ByNumber(number).pub);
  return out;
}

std::vector<Shortage> Engine::State::ListShortages(std::string_view zone_id) const {
  std::vector<Shortage> out;
  for (uint32_t number : material_requests_) {
    const ReqRec& r = ByNumber(number);
    if (zone_id.empty() || r.pub.spec.zone_id == zone_id) AppendShortages(r, out);
  }
  return out;
}

std::optional<uint32_t> Engine::State::TravelMinutes(std::string_view from_zone,
                                                     std::string_view to_zone) const {
  const auto from = ZoneIndex(from_zone);
  const auto to = ZoneIndex(to_zone);
  if (!from || !to) return std::nullopt;
  const uint32_t t = graph().Travel(*from, *to);
  if (t == internal::kUnreachable) return std::nullopt;
  return t;
}

}  // namespace dispatchd::engine
