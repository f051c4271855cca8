// How dispatchctl shows things to people: aligned tables, short enum names,
// times, one-line request summaries; and how it reads enum names and
// "skill:level" / "sku=qty" arguments.
//
// Thread safety: stateless functions and a plain value type; safe from any
// thread.
#ifndef DISPATCHD_CLIENTS_DISPATCHCTL_FORMAT_H_
#define DISPATCHD_CLIENTS_DISPATCHCTL_FORMAT_H_

#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "dispatch/v1/common.pb.h"
#include "dispatch/v1/technicians.pb.h"
#include "google/protobuf/timestamp.pb.h"

namespace dispatchd::ctl {

// Rows under a header, columns padded to their widest cell.
class Table {
 public:
  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
  void Add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  bool empty() const { return rows_.empty(); }
  void Print(std::ostream& out) const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

// Enum values without their prefix: "NORMAL", "IN_PROGRESS", "AVAILABLE".
std::string Name(dispatch::v1::Urgency urgency);
std::string Name(dispatch::v1::RequestState state);
std::string Name(dispatch::v1::TechnicianState state);
std::string Name(dispatch::v1::AssignmentChange change);

// Accepts "normal", "NORMAL" or "URGENCY_NORMAL"; a usage error otherwise.
absl::StatusOr<dispatch::v1::Urgency> ParseUrgency(const std::string& text);
absl::StatusOr<dispatch::v1::RequestState> ParseRequestState(const std::string& text);

// "2026-11-24 14:00Z" (UTC); "-" when unset.
std::string TimeText(const google::protobuf::Timestamp& time);
// RFC 3339 ("2026-11-24T14:00:00Z"); a usage error naming `flag` otherwise.
absl::StatusOr<google::protobuf::Timestamp> ParseTime(const std::string& flag,
                                                      const std::string& text);

// "electrical:3" -> {electrical, 3}; "electrical" -> level 1.
absl::StatusOr<dispatch::v1::Skill> ParseSkill(const std::string& text);
// "LAMP-T8-18W=2" -> {LAMP-T8-18W, 2}.
absl::StatusOr<dispatch::v1::MaterialLine> ParseMaterial(const std::string& text);

// "electrical>=3 plumbing>=1".
std::string SkillsText(const google::protobuf::RepeatedPtrField<dispatch::v1::SkillRequirement>& s);
std::string SkillsText(const google::protobuf::RepeatedPtrField<dispatch::v1::Skill>& s);
// "LAMP-T8-18W x2, FUSE-13A x1".
std::string MaterialsText(
    const google::protobuf::RepeatedPtrField<dispatch::v1::MaterialLine>& materials);

// "R-000004 OFFERED NORMAL lighting @ Library 2F (library) -> T-ELEC-02".
std::string RequestLine(const dispatch::v1::Request& request);
// Every set field of a request, one "name: value" line each.
void PrintRequest(std::ostream& out, const dispatch::v1::Request& request);
// "T-ELEC-02 Ana Silva AVAILABLE in library (home library) electrical:3 R-000004".
std::string TechnicianLine(const dispatch::v1::Technician& technician);

}  // namespace dispatchd::ctl

#endif  // DISPATCHD_CLIENTS_DISPATCHCTL_FORMAT_H_
