// JobView: a technician's jobs as the technician has been shown them, and
// the dedupe that keeps a reconnecting stream from showing anything twice
// or losing anything. This is the logic the phone app needs too:
//
//  - A live update (sequence > 0) is keyed by (request id, change,
//    sequence); a key seen before is dropped.
//  - Every update, reply or re-read is compared with what was last shown
//    for that request (state, technician, effective urgency). Equal: it is
//    not news, and nothing is shown. So the snapshot that opens a new
//    stream (snapshot = true, sequence 0) shows only what changed while the
//    stream was down, and a change seen both in a call's reply and on the
//    stream is shown once.
//  - gRPC does not order a call's reply against the stream: the update
//    for a change this view already showed from its own call's reply can
//    come after the reply of a later call (accept, then start, then the
//    stream's "accepted"). Such a late echo of the view's own change is
//    dropped, without going back to the older state it carries. Echoes
//    still expected are forgotten when a new stream opens (its snapshot
//    restates the jobs).
//  - A job that closed while the stream was down is not in the snapshot;
//    re-reading the jobs the view still holds open (GetRequest) before
//    reconnecting finds it.
//
// Thread safety: not thread-safe; the caller serialises access.
#ifndef DISPATCHD_CLIENTS_DISPATCHCTL_JOB_VIEW_H_
#define DISPATCHD_CLIENTS_DISPATCHCTL_JOB_VIEW_H_

#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "dispatch/v1/technicians.pb.h"

namespace dispatchd::ctl {

class JobView {
 public:
  explicit JobView(std::string technician_id) : technician_id_(std::move(technician_id)) {}

  // The line to show for `update`, or nullopt if it is not news.
  std::optional<std::string> Apply(const dispatch::v1::AssignmentUpdate& update);
  // The same for a request as a call's reply or a re-read returned it;
  // `change` names what happened (accept -> ACCEPTED); UNSPECIFIED: inferred
  // from the request's state.
  std::optional<std::string> ApplyRequest(
      const dispatch::v1::Request& request, const std::string& reason = "",
      dispatch::v1::AssignmentChange change = dispatch::v1::ASSIGNMENT_CHANGE_UNSPECIFIED);

  // Ids of the jobs that are open for this technician, as last shown.
  std::vector<std::string> OpenJobIds() const;
  // The first open job in one of `states`, if any.
  std::optional<std::string> FirstIn(
      std::initializer_list<dispatch::v1::RequestState> states) const;
  bool Knows(const std::string& request_id) const { return jobs_.count(request_id) > 0; }
  // One line per open job.
  std::vector<std::string> OpenJobLines() const;
  // A new stream is about to open: echoes of earlier replies will not come.
  void ForgetEchoes() { echoes_.clear(); }

  // The change a request's state stands for, from this technician's side:
  // OFFERED, ASSIGNED, STARTED, ON_HOLD, COMPLETED or WITHDRAWN.
  dispatch::v1::AssignmentChange ChangeFor(const dispatch::v1::Request& request) const;

 private:
  bool IsOpenForMe(const dispatch::v1::Request& request) const;
  static std::string Fingerprint(const dispatch::v1::Request& request);
  std::string Line(dispatch::v1::AssignmentChange change, const dispatch::v1::Request& request,
                   const std::string& reason) const;

  const std::string technician_id_;
  std::map<std::string, dispatch::v1::Request> jobs_;      // Last shown, by request id.
  std::set<std::tuple<std::string, int, uint64_t>> seen_;  // Live update keys.
  // Changes shown from this view's own calls' replies whose stream update
  // has not come yet: (request id, change).
  std::set<std::pair<std::string, int>> echoes_;
};

}  // namespace dispatchd::ctl

#endif  // DISPATCHD_CLIENTS_DISPATCHCTL_JOB_VIEW_H_
