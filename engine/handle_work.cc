// Commands on a technician's job: the dispatcher's override, and the
// technician's accept / decline / start / complete / hold.
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "base/status_macros.h"
#include "engine/internal/state.h"
#include "engine/internal/validate.h"

namespace dispatchd::engine {

absl::Status Engine::State::CheckOfferFor(const TechRec& t, const ReqRec& r) const {
  if (r.pub.state != RequestState::kOffered || r.tech != t.index) {
    return absl::FailedPreconditionError(
        absl::StrCat("request ", r.pub.request_id, " is not offered to technician '",
                     t.pub.technician_id, "'"));
  }
  if (*r.pub.offer_expires_at <= now_) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the offer of ", r.pub.request_id, " to technician '", t.pub.technician_id,
        "' expired at ", absl::FormatTime(*r.pub.offer_expires_at)));
  }
  return absl::OkStatus();
}

absl::Status Engine::State::CheckAssignable(const ReqRec& r, const TechRec& t) const {
  const RequestState s = r.pub.state;
  if (s != RequestState::kQueued && s != RequestState::kOffered &&
      s != RequestState::kAssigned && s != RequestState::kOnHold) {
    return absl::FailedPreconditionError(absl::StrCat(
        "request ", r.pub.request_id, " cannot be assigned: it is not queued, "
        "offered, assigned or on hold"));
  }
  const std::string& id = t.pub.technician_id;
  if (t.pub.state == TechnicianState::kOffShift) {
    return absl::FailedPreconditionError(absl::StrCat("technician '", id, "' is off shift"));
  }
  const bool holds_this = t.job == r.number;
  if (holds_this && t.pub.state != TechnicianState::kOffered) {
    return absl::FailedPreconditionError(absl::StrCat(
        "request ", r.pub.request_id, " is already assigned to '", id, "'"));
  }
  if (!holds_this && (t.pub.state == TechnicianState::kAssigned ||
                      t.pub.state == TechnicianState::kWorking)) {
    return absl::FailedPreconditionError(
        absl::StrCat("technician '", id, "' is busy with ", t.pub.request_id));
  }
  return absl::OkStatus();
}

Decision Engine::State::OverrideDecision(const ReqRec& r, const TechRec& t,
                                         const std::string& reason) const {
  const uint32_t route = graph().Travel(t.current, r.zone);
  const uint32_t travel = route == internal::kUnreachable ? 0 : route;
  std::string detail = absl::StrCat("Dispatcher override: ", reason);
  internal::Scored scored;
  if (internal::Covers(t.skills, r.need)) {
    scored = ScoreFor(r, t, travel);
  } else {  // Allowed: the dispatcher knows best. Say what is missing.
    scored = {t.index, travel, 0, internal::Score(travel, 0, t.skills.count()),
              t.available_since, &t.pub.technician_id};
    absl::StrAppend(&detail, " (note: ",
                    internal::Shortfall(t.skills, r.need, skills_, /*all=*/true), ")");
  }
  if (route == internal::kUnreachable) absl::StrAppend(&detail, " (note: no travel route known)");
  internal::DecisionBuilder b;
  b.AddCandidate(scored);
  return b.Build("dispatcher override", std::move(detail));
}

absl::Status Engine::State::Do(const cmd::AssignRequest& c) {
  ASSIGN_OR_RETURN(ReqRec * r, GetReq("request_id", c.request_id));
  ASSIGN_OR_RETURN(TechRec * t, GetTech("technician_id", c.technician_id));
  RETURN_IF_ERROR(internal::CheckPresent("reason", c.reason));
  RETURN_IF_ERROR(CheckAssignable(*r, *t));
  // Decided: withdraw the technician's other offer, then assign.
  const uint32_t withdrawn =
      t->pub.state == TechnicianState::kOffered && t->job != r->number ? t->job : 0;
  if (withdrawn != 0) {
    Emit(ev::OfferWithdrawn{t->pub.request_id, c.technician_id,
                            absl::StrCat("dispatcher assigned ", c.technician_id,
                                         " to ", c.request_id)});
  }
  const bool was_held = r->pub.state != RequestState::kQueued;
  const uint32_t prev = was_held && r->tech != t->index ? r->tech : internal::kNoTech;
  const bool prev_busy = prev != internal::kNoTech && techs_[prev].job == r->number;
  Emit(ev::RequestAssigned{c.request_id, c.technician_id, c.reason,
                           prev == internal::kNoTech ? "" : techs_[prev].pub.technician_id,
                           OverrideDecision(*r, *t, c.reason)});
  outcome_->request_id = c.request_id;
  const bool held = SecureMaterials(*r);  // Reserve now, or hold for stock.
  if (withdrawn != 0) Dispatch(ByNumber(withdrawn));
  if (prev_busy) Pull(techs_[prev]);
  if (held) Pull(*t);
  return absl::OkStatus();
}

