// dispatchctl's technician administration: technicians list, show,
// register, update, location, and shift start / end.
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/status_macros.h"
#include "clients/dispatchctl/commands.h"
#include "clients/dispatchctl/format.h"

namespace dispatchd::ctl {
namespace {

namespace v1 = ::dispatch::v1;

std::string Rpc(const char* method) {
  return absl::StrCat("dispatch.v1.TechnicianService.", method);
}

void PrintTechnicianReply(Invocation& inv, const google::protobuf::Message& reply,
                          const v1::Technician& t) {
  inv.Print(reply, [&] { inv.out() << TechnicianLine(t) << "\n"; });
}

absl::Status AddSkills(Invocation& inv, google::protobuf::RepeatedPtrField<v1::Skill>* skills) {
  for (const std::string& s : inv.GetAll("skill")) {
    ASSIGN_OR_RETURN(*skills->Add(), ParseSkill(s));
  }
  return absl::OkStatus();
}

absl::Status ListTechnicians(Invocation& inv) {
  v1::ListTechniciansRequest req;
  req.set_zone_id(inv.Get("zone"));
  ASSIGN_OR_RETURN(Client * c, inv.client());
  ASSIGN_OR_RETURN(v1::ListTechniciansResponse reply,
                   c->Unary(c->technicians(), &v1::TechnicianService::Stub::ListTechnicians, req));
  inv.Print(reply, [&] {
    if (reply.technicians().empty()) {
      inv.out() << "no technicians\n";
      return;
    }
    Table table({"TECHNICIAN", "NAME", "STATE", "ZONE", "HOME", "JOB", "ON HOLD", "SKILLS"});
    for (const v1::Technician& t : reply.technicians()) {
      table.Add(
          {t.technician_id(), t.name(), Name(t.state()),
           t.current_zone_id().empty() ? "-" : t.current_zone_id(), t.home_zone_id(),
           t.request_id().empty() ? "-" : t.request_id(),
           t.on_hold_request_ids().empty() ? "-" : absl::StrJoin(t.on_hold_request_ids(), " "),
           SkillsText(t.skills())});
    }
    table.Print(inv.out());
  });
  return absl::OkStatus();
}

absl::Status ShowTechnician(Invocation& inv) {
  v1::GetTechnicianRequest req;
  req.set_technician_id(inv.args()[0]);
  ASSIGN_OR_RETURN(Client * c, inv.client());
  ASSIGN_OR_RETURN(v1::GetTechnicianResponse reply,
                   c->Unary(c->technicians(), &v1::TechnicianService::Stub::GetTechnician, req));
  inv.Print(reply, [&] {
    const v1::Technician& t = reply.technician();
    inv.out() << "technician: " << t.technician_id() << "\nname: " << t.name()
              << "\nstate: " << Name(t.state())
              << "\nzone: " << (t.current_zone_id().empty() ? "-" : t.current_zone_id())
              << "\nhome zone: " << t.home_zone_id() << "\nskills: " << SkillsText(t.skills())
              << "\njob: " << (t.request_id().empty() ? "-" : t.request_id()) << "\non hold: "
              << (t.on_hold_request_ids().empty() ? "-"
                                                  : absl::StrJoin(t.on_hold_request_ids(), " "))
              << "\n";
  });
  return absl::OkStatus();
}

absl::Status Register(Invocation& inv) {
  v1::RegisterTechnicianRequest req;
  req.set_technician_id(inv.args()[0]);
  req.set_name(inv.Get("name"));
  ASSIGN_OR_RETURN(std::string home, inv.Required("home"));
  req.set_home_zone_id(home);
  if (inv.GetAll("skill").empty()) return UsageError("--skill is required (e.g. plumbing:3)");
  RETURN_IF_ERROR(AddSkills(inv, req.mutable_skills()));
  ASSIGN_OR_RETURN(Client * c, inv.client());
  ASSIGN_OR_RETURN(
      v1::RegisterTechnicianResponse reply,
      c->Unary(c->technicians(), &v1::TechnicianService::Stub::RegisterTechnician, req));
  PrintTechnicianReply(inv, reply, reply.technician());
  return absl::OkStatus();
}

absl::Status Update(Invocation& inv) {
  v1::UpdateTechnicianRequest req;
  req.set_technician_id(inv.args()[0]);
  req.set_name(inv.Get("name"));
  req.set_home_zone_id(inv.Get("home"));
  RETURN_IF_ERROR(AddSkills(inv, req.mutable_skills()));
  ASSIGN_OR_RETURN(Client * c, inv.client());
  ASSIGN_OR_RETURN(v1::UpdateTechnicianResponse reply,
                   c->Unary(c->technicians(), &v1::TechnicianService::Stub::UpdateTechnician, req));
  PrintTechnicianReply(inv, reply, reply.technician());
  return absl::OkStatus();
}

absl::Status Location(Invocation& inv) {
  v1::ReportLocationRequest req;
  req.set_technician_id(inv.args()[0]);
  req.set_zone_id(inv.args()[1]);
  ASSIGN_OR_RETURN(Client * c, inv.client());
  ASSIGN_OR_RETURN(v1::ReportLocationResponse reply,
                   c->Unary(c->technicians(), &v1::TechnicianService::Stub::ReportLocation, req));
  PrintTechnicianReply(inv, reply, reply.technician());
  return absl::OkStatus();
}

absl::Status ShiftStart(Invocation& inv) {
  v1::StartShiftRequest req;
  req.set_technician_id(inv.args()[0]);
  req.set_zone_id(inv.Get("zone"));
  ASSIGN_OR_RETURN(Client * c, inv.client());
  ASSIGN_OR_RETURN(v1::StartShiftResponse reply,
                   c->Unary(c->technicians(), &v1::TechnicianService::Stub::StartShift, req));
  PrintTechnicianReply(inv, reply, reply.technician());
  return absl::OkStatus();
}

absl::Status ShiftEnd(Invocation& inv) {
  v1::EndShiftRequest req;
  req.set_technician_id(inv.args()[0]);
  ASSIGN_OR_RETURN(Client * c, inv.client());
  ASSIGN_OR_RETURN(v1::EndShiftResponse reply,
                   c->Unary(c->technicians(), &v1::TechnicianService::Stub::EndShift, req));
  PrintTechnicianReply(inv, reply, reply.technician());
  return absl::OkStatus();
}

}  // namespace

void AddTechnicianCommands(std::vector<Command>* commands) {
  const FlagSpec skill{"skill", "SKILL[:LEVEL]", "a skill and level 1..5, e.g. plumbing:3", true};
  commands->push_back({{"technicians", "list"},
                       "",
                       0,
                       0,
                       "technicians and what they do",
                       {{"zone", "ZONE", "only those now in this zone"}},
                       {Rpc("ListTechnicians")},
                       ListTechnicians});
  commands->push_back({{"technicians", "show"},
                       "<technician_id>",
                       1,
                       1,
                       "one technician",
                       {},
                       {Rpc("GetTechnician")},
                       ShowTechnician});
  commands->push_back(
      {{"technicians", "register"},
       "<technician_id>",
       1,
       1,
       "add a technician (off shift)",
       {{"name", "TEXT", "display name"}, {"home", "ZONE", "home zone (required)"}, skill},
       {Rpc("RegisterTechnician")},
       Register});
  commands->push_back(
      {{"technicians", "update"},
       "<technician_id>",
       1,
       1,
       "change name, home zone or skills (skills replace all)",
       {{"name", "TEXT", "new display name"}, {"home", "ZONE", "new home zone"}, skill},
       {Rpc("UpdateTechnician")},
       Update});
  commands->push_back({{"technicians", "location"},
                       "<technician_id> <zone>",
                       2,
                       2,
                       "report where a technician is now",
                       {},
                       {Rpc("ReportLocation")},
                       Location});
  commands->push_back({{"technicians", "shift", "start"},
                       "<technician_id>",
                       1,
                       1,
                       "start a shift: the technician becomes available",
                       {{"zone", "ZONE", "where they start (default: home zone)"}},
                       {Rpc("StartShift")},
                       ShiftStart});
  commands->push_back({{"technicians", "shift", "end"},
                       "<technician_id>",
                       1,
                       1,
                       "end a shift: unstarted work goes back to the queue",
                       {},
                       {Rpc("EndShift")},
                       ShiftEnd});
}

}  // namespace dispatchd::ctl
