#include "clients/demo/demo_config.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/status_macros.h"
#include "google/protobuf/util/json_util.h"

namespace dispatchd::demo {
namespace {

using dispatch::demo::DemoCampus;
using dispatch::demo::ZonePlaces;
using ZoneSet = absl::flat_hash_set<std::string>;

template <typename... Args>
absl::Status Invalid(const Args&... args) {
  return absl::InvalidArgumentError(absl::StrCat(args...));
}

bool IsShare(double x) { return x >= 0 && x <= 1; }

absl::Status CheckHours(absl::string_view what, uint32_t start, uint32_t end) {
  if (start > 23 || end > 24 || start == end % 24) {
    return Invalid(what, ": hours ", start, " to ", end,
                   " are not a window (start 0..23, end 0..24, not equal)");
  }
  return absl::OkStatus();
}

// Every zone reachable from the first one.
bool Connected(const DemoCampus& c) {
  absl::flat_hash_map<std::string, std::vector<std::string>> links;
  for (const auto& z : c.zones()) {
    for (const auto& n : z.neighbors()) {
      links[z.zone_id()].push_back(n.zone_id());
      links[n.zone_id()].push_back(z.zone_id());
    }
  }
  ZoneSet seen = {c.zones(0).zone_id()};
  std::vector<std::string> todo = {c.zones(0).zone_id()};
  while (!todo.empty()) {
    std::string at = std::move(todo.back());
    todo.pop_back();
    for (const auto& next : links[at]) {
      if (seen.insert(next).second) todo.push_back(next);
    }
  }
  return static_cast<int>(seen.size()) == c.zones_size();
}

absl::Status ValidateZones(const DemoCampus& c, ZoneSet& zones) {
  if (c.zones().empty()) return Invalid("no zones");
  for (const auto& z : c.zones()) {
    if (z.zone_id().empty()) return Invalid("a zone has no zone_id");
    if (!zones.insert(z.zone_id()).second) return Invalid("zone ", z.zone_id(), " is listed twice");
  }
  // Minutes per unordered pair, to check links listed on both sides agree.
  absl::flat_hash_map<std::pair<std::string, std::string>, uint32_t> minutes;
  for (const auto& z : c.zones()) {
    for (const auto& n : z.neighbors()) {
      const std::string where = absl::StrCat("zone ", z.zone_id(), ", neighbour ", n.zone_id());
      if (!zones.contains(n.zone_id())) return Invalid(where, ": unknown zone");
      if (n.zone_id() == z.zone_id()) return Invalid(where, ": a zone cannot neighbour itself");
      if (n.travel_minutes() < 1) return Invalid(where, ": travel_minutes must be at least 1");
      auto key = std::minmax(z.zone_id(), n.zone_id());
      auto [it, fresh] = minutes.try_emplace({key.first, key.second}, n.travel_minutes());
      if (!fresh && it->second != n.travel_minutes()) {
        return Invalid(where, ": travel_minutes ", n.travel_minutes(), " here but ", it->second,
                       " the other way");
      }
    }
  }
  if (!Connected(c))
    return Invalid("zones: not every zone can be reached from ", c.zones(0).zone_id());
  return absl::OkStatus();
}

absl::Status ValidateTechnicians(const DemoCampus& c, const ZoneSet& zones) {
  if (c.technicians().empty()) return Invalid("no technicians");
  ZoneSet ids;
  for (const auto& t : c.technicians()) {
    const std::string where = absl::StrCat("technician ", t.technician_id());
    if (t.technician_id().empty()) return Invalid("a technician has no technician_id");
    if (!ids.insert(t.technician_id()).second) return Invalid(where, " is listed twice");
    if (!zones.contains(t.home_zone_id())) {
      return Invalid(where, ": unknown home_zone_id '", t.home_zone_id(), "'");
    }
    if (t.skills().empty()) return Invalid(where, ": no skills");
    for (const auto& s : t.skills()) {
      if (s.skill().empty()) return Invalid(where, ": a skill has no name");
      if (s.level() < 1 || s.level() > 5) {
        return Invalid(where, ": skill ", s.skill(), " level ", s.level(), " is not 1..5");
      }
    }
    RETURN_IF_ERROR(CheckHours(where + " shift", t.shift().start_hour(), t.shift().end_hour()));
  }
  return absl::OkStatus();
}

absl::Status ValidateDepots(const DemoCampus& c, const ZoneSet& zones, ZoneSet& skus) {
  if (c.depots().empty()) return Invalid("no depots");
  ZoneSet depot_zones;
  for (const auto& d : c.depots()) {
    const std::string where = absl::StrCat("depot in ", d.zone_id());
    if (!zones.contains(d.zone_id())) return Invalid(where, ": unknown zone");
    if (!depot_zones.insert(d.zone_id()).second) return Invalid(where, ": listed twice");
    ZoneSet here;
    for (const auto& line : d.stock()) {
      if (line.sku().empty()) return Invalid(where, ": a stock line has no sku");
      if (line.quantity() < 1)
        return Invalid(where, ", sku ", line.sku(), ": quantity must be at least 1");
      if (!here.insert(line.sku()).second)
        return Invalid(where, ": sku ", line.sku(), " listed twice");
      skus.insert(line.sku());
    }
  }
  return absl::OkStatus();
}

absl::Status ValidatePlaces(absl::string_view where,
                            const google::protobuf::RepeatedPtrField<ZonePlaces>& locations,
                            const ZoneSet& zones) {
  if (locations.empty()) return Invalid(where, ": no locations");
  for (const auto& l : locations) {
    if (!zones.contains(l.zone_id())) return Invalid(where, ": unknown zone '", l.zone_id(), "'");
    if (l.places().empty()) return Invalid(where, ": no places in ", l.zone_id());
  }
  return absl::OkStatus();
}

absl::Status ValidateSkills(
    absl::string_view where,
    const google::protobuf::RepeatedPtrField<dispatch::v1::SkillRequirement>& skills) {
  for (const auto& s : skills) {
    if (s.skill().empty()) return Invalid(where, ": a required skill has no name");
    if (s.min_level() > 5) return Invalid(where, ": skill ", s.skill(), " min_level above 5");
  }
  return absl::OkStatus();
}

absl::Status ValidateTemplates(const DemoCampus& c, const ZoneSet& zones, const ZoneSet& skus) {
  if (c.request_templates().empty()) return Invalid("no request_templates");
  for (int i = 0; i < c.request_templates_size(); ++i) {
    const auto& t = c.request_templates(i);
    const std::string where = absl::StrCat("request_templates[", i, "] (", t.category(), ")");
    if (t.category().empty()) return Invalid(where, ": no category");
    if (t.weight() < 1) return Invalid(where, ": weight must be at least 1");
    if (t.required_skills().empty()) return Invalid(where, ": no required_skills");
    RETURN_IF_ERROR(ValidateSkills(where, t.required_skills()));
    const auto& u = t.urgency_weights();
    if (u.low() + u.normal() + u.urgent() + u.emergency() == 0) {
      return Invalid(where, ": urgency_weights are all zero");
    }
    for (const auto& m : t.materials()) {
      if (!skus.contains(m.sku())) return Invalid(where, ": sku ", m.sku(), " is in no depot");
      if (m.quantity() < 1)
        return Invalid(where, ": sku ", m.sku(), " quantity must be at least 1");
    }
    if (t.descriptions().empty()) return Invalid(where, ": no descriptions");
    RETURN_IF_ERROR(ValidatePlaces(where, t.locations(), zones));
  }
  return absl::OkStatus();
}

absl::Status ValidateAlerts(const DemoCampus& c, const ZoneSet& zones) {
  for (int i = 0; i < c.alert_templates_size(); ++i) {
    const auto& a = c.alert_templates(i);
    const std::string where = absl::StrCat("alert_templates[", i, "] (", a.kind(), ")");
    if (a.kind().empty()) return Invalid(where, ": no kind");
    if (a.weight() < 1) return Invalid(where, ": weight must be at least 1");
    if (a.severity() < 1 || a.severity() > 5) return Invalid(where, ": severity is not 1..5");
    RETURN_IF_ERROR(ValidateSkills(where, a.required_skills()));
    if (a.descriptions().empty()) return Invalid(where, ": no descriptions");
    if (a.sources().empty()) return Invalid(where, ": no sources");
    RETURN_IF_ERROR(ValidatePlaces(where, a.locations(), zones));
  }
  return absl::OkStatus();
}

absl::Status ValidateTrickle(const DemoCampus& c) {
  const auto& t = c.trickle();
  if (t.requests_per_hour() < 0) return Invalid("trickle: requests_per_hour is negative");
  for (const auto& w : t.busy_hours()) {
    RETURN_IF_ERROR(CheckHours("trickle busy_hours", w.start_hour(), w.end_hour()));
    if (w.requests_per_hour() < 0)
      return Invalid("trickle busy_hours: requests_per_hour is negative");
  }
  if (!IsShare(t.scheduled_share()) || !IsShare(t.alert_share()) ||
      !IsShare(t.alert_repeat_share())) {
    return Invalid("trickle: scheduled_share, alert_share and alert_repeat_share must be 0..1");
  }
  if (t.schedule_ahead_min_minutes() > t.schedule_ahead_max_minutes()) {
    return Invalid("trickle: schedule_ahead_min_minutes is above schedule_ahead_max_minutes");
  }
  if (t.alert_share() > 0 && c.alert_templates().empty()) {
    return Invalid("trickle: alert_share is set but there are no alert_templates");
  }
  return absl::OkStatus();
}

absl::Status ValidateBehaviour(const DemoCampus& c) {
  const auto& b = c.behaviour();
  if (b.reply_minutes_min() < 0 || b.reply_minutes_min() > b.reply_minutes_max()) {
    return Invalid("behaviour: need 0 <= reply_minutes_min <= reply_minutes_max");
  }
  if (!IsShare(b.decline_share()) || !IsShare(b.ignore_share()) ||
      b.decline_share() + b.ignore_share() > 1) {
    return Invalid(
        "behaviour: decline_share and ignore_share must be 0..1 and add up to at most 1");
  }
  if (b.decline_share() > 0 && b.decline_reasons().empty()) {
    return Invalid("behaviour: decline_share is set but there are no decline_reasons");
  }
  if (b.walk_minutes() < 0 || b.feedback_delay_minutes() < 0) {
    return Invalid("behaviour: walk_minutes and feedback_delay_minutes must not be negative");
  }
  if (b.duration_jitter() < 0 || b.duration_jitter() > 0.9) {
    return Invalid("behaviour: duration_jitter must be 0..0.9");
  }
  if (!IsShare(b.resolved_share())) return Invalid("behaviour: resolved_share must be 0..1");
  if (b.resolved_share() < 1 && b.unresolved_notes().empty()) {
    return Invalid("behaviour: resolved_share is below 1 but there are no unresolved_notes");
  }
  uint32_t weight = 0;
  for (uint32_t w : b.rating_weights()) weight += w;
  if (b.rating_weights_size() != 5 || weight == 0) {
    return Invalid("behaviour: rating_weights needs five weights (ratings 1..5), not all zero");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateDemoCampus(const DemoCampus& campus) {
  if (absl::Status clock = ParseClockTime(campus.start_time()).status(); !clock.ok()) {
    return Invalid("start_time: ", clock.message());
  }
  ZoneSet zones;
  ZoneSet skus;
  RETURN_IF_ERROR(ValidateZones(campus, zones));
  RETURN_IF_ERROR(ValidateTechnicians(campus, zones));
  RETURN_IF_ERROR(ValidateDepots(campus, zones, skus));
  RETURN_IF_ERROR(ValidateTemplates(campus, zones, skus));
  RETURN_IF_ERROR(ValidateAlerts(campus, zones));
  RETURN_IF_ERROR(ValidateTrickle(campus));
  return ValidateBehaviour(campus);
}

absl::StatusOr<DemoCampus> ParseDemoConfig(absl::string_view json, absl::string_view source) {
  DemoCampus campus;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto parsed = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), &campus, options);
  if (!parsed.ok()) {
    return Invalid(source, ": not a valid demo campus config: ", parsed.message().as_string());
  }
  if (absl::Status valid = ValidateDemoCampus(campus); !valid.ok()) {
    return Invalid(source, ": ", valid.message());
  }
  return campus;
}

absl::StatusOr<DemoCampus> LoadDemoConfig(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Invalid(path, ": cannot read the demo config: ", std::strerror(errno));
  std::stringstream text;
  text << in.rdbuf();
  if (in.bad()) return Invalid(path, ": cannot read the demo config: ", std::strerror(errno));
  return ParseDemoConfig(text.str(), path);
}

absl::StatusOr<int> ParseClockTime(absl::string_view hh_mm) {
  std::vector<absl::string_view> parts = absl::StrSplit(hh_mm, ':');
  int hours = 0;
  int minutes = 0;
  if (parts.size() != 2 || parts[0].empty() || parts[1].size() != 2 ||
      !absl::SimpleAtoi(parts[0], &hours) || !absl::SimpleAtoi(parts[1], &minutes) || hours < 0 ||
      hours > 23 || minutes < 0 || minutes > 59) {
    return Invalid("'", hh_mm, "' is not a time of day \"HH:MM\"");
  }
  return hours * 60 + minutes;
}

bool HoursCover(uint32_t start_hour, uint32_t end_hour, double minute_of_day) {
  const double start = start_hour * 60.0;
  const double end = (end_hour % 24) * 60.0;
  if (start < end) return minute_of_day >= start && minute_of_day < end;
  return minute_of_day >= start || minute_of_day < end;  // Past midnight.
}

}  // namespace dispatchd::demo
