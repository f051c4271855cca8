#include "services/event_text.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "services/event_codec.h"

namespace dispatchd::services {
namespace {

namespace v1 = ::dispatch::v1;

std::string UrgencyName(int u) {
  switch (u) {
    case v1::URGENCY_LOW: return "low";
    case v1::URGENCY_NORMAL: return "normal";
    case v1::URGENCY_URGENT: return "urgent";
    case v1::URGENCY_EMERGENCY: return "emergency";
    default: return absl::StrCat("urgency ", u);
  }
}

// "[rule] 5 min, overqual 1" from the chosen (first) candidate.
std::string DecisionText(const v1::Decision& d) {
  std::string out = absl::StrCat("[", d.rule(), "]");
  if (!d.candidates().empty()) {
    const v1::Candidate& c = d.candidates(0);
    absl::StrAppend(&out, " ", c.travel_minutes(), " min, overqual ",
                    c.overqualification());
  }
  return out;
}

// "LAMP x2 from north, FUSE x1 from south".
std::string ReservationText(
    const google::protobuf::RepeatedPtrField<v1::Reservation>& lines) {
  std::vector<std::string> out;
  for (const v1::Reservation& l : lines) {
    out.push_back(absl::StrCat(l.sku(), " x", l.quantity(), " from ", l.depot_zone_id()));
  }
  return absl::StrJoin(out, ", ");
}

std::string Because(const std::string& reason) {
  return reason.empty() ? "" : absl::StrCat(" (", reason, ")");
}

std::string RequestText(const v1::Event& e) {
  switch (e.kind_case()) {
    case v1::Event::kRequestSubmitted: {
      const v1::Request& r = e.request_submitted().request();
      std::vector<std::string> skills;
      for (const auto& s : r.required_skills()) {
        skills.push_back(absl::StrCat(s.skill(), ">=", s.min_level()));
      }
      return absl::StrFormat("%s %s in %s: %s, %s, needs %s", r.request_id(),
                             UrgencyName(r.urgency()), r.zone_id(), r.category(),
                             r.location(), absl::StrJoin(skills, " "));
    }
    case v1::Event::kRequestCancelled: {
      const auto& m = e.request_cancelled();
      return absl::StrCat(m.request_id(), Because(m.reason()),
                          m.technician_id().empty() ? "" : " releases ",
                          m.technician_id());
    }
    case v1::Event::kUrgencyChanged: {
      const auto& m = e.urgency_changed();
      return absl::StrCat(m.request_id(), " -> ", UrgencyName(m.urgency()),
                          Because(m.reason()));
    }
    case v1::Event::kRequestPromoted: {
      const auto& m = e.request_promoted();
      return absl::StrCat(m.request_id(), " -> ", UrgencyName(m.effective_urgency()),
                          Because(m.reason()));
    }
    case v1::Event::kFeedbackRecorded: {
      const auto& m = e.feedback_recorded();
      return absl::StrCat(m.request_id(), " rated ", m.rating(), "/5",
                          Because(m.comment()));
    }
    default:
      return "";
  }
}

template <typename M>
std::string PairText(const M& m) {
  return absl::StrCat(m.request_id(), " ", m.technician_id());
}

template <typename M>
std::string ReasonedText(const M& m) {
  return absl::StrCat(PairText(m), Because(m.reason()));
}

std::string AssignmentText(const v1::Event& e) {
  switch (e.kind_case()) {
    case v1::Event::kOfferMade: {
      const auto& m = e.offer_made();
      return absl::StrCat(m.request_id(), " -> ", m.technician_id(), " ",
                          DecisionText(m.decision()));
    }
    case v1::Event::kRequestAssigned: {
      const auto& m = e.request_assigned();
      return absl::StrCat(m.request_id(), " -> ", m.technician_id(),
                          m.released_technician_id().empty() ? "" : " from ",
                          m.released_technician_id(), Because(m.reason()));
    }
    case v1::Event::kOfferAccepted: return PairText(e.offer_accepted());
    case v1::Event::kOfferDeclined: return ReasonedText(e.offer_declined());
    case v1::Event::kOfferExpired: return PairText(e.offer_expired());
    case v1::Event::kOfferWithdrawn: return ReasonedText(e.offer_withdrawn());
    case v1::Event::kRequestRequeued: return ReasonedText(e.request_requeued());
    case v1::Event::kWorkStarted: return PairText(e.work_started());
    case v1::Event::kWorkPutOnHold: return ReasonedText(e.work_put_on_hold());
    case v1::Event::kWorkCompleted: {
      const auto& m = e.work_completed();
      return absl::StrCat(PairText(m), m.resolved() ? " resolved" : " not resolved",
                          Because(m.notes()));
    }
    default:
      return RequestText(e);
  }
}

std::string SiteText(const v1::Event& e) {
  switch (e.kind_case()) {
    case v1::Event::kZoneUpserted: {
      const v1::Zone& z = e.zone_upserted().zone();
      std::vector<std::string> links;
      for (const auto& n : z.neighbors()) {
        links.push_back(absl::StrCat(n.zone_id(), " ", n.travel_minutes(), " min"));
      }
      return absl::StrCat(z.zone_id(), " \"", z.name(), "\"",
                          links.empty() ? "" : " near ", absl::StrJoin(links, ", "));
    }
    case v1::Event::kPolicySet: {
      const v1::Policy& p = e.policy_set().policy();
      return absl::StrFormat("offer timeout %us, sla urgent %u min",
                             p.offer_timeout_seconds(), p.sla_minutes_urgent());
    }
    case v1::Event::kTechnicianRegistered: {
      const v1::Technician& t = e.technician_registered().technician();
      return absl::StrCat(t.technician_id(), " \"", t.name(), "\" home ", t.home_zone_id());
    }
    case v1::Event::kTechnicianUpdated: {
      const v1::Technician& t = e.technician_updated().technician();
      return absl::StrCat(t.technician_id(), " \"", t.name(), "\" home ", t.home_zone_id());
    }
    case v1::Event::kShiftStarted:
      return absl::StrCat(e.shift_started().technician_id(), " in ",
                          e.shift_started().zone_id());
    case v1::Event::kShiftEnded: return e.shift_ended().technician_id();
    case v1::Event::kLocationReported:
      return absl::StrCat(e.location_reported().technician_id(), " in ",
                          e.location_reported().zone_id());
    case v1::Event::kStockAdjusted: {
      const auto& m = e.stock_adjusted();
      return absl::StrFormat("%s %s %+d -> %d%s", m.depot_zone_id(), m.sku(), m.delta(),
                             m.on_hand(), Because(m.reason()));
    }
    case v1::Event::kAlertRaised: {
      const auto& m = e.alert_raised();
      return absl::StrFormat("%s %s severity %u from %s opens %s", m.dedupe_key(),
                             m.kind(), m.severity(), m.source(), m.request_id());
    }
    case v1::Event::kAlertResolved: {
      const auto& m = e.alert_resolved();
      return absl::StrCat(m.dedupe_key(), " closes ", m.request_id(), Because(m.note()));
    }
    case v1::Event::kRequestPreempted: {
      const auto& m = e.request_preempted();
      return absl::StrCat(m.technician_id(), " off ", m.request_id(), " for ",
                          m.by_request_id(), Because(m.reason()));
    }
    case v1::Event::kRequestsBundled: {
      const auto& m = e.requests_bundled();
      return absl::StrCat(m.request_id(), " bundled with ", m.with_request_id(), " for ",
                          m.technician_id(), Because(m.reason()));
    }
    case v1::Event::kZoneSurgeStarted: {
      const auto& m = e.zone_surge_started();
      return absl::StrCat(m.zone_id(), " enters surge: ", m.queued(), " queued, ", m.at_risk(),
                          " at risk", Because(m.reason()));
    }
    case v1::Event::kZoneSurgeEnded: {
      const auto& m = e.zone_surge_ended();
      return absl::StrCat(m.zone_id(), " leaves surge: ", m.queued(), " queued, ", m.at_risk(),
                          " at risk", Because(m.reason()));
    }
    case v1::Event::kShiftRequested: {
      const auto& m = e.shift_requested();
      return absl::StrCat(m.technician_id(), " asked to start a shift for ", m.zone_id(),
                          Because(m.reason()));
    }
    case v1::Event::kMaterialsReserved: {
      const auto& m = e.materials_reserved();
      return absl::StrCat(m.request_id(), " holds ", ReservationText(m.lines()),
                          Because(m.reason()));
    }
    case v1::Event::kMaterialsAwaited: {
      const auto& m = e.materials_awaited();
      std::vector<std::string> lines;
      for (const auto& l : m.short_lines()) {
        lines.push_back(absl::StrCat(l.sku(), " x", l.quantity()));
      }
      return absl::StrCat(m.request_id(), " waits for stock: ", absl::StrJoin(lines, ", "),
                          " short");
    }
    case v1::Event::kDeliveryPlanned: {
      const auto& m = e.delivery_planned();
      std::vector<std::string> lines;
      for (const auto& l : m.lines()) lines.push_back(absl::StrCat(l.sku(), " x", l.quantity()));
      return absl::StrCat(m.request_id(), m.opens() ? " opens " : " joins ", m.delivery_id(),
                          " from ", m.depot_zone_id(), ": ", absl::StrJoin(lines, ", "),
                          Because(m.reason()));
    }
    case v1::Event::kDeliveryDeparted: {
      const auto& m = e.delivery_departed();
      return absl::StrCat(m.delivery_id(), " departs", Because(m.reason()));
    }
    case v1::Event::kMaterialsConsumed: {
      const auto& m = e.materials_consumed();
      return absl::StrCat(m.request_id(), " used ", ReservationText(m.lines()));
    }
    default:
      return AssignmentText(e);
  }
}

}  // namespace

std::string EventLine(const v1::Event& event) {
  return absl::StrCat("#", event.sequence(), " ", EventKindName(event), " ",
                      SiteText(event));
}

std::string EventLineWithTime(const v1::Event& event) {
  const absl::Time t = absl::FromUnixSeconds(event.time().seconds());
  return absl::StrCat(absl::FormatTime("%Y-%m-%d %H:%M:%S", t, absl::UTCTimeZone()), " ",
                      EventLine(event));
}

}  // namespace dispatchd::services
