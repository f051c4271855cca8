// dispatchctl's admin, inventory and alert commands: zones, policy, digest,
// stock, deliveries, alert raise / resolve, and journal verify (local,
// read-only).
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/status_macros.h"
#include "clients/dispatchctl/commands.h"
#include "clients/dispatchctl/format.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/json_util.h"
#include "services/journal_tool.h"

namespace dispatchd::ctl {
namespace {

namespace v1 = ::dispatch::v1;
using google::protobuf::FieldDescriptor;

std::string Rpc(const char* service, const char* method) {
  return absl::StrCat("dispatch.v1.", service, ".", method);
}

absl::Status ListZones(Invocation& inv) {
  ASSIGN_OR_RETURN(Client * c, inv.client());
  ASSIGN_OR_RETURN(
      v1::ListZonesResponse reply,
      c->Unary(c->admin(), &v1::AdminService::Stub::ListZones, v1::ListZonesRequest()));
  inv.Print(reply, [&] {
    if (reply.zones().empty()) {
      inv.out() << "no zones\n";
      return;
    }
    Table table({"ZONE", "NAME", "NEIGHBOURS (travel min)"});
    for (const v1::Zone& z : reply.zones()) {
      std::vector<std::string> links;
      for (const v1::Neighbor& n : z.neighbors()) {
        links.push_back(absl::StrCat(n.zone_id(), ":", n.travel_minutes()));
      }
      table.Add({z.zone_id(), z.name(), links.empty() ? "-" : absl::StrJoin(links, " ")});
    }
    table.Print(inv.out());
  });
  return absl::OkStatus();
}

absl::Status UpsertZone(Invocation& inv) {
  v1::UpsertZoneRequest req;
  req.set_zone_id(inv.args()[0]);
  req.set_name(inv.Get("name"));
  for (const std::string& text : inv.GetAll("neighbor")) {
    const size_t colon = text.find(':');
    uint32_t minutes = 0;
    if (colon == std::string::npos || colon == 0 ||
        !absl::SimpleAtoi(text.substr(colon + 1), &minutes)) {
      return UsageError(absl::StrCat("--neighbor: '", text, "' is not zone:minutes"));
    }
    v1::Neighbor* n = req.add_neighbors();
    n->set_zone_id(text.substr(0, colon));
    n->set_travel_minutes(minutes);
  }
  ASSIGN_OR_RETURN(Client * c, inv.client());
  ASSIGN_OR_RETURN(v1::UpsertZoneResponse reply,
                   c->Unary(c->admin(), &v1::AdminService::Stub::UpsertZone, req));
  inv.Print(reply, [&] {
    inv.out() << "zone " << reply.zone().zone_id() << " (" << reply.zone().name() << ") with "
              << reply.zone().neighbors_size() << " neighbours\n";
  });
  return absl::OkStatus();
}

// The policy's settable fields (singular whole numbers and booleans), for
// `policy set --<field>=value`; the others only come with --file.
bool Settable(const FieldDescriptor* f) {
  return !f->is_repeated() && (f->cpp_type() == FieldDescriptor::CPPTYPE_UINT32 ||
                               f->cpp_type() == FieldDescriptor::CPPTYPE_BOOL);
}

std::vector<FlagSpec> PolicyFlags() {
  std::vector<FlagSpec> flags = {{"file", "FILE", "the whole policy as protobuf JSON"}};
  const google::protobuf::Descriptor* d = v1::Policy::descriptor();
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    if (!Settable(f)) continue;
    flags.push_back({f->name(), f->cpp_type() == FieldDescriptor::CPPTYPE_BOOL ? "true|false" : "N",
                     "set this field; the others keep their values"});
  }
  return flags;
}

// One "name: value" line per field (per element of a repeated one).
void PrintPolicy(Invocation& inv, const google::protobuf::Message& reply, const v1::Policy& p) {
  inv.Print(reply, [&] {
    const google::protobuf::Reflection* r = p.GetReflection();
    const google::protobuf::Descriptor* d = p.GetDescriptor();
    for (int i = 0; i < d->field_count(); ++i) {
      const FieldDescriptor* f = d->field(i);
      const int n = f->is_repeated() ? r->FieldSize(p, f) : 1;
      if (n == 0) inv.out() << f->name() << ": none\n";
      for (int k = 0; k < n; ++k) {
        std::string value;
        google::protobuf::TextFormat::PrintFieldValueToString(p, f, f->is_repeated() ? k : -1,
                                                              &value);
        inv.out() << f->name() << ": " << value << "\n";
      }
    }
  });
}

absl::Status GetPolicy(Invocation& inv) {
  ASSIGN_OR_RETURN(Client * c, inv.client());
  ASSIGN_OR_RETURN(
      v1::GetPolicyResponse reply,
      c->Unary(c->admin(), &v1::AdminService::Stub::GetPolicy, v1::GetPolicyRequest()));
  PrintPolicy(inv, reply, reply.policy());
  return absl::OkStatus();
}

// Sets the policy's field named `f` from `text`; a usage error if malformed.
absl::Status SetPolicyField(v1::Policy* p, const FieldDescriptor* f, const std::string& text) {
  const google::protobuf::Reflection* r = p->GetReflection();
  if (f->cpp_type() == FieldDescriptor::CPPTYPE_BOOL) {
    if (text != "true" && text != "false") {
      return UsageError(absl::StrCat("--", f->name(), " is true or false"));
    }
    r->SetBool(p, f, text == "true");
    return absl::OkStatus();
  }
  uint32_t value = 0;
  if (f->cpp_type() != FieldDescriptor::CPPTYPE_UINT32 || !absl::SimpleAtoi(text, &value)) {
    return UsageError(absl::StrCat("--", f->name(), ": '", text, "' is not a whole number"));
  }
  r->SetUInt32(p, f, value);
  return absl::OkStatus();
}

absl::Status SetPolicy(Invocation& inv) {
  ASSIGN_OR_RETURN(Client * c, inv.client());
  v1::SetPolicyRequest req;
  if (inv.Has("file")) {
    std::ifstream in(inv.Get("file"));
    std::ostringstream text;
    text << in.rdbuf();
    if (!in ||
        !google::protobuf::util::JsonStringToMessage(text.str(), req.mutable_policy()).ok()) {
      return UsageError(
          absl::StrCat("--file: cannot read a Policy in JSON from ", inv.Get("file")));
    }
  } else {  // Start from the current policy: SetPolicy replaces all of it.
    ASSIGN_OR_RETURN(
        v1::GetPolicyResponse current,
        c->Unary(c->admin(), &v1::AdminService::Stub::GetPolicy, v1::GetPolicyRequest()));
    *req.mutable_policy() = current.policy();
  }
  const google::protobuf::Descriptor* d = v1::Policy::descriptor();
  for (int i = 0; i < d->field_count(); ++i) {
    if (Settable(d->field(i)) && inv.Has(d->field(i)->name())) {
      RETURN_IF_ERROR(
          SetPolicyField(req.mutable_policy(), d->field(i), inv.Get(d->field(i)->name())));
    }
  }
  ASSIGN_OR_RETURN(v1::SetPolicyResponse reply,
                   c->Unary(c->admin(), &v1::AdminService::Stub::SetPolicy, req));
  PrintPolicy(inv, reply, reply.policy());
  return absl::OkStatus();
}

absl::Status Digest(Invocation& inv) {
  ASSIGN_OR_RETURN(Client * c, inv.client());
  ASSIGN_OR_RETURN(
      v1::GetStateDigestResponse reply,
      c->Unary(c->admin(), &v1::AdminService::Stub::GetStateDigest, v1::GetStateDigestRequest()));
  inv.Print(reply, [&] { inv.out() << reply.digest() << " " << reply.last_sequence() << "\n"; });
  return absl::OkStatus();
}

absl::Status GetStock(Invocation& inv) {
  v1::GetStockRequest req;
  req.set_depot_zone_id(inv.Get("depot"));
  req.set_sku(inv.Get("sku"));
  ASSIGN_OR_RETURN(Client * c, inv.client());
  ASSIGN_OR_RETURN(v1::GetStockResponse reply,
                   c->Unary(c->inventory(), &v1::InventoryService::Stub::GetStock, req));
  inv.Print(reply, [&] {
    if (reply.levels().empty()) {
      inv.out() << "no stock\n";
      return;
    }
    Table table({"DEPOT", "SKU", "ON HAND", "RESERVED"});
    for (const v1::StockLevel& l : reply.levels()) {
      table.Add(
          {l.depot_zone_id(), l.sku(), absl::StrCat(l.on_hand()), absl::StrCat(l.reserved())});
    }
    table.Print(inv.out());
  });
  return absl::OkStatus();
}

absl::Status AdjustStock(Invocation& inv) {
  v1::AdjustStockRequest req;
  req.set_depot_zone_id(inv.args()[0]);
  req.set_sku(inv.args()[1]);
  int64_t delta = 0;
  if (!absl::SimpleAtoi(inv.args()[2], &delta)) {
    return UsageError(absl::StrCat("delta: '", inv.args()[2], "' is not a whole number"));
  }
  req.set_delta(delta);
  ASSIGN_OR_RETURN(std::string reason, inv.Required("reason"));
  req.set_reason(reason);
  ASSIGN_OR_RETURN(Client * c, inv.client());
  ASSIGN_OR_RETURN(v1::AdjustStockResponse reply,
                   c->Unary(c->inventory(), &v1::InventoryService::Stub::AdjustStock, req));
  inv.Print(reply, [&] {
    inv.out() << reply.level().depot_zone_id() << " " << reply.level().sku() << ": "
              << reply.level().on_hand() << " on hand\n";
  });
  return absl::OkStatus();
}

absl::Status Shortages(Invocation& inv) {
  v1::ListShortagesRequest req;
  req.set_zone_id(inv.Get("zone"));
  ASSIGN_OR_RETURN(Client * c, inv.client());
  ASSIGN_OR_RETURN(v1::ListShortagesResponse reply,
                   c->Unary(c->inventory(), &v1::InventoryService::Stub::ListShortages, req));
  inv.Print(reply, [&] {
    if (reply.shortages().empty()) {
      inv.out() << "no shortages\n";
      return;
    }
    Table table({"REQUEST", "ZONE", "SKU", "NEEDED", "ON HAND"});
    for (const v1::Shortage& s : reply.shortages()) {
      table.Add({s.request_id(), s.zone_id(), s.sku(), absl::StrCat(s.needed()),
                 absl::StrCat(s.on_hand())});
    }
    table.Print(inv.out());
  });
  return absl::OkStatus();
}

absl::Status Deliveries(Invocation& inv) {
  v1::ListDeliveriesRequest req;
  req.set_zone_id(inv.Get("zone"));
  req.set_location(inv.Get("location"));
  const std::string state = inv.Get("state");
  if (state == "open") {
    req.set_state(v1::DELIVERY_STATE_OPEN);
  } else if (state == "departed") {
    req.set_state(v1::DELIVERY_STATE_DEPARTED);
  } else if (!state.empty()) {
    return UsageError(absl::StrCat("--state: '", state, "' is not open or departed"));
  }
  ASSIGN_OR_RETURN(Client * c, inv.client());
  ASSIGN_OR_RETURN(v1::ListDeliveriesResponse reply,
                   c->Unary(c->inventory(), &v1::InventoryService::Stub::ListDeliveries, req));
  inv.Print(reply, [&] {
    if (reply.deliveries().empty()) {
      inv.out() << "no deliveries\n";
      return;
    }
    Table table({"DELIVERY", "STATE", "FROM", "TO", "LOCATION", "UNITS", "REQUESTS", "OPENED",
                 "DEPARTS"});
    for (const v1::Delivery& d : reply.deliveries()) {
      table.Add({d.delivery_id(),
                 d.state() == v1::DELIVERY_STATE_OPEN ? "open" : "departed",
                 d.depot_zone_id(), d.zone_id(), d.location().empty() ? "-" : d.location(),
                 absl::StrCat(d.units()), absl::StrJoin(d.request_ids(), ","),
                 TimeText(d.opened_at()),
                 TimeText(d.state() == v1::DELIVERY_STATE_OPEN ? d.departs_at()
                                                               : d.departed_at())});
    }
    table.Print(inv.out());
  });
  return absl::OkStatus();
}

absl::Status RaiseAlert(Invocation& inv) {
  v1::RaiseAlertRequest req;
  ASSIGN_OR_RETURN(std::string key, inv.Required("key"));
  ASSIGN_OR_RETURN(std::string zone, inv.Required("zone"));
  req.set_dedupe_key(key);
  req.set_zone_id(zone);
  req.set_source(inv.Get("source"));
  req.set_kind(inv.Get("kind"));
  req.set_location(inv.Get("location"));
  req.set_description(inv.Get("description"));
  ASSIGN_OR_RETURN(uint32_t severity, inv.Uint("severity"));
  ASSIGN_OR_RETURN(uint32_t crew, inv.Uint("crew"));
  req.set_severity(severity);
  req.set_crew_size(crew);
  for (const std::string& s : inv.GetAll("skill")) {
    ASSIGN_OR_RETURN(v1::Skill skill, ParseSkill(s));
    v1::SkillRequirement* need = req.add_required_skills();
    need->set_skill(skill.skill());
    need->set_min_level(skill.level());
  }
  ASSIGN_OR_RETURN(Client * c, inv.client());
  ASSIGN_OR_RETURN(v1::RaiseAlertResponse reply,
                   c->Unary(c->alerts(), &v1::AlertService::Stub::RaiseAlert, req));
  inv.Print(reply, [&] {
    inv.out() << (reply.duplicate() ? "duplicate: same emergency " : "opened ")
              << RequestLine(reply.request()) << "\n";
  });
  return absl::OkStatus();
}

absl::Status ResolveAlert(Invocation& inv) {
  v1::ResolveAlertRequest req;
  ASSIGN_OR_RETURN(std::string key, inv.Required("key"));
  req.set_dedupe_key(key);
  req.set_note(inv.Get("note"));
  ASSIGN_OR_RETURN(Client * c, inv.client());
  ASSIGN_OR_RETURN(v1::ResolveAlertResponse reply,
                   c->Unary(c->alerts(), &v1::AlertService::Stub::ResolveAlert, req));
  inv.Print(reply, [&] { inv.out() << "resolved " << RequestLine(reply.request()) << "\n"; });
  return absl::OkStatus();
}

absl::Status VerifyJournal(Invocation& inv) {
  std::cout.flush();
  if (services::VerifyJournal(inv.args()[0]) != 0) {
    return LocalFailure("the journal does not verify (see above)");
  }
  return absl::OkStatus();
}

}  // namespace

