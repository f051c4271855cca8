// dispatchctl's RequestService commands: submit, list, show, cancel,
// urgency, assign, feedback.
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "clients/dispatchctl/commands.h"
#include "clients/dispatchctl/format.h"

namespace dispatchd::ctl {
namespace {

namespace v1 = ::dispatch::v1;
constexpr char kRequests[] = "dispatch.v1.RequestService.";

std::string Rpc(const char* method) { return absl::StrCat(kRequests, method); }

// Prints the reply's request in one line (or as JSON).
void PrintReply(Invocation& inv, const google::protobuf::Message& reply, const v1::Request& r) {
  inv.Print(reply, [&] { inv.out() << RequestLine(r) << "\n"; });
}

absl::Status Submit(Invocation& inv) {
  v1::SubmitRequestRequest req;
  ASSIGN_OR_RETURN(std::string zone, inv.Required("zone"));
  ASSIGN_OR_RETURN(std::string urgency_text, inv.Required("urgency"));
  ASSIGN_OR_RETURN(v1::Urgency urgency, ParseUrgency(urgency_text));
  req.set_zone_id(zone);
  req.set_urgency(urgency);
  if (inv.GetAll("skill").empty()) return UsageError("--skill is required (e.g. electrical:2)");
  for (const std::string& s : inv.GetAll("skill")) {
    ASSIGN_OR_RETURN(v1::Skill skill, ParseSkill(s));
    v1::SkillRequirement* need = req.add_required_skills();
    need->set_skill(skill.skill());
    need->set_min_level(skill.level());
  }
  for (const std::string& m : inv.GetAll("material")) {
    ASSIGN_OR_RETURN(*req.add_materials(), ParseMaterial(m));
  }
  req.set_idempotency_key(inv.Get("key"));
  req.set_location(inv.Get("location"));
  req.set_category(inv.Get("category"));
  ASSIGN_OR_RETURN(uint32_t minutes, inv.Uint("minutes"));
  ASSIGN_OR_RETURN(uint32_t crew, inv.Uint("crew"));
  req.set_estimated_minutes(minutes);
  req.set_crew_size(crew);
  req.set_asset_tag(inv.Get("asset"));
  req.set_department(inv.Get("department"));
  req.set_key_department(inv.Has("key_department"));
  req.set_description(inv.Get("description"));
  if (inv.Has("not_before")) {
    ASSIGN_OR_RETURN(*req.mutable_not_before(), ParseTime("not_before", inv.Get("not_before")));
  }
  if (inv.Has("due_by")) {
    ASSIGN_OR_RETURN(*req.mutable_due_by(), ParseTime("due_by", inv.Get("due_by")));
  }
  ASSIGN_OR_RETURN(Client * c, inv.client());
  ASSIGN_OR_RETURN(v1::SubmitRequestResponse reply,
                   c->Unary(c->requests(), &v1::RequestService::Stub::SubmitRequest, req));
  inv.Print(reply, [&] {
    inv.out() << RequestLine(reply.request()) << ", SLA by "
              << TimeText(reply.request().sla_deadline()) << "\n";
  });
  return absl::OkStatus();
}

absl::Status List(Invocation& inv) {
  v1::ListRequestsRequest req;
  req.set_zone_id(inv.Get("zone"));
  if (inv.Has("state")) {
    ASSIGN_OR_RETURN(v1::RequestState state, ParseRequestState(inv.Get("state")));
    req.set_state(state);
  }
  if (inv.Has("urgency")) {
    ASSIGN_OR_RETURN(v1::Urgency urgency, ParseUrgency(inv.Get("urgency")));
    req.set_urgency(urgency);
  }
  ASSIGN_OR_RETURN(uint32_t limit, inv.Uint("limit"));
  req.set_page_size(limit != 0 && limit < 1000 ? limit : 1000);
  ASSIGN_OR_RETURN(Client * c, inv.client());
  v1::ListRequestsResponse all;
  do {  // Every page, up to --limit.
    ASSIGN_OR_RETURN(v1::ListRequestsResponse page,
                     c->Unary(c->requests(), &v1::RequestService::Stub::ListRequests, req));
    for (v1::Request& r : *page.mutable_requests()) {
      if (limit != 0 && static_cast<uint32_t>(all.requests_size()) >= limit) break;
      *all.add_requests() = std::move(r);
    }
    req.set_page_token(page.next_page_token());
  } while (!req.page_token().empty() &&
           (limit == 0 || static_cast<uint32_t>(all.requests_size()) < limit));
  inv.Print(all, [&] {
    if (all.requests().empty()) {
      inv.out() << "no requests\n";
      return;
    }
    Table table({"REQUEST", "STATE", "URGENCY", "ZONE", "CATEGORY", "TECHNICIAN", "SLA DEADLINE",
                 "LOCATION"});
    for (const v1::Request& r : all.requests()) {
      table.Add({r.request_id(), Name(r.state()), Name(r.effective_urgency()), r.zone_id(),
                 r.category(), r.technician_id().empty() ? "-" : r.technician_id(),
                 TimeText(r.sla_deadline()), r.location()});
    }
    table.Print(inv.out());
  });
  return absl::OkStatus();
}

absl::Status Show(Invocation& inv) {
  v1::GetRequestRequest req;
  req.set_request_id(inv.args()[0]);
  ASSIGN_OR_RETURN(Client * c, inv.client());
  ASSIGN_OR_RETURN(v1::GetRequestResponse reply,
                   c->Unary(c->requests(), &v1::RequestService::Stub::GetRequest, req));
  inv.Print(reply, [&] { PrintRequest(inv.out(), reply.request()); });
  return absl::OkStatus();
}

absl::Status Cancel(Invocation& inv) {
  v1::CancelRequestRequest req;
  req.set_request_id(inv.args()[0]);
  ASSIGN_OR_RETURN(std::string reason, inv.Required("reason"));
  req.set_reason(reason);
  ASSIGN_OR_RETURN(Client * c, inv.client());
  ASSIGN_OR_RETURN(v1::CancelRequestResponse reply,
                   c->Unary(c->requests(), &v1::RequestService::Stub::CancelRequest, req));
  PrintReply(inv, reply, reply.request());
  return absl::OkStatus();
}

absl::Status ChangeUrgency(Invocation& inv) {
  v1::ChangeUrgencyRequest req;
  req.set_request_id(inv.args()[0]);
  ASSIGN_OR_RETURN(v1::Urgency urgency, ParseUrgency(inv.args()[1]));
  req.set_urgency(urgency);
  ASSIGN_OR_RETURN(std::string reason, inv.Required("reason"));
  req.set_reason(reason);
  ASSIGN_OR_RETURN(Client * c, inv.client());
  ASSIGN_OR_RETURN(v1::ChangeUrgencyResponse reply,
                   c->Unary(c->requests(), &v1::RequestService::Stub::ChangeUrgency, req));
  inv.Print(reply, [&] {
    inv.out() << RequestLine(reply.request()) << ", SLA by "
              << TimeText(reply.request().sla_deadline()) << "\n";
  });
  return absl::OkStatus();
}

absl::Status Assign(Invocation& inv) {
  v1::AssignRequestRequest req;
  req.set_request_id(inv.args()[0]);
  req.set_technician_id(inv.args()[1]);
  ASSIGN_OR_RETURN(std::string reason, inv.Required("reason"));
  req.set_reason(reason);
  ASSIGN_OR_RETURN(Client * c, inv.client());
  ASSIGN_OR_RETURN(v1::AssignRequestResponse reply,
                   c->Unary(c->requests(), &v1::RequestService::Stub::AssignRequest, req));
  PrintReply(inv, reply, reply.request());
  return absl::OkStatus();
}

absl::Status Feedback(Invocation& inv) {
  v1::RecordFeedbackRequest req;
  req.set_request_id(inv.args()[0]);
  uint32_t rating = 0;
  if (!absl::SimpleAtoi(inv.args()[1], &rating)) {
    return UsageError(absl::StrCat("rating: '", inv.args()[1], "' is not a number 1..5"));
  }
  req.set_rating(rating);
  req.set_comment(inv.Get("comment"));
  ASSIGN_OR_RETURN(Client * c, inv.client());
  ASSIGN_OR_RETURN(v1::RecordFeedbackResponse reply,
                   c->Unary(c->requests(), &v1::RequestService::Stub::RecordFeedback, req));
  inv.Print(reply, [&] {
    inv.out() << reply.request().request_id() << " rated " << reply.request().feedback_rating()
              << "/5\n";
  });
  return absl::OkStatus();
}

}  // namespace

void AddRequestCommands(std::vector<Command>* commands) {
  const FlagSpec reason{"reason", "TEXT", "why (required; kept in the log)"};
  commands->push_back(
      {{"submit"},
       "",
       0,
       0,
       "file a repair request",
       {{"zone", "ZONE", "zone of the work (required)"},
        {"urgency", "LEVEL", "low, normal, urgent or emergency (required)"},
        {"skill", "SKILL[:LEVEL]", "a skill the job needs, e.g. electrical:2 (at least one)", true},
        {"category", "TEXT", "e.g. lighting"},
        {"location", "TEXT", "building and room"},
        {"minutes", "N", "expected minutes on site"},
        {"material", "SKU=QTY", "material the job needs", true},
        {"crew", "N", "technicians needed (default 1)"},
        {"asset", "TAG", "asset barcode/RFID"},
        {"department", "TEXT", "requesting department"},
        {"key_department", "", "a department served first"},
        {"description", "TEXT", "what is wrong"},
        {"not_before", "TIME", "scheduled start, RFC 3339"},
        {"due_by", "TIME", "requester's deadline, RFC 3339"},
        {"key", "KEY", "idempotency key: a retry with it files nothing twice"}},
       {Rpc("SubmitRequest")},
       Submit});
  commands->push_back({{"list"},
                       "",
                       0,
                       0,
                       "list requests, oldest first",
                       {{"zone", "ZONE", "only this zone"},
                        {"state", "STATE", "only this state, e.g. queued, in_progress"},
                        {"urgency", "LEVEL", "only this urgency"},
                        {"limit", "N", "at most N requests (default: all)"}},
                       {Rpc("ListRequests")},
                       List});
  commands->push_back(
      {{"show"}, "<request_id>", 1, 1, "one request, every field", {}, {Rpc("GetRequest")}, Show});
  commands->push_back({{"cancel"},
                       "<request_id>",
                       1,
                       1,
                       "withdraw a request, releasing its technician",
                       {reason},
                       {Rpc("CancelRequest")},
                       Cancel});
  commands->push_back({{"urgency"},
                       "<request_id> <low|normal|urgent|emergency>",
                       2,
                       2,
                       "re-file a request at another urgency (SLA recomputed)",
                       {reason},
                       {Rpc("ChangeUrgency")},
                       ChangeUrgency});
  commands->push_back({{"assign"},
                       "<request_id> <technician_id>",
                       2,
                       2,
                       "give a request to a technician now (dispatcher override)",
                       {reason},
                       {Rpc("AssignRequest")},
                       Assign});
  commands->push_back({{"feedback"},
                       "<request_id> <rating 1..5>",
                       2,
                       2,
                       "record the requester's rating of completed work",
                       {{"comment", "TEXT", "the requester's words"}},
                       {Rpc("RecordFeedback")},
                       Feedback});
}

}  // namespace dispatchd::ctl
