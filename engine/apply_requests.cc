// Folding of request events that are not about who holds the job:
// submission, cancellation, urgency, aging, feedback and alerts.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "engine/internal/state.h"
#include "engine/internal/validate.h"

namespace dispatchd::engine {
absl::Status Engine::State::On(const ev::RequestSubmitted& e, absl::Time t) {
  const auto number = static_cast<uint32_t>(requests_.size() + 1);
  if (e.request_id != internal::FormatRequestId(number)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "request_id: '", e.request_id, "' out of order, expected ",
        internal::FormatRequestId(number)));
  }
  RequestSpec spec = e.spec;
  RETURN_IF_ERROR(
      internal::NormalizeSpec(spec, !e.alert_dedupe_key.empty() || !e.crew_of.empty()));
  ReqRec* lead = nullptr;
  if (!e.crew_of.empty()) {
    ASSIGN_OR_RETURN(lead, GetReq("crew_of", e.crew_of));
    if (lead->pub.spec.urgency != Urgency::kEmergency || !lead->pub.rare->crew_of.empty() ||
        lead->pub.crew_request_ids.size() + 1 >= lead->pub.spec.crew_size) {
      return absl::FailedPreconditionError(
          absl::StrCat("crew_of: ", e.crew_of, " has no open crew place"));
    }
  }
  ASSIGN_OR_RETURN(const uint32_t zone, GetZone("zone_id", spec.zone_id));
  const bool scheduled = e.state == RequestState::kScheduled;
  if (!(scheduled && spec.not_before) && e.state != RequestState::kQueued) {
    return absl::InvalidArgumentError("state: must be queued, or scheduled with not_before");
  }
  if (!spec.idempotency_key.empty() && idempotency_.Contains(spec.idempotency_key)) {
    return absl::AlreadyExistsError("idempotency_key: already used");
  }
  if (!e.alert_dedupe_key.empty() && alerts_.contains(e.alert_dedupe_key)) {
    return absl::AlreadyExistsError("alert_dedupe_key: already used");
  }
  RETURN_IF_ERROR(skills_.CheckRoom(spec.required_skills));
  ReqRec& r = requests_.emplace_back();
  r.number = number;
  r.zone = zone;
  r.need = skills_.Build(spec.required_skills);
  r.aging_base = scheduled ? *spec.not_before : t;
  r.pub.request_id = e.request_id;
  r.pub.spec = std::move(spec);
  r.pub.effective_urgency = r.pub.spec.urgency;
  r.submitted_urgency = r.pub.spec.urgency;
  r.pub.state = e.state;
  r.pub.created_at = t;
  r.pub.sla_deadline = e.sla_deadline;
  r.pub.alert_dedupe_key = e.alert_dedupe_key;
  if (!e.crew_of.empty()) r.pub.rare.mut().crew_of = e.crew_of;
  if (lead != nullptr) lead->pub.crew_request_ids.push_back(e.request_id);
  if (!r.pub.spec.idempotency_key.empty()) {
    idempotency_.Insert(number, r.pub.spec.idempotency_key);
  }
  IndexRequest(r);
  return absl::OkStatus();
}

absl::Status Engine::State::On(const ev::RequestCancelled& e, absl::Time t) {
  ASSIGN_OR_RETURN(ReqRec * r, GetReq("request_id", e.request_id));
  if (!IsOpen(r->pub.state)) return internal::NotOpen(r->pub);
  const bool held = internal::HasHolder(r->pub.state);
  if (e.technician_id != (held ? r->pub.technician_id : "")) {
    return absl::FailedPreconditionError(absl::StrCat(
        "technician_id: '", e.technician_id, "' does not hold ", e.request_id));
  }
  if (held) {
    TechRec& tech = techs_[r->tech];
    if (tech.job == r->number) {
      FreeTech(tech, t);
    } else {
      MutateTech(tech, [&](TechRec& x) { std::erase(x.pub.on_hold_request_ids, e.request_id); });
    }
  }
  MutateRequest(*r, [&](ReqRec& x) {
    x.pub.state = RequestState::kCancelled;
    x.pub.rare.mut().completed_at = t;
    x.pub.offer_expires_at.reset();
    x.pub.reserved.clear();  // Released to the depots.
    x.pub.awaiting_stock = false;
  });
  TakeOffDeliveries(*r);  // Off the deliveries that have not left.
  return absl::OkStatus();
}