void AddAdminCommands(std::vector<Command>* commands) {
  commands->push_back({{"zones", "list"},
                       "",
                       0,
                       0,
                       "the site's zones and travel links",
                       {},
                       {Rpc("AdminService", "ListZones")},
                       ListZones});
  commands->push_back({{"zones", "upsert"},
                       "<zone_id>",
                       1,
                       1,
                       "create or replace a zone (links are symmetric)",
                       {{"name", "TEXT", "display name"},
                        {"neighbor", "ZONE:MIN", "a linked zone and travel minutes", true}},
                       {Rpc("AdminService", "UpsertZone")},
                       UpsertZone});
  commands->push_back({{"policy", "get"},
                       "",
                       0,
                       0,
                       "the office's policy",
                       {},
                       {Rpc("AdminService", "GetPolicy")},
                       GetPolicy});
  commands->push_back({{"policy", "set"},
                       "",
                       0,
                       0,
                       "change policy fields (the rest keep their values)",
                       PolicyFlags(),
                       {Rpc("AdminService", "GetPolicy"), Rpc("AdminService", "SetPolicy")},
                       SetPolicy});
  commands->push_back({{"digest"},
                       "",
                       0,
                       0,
                       "the state digest and its last event sequence",
                       {},
                       {Rpc("AdminService", "GetStateDigest")},
                       Digest});
  commands->push_back({{"stock", "get"},
                       "",
                       0,
                       0,
                       "stock on hand",
                       {{"depot", "ZONE", "only this depot"}, {"sku", "SKU", "only this sku"}},
                       {Rpc("InventoryService", "GetStock")},
                       GetStock});
  commands->push_back({{"stock", "adjust"},
                       "<depot_zone> <sku> <delta>",
                       3,
                       3,
                       "add (delta > 0) or remove stock",
                       {{"reason", "TEXT", "e.g. delivery 4471 (required)"}},
                       {Rpc("InventoryService", "AdjustStock")},
                       AdjustStock});
  commands->push_back({{"stock", "shortages"},
                       "",
                       0,
                       0,
                       "open requests whose materials stock does not cover",
                       {{"zone", "ZONE", "only this zone"}},
                       {Rpc("InventoryService", "ListShortages")},
                       Shortages});
  commands->push_back({{"deliveries"},
                       "",
                       0,
                       0,
                       "deliveries of reserved materials: open (merging small ones to one "
                       "building) and recently departed",
                       {{"zone", "ZONE", "only to this zone"},
                        {"location", "TEXT", "only to this building"},
                        {"state", "open|departed", "only in this state"}},
                       {Rpc("InventoryService", "ListDeliveries")},
                       Deliveries});
  commands->push_back(
      {{"alert", "raise"},
       "",
       0,
       0,
       "open an emergency (one per dedupe key)",
       {{"key", "KEY",
         "dedupe key naming the incident, e.g. library/water_leak/2026-11-24 "
         "(required)"},
        {"zone", "ZONE", "zone of the incident (required)"},
        {"source", "NAME", "who raises it, e.g. bms-leak-sensor"},
        {"kind", "KIND", "e.g. water_leak, power_outage"},
        {"location", "TEXT", "building and room"},
        {"severity", "N", "1 (minor) .. 5 (critical)"},
        {"crew", "N", "technicians needed (default 1)"},
        {"description", "TEXT", "what is happening"},
        {"skill", "SKILL[:LEVEL]", "a skill the crew needs (default: the kind's)", true}},
       {Rpc("AlertService", "RaiseAlert")},
       RaiseAlert});
  commands->push_back({{"alert", "resolve"},
                       "",
                       0,
                       0,
                       "close the emergency an alert opened",
                       {{"key", "KEY", "the alert's dedupe key (required)"},
                        {"note", "TEXT", "how it was resolved"}},
                       {Rpc("AlertService", "ResolveAlert")},
                       ResolveAlert});
  commands->push_back({{"journal", "verify"},
                       "<data_dir>",
                       1,
                       1,
                       "check a data directory's journal and snapshots (local, read-only)",
                       {},
                       {},
                       VerifyJournal});
}

std::vector<Command> AllCommands() {
  std::vector<Command> commands;
  AddRequestCommands(&commands);
  AddConsoleCommands(&commands);
  AddTechnicianCommands(&commands);
  AddTechWatchCommands(&commands);
  AddAdminCommands(&commands);
  return commands;
}

}  // namespace dispatchd::ctl
