#include "services/assignment_updates.h"

#include <variant>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "services/codec.h"

namespace dispatchd::services {
namespace {

namespace ev = engine::ev;
using ::dispatch::v1::AssignmentChange;

// Collects updates for one batch of events.
class UpdateBuilder {
 public:
  UpdateBuilder(const engine::Engine& engine, std::vector<TechnicianUpdates>* out)
      : engine_(engine), out_(out) {}

  void Add(const engine::Event& event) {
    sequence_ = event.sequence;
    std::visit([this](const auto& e) { On(e); }, event.kind);
  }

 private:
  void On(const ev::OfferMade& e) {
    v1::AssignmentUpdate* u =
        Emit(e.technician_id, e.request_id, v1::ASSIGNMENT_CHANGE_OFFERED, e.decision->detail);
    if (u != nullptr) DecisionToProto(*e.decision, u->mutable_decision());
  }
  void On(const ev::RequestAssigned& e) {
    v1::AssignmentUpdate* u =
        Emit(e.technician_id, e.request_id, v1::ASSIGNMENT_CHANGE_ASSIGNED, e.reason);
    if (u != nullptr) DecisionToProto(*e.decision, u->mutable_decision());
    if (e.released_technician_id != e.technician_id) {
      Emit(e.released_technician_id, e.request_id, v1::ASSIGNMENT_CHANGE_WITHDRAWN,
           absl::StrCat("reassigned to ", e.technician_id, ": ", e.reason));
    }
  }
  void On(const ev::OfferAccepted& e) {
    Emit(e.technician_id, e.request_id, v1::ASSIGNMENT_CHANGE_ACCEPTED, "offer accepted");
  }
  void On(const ev::WorkStarted& e) {
    Emit(e.technician_id, e.request_id, v1::ASSIGNMENT_CHANGE_STARTED, "work started");
  }
  void On(const ev::WorkPutOnHold& e) {
    Emit(e.technician_id, e.request_id, v1::ASSIGNMENT_CHANGE_ON_HOLD, e.reason);
  }
  void On(const ev::WorkCompleted& e) {
    Emit(e.technician_id, e.request_id, v1::ASSIGNMENT_CHANGE_COMPLETED,
         e.resolved ? "completed, resolved" : "completed, not resolved");
  }
  void On(const ev::RequestCancelled& e) {
    Emit(e.technician_id, e.request_id, v1::ASSIGNMENT_CHANGE_WITHDRAWN,
         absl::StrCat("cancelled: ", e.reason));
  }
  void On(const ev::OfferExpired& e) {
    Emit(e.technician_id, e.request_id, v1::ASSIGNMENT_CHANGE_WITHDRAWN,
         "offer expired: not answered in time");
  }
  void On(const ev::OfferDeclined& e) {
    Emit(e.technician_id, e.request_id, v1::ASSIGNMENT_CHANGE_WITHDRAWN,
         absl::StrCat("declined: ", e.reason));
  }
  void On(const ev::OfferWithdrawn& e) {
    Emit(e.technician_id, e.request_id, v1::ASSIGNMENT_CHANGE_WITHDRAWN, e.reason);
  }
  void On(const ev::RequestRequeued& e) {
    Emit(e.technician_id, e.request_id, v1::ASSIGNMENT_CHANGE_WITHDRAWN, e.reason);
  }
  void On(const ev::RequestPreempted& e) {
    Emit(e.technician_id, e.request_id, v1::ASSIGNMENT_CHANGE_PREEMPTED, e.reason);
  }
  void On(const ev::ShiftRequested& e) {
    Emit(e.technician_id, "", v1::ASSIGNMENT_CHANGE_SHIFT_REQUESTED,
         absl::StrCat("on call: please start a shift; ", e.reason));
  }
  void On(const ev::MaterialsReserved& e) {
    Updated(e.request_id, absl::StrCat("materials reserved: ", e.reason));
  }
  void On(const ev::MaterialsAwaited& e) {
    Updated(e.request_id, "waiting for stock; you will be told when it arrives");
  }
  void On(const ev::UrgencyChanged& e) { Updated(e.request_id, e.reason); }
  void On(const ev::RequestPromoted& e) { Updated(e.request_id, e.reason); }
  template <typename Other>
  void On(const Other&) {}

  // UPDATED to whoever holds the request, if anyone.
  void Updated(const std::string& request_id, const std::string& reason) {
    const engine::Request* r = engine_.FindRequest(request_id);
    if (r == nullptr || !engine::IsOpen(r->state) || r->state == engine::RequestState::kQueued ||
        r->state == engine::RequestState::kScheduled) {
      return;
    }
    Emit(r->technician_id, request_id, v1::ASSIGNMENT_CHANGE_UPDATED, reason);
  }

  v1::AssignmentUpdate* Emit(const std::string& technician_id, const std::string& request_id,
                             AssignmentChange change, const std::string& reason) {
    if (technician_id.empty()) return nullptr;
    v1::AssignmentUpdate* u = MessageFor(technician_id).add_updates();
    u->set_change(change);
    if (request_id.empty()) {
      // Not about a job (a shift request): no request.
    } else if (const engine::Request* r = engine_.FindRequest(request_id); r != nullptr) {
      RequestToProto(*r, u->mutable_request());
    } else {
      u->mutable_request()->set_request_id(request_id);
    }
    u->set_reason(reason);
    u->set_sequence(sequence_);
    return u;
  }

  // The message for `technician_id`, new if they have none yet. Most
  // commands concern one or two technicians, found by a scan; a Tick that
  // expires offers all over the site may concern thousands, so past a few
  // the messages are found through an index.
  v1::AssignmentUpdates& MessageFor(const std::string& technician_id) {
    constexpr size_t kScanned = 8;
    if (out_->size() <= kScanned) {
      for (TechnicianUpdates& t : *out_) {
        if (t.technician_id == technician_id) return t.message;
      }
    } else {
      if (by_technician_.empty()) {
        for (size_t i = 0; i < out_->size(); ++i) by_technician_[(*out_)[i].technician_id] = i;
      }
      auto it = by_technician_.find(technician_id);
      if (it != by_technician_.end()) return (*out_)[it->second].message;
      by_technician_[technician_id] = out_->size();
    }
    TechnicianUpdates& t = out_->emplace_back();
    t.technician_id = technician_id;
    return t.message;
  }

  const engine::Engine& engine_;
  std::vector<TechnicianUpdates>* out_;
  // Technician id -> position in *out_; built once out_ outgrows a scan.
  absl::flat_hash_map<std::string, size_t> by_technician_;
  uint64_t sequence_ = 0;
};

}  // namespace

std::vector<TechnicianUpdates> AssignmentUpdatesFor(const std::vector<engine::Event>& events,
                                                    const engine::Engine& engine) {
  std::vector<TechnicianUpdates> out;
  UpdateBuilder builder(engine, &out);
  for (const engine::Event& e : events) builder.Add(e);
  return out;
}

v1::AssignmentUpdates AssignmentSnapshot(const std::string& technician_id,
                                         const engine::Engine& engine) {
  v1::AssignmentUpdates out;
  for (const engine::Request* r : engine.OpenRequestsOf(technician_id)) {
    v1::AssignmentUpdate* u = out.add_updates();
    u->set_change(v1::ASSIGNMENT_CHANGE_OPEN);
    RequestToProto(*r, u->mutable_request());
    u->set_reason("open for you now");
    u->set_snapshot(true);
    if (r->decision) DecisionToProto(*r->decision, u->mutable_decision());
  }
  return out;
}

}  // namespace dispatchd::services
