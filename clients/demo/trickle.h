// Trickle: the work that arrives through the demo day. Requests come as a
// Poisson process (exponential gaps) at the config's rate for the hour of
// the demo clock; each is drawn from a request template (category, skills,
// urgency, materials, a place and a description). Some are filed ahead
// (scheduled), some arrivals are alerts instead, and some alerts are
// reported twice to show dedupe.
//
// Every request carries an idempotency key; a submission that fails with
// UNAVAILABLE or DEADLINE_EXCEEDED is retried once with the same key, so a
// retry can never file the job twice.
//
// Thread safety: scheduler thread only, Start included (it draws on the
// shared random generator).
#ifndef DISPATCHD_CLIENTS_DEMO_TRICKLE_H_
#define DISPATCHD_CLIENTS_DEMO_TRICKLE_H_

#include <random>
#include <string>

#include "absl/status/statusor.h"
#include "clients/demo/demo_context.h"
#include "dispatch/v1/alerts.pb.h"
#include "dispatch/v1/requests.pb.h"

namespace dispatchd::demo {

class Trickle {
 public:
  // "ctx" must stay valid while the scheduler runs.
  explicit Trickle(const DemoContext& ctx);

  // Schedules the first arrival; each arrival schedules the next.
  void Start();

  // A request drawn from `templ` for arrival number `n` (no not_before).
  dispatch::v1::SubmitRequestRequest MakeRequest(const dispatch::demo::RequestTemplate& templ,
                                                 int n);

 private:
  void ScheduleNext();
  void Arrive();
  double RequestsPerHourNow() const;
  void FileRequest();
  void RaiseAlert();
  void RepeatAlert(dispatch::v1::RaiseAlertRequest alert, const std::string& request_id);
  absl::StatusOr<dispatch::v1::SubmitRequestResponse> Submit(
      const dispatch::v1::SubmitRequestRequest& request);

  const DemoContext ctx_;
  std::discrete_distribution<int> pick_request_;
  std::discrete_distribution<int> pick_alert_;
  int requests_ = 0;
  int alerts_ = 0;
};

// "URGENT" for URGENCY_URGENT, and so on.
std::string UrgencyLabel(dispatch::v1::Urgency urgency);

}  // namespace dispatchd::demo

#endif  // DISPATCHD_CLIENTS_DEMO_TRICKLE_H_
