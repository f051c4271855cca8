// Folding of the events that move a job between the queue and a
// technician: offers, assignment, requeue, work start / hold / completion.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "engine/internal/state.h"
#include "engine/internal/validate.h"

namespace dispatchd::engine {
namespace {

const char* StateName(RequestState s) {
  switch (s) {
    case RequestState::kQueued: return "queued";
    case RequestState::kOffered: return "offered";
    case RequestState::kAssigned: return "assigned";
    case RequestState::kInProgress: return "in progress";
    case RequestState::kOnHold: return "on hold";
    case RequestState::kCompleted: return "completed";
    case RequestState::kCancelled: return "cancelled";
    case RequestState::kScheduled: return "scheduled";
  }
  return "unknown";
}

}  // namespace

absl::StatusOr<std::pair<Engine::State::ReqRec*, Engine::State::TechRec*>>
Engine::State::HeldBy(const std::string& request_id,
                      const std::string& technician_id, RequestState want) {
  ASSIGN_OR_RETURN(ReqRec * r, GetReq("request_id", request_id));
  ASSIGN_OR_RETURN(TechRec * t, GetTech("technician_id", technician_id));
  if (r->pub.state != want || r->tech != t->index || t->job != r->number) {
    return absl::FailedPreconditionError(
        absl::StrCat("request ", request_id, " is not ", StateName(want),
                     " to technician '", technician_id, "'"));
  }
  return std::make_pair(r, t);
}

absl::Status Engine::State::On(const ev::OfferMade& e, absl::Time t) {
  ASSIGN_OR_RETURN(ReqRec * r, GetReq("request_id", e.request_id));
  ASSIGN_OR_RETURN(TechRec * tech, GetTech("technician_id", e.technician_id));
  if (r->pub.state != RequestState::kQueued ||
      tech->pub.state != TechnicianState::kAvailable) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot offer ", e.request_id, " to '", e.technician_id, "' now"));
  }
  MutateRequest(*r, [&](ReqRec& x) {
    x.pub.state = RequestState::kOffered;
    SetRequestTech(x, tech->index);
    x.pub.offer_expires_at = e.expires_at;
    x.pub.decision = e.decision;
  });
  BindTech(*tech, TechnicianState::kOffered, *r, t);
  return absl::OkStatus();
}

absl::Status Engine::State::On(const ev::RequestAssigned& e, absl::Time t) {
  ASSIGN_OR_RETURN(ReqRec * r, GetReq("request_id", e.request_id));
  ASSIGN_OR_RETURN(TechRec * tech, GetTech("technician_id", e.technician_id));
  const RequestState s = r->pub.state;
  const bool held = s == RequestState::kOffered || s == RequestState::kAssigned ||
                    s == RequestState::kOnHold;
  if (!held && s != RequestState::kQueued) {
    return absl::FailedPreconditionError(
        absl::StrCat("request ", e.request_id, " is ", StateName(s)));
  }
  const uint32_t prev = held ? r->tech : internal::kNoTech;
  const bool tech_free = tech->pub.state == TechnicianState::kAvailable ||
                         (tech->job == r->number && s == RequestState::kOffered);
  const std::string expect_released =
      prev != internal::kNoTech && prev != tech->index ? r->pub.technician_id : "";
  if (!tech_free || e.released_technician_id != expect_released) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot assign ", e.request_id, " to '", e.technician_id, "' now"));
  }
  if (prev != internal::kNoTech) {
    TechRec& p = techs_[prev];
    if (p.job == r->number) {
      if (prev != tech->index) FreeTech(p, t);
    } else {
      MutateTech(p, [&](TechRec& x) { std::erase(x.pub.on_hold_request_ids, e.request_id); });
    }
  }
  MutateRequest(*r, [&](ReqRec& x) {
    x.pub.state = RequestState::kAssigned;
    SetRequestTech(x, tech->index);
    if (!x.pub.rare->accepted_at) x.pub.rare.mut().accepted_at = t;
    x.pub.offer_expires_at.reset();
    if (!x.pub.rare->hold_reason.empty()) x.pub.rare.mut().hold_reason.clear();
    x.pub.awaiting_stock = false;  // Its materials are looked at again.
    x.pub.decision = e.decision;
  });
  BindTech(*tech, TechnicianState::kAssigned, *r, t);
  return absl::OkStatus();
}

