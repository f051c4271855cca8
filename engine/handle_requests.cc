// Commands on requests: submission (with idempotency), cancellation,
// urgency changes, feedback, and alerts.
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "engine/internal/state.h"
#include "engine/internal/validate.h"

namespace dispatchd::engine {
namespace {

// The skills an alert of `kind` needs when it names none.
std::vector<SkillLevel> DefaultAlertSkills(std::string_view kind) {
  if (kind == "power_outage") return {{"electrical", 2}};
  if (kind == "water_leak" || kind == "burst_pipe") return {{"plumbing", 2}};
  if (kind == "hvac_failure") return {{"hvac", 2}};
  return {};
}

}  // namespace

absl::Time Engine::State::SlaDeadline(const RequestSpec& spec, Urgency u,
                                      absl::Time created) const {
  const absl::Time start =
      spec.not_before && *spec.not_before > created ? *spec.not_before : created;
  const absl::Time deadline = start + absl::Minutes(policy_.SlaMinutes(u));
  return spec.due_by && *spec.due_by < deadline ? *spec.due_by : deadline;
}

absl::Status Engine::State::Do(const cmd::SubmitRequest& c) {
  RequestSpec spec = c.spec;
  RETURN_IF_ERROR(internal::NormalizeSpec(spec, /*allow_no_skills=*/false));
  RETURN_IF_ERROR(GetZone("zone_id", spec.zone_id).status());
  if (const std::optional<uint32_t> filed =
          spec.idempotency_key.empty() ? std::nullopt : idempotency_.Find(spec.idempotency_key);
      filed) {
    const ReqRec& original = ByNumber(*filed);
    RequestSpec as_filed = original.pub.spec;
    as_filed.urgency = original.submitted_urgency;
    if (as_filed != spec) {
      return absl::AlreadyExistsError(absl::StrCat(
          "idempotency_key: '", spec.idempotency_key, "' was used for ",
          original.pub.request_id, " with a different request"));
    }
    outcome_->request_id = original.pub.request_id;
    outcome_->duplicate = true;
    return absl::OkStatus();
  }
  if (spec.due_by && *spec.due_by <= now_) {
    return absl::InvalidArgumentError("due_by: already passed");
  }
  if (spec.not_before && *spec.not_before > now_ + absl::Hours(24 * 366)) {
    return absl::InvalidArgumentError("not_before: more than a year ahead");
  }
  RETURN_IF_ERROR(skills_.CheckRoom(spec.required_skills));
  const bool scheduled = spec.not_before && *spec.not_before > now_;
  const std::string id = internal::FormatRequestId(requests_.size() + 1);
  const absl::Time deadline = SlaDeadline(spec, spec.urgency, now_);
  Emit(ev::RequestSubmitted{
      id, std::move(spec),
      scheduled ? RequestState::kScheduled : RequestState::kQueued, deadline, "", ""});
  outcome_->request_id = id;
  ReqRec& lead = requests_.back();
  const std::vector<uint32_t> crew = OpenCrew(lead);
  Dispatch(lead);
  for (uint32_t n : crew) Dispatch(ByNumber(n));
  return absl::OkStatus();
}

std::vector<uint32_t> Engine::State::OpenCrew(const ReqRec& lead) {
  std::vector<uint32_t> crew;
  const RequestSpec& spec = lead.pub.spec;
  if (spec.urgency != Urgency::kEmergency || spec.crew_size <= 1) return crew;
  for (uint32_t member = 2; member <= spec.crew_size; ++member) {
    RequestSpec s = spec;
    s.idempotency_key.clear();
    s.crew_size = 1;
    s.materials.clear();  // Backup materials go with the emergency itself.
    s.description = absl::StrCat("crew member ", member, " of ", spec.crew_size, " for ",
                                 lead.pub.request_id,
                                 spec.description.empty() ? "" : ": ", spec.description);
    const std::string id = internal::FormatRequestId(requests_.size() + 1);
    Emit(ev::RequestSubmitted{id, std::move(s), lead.pub.state, lead.pub.sla_deadline, "",
                              lead.pub.request_id});
    crew.push_back(requests_.back().number);
  }
  return crew;
}

absl::Status Engine::State::Do(const cmd::CancelRequest& c) {
  ASSIGN_OR_RETURN(ReqRec * r, GetReq("request_id", c.request_id));
  RETURN_IF_ERROR(internal::CheckPresent("reason", c.reason));
  if (!IsOpen(r->pub.state)) return internal::NotOpen(r->pub);
  const bool held = internal::HasHolder(r->pub.state);
  const uint32_t release =
      held && techs_[r->tech].job == r->number ? r->tech : internal::kNoTech;
  Emit(ev::RequestCancelled{r->pub.request_id, c.reason,
                            held ? r->pub.technician_id : ""});
  outcome_->request_id = r->pub.request_id;
  if (release != internal::kNoTech) Pull(techs_[release]);
  return absl::OkStatus();
}

absl::Status Engine::State::Do(const cmd::ChangeUrgency& c) {
  ASSIGN_OR_RETURN(ReqRec * r, GetReq("request_id", c.request_id));
  RETURN_IF_ERROR(internal::CheckUrgency("urgency", c.urgency));
  RETURN_IF_ERROR(internal::CheckPresent("reason", c.reason));
  if (!IsOpen(r->pub.state)) return internal::NotOpen(r->pub);
  Emit(ev::UrgencyChanged{r->pub.request_id, c.urgency,
                          SlaDeadline(r->pub.spec, c.urgency, r->pub.created_at),
                          c.reason});
  outcome_->request_id = r->pub.request_id;
  Dispatch(*r);
  return absl::OkStatus();
}

absl::Status Engine::State::Do(const cmd::RecordFeedback& c) {
  ASSIGN_OR_RETURN(ReqRec * r, GetReq("request_id", c.request_id));
  if (c.rating < 1 || c.rating > 5) {
    return absl::InvalidArgumentError(
        absl::StrCat("rating: must be 1..5, got ", c.rating));
  }
  if (r->pub.state != RequestState::kCompleted) {
    return absl::FailedPreconditionError(
        absl::StrCat("request ", c.request_id, " is not completed"));
  }
  if (r->pub.feedback_rating != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("request ", c.request_id, " already has feedback"));
  }
  Emit(ev::FeedbackRecorded{c.request_id, c.rating, c.comment});
  outcome_->request_id = c.request_id;
  return absl::OkStatus();
}

