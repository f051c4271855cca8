#include "clients/demo/trickle.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "clients/demo/demo_config.h"
#include "google/protobuf/util/time_util.h"

namespace dispatchd::demo {
namespace {

namespace v1 = dispatch::v1;
using dispatch::demo::ZonePlaces;

template <typename Templates>
std::discrete_distribution<int> WeightsOf(const Templates& templates) {
  std::vector<double> weights;
  for (const auto& t : templates) weights.push_back(t.weight());
  if (weights.empty()) weights.push_back(1);  // Never drawn: no templates.
  return std::discrete_distribution<int>(weights.begin(), weights.end());
}

v1::Urgency PickUrgency(std::mt19937& rng, const dispatch::demo::UrgencyWeights& w) {
  std::discrete_distribution<int> pick(
      {static_cast<double>(w.low()), static_cast<double>(w.normal()),
       static_cast<double>(w.urgent()), static_cast<double>(w.emergency())});
  return static_cast<v1::Urgency>(v1::URGENCY_LOW + pick(rng));
}

// The same place always names the same asset: FNV-1a of the place, 4 digits.
std::string AssetTag(absl::string_view prefix, absl::string_view place) {
  uint32_t hash = 2166136261u;
  for (unsigned char c : place) hash = (hash ^ c) * 16777619u;
  return absl::StrFormat("%s%04d", prefix, hash % 10000);
}

struct Where {
  const ZonePlaces* zone;
  std::string place;
};

Where PickPlace(std::mt19937& rng,
                const google::protobuf::RepeatedPtrField<ZonePlaces>& locations) {
  const ZonePlaces& zone = PickOne(rng, locations);
  return Where{&zone, PickOne(rng, zone.places())};
}

std::string Describe(std::mt19937& rng,
                     const google::protobuf::RepeatedPtrField<std::string>& texts,
                     const std::string& place) {
  return absl::StrReplaceAll(PickOne(rng, texts), {{"{place}", place}});
}

bool Retryable(const absl::Status& status) {
  return absl::IsUnavailable(status) || absl::IsDeadlineExceeded(status);
}

}  // namespace

std::string UrgencyLabel(v1::Urgency urgency) {
  const std::string& name = v1::Urgency_Name(urgency);
  return std::string(absl::StripPrefix(name, "URGENCY_"));
}

Trickle::Trickle(const DemoContext& ctx)
    : ctx_(ctx),
      pick_request_(WeightsOf(ctx.campus->request_templates())),
      pick_alert_(WeightsOf(ctx.campus->alert_templates())) {}

void Trickle::Start() { ScheduleNext(); }

double Trickle::RequestsPerHourNow() const {
  const double minute = ctx_.clock->MinuteOfDay(absl::Now());
  for (const auto& window : ctx_.campus->trickle().busy_hours()) {
    if (HoursCover(window.start_hour(), window.end_hour(), minute)) {
      return window.requests_per_hour();
    }
  }
  return ctx_.campus->trickle().requests_per_hour();
}

void Trickle::ScheduleNext() {
  const double rate = RequestsPerHourNow();
  // A quiet hour: look again in a quarter of an hour.
  if (rate <= 0) {
    ctx_.scheduler->PostAfter(ctx_.clock->WallDuration(15), [this] { ScheduleNext(); });
    return;
  }
  const double gap_minutes = std::exponential_distribution<double>(rate / 60.0)(*ctx_.rng);
  ctx_.scheduler->PostAfter(ctx_.clock->WallDuration(gap_minutes), [this] { Arrive(); });
}

void Trickle::Arrive() {
  if (Chance(*ctx_.rng, ctx_.campus->trickle().alert_share())) {
    RaiseAlert();
  } else {
    FileRequest();
  }
  ScheduleNext();
}

v1::SubmitRequestRequest Trickle::MakeRequest(const dispatch::demo::RequestTemplate& templ, int n) {
  std::mt19937& rng = *ctx_.rng;
  const Where where = PickPlace(rng, templ.locations());
  v1::SubmitRequestRequest req;
  req.set_idempotency_key(absl::StrFormat("demo-%s-%06d", ctx_.run_id, n));
  req.set_zone_id(where.zone->zone_id());
  req.set_location(where.place);
  req.set_category(templ.category());
  *req.mutable_required_skills() = templ.required_skills();
  req.set_urgency(PickUrgency(rng, templ.urgency_weights()));
  req.set_estimated_minutes(templ.estimated_minutes());
  *req.mutable_materials() = templ.materials();
  req.set_department(where.zone->department());
  req.set_key_department(where.zone->key_department());
  req.set_description(Describe(rng, templ.descriptions(), where.place));
  if (!templ.asset_tag_prefix().empty()) {
    req.set_asset_tag(AssetTag(templ.asset_tag_prefix(), where.place));
  }
  return req;
}

absl::StatusOr<v1::SubmitRequestResponse> Trickle::Submit(const v1::SubmitRequestRequest& req) {
  DaemonClient& d = *ctx_.daemon;
  const std::string what = absl::StrCat("SubmitRequest ", req.idempotency_key());
  auto response = d.Unary(d.requests(), &v1::RequestService::Stub::SubmitRequest, req, what);
  if (response.ok() || !Retryable(response.status()) || ctx_.stopping->HasBeenNotified()) {
    return response;
  }
  ctx_.log->Printf("! %s; retrying once with the same idempotency key",
                   response.status().ToString());
  if (ctx_.stopping->WaitForNotificationWithTimeout(absl::Seconds(1))) return response;
  return d.Unary(d.requests(), &v1::RequestService::Stub::SubmitRequest, req, what);
}

void Trickle::FileRequest() {
  const auto& templ = ctx_.campus->request_templates(pick_request_(*ctx_.rng));
  v1::SubmitRequestRequest req = MakeRequest(templ, ++requests_);
  const auto& trickle = ctx_.campus->trickle();
  const bool ahead = Chance(*ctx_.rng, trickle.scheduled_share());
  absl::Time not_before;
  if (ahead) {
    // Planned work is routine: nobody books an emergency for later.
    if (req.urgency() > v1::URGENCY_NORMAL) req.set_urgency(v1::URGENCY_NORMAL);
    not_before = absl::Now() +
                 ctx_.clock->WallDuration(Uniform(*ctx_.rng, trickle.schedule_ahead_min_minutes(),
                                                  trickle.schedule_ahead_max_minutes()));
    *req.mutable_not_before() =
        google::protobuf::util::TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(not_before));
  }
  auto response = Submit(req);
  if (!response.ok()) return ctx_.LogFailure(response.status());
  const v1::Request& r = response->request();
  const std::string key = r.key_department() ? " [key dept]" : "";
  if (ahead) {
    ctx_.log->Printf("sched %s %s %s @ %s%s, from %s", r.request_id(), UrgencyLabel(r.urgency()),
                     r.category(), r.location(), key, ctx_.clock->Label(not_before));
  } else {
    ctx_.log->Printf("new   %s %s %s @ %s%s", r.request_id(), UrgencyLabel(r.urgency()),
                     r.category(), r.location(), key);
  }
}