absl::Status Engine::State::On(const ev::OfferAccepted& e, absl::Time t) {
  ASSIGN_OR_RETURN(auto held, HeldBy(e.request_id, e.technician_id, RequestState::kOffered));
  auto [r, tech] = held;
  MutateRequest(*r, [&](ReqRec& x) {
    x.pub.state = RequestState::kAssigned;
    if (!x.pub.rare->accepted_at) x.pub.rare.mut().accepted_at = t;
    x.pub.offer_expires_at.reset();
  });
  BindTech(*tech, TechnicianState::kAssigned, *r, t);
  return absl::OkStatus();
}

absl::Status Engine::State::EndOffer(const std::string& request_id,
                                     const std::string& technician_id,
                                     bool decline, absl::Time t) {
  ASSIGN_OR_RETURN(auto held, HeldBy(request_id, technician_id, RequestState::kOffered));
  auto [r, tech] = held;
  MutateRequest(*r, [&](ReqRec& x) {
    x.pub.state = RequestState::kQueued;
    SetRequestTech(x, internal::kNoTech);
    x.pub.offer_expires_at.reset();
    if (decline && std::find(x.pub.declined_by.begin(), x.pub.declined_by.end(),
                             technician_id) == x.pub.declined_by.end()) {
      x.pub.declined_by.push_back(technician_id);
    }
  });
  FreeTech(*tech, t);
  return absl::OkStatus();
}

absl::Status Engine::State::On(const ev::OfferDeclined& e, absl::Time t) {
  return EndOffer(e.request_id, e.technician_id, /*decline=*/true, t);
}

absl::Status Engine::State::On(const ev::OfferExpired& e, absl::Time t) {
  return EndOffer(e.request_id, e.technician_id, /*decline=*/true, t);
}

absl::Status Engine::State::On(const ev::OfferWithdrawn& e, absl::Time t) {
  return EndOffer(e.request_id, e.technician_id, /*decline=*/false, t);
}

