#include "clients/dispatchctl/job_view.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "clients/dispatchctl/format.h"

namespace dispatchd::ctl {

namespace v1 = ::dispatch::v1;

bool JobView::IsOpenForMe(const v1::Request& r) const {
  if (r.technician_id() != technician_id_) return false;
  switch (r.state()) {
    case v1::REQUEST_STATE_OFFERED:
    case v1::REQUEST_STATE_ASSIGNED:
    case v1::REQUEST_STATE_IN_PROGRESS:
    case v1::REQUEST_STATE_ON_HOLD:
      return true;
    default:
      return false;
  }
}

std::string JobView::Fingerprint(const v1::Request& r) {
  return absl::StrCat(r.state(), "|", r.technician_id(), "|", r.effective_urgency());
}

v1::AssignmentChange JobView::ChangeFor(const v1::Request& r) const {
  if (r.state() == v1::REQUEST_STATE_COMPLETED && r.technician_id() == technician_id_) {
    return v1::ASSIGNMENT_CHANGE_COMPLETED;
  }
  if (!IsOpenForMe(r)) return v1::ASSIGNMENT_CHANGE_WITHDRAWN;
  switch (r.state()) {
    case v1::REQUEST_STATE_OFFERED:
      return v1::ASSIGNMENT_CHANGE_OFFERED;
    case v1::REQUEST_STATE_IN_PROGRESS:
      return v1::ASSIGNMENT_CHANGE_STARTED;
    case v1::REQUEST_STATE_ON_HOLD:
      return v1::ASSIGNMENT_CHANGE_ON_HOLD;
    default:
      return v1::ASSIGNMENT_CHANGE_ASSIGNED;
  }
}

std::string JobView::Line(v1::AssignmentChange change, const v1::Request& r,
                          const std::string& reason) const {
  std::string line = absl::StrCat(absl::AsciiStrToLower(Name(change)), " ", r.request_id(), " ",
                                  Name(r.effective_urgency()), " ", r.category(), " @ ",
                                  r.location(), " (", r.zone_id(), ")");
  if (r.estimated_minutes() > 0) absl::StrAppend(&line, ", ", r.estimated_minutes(), " min");
  if (r.state() == v1::REQUEST_STATE_OFFERED) {
    absl::StrAppend(&line, ", answer by ", TimeText(r.offer_expires_at()));
  }
  absl::StrAppend(&line, " [", Name(r.state()), "]");
  if (!reason.empty()) absl::StrAppend(&line, ": ", reason);
  return line;
}

std::optional<std::string> JobView::Apply(const v1::AssignmentUpdate& update) {
  const v1::Request& r = update.request();
  if (update.sequence() > 0 &&
      !seen_.insert({r.request_id(), update.change(), update.sequence()}).second) {
    return std::nullopt;
  }
  if (update.sequence() > 0 && !update.snapshot() &&
      echoes_.erase({r.request_id(), update.change()}) > 0) {
    return std::nullopt;  // Shown from the reply; the view may hold a newer state already.
  }
  auto it = jobs_.find(r.request_id());
  const bool news = it == jobs_.end() ? IsOpenForMe(r) || !update.snapshot()
                                      : Fingerprint(it->second) != Fingerprint(r);
  jobs_[r.request_id()] = r;
  if (!news) return std::nullopt;
  // A snapshot restates the job; name the change its state stands for.
  const v1::AssignmentChange change =
      update.change() == v1::ASSIGNMENT_CHANGE_OPEN ? ChangeFor(r) : update.change();
  std::string reason = update.reason();
  if (reason.empty() && !update.decision().rule().empty()) {
    reason = absl::StrCat("[", update.decision().rule(), "] ", update.decision().detail());
  }
  return Line(change, r, reason);
}

std::optional<std::string> JobView::ApplyRequest(const v1::Request& r, const std::string& reason,
                                                 v1::AssignmentChange change) {
  auto it = jobs_.find(r.request_id());
  const bool news = it == jobs_.end() || Fingerprint(it->second) != Fingerprint(r);
  jobs_[r.request_id()] = r;
  if (!news) return std::nullopt;  // The stream showed it first.
  if (change != v1::ASSIGNMENT_CHANGE_UNSPECIFIED) echoes_.insert({r.request_id(), change});
  return Line(change == v1::ASSIGNMENT_CHANGE_UNSPECIFIED ? ChangeFor(r) : change, r, reason);
}

std::vector<std::string> JobView::OpenJobIds() const {
  std::vector<std::string> ids;
  for (const auto& [id, r] : jobs_) {
    if (IsOpenForMe(r)) ids.push_back(id);
  }
  return ids;
}

std::optional<std::string> JobView::FirstIn(std::initializer_list<v1::RequestState> states) const {
  for (v1::RequestState state : states) {
    for (const auto& [id, r] : jobs_) {
      if (IsOpenForMe(r) && r.state() == state) return id;
    }
  }
  return std::nullopt;
}

std::vector<std::string> JobView::OpenJobLines() const {
  std::vector<std::string> lines;
  for (const auto& [id, r] : jobs_) {
    if (IsOpenForMe(r)) lines.push_back(Line(ChangeFor(r), r, ""));
  }
  return lines;
}

}  // namespace dispatchd::ctl