absl::Status Engine::State::On(const ev::UrgencyChanged& e, absl::Time t) {
  ASSIGN_OR_RETURN(ReqRec * r, GetReq("request_id", e.request_id));
  RETURN_IF_ERROR(internal::CheckUrgency("urgency", e.urgency));
  if (!IsOpen(r->pub.state)) return internal::NotOpen(r->pub);
  MutateRequest(*r, [&](ReqRec& x) {
    x.pub.spec.urgency = e.urgency;
    x.pub.effective_urgency = e.urgency;
    x.pub.sla_deadline = e.sla_deadline;
    x.aging_base = t;
  });
  return absl::OkStatus();
}

absl::Status Engine::State::On(const ev::RequestPromoted& e, absl::Time t) {
  ASSIGN_OR_RETURN(ReqRec * r, GetReq("request_id", e.request_id));
  RETURN_IF_ERROR(internal::CheckUrgency("effective_urgency", e.effective_urgency));
  if (r->pub.state != RequestState::kQueued ||
      e.effective_urgency <= r->pub.effective_urgency) {
    return absl::FailedPreconditionError(
        absl::StrCat("request ", e.request_id, " cannot be promoted now"));
  }
  MutateRequest(*r, [&](ReqRec& x) {
    x.pub.effective_urgency = e.effective_urgency;
    x.aging_base = t;
  });
  return absl::OkStatus();
}

absl::Status Engine::State::On(const ev::FeedbackRecorded& e, absl::Time) {
  ASSIGN_OR_RETURN(ReqRec * r, GetReq("request_id", e.request_id));
  if (e.rating < 1 || e.rating > 5) {
    return absl::InvalidArgumentError("rating: must be 1..5");
  }
  if (r->pub.state != RequestState::kCompleted || r->pub.feedback_rating != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "request ", e.request_id, " is not completed or already has feedback"));
  }
  MutateRequest(*r, [&](ReqRec& x) {
    x.pub.feedback_rating = e.rating;
    x.pub.rare.mut().feedback_comment = e.comment;
  });
  return absl::OkStatus();
}

absl::Status Engine::State::On(const ev::AlertRaised& e, absl::Time) {
  RETURN_IF_ERROR(internal::CheckPresent("dedupe_key", e.dedupe_key));
  ASSIGN_OR_RETURN(ReqRec * r, GetReq("request_id", e.request_id));
  if (alerts_.contains(e.dedupe_key) || r->pub.alert_dedupe_key != e.dedupe_key) {
    return absl::FailedPreconditionError(absl::StrCat(
        "alert '", e.dedupe_key, "' does not match request ", e.request_id));
  }
  alerts_.emplace(e.dedupe_key, internal::AlertRec{r->number, false});
  return absl::OkStatus();
}

absl::Status Engine::State::On(const ev::AlertResolved& e, absl::Time) {
  auto it = alerts_.find(e.dedupe_key);
  if (it == alerts_.end()) {
    return absl::NotFoundError(absl::StrCat("dedupe_key: unknown alert '", e.dedupe_key, "'"));
  }
  if (it->second.resolved ||
      e.request_id != internal::FormatRequestId(it->second.number)) {
    return absl::FailedPreconditionError(
        absl::StrCat("alert '", e.dedupe_key, "' is already resolved or mismatched"));
  }
  it->second.resolved = true;
  return absl::OkStatus();
}

}  // namespace dispatchd::engine