absl::Status Engine::State::Do(const cmd::RaiseAlert& c) {
  RETURN_IF_ERROR(internal::CheckPresent("dedupe_key", c.dedupe_key));
  if (c.dedupe_key.size() > internal::kMaxKeyBytes) {
    return absl::InvalidArgumentError("dedupe_key: longer than 128 bytes");
  }
  if (auto it = alerts_.find(c.dedupe_key); it != alerts_.end()) {
    outcome_->request_id = internal::FormatRequestId(it->second.number);
    outcome_->duplicate = true;
    return absl::OkStatus();
  }
  RETURN_IF_ERROR(GetZone("zone_id", c.zone_id).status());
  if (c.severity > 5) {
    return absl::InvalidArgumentError(
        absl::StrCat("severity: must be 1..5, got ", c.severity));
  }
  // The plan for the kind, if policy has one; the alert's own crew size
  // and skills win when given.
  const EmergencyPlan* plan = nullptr;
  for (const EmergencyPlan& p : policy_.emergency_plans) {
    if (p.kind == c.kind) plan = &p;
  }
  RequestSpec spec;
  spec.zone_id = c.zone_id;
  spec.location = c.location;
  spec.category = c.kind;
  spec.required_skills = !c.required_skills.empty() ? c.required_skills
                         : plan != nullptr          ? plan->required_skills
                                                    : DefaultAlertSkills(c.kind);
  spec.urgency = Urgency::kEmergency;
  spec.crew_size = c.crew_size > 1 || plan == nullptr ? c.crew_size : plan->crew_size;
  if (plan != nullptr) spec.materials = plan->backup_materials;
  spec.description = c.description;
  RETURN_IF_ERROR(internal::NormalizeSpec(spec, /*allow_no_skills=*/true));
  RETURN_IF_ERROR(skills_.CheckRoom(spec.required_skills));
  const std::string id = internal::FormatRequestId(requests_.size() + 1);
  const absl::Time deadline = SlaDeadline(spec, spec.urgency, now_);
  Emit(ev::RequestSubmitted{id, std::move(spec), RequestState::kQueued, deadline,
                            c.dedupe_key, ""});
  Emit(ev::AlertRaised{c.dedupe_key, c.source, c.kind,
                       c.severity == 0 ? 3u : c.severity, id});
  outcome_->request_id = id;
  ReqRec& lead = requests_.back();
  if (!lead.pub.spec.materials.empty()) {  // Backup materials: reserved at once.
    std::vector<MaterialLine> missing;
    std::vector<Reservation> backup = PlanMaterials(lead, &missing);
    if (missing.empty()) {
      ReserveMaterials(lead, std::move(backup), absl::StrCat("backup materials for ", c.kind));
    }
  }
  const std::vector<uint32_t> crew = OpenCrew(lead);
  Dispatch(lead);
  for (uint32_t n : crew) Dispatch(ByNumber(n));
  return absl::OkStatus();
}

absl::Status Engine::State::Do(const cmd::ResolveAlert& c) {
  RETURN_IF_ERROR(internal::CheckPresent("dedupe_key", c.dedupe_key));
  auto it = alerts_.find(c.dedupe_key);
  if (it == alerts_.end()) {
    return absl::NotFoundError(
        absl::StrCat("dedupe_key: unknown alert '", c.dedupe_key, "'"));
  }
  if (it->second.resolved) {
    return absl::FailedPreconditionError(
        absl::StrCat("alert '", c.dedupe_key, "' is already resolved"));
  }
  ReqRec& lead = ByNumber(it->second.number);
  // The emergency and its crew: work in progress completes, the rest is
  // cancelled; everyone released pulls their next job afterwards.
  std::vector<uint32_t> released;
  auto close = [&](ReqRec& r) {
    if (r.pub.state == RequestState::kInProgress) {
      released.push_back(r.tech);
      Emit(ev::WorkCompleted{r.pub.request_id, r.pub.technician_id, true, {}, c.note});
    } else if (IsOpen(r.pub.state)) {
      const bool held = internal::HasHolder(r.pub.state);
      if (held && techs_[r.tech].job == r.number) released.push_back(r.tech);
      Emit(ev::RequestCancelled{
          r.pub.request_id,
          c.note.empty() ? "alert resolved" : absl::StrCat("alert resolved: ", c.note),
          held ? r.pub.technician_id : ""});
    }
  };
  close(lead);
  const std::vector<std::string> crew = lead.pub.crew_request_ids;
  for (const std::string& id : crew) close(*Req(id));
  Emit(ev::AlertResolved{c.dedupe_key, lead.pub.request_id, c.note});
  outcome_->request_id = lead.pub.request_id;
  for (uint32_t tech : released) Pull(techs_[tech]);
  return absl::OkStatus();
}

}  // namespace dispatchd::engine
