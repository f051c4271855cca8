// Engine's public surface: forwards to Engine::State, and the entry points
// that frame every change (Handle, Apply, Emit).
#include "engine/engine.h"

#include <cstdio>
#include <cstdlib>
#include <utility>
#include <variant>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "engine/internal/state.h"

namespace dispatchd::engine {

Engine::State::State(const Clock* clock) : clock_(clock) {}

absl::StatusOr<Outcome> Engine::State::Handle(const Command& command) {
  now_ = clock_->Now();
  Outcome outcome;
  // Most commands emit one or two events. Room for two (976 bytes) is
  // reused from malloc's per-thread cache; room for four (1,952 bytes) was
  // carved from the top of the heap, which glibc trims again on free, so
  // many took a page fault there (about 10 % of a submit's time).
  outcome.events.reserve(2);
  outcome_ = &outcome;
  absl::Status status =
      std::visit([this](const auto& c) { return Do(c); }, command);
  if (status.ok()) UpdateSurge();  // Zones whose queues changed.
  outcome_ = nullptr;
  if (!status.ok()) {
    if (!outcome.events.empty()) {
      std::fprintf(stderr, "dispatchd engine: failed after emitting: %s\n",
                   status.ToString().c_str());
      std::abort();
    }
    return status;
  }
  return outcome;
}

void Engine::State::Emit(EventKind kind) {
  Event event{last_sequence_ + 1, now_, std::move(kind)};
  if (absl::Status s = Fold(event); !s.ok()) {
    std::fprintf(stderr, "dispatchd engine: own event #%llu rejected: %s\n",
                 static_cast<unsigned long long>(event.sequence),
                 s.ToString().c_str());
    std::abort();
  }
  outcome_->events.push_back(std::move(event));
}

absl::Status Engine::State::Fold(const Event& event) {
  if (event.sequence != last_sequence_ + 1) {
    return absl::FailedPreconditionError(
        absl::StrCat("event sequence ", event.sequence, " does not follow ",
                     last_sequence_));
  }
  fold_time_ = event.time;
  RETURN_IF_ERROR(std::visit(
      [&](const auto& kind) { return On(kind, event.time); }, event.kind));
  last_sequence_ = event.sequence;
  last_event_time_ = event.time;
  return absl::OkStatus();
}

absl::Status Engine::State::ApplyRecorded(const Event& event) {
  RETURN_IF_ERROR(Fold(event));
  sweep_pending_ = true;
  return absl::OkStatus();
}

// --- Engine: forwarding. ---

Engine::Engine(const Clock* clock)
    : clock_(clock), state_(std::make_unique<State>(clock)) {}
Engine::~Engine() = default;

absl::StatusOr<Outcome> Engine::Handle(const Command& command) {
  return state_->Handle(command);
}
absl::Status Engine::Apply(const Event& event) {
  return state_->ApplyRecorded(event);
}
std::optional<absl::Time> Engine::NextTimer() const {
  return state_->NextTimer();
}
uint64_t Engine::last_sequence() const { return state_->last_sequence(); }

StateImage Engine::ExportImage() const { return state_->Export(); }

absl::Status Engine::LoadImage(const StateImage& image) {
  return LoadImage(StateImage(image));
}

namespace {
absl::Status NotFresh(uint64_t last_sequence) {
  return absl::FailedPreconditionError(absl::StrCat(
      "LoadImage: the engine is not fresh (last sequence ", last_sequence, ")"));
}
}  // namespace

absl::Status Engine::LoadImage(StateImage&& image) {
  if (state_->last_sequence() != 0) return NotFresh(state_->last_sequence());
  auto loaded = std::make_unique<State>(clock_);
  RETURN_IF_ERROR(loaded->Load(image));  // On error `loaded` is dropped.
  state_ = std::move(loaded);
  return absl::OkStatus();
}

Engine::PartLoad::PartLoad(Engine* engine, std::unique_ptr<State> state)
    : engine_(engine), state_(std::move(state)) {}

Engine::PartLoad::~PartLoad() = default;

absl::Status Engine::PartLoad::Requests(std::vector<RequestImage>&& run) {
  if (status_.ok() && state_ == nullptr) {
    status_ = absl::FailedPreconditionError("PartLoad: requests after Finish");
  }
  if (status_.ok()) status_ = state_->LoadRequests(run);
  return status_;
}

absl::Status Engine::PartLoad::Finish(StateImage&& rest) {
  if (status_.ok() && state_ == nullptr) {
    status_ = absl::FailedPreconditionError("PartLoad: finished twice");
  }
  if (status_.ok() && engine_->state_->last_sequence() != 0) {
    status_ = NotFresh(engine_->state_->last_sequence());
  }
  if (status_.ok()) status_ = state_->LoadRest(rest);
  if (!status_.ok()) return status_;
  engine_->state_ = std::move(state_);
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Engine::PartLoad>> Engine::StartLoad(const StateImage& head) {
  if (state_->last_sequence() != 0) return NotFresh(state_->last_sequence());
  auto loaded = std::make_unique<State>(clock_);
  RETURN_IF_ERROR(loaded->LoadHead(head));
  return std::unique_ptr<PartLoad>(new PartLoad(this, std::move(loaded)));
}

std::string Engine::Digest() const { return ImageDigest(state_->Export()); }
const Zone* Engine::FindZone(std::string_view zone_id) const {
  return state_->FindZone(zone_id);
}
std::vector<const Zone*> Engine::ListZones() const {
  return state_->ListZones();
}
const Policy& Engine::policy() const { return state_->policy(); }
const Request* Engine::FindRequest(std::string_view request_id) const {
  return state_->FindRequest(request_id);
}
const Request* Engine::FindAlert(std::string_view dedupe_key) const {
  return state_->FindAlert(dedupe_key);
}
absl::StatusOr<RequestPage> Engine::ListRequests(const RequestFilter& filter,
                                                 std::string_view page_token,
                                                 size_t page_size) const {
  return state_->ListRequests(filter, page_token, page_size);
}
const Technician* Engine::FindTechnician(std::string_view technician_id) const {
  return state_->FindTechnician(technician_id);
}
std::vector<const Technician*> Engine::ListTechnicians(
    std::string_view zone_id) const {
  return state_->ListTechnicians(zone_id);
}
std::vector<const Request*> Engine::OpenRequestsOf(
    std::string_view technician_id) const {
  return state_->OpenRequestsOf(technician_id);
}
absl::StatusOr<std::vector<ZoneBoard>> Engine::GetBoard(
    std::string_view zone_id) const {
  return state_->GetBoard(zone_id);
}
absl::StatusOr<Explanation> Engine::Explain(std::string_view request_id) const {
  return state_->Explain(request_id);
}
absl::StatusOr<Stats> Engine::GetStats(std::string_view zone_id,
                                       std::string_view technician_id) const {
  return state_->GetStats(zone_id, technician_id);
}
std::vector<StockLevel> Engine::GetStock(std::string_view depot_zone_id,
                                         std::string_view sku) const {
  return state_->GetStock(depot_zone_id, sku);
}
std::vector<Shortage> Engine::ListShortages(std::string_view zone_id) const {
  return state_->ListShortages(zone_id);
}
std::vector<const Request*> Engine::GetAssetHistory(std::string_view asset_tag) const {
  return state_->AssetHistory(asset_tag);
}
std::vector<const Delivery*> Engine::ListDeliveries(const DeliveryFilter& filter) const {
  return state_->ListDeliveries(filter);
}
const Delivery* Engine::FindDelivery(std::string_view delivery_id) const {
  return state_->FindDelivery(delivery_id);
}
std::optional<uint32_t> Engine::TravelMinutes(std::string_view from_zone,
                                              std::string_view to_zone) const {
  return state_->TravelMinutes(from_zone, to_zone);
}

std::optional<uint32_t> RequestNumber(std::string_view request_id) {
  return internal::ParseRequestId(request_id);
}

}  // namespace dispatchd::engine