absl::Status Engine::State::Do(const cmd::AcceptOffer& c) {
  ASSIGN_OR_RETURN(TechRec * t, GetTech("technician_id", c.technician_id));
  ASSIGN_OR_RETURN(ReqRec * r, GetReq("request_id", c.request_id));
  RETURN_IF_ERROR(CheckOfferFor(*t, *r));
  Emit(ev::OfferAccepted{c.request_id, c.technician_id});
  outcome_->request_id = c.request_id;
  if (SecureMaterials(*r)) Pull(*t);  // Reserve now, or hold for stock.
  return absl::OkStatus();
}

absl::Status Engine::State::Do(const cmd::DeclineOffer& c) {
  ASSIGN_OR_RETURN(TechRec * t, GetTech("technician_id", c.technician_id));
  ASSIGN_OR_RETURN(ReqRec * r, GetReq("request_id", c.request_id));
  RETURN_IF_ERROR(internal::CheckPresent("reason", c.reason));
  RETURN_IF_ERROR(CheckOfferFor(*t, *r));
  Emit(ev::OfferDeclined{c.request_id, c.technician_id, c.reason});
  outcome_->request_id = c.request_id;
  Dispatch(*r);
  Pull(*t);
  return absl::OkStatus();
}

absl::Status Engine::State::Do(const cmd::StartWork& c) {
  ASSIGN_OR_RETURN(TechRec * t, GetTech("technician_id", c.technician_id));
  ASSIGN_OR_RETURN(ReqRec * r, GetReq("request_id", c.request_id));
  const bool mine = r->tech == t->index;
  const bool start = mine && r->pub.state == RequestState::kAssigned && t->job == r->number;
  const bool resume = mine && r->pub.state == RequestState::kOnHold;
  if (!start && !resume) {
    return absl::FailedPreconditionError(absl::StrCat(
        "request ", c.request_id, " is not assigned to or held by technician '",
        c.technician_id, "'"));
  }
  if (resume && r->pub.awaiting_stock) {
    return absl::FailedPreconditionError(absl::StrCat(
        "request ", c.request_id, " is waiting for stock: ", r->pub.rare->hold_reason));
  }
  if (resume && t->pub.state != TechnicianState::kAvailable) {
    return absl::FailedPreconditionError(
        t->pub.state == TechnicianState::kOffShift
            ? absl::StrCat("technician '", c.technician_id, "' is off shift")
            : absl::StrCat("technician '", c.technician_id, "' is busy with ",
                           t->pub.request_id, "; finish or hold it first"));
  }
  Emit(ev::WorkStarted{c.request_id, c.technician_id});
  outcome_->request_id = c.request_id;
  return absl::OkStatus();
}

absl::Status Engine::State::Do(const cmd::CompleteWork& c) {
  ASSIGN_OR_RETURN(TechRec * t, GetTech("technician_id", c.technician_id));
  ASSIGN_OR_RETURN(ReqRec * r, GetReq("request_id", c.request_id));
  RETURN_IF_ERROR(internal::CheckMaterials("materials_used", c.materials_used));
  if (r->pub.state != RequestState::kInProgress || t->job != r->number) {
    return absl::FailedPreconditionError(absl::StrCat(
        "request ", c.request_id, " is not in progress by technician '",
        c.technician_id, "'"));
  }
  std::vector<Reservation> consumed = ConsumptionFor(*r, c.materials_used);
  if (!consumed.empty()) Emit(ev::MaterialsConsumed{c.request_id, std::move(consumed)});
  Emit(ev::WorkCompleted{c.request_id, c.technician_id, c.resolved,
                         c.materials_used, c.notes});
  outcome_->request_id = c.request_id;
  if (!Bundle(*t, *r)) Pull(*t);
  return absl::OkStatus();
}

absl::Status Engine::State::Do(const cmd::PutOnHold& c) {
  ASSIGN_OR_RETURN(TechRec * t, GetTech("technician_id", c.technician_id));
  ASSIGN_OR_RETURN(ReqRec * r, GetReq("request_id", c.request_id));
  RETURN_IF_ERROR(internal::CheckPresent("reason", c.reason));
  const RequestState s = r->pub.state;
  if ((s != RequestState::kAssigned && s != RequestState::kInProgress) ||
      t->job != r->number) {
    return absl::FailedPreconditionError(absl::StrCat(
        "request ", c.request_id, " is not assigned to or in progress by "
        "technician '", c.technician_id, "'"));
  }
  Emit(ev::WorkPutOnHold{c.request_id, c.technician_id, c.reason});
  outcome_->request_id = c.request_id;
  Pull(*t);
  return absl::OkStatus();
}

}  // namespace dispatchd::engine
