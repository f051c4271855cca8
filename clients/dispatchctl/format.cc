#include "clients/dispatchctl/format.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "clients/dispatchctl/cli.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/util/time_util.h"

namespace dispatchd::ctl {
namespace {

namespace v1 = ::dispatch::v1;

std::string StripPrefix(const std::string& name, const std::string& prefix) {
  return absl::StartsWith(name, prefix) ? name.substr(prefix.size()) : name;
}

// Looks `text` up among an enum's names, with or without its prefix and in
// any case; 0 (UNSPECIFIED) is not accepted.
template <typename Enum>
absl::StatusOr<Enum> ParseEnum(const std::string& what, const std::string& prefix,
                               const google::protobuf::EnumDescriptor* descriptor,
                               const std::string& text) {
  std::string upper = absl::AsciiStrToUpper(text);
  if (!absl::StartsWith(upper, prefix)) upper = prefix + upper;
  const google::protobuf::EnumValueDescriptor* value = descriptor->FindValueByName(upper);
  if (value == nullptr || value->number() == 0) {
    std::vector<std::string> names;
    for (int i = 1; i < descriptor->value_count(); ++i) {
      names.push_back(absl::AsciiStrToLower(StripPrefix(descriptor->value(i)->name(), prefix)));
    }
    return UsageError(
        absl::StrCat(what, ": '", text, "' is not one of ", absl::StrJoin(names, ", ")));
  }
  return static_cast<Enum>(value->number());
}

}  // namespace

void Table::Print(std::ostream& out) const {
  std::vector<size_t> widths(header_.size(), 0);
  auto measure = [&](const std::vector<std::string>& row) {
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  };
  measure(header_);
  for (const auto& row : rows_) measure(row);
  auto print = [&](const std::vector<std::string>& row) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      absl::StrAppend(&line, row[i]);
      if (i + 1 < row.size()) line.append(widths[i] - row[i].size() + 2, ' ');
    }
    out << line << "\n";
  };
  print(header_);
  for (const auto& row : rows_) print(row);
}

std::string Name(v1::Urgency urgency) { return StripPrefix(v1::Urgency_Name(urgency), "URGENCY_"); }
std::string Name(v1::RequestState state) {
  return StripPrefix(v1::RequestState_Name(state), "REQUEST_STATE_");
}
std::string Name(v1::TechnicianState state) {
  return StripPrefix(v1::TechnicianState_Name(state), "TECHNICIAN_STATE_");
}
std::string Name(v1::AssignmentChange change) {
  return StripPrefix(v1::AssignmentChange_Name(change), "ASSIGNMENT_CHANGE_");
}

absl::StatusOr<v1::Urgency> ParseUrgency(const std::string& text) {
  return ParseEnum<v1::Urgency>("urgency", "URGENCY_", v1::Urgency_descriptor(), text);
}

absl::StatusOr<v1::RequestState> ParseRequestState(const std::string& text) {
  return ParseEnum<v1::RequestState>("state", "REQUEST_STATE_", v1::RequestState_descriptor(),
                                     text);
}

std::string TimeText(const google::protobuf::Timestamp& time) {
  if (time.seconds() == 0 && time.nanos() == 0) return "-";
  return absl::FormatTime("%Y-%m-%d %H:%MZ", absl::FromUnixSeconds(time.seconds()),
                          absl::UTCTimeZone());
}

absl::StatusOr<google::protobuf::Timestamp> ParseTime(const std::string& flag,
                                                      const std::string& text) {
  google::protobuf::Timestamp time;
  if (!google::protobuf::util::TimeUtil::FromString(text, &time)) {
    return UsageError(absl::StrCat("--", flag, ": '", text,
                                   "' is not an RFC 3339 time like 2026-11-24T14:00:00Z"));
  }
  return time;
}

absl::StatusOr<v1::Skill> ParseSkill(const std::string& text) {
  v1::Skill skill;
  const size_t colon = text.find(':');
  skill.set_skill(text.substr(0, colon));
  uint32_t level = 1;
  if (colon != std::string::npos && !absl::SimpleAtoi(text.substr(colon + 1), &level)) {
    return UsageError(absl::StrCat("--skill: '", text, "' is not skill:level, e.g. electrical:3"));
  }
  if (skill.skill().empty()) return UsageError("--skill: the skill name is empty");
  skill.set_level(level);
  return skill;
}