absl::Status Engine::State::On(const ev::RequestRequeued& e, absl::Time t) {
  if (e.technician_id.empty()) {  // A scheduled window opened.
    ASSIGN_OR_RETURN(ReqRec * r, GetReq("request_id", e.request_id));
    if (r->pub.state != RequestState::kScheduled) {
      return absl::FailedPreconditionError(
          absl::StrCat("request ", e.request_id, " is not scheduled"));
    }
    MutateRequest(*r, [](ReqRec& x) { x.pub.state = RequestState::kQueued; });
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(auto held, HeldBy(e.request_id, e.technician_id, RequestState::kAssigned));
  auto [r, tech] = held;
  MutateRequest(*r, [&](ReqRec& x) {
    x.pub.state = RequestState::kQueued;
    SetRequestTech(x, internal::kNoTech);
  });
  FreeTech(*tech, t);
  return absl::OkStatus();
}

absl::Status Engine::State::On(const ev::RequestPreempted& e, absl::Time t) {
  ASSIGN_OR_RETURN(ReqRec * by, GetReq("by_request_id", e.by_request_id));
  ASSIGN_OR_RETURN(ReqRec * r, GetReq("request_id", e.request_id));
  ASSIGN_OR_RETURN(TechRec * tech, GetTech("technician_id", e.technician_id));
  const RequestState s = r->pub.state;
  if ((s != RequestState::kOffered && s != RequestState::kAssigned &&
       s != RequestState::kInProgress) ||
      r->tech != tech->index || tech->job != r->number ||
      by->pub.state != RequestState::kQueued ||
      by->pub.effective_urgency != Urgency::kEmergency ||
      r->pub.effective_urgency == Urgency::kEmergency) {
    return absl::FailedPreconditionError(absl::StrCat(
        e.by_request_id, " cannot preempt '", e.technician_id, "' from ", e.request_id));
  }
  MutateRequest(*r, [&](ReqRec& x) {
    x.pub.state = RequestState::kQueued;
    SetRequestTech(x, internal::kNoTech);
    x.pub.offer_expires_at.reset();
    ++x.pub.preemptions;
    x.pub.rare.mut().preempted_by = e.by_request_id;
  });
  FreeTech(*tech, t);
  return absl::OkStatus();
}

absl::Status Engine::State::On(const ev::WorkStarted& e, absl::Time t) {
  ASSIGN_OR_RETURN(ReqRec * r, GetReq("request_id", e.request_id));
  ASSIGN_OR_RETURN(TechRec * tech, GetTech("technician_id", e.technician_id));
  const bool start = r->pub.state == RequestState::kAssigned && tech->job == r->number;
  const bool resume = r->pub.state == RequestState::kOnHold &&
                      tech->pub.state == TechnicianState::kAvailable;
  if (r->tech != tech->index || !(start || resume) || r->pub.awaiting_stock) {
    return absl::FailedPreconditionError(absl::StrCat(
        "technician '", e.technician_id, "' cannot start ", e.request_id, " now"));
  }
  MutateRequest(*r, [](ReqRec& x) {
    x.pub.state = RequestState::kInProgress;
    if (!x.pub.rare->hold_reason.empty()) x.pub.rare.mut().hold_reason.clear();
  });
  MutateTech(*tech, [&](TechRec& x) {
    std::erase(x.pub.on_hold_request_ids, e.request_id);
    x.pub.state = TechnicianState::kWorking;
    x.pub.request_id = e.request_id;
    x.job = r->number;
    x.busy_since = t;
  });
  return absl::OkStatus();
}

absl::Status Engine::State::On(const ev::WorkPutOnHold& e, absl::Time t) {
  ASSIGN_OR_RETURN(ReqRec * r, GetReq("request_id", e.request_id));
  const RequestState want = r->pub.state == RequestState::kInProgress
                                ? RequestState::kInProgress
                                : RequestState::kAssigned;
  ASSIGN_OR_RETURN(auto held, HeldBy(e.request_id, e.technician_id, want));
  TechRec* tech = held.second;
  MutateRequest(*r, [&](ReqRec& x) {
    x.pub.state = RequestState::kOnHold;
    x.pub.rare.mut().hold_reason = e.reason;
  });
  FreeTech(*tech, t);
  MutateTech(*tech, [&](TechRec& x) { x.pub.on_hold_request_ids.push_back(e.request_id); });
  return absl::OkStatus();
}

absl::Status Engine::State::On(const ev::WorkCompleted& e, absl::Time t) {
  RETURN_IF_ERROR(internal::CheckMaterials("materials_used", e.materials_used));
  ASSIGN_OR_RETURN(auto held,
                   HeldBy(e.request_id, e.technician_id, RequestState::kInProgress));
  auto [r, tech] = held;
  MutateRequest(*r, [&](ReqRec& x) {
    x.pub.state = RequestState::kCompleted;
    x.pub.resolved = e.resolved;
    x.pub.rare.mut().completed_at = t;
    x.pub.rare.mut().materials_used = e.materials_used;
    x.pub.rare.mut().completion_notes = e.notes;
    x.pub.reserved.clear();  // What MaterialsConsumed left goes back.
  });
  TakeOffDeliveries(*r);  // Off the deliveries that have not left.
  FreeTech(*tech, t);
  return absl::OkStatus();
}

}  // namespace dispatchd::engine