void Trickle::RaiseAlert() {
  const auto& templ = ctx_.campus->alert_templates(pick_alert_(*ctx_.rng));
  const Where where = PickPlace(*ctx_.rng, templ.locations());
  v1::RaiseAlertRequest alert;
  alert.set_dedupe_key(absl::StrFormat("demo-%s/%s/%s/%d", ctx_.run_id, where.zone->zone_id(),
                                       templ.kind(), ++alerts_));
  alert.set_source(templ.sources(0));
  alert.set_kind(templ.kind());
  alert.set_zone_id(where.zone->zone_id());
  alert.set_location(where.place);
  alert.set_severity(templ.severity());
  alert.set_crew_size(templ.crew_size());
  alert.set_description(Describe(*ctx_.rng, templ.descriptions(), where.place));
  *alert.mutable_required_skills() = templ.required_skills();
  DaemonClient& d = *ctx_.daemon;
  auto response = d.Unary(d.alerts(), &v1::AlertService::Stub::RaiseAlert, alert,
                          absl::StrCat("RaiseAlert ", alert.dedupe_key()));
  if (!response.ok()) return ctx_.LogFailure(response.status());
  ctx_.log->Printf("ALERT %s severity %d @ %s (from %s) -> %s %s", alert.kind(), alert.severity(),
                   alert.location(), alert.source(), response->request_id(),
                   UrgencyLabel(response->request().urgency()));
  if (templ.sources_size() > 1 && Chance(*ctx_.rng, ctx_.campus->trickle().alert_repeat_share())) {
    alert.set_source(templ.sources(1));
    ctx_.scheduler->PostAfter(
        ctx_.clock->WallDuration(Uniform(*ctx_.rng, 1, 4)),
        [this, alert, id = response->request_id()] { RepeatAlert(alert, id); });
  }
}

void Trickle::RepeatAlert(v1::RaiseAlertRequest alert, const std::string& request_id) {
  DaemonClient& d = *ctx_.daemon;
  auto response = d.Unary(d.alerts(), &v1::AlertService::Stub::RaiseAlert, alert,
                          absl::StrCat("RaiseAlert ", alert.dedupe_key(), " (repeat)"));
  if (!response.ok()) return ctx_.LogFailure(response.status());
  ctx_.log->Printf(
      "ALERT %s @ %s reported again by %s: %s", alert.kind(), alert.location(), alert.source(),
      response->duplicate() ? absl::StrCat("same key, same emergency ", response->request_id())
                            : absl::StrCat("NOT deduplicated: new request ", response->request_id(),
                                           " (first was ", request_id, ")"));
}

}  // namespace dispatchd::demo