absl::StatusOr<v1::MaterialLine> ParseMaterial(const std::string& text) {
  v1::MaterialLine line;
  const size_t eq = text.find('=');
  uint32_t quantity = 0;
  if (eq == std::string::npos || eq == 0 || !absl::SimpleAtoi(text.substr(eq + 1), &quantity)) {
    return UsageError(absl::StrCat("'", text, "' is not sku=quantity, e.g. LAMP-T8-18W=2"));
  }
  line.set_sku(text.substr(0, eq));
  line.set_quantity(quantity);
  return line;
}

std::string SkillsText(const google::protobuf::RepeatedPtrField<v1::SkillRequirement>& s) {
  std::vector<std::string> parts;
  for (const auto& r : s) parts.push_back(absl::StrCat(r.skill(), ">=", r.min_level()));
  return absl::StrJoin(parts, " ");
}

std::string SkillsText(const google::protobuf::RepeatedPtrField<v1::Skill>& s) {
  std::vector<std::string> parts;
  for (const auto& r : s) parts.push_back(absl::StrCat(r.skill(), ":", r.level()));
  return absl::StrJoin(parts, " ");
}

std::string MaterialsText(const google::protobuf::RepeatedPtrField<v1::MaterialLine>& materials) {
  std::vector<std::string> parts;
  for (const auto& m : materials) parts.push_back(absl::StrCat(m.sku(), " x", m.quantity()));
  return absl::StrJoin(parts, ", ");
}

std::string RequestLine(const v1::Request& r) {
  std::string line = absl::StrCat(
      r.request_id(), " ", Name(r.state()), " ",
      Name(r.effective_urgency() != v1::URGENCY_UNSPECIFIED ? r.effective_urgency() : r.urgency()),
      " ", r.category(), " @ ", r.location(), " (", r.zone_id(), ")");
  if (!r.technician_id().empty()) absl::StrAppend(&line, " -> ", r.technician_id());
  return line;
}

void PrintRequest(std::ostream& out, const v1::Request& r) {
  auto field = [&](const char* name, const std::string& value) {
    if (!value.empty() && value != "-") out << absl::StrCat(name, ":") << " " << value << "\n";
  };
  field("request", r.request_id());
  field("state", Name(r.state()));
  field("urgency", Name(r.urgency()));
  if (r.effective_urgency() != r.urgency()) field("effective", Name(r.effective_urgency()));
  field("zone", r.zone_id());
  field("location", r.location());
  field("category", r.category());
  field("skills", SkillsText(r.required_skills()));
  field("estimated", r.estimated_minutes() ? absl::StrCat(r.estimated_minutes(), " min") : "");
  field("materials", MaterialsText(r.materials()));
  std::vector<std::string> reserved;
  for (const v1::Reservation& m : r.reserved_materials()) {
    reserved.push_back(absl::StrCat(m.sku(), " x", m.quantity(), " at ", m.depot_zone_id()));
  }
  field("reserved", absl::StrJoin(reserved, ", "));
  field("deliveries", absl::StrJoin(r.delivery_ids(), " "));
  field("awaiting stock", r.awaiting_stock() ? "yes" : "");
  field("crew", r.crew_size() > 1 ? absl::StrCat(r.crew_size()) : "");
  field("asset", r.asset_tag());
  field("department", absl::StrCat(r.department(), r.key_department() ? " (key)" : ""));
  field("description", r.description());
  field("technician", r.technician_id());
  field("created", TimeText(r.created_at()));
  field("sla deadline", TimeText(r.sla_deadline()));
  field("not before", TimeText(r.not_before()));
  field("due by", TimeText(r.due_by()));
  field("offer expires", TimeText(r.offer_expires_at()));
  field("accepted", TimeText(r.accepted_at()));
  field("closed", TimeText(r.completed_at()));
  field("hold reason", r.hold_reason());
  if (r.state() == v1::REQUEST_STATE_COMPLETED) field("resolved", r.resolved() ? "yes" : "no");
  field("materials used", MaterialsText(r.materials_used()));
  field("notes", r.completion_notes());
  field("feedback", r.feedback_rating() ? absl::StrCat(r.feedback_rating(), "/5") : "");
  field("alert", r.alert_dedupe_key());
  field("declined by", absl::StrJoin(r.declined_by(), " "));
  field("idempotency key", r.idempotency_key());
}

std::string TechnicianLine(const v1::Technician& t) {
  std::string line = absl::StrCat(t.technician_id(), " ", Name(t.state()), " in ",
                                  t.current_zone_id().empty() ? "-" : t.current_zone_id(),
                                  " (home ", t.home_zone_id(), ") ", SkillsText(t.skills()));
  if (!t.request_id().empty()) absl::StrAppend(&line, " job ", t.request_id());
  return line;
}

}  // namespace dispatchd::ctl
