#include "clients/dispatchctl/cli.h"

#include <algorithm>
#include <cstdlib>
#include <set>

#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/util/json_util.h"

namespace dispatchd::ctl {
namespace {

constexpr char kUsagePayload[] = "dispatchctl/usage";
constexpr char kLocalPayload[] = "dispatchctl/local";

// Flags every command takes.
const std::vector<FlagSpec>& GlobalFlags() {
  static const auto* flags = new std::vector<FlagSpec>{
      {"server", "HOST:PORT", "dispatchd's address (env DISPATCH_SERVER; default 127.0.0.1:50051)"},
      {"token", "TOKEN", "bearer token sent with every call (env DISPATCH_TOKEN)"},
      {"tls_ca", "FILE", "PEM CA certificate: use TLS and trust this CA (env DISPATCH_TLS_CA)"},
      {"tls_cert", "FILE", "PEM client certificate for mutual TLS (env DISPATCH_TLS_CERT)"},
      {"tls_key", "FILE", "PEM client key for mutual TLS (env DISPATCH_TLS_KEY)"},
      {"json", "", "print protobuf JSON (one object per line) instead of tables"},
      {"help", "", "show help for the command"},
  };
  return *flags;
}

const FlagSpec* FindFlag(const std::vector<FlagSpec>& flags, absl::string_view name) {
  for (const FlagSpec& f : flags) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

std::string CommandName(const std::vector<std::string>& path) {
  return absl::StrCat("dispatchctl ", absl::StrJoin(path, " "));
}

std::string UsageLine(const Command& c) {
  std::string line = CommandName(c.path);
  if (!c.args.empty()) absl::StrAppend(&line, " ", c.args);
  if (!c.flags.empty()) absl::StrAppend(&line, " [flags]");
  return line;
}

void PrintFlags(std::ostream& out, const std::vector<FlagSpec>& flags) {
  for (const FlagSpec& f : flags) {
    std::string name = absl::StrCat("--", f.name, f.value.empty() ? "" : " ", f.value);
    out << "  " << name << std::string(name.size() < 24 ? 24 - name.size() : 1, ' ') << f.help
        << (f.repeated ? " (repeatable)" : "") << "\n";
  }
}

void PrintCommandHelp(std::ostream& out, const Command& c) {
  out << "usage: " << UsageLine(c) << "\n  " << c.summary << "\n";
  if (!c.flags.empty()) {
    out << "\nflags:\n";
    PrintFlags(out, c.flags);
  }
  out << "\nglobal flags:\n";
  PrintFlags(out, GlobalFlags());
}

// Commands whose path starts with `prefix`.
std::vector<const Command*> Under(const std::vector<Command>& commands,
                                  const std::vector<std::string>& prefix) {
  std::vector<const Command*> found;
  for (const Command& c : commands) {
    if (c.path.size() >= prefix.size() &&
        std::equal(prefix.begin(), prefix.end(), c.path.begin())) {
      found.push_back(&c);
    }
  }
  return found;
}

void PrintOverview(std::ostream& out, const std::vector<const Command*>& commands) {
  out << "usage: dispatchctl <command> [args] [flags]   (dispatchctl <command> --help)\n\n"
         "commands:\n";
  size_t width = 0;
  for (const Command* c : commands) width = std::max(width, UsageLine(*c).size());
  for (const Command* c : commands) {
    std::string usage = UsageLine(*c).substr(std::string("dispatchctl ").size());
    out << "  " << usage << std::string(width - usage.size() - 10, ' ') << c->summary << "\n";
  }
  out << "\nglobal flags:\n";
  PrintFlags(out, GlobalFlags());
  out << "\nexit codes: 0 ok, 1 check failed, 2 usage error, 10 + gRPC code on a server error\n";
}

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "" : value;
}

struct Parsed {
  std::vector<std::string> args;
  std::map<std::string, std::vector<std::string>> flags;
};

// Parses `tokens` against `specs`; stops at nothing. Values of
// non-boolean flags come as --name=value or --name value.
absl::StatusOr<Parsed> ParseTokens(const std::vector<std::string>& tokens,
                                   const std::vector<FlagSpec>& specs) {
  Parsed parsed;
  bool only_args = false;
  for (size_t i = 0; i < tokens.size(); ++i) {
    const std::string& t = tokens[i];
    if (only_args || !absl::StartsWith(t, "--")) {
      if (t == "-h") {
        parsed.flags["help"].push_back("true");
        continue;
      }
      parsed.args.push_back(t);
      continue;
    }
    if (t == "--") {
      only_args = true;
      continue;
    }
    const size_t eq = t.find('=');
    const std::string name = t.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
    const FlagSpec* spec = FindFlag(specs, name);
    if (spec == nullptr) spec = FindFlag(GlobalFlags(), name);
    if (spec == nullptr) return UsageError(absl::StrCat("unknown flag --", name));
    std::string value;
    if (eq != std::string::npos) {
      value = t.substr(eq + 1);
    } else if (spec->value.empty()) {
      value = "true";
    } else if (i + 1 < tokens.size()) {
      value = tokens[++i];
    } else {
      return UsageError(absl::StrCat("--", name, " needs a value (", spec->value, ")"));
    }
    if (spec->value.empty() && value != "true" && value != "false") {
      return UsageError(absl::StrCat("--", name, " is true or false, not '", value, "'"));
    }
    if (spec->value.empty() && value == "false") {
      parsed.flags.erase(name);
      continue;
    }
    parsed.flags[name].push_back(value);
  }
  return parsed;
}

int Report(const absl::Status& status, const std::string& who, Io& io) {
  if (status.ok()) return kExitOk;
  if (status.GetPayload(kUsagePayload).has_value()) {
    *io.err << who << ": " << status.message() << "\n";
    return kExitUsage;
  }
  if (status.GetPayload(kLocalPayload).has_value()) {
    *io.err << who << ": " << status.message() << "\n";
    return kExitFailed;
  }
  *io.err << who << ": " << absl::StatusCodeToString(status.code()) << ": " << status.message()
          << "\n";
  return kExitServerBase + static_cast<int>(status.code());
}

}  // namespace

absl::Status UsageError(const std::string& message) {
  absl::Status status = absl::InvalidArgumentError(message);
  status.SetPayload(kUsagePayload, absl::Cord("1"));
  return status;
}

absl::Status LocalFailure(const std::string& message) {
  absl::Status status = absl::FailedPreconditionError(message);
  status.SetPayload(kLocalPayload, absl::Cord("1"));
  return status;
}

Invocation::Invocation(const Command* command, std::vector<std::string> args,
                       std::map<std::string, std::vector<std::string>> flags,
                       ConnectionOptions connection, bool json, Io* io)
    : command_(command),
      args_(std::move(args)),
      flags_(std::move(flags)),
      connection_(std::move(connection)),
      json_(json),
      io_(io) {}

std::string Invocation::Get(const std::string& flag, const std::string& fallback) const {
  auto it = flags_.find(flag);
  return it == flags_.end() ? fallback : it->second.back();
}

std::vector<std::string> Invocation::GetAll(const std::string& flag) const {
  auto it = flags_.find(flag);
  return it == flags_.end() ? std::vector<std::string>() : it->second;
}

absl::StatusOr<std::string> Invocation::Required(const std::string& flag) const {
  std::string value = Get(flag);
  if (value.empty()) return UsageError(absl::StrCat("--", flag, " is required"));
  return value;
}

absl::StatusOr<uint32_t> Invocation::Uint(const std::string& flag, uint32_t fallback) const {
  if (!Has(flag)) return fallback;
  uint32_t value = 0;
  if (!absl::SimpleAtoi(Get(flag), &value)) {
    return UsageError(absl::StrCat("--", flag, ": '", Get(flag), "' is not a whole number"));
  }
  return value;
}

absl::StatusOr<int64_t> Invocation::Int(const std::string& flag, int64_t fallback) const {
  if (!Has(flag)) return fallback;
  int64_t value = 0;
  if (!absl::SimpleAtoi(Get(flag), &value)) {
    return UsageError(absl::StrCat("--", flag, ": '", Get(flag), "' is not a whole number"));
  }
  return value;
}

absl::StatusOr<Client*> Invocation::client() {
  if (client_ == nullptr) {
    absl::StatusOr<std::unique_ptr<Client>> made = Client::Create(connection_);
    if (!made.ok()) return UsageError(std::string(made.status().message()));
    client_ = *std::move(made);
  }
  return client_.get();
}

void Invocation::Print(const google::protobuf::Message& message,
                       const std::function<void()>& human) {
  if (!json_) {
    human();
    return;
  }
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string text;
  (void)google::protobuf::util::MessageToJsonString(message, &text, options);
  out() << text << std::endl;
}

int RunDispatchctl(const std::vector<Command>& commands, const std::vector<std::string>& args,
                   Io& io) {
  // The command's words come first; global flags may come before them.
  std::vector<std::string> words;
  std::vector<std::string> leading_flags;
  size_t i = 0;
  for (; i < args.size(); ++i) {
    const std::string& t = args[i];
    if (absl::StartsWith(t, "-")) {
      leading_flags.push_back(t);
      const FlagSpec* spec = FindFlag(GlobalFlags(), t.substr(2));
      if (spec != nullptr && !spec->value.empty() && i + 1 < args.size()) {
        leading_flags.push_back(args[++i]);
      }
      continue;
    }
    std::vector<std::string> longer = words;
    longer.push_back(t);
    if (Under(commands, longer).empty()) break;
    words = std::move(longer);
  }
  std::vector<std::string> rest = leading_flags;
  rest.insert(rest.end(), args.begin() + i, args.end());

  const Command* command = nullptr;
  for (const Command& c : commands) {
    if (c.path == words) command = &c;
  }
  if (command == nullptr) {
    absl::StatusOr<Parsed> parsed = ParseTokens(rest, {});
    const bool help =
        parsed.ok() && parsed->flags.count("help") > 0 && (parsed->args.empty() || words.empty());
    if (help || (words.empty() && rest == std::vector<std::string>{"help"})) {
      PrintOverview(*io.out, Under(commands, words));
      return kExitOk;
    }
    PrintOverview(*io.err, Under(commands, words));
    const std::string what = i < args.size() ? args[i] : "";
    std::string problem = absl::StrCat("unknown command '", what, "'");
    if (what.empty()) {
      problem = words.empty()
                    ? "no command given"
                    : absl::StrCat("'", absl::StrJoin(words, " "), "' needs a subcommand");
    }
    return Report(UsageError(problem), "dispatchctl", io);
  }

  const std::string who = CommandName(command->path);
  absl::StatusOr<Parsed> parsed = ParseTokens(rest, command->flags);
  if (parsed.ok() && parsed->flags.count("help") > 0) {
    PrintCommandHelp(*io.out, *command);
    return kExitOk;
  }
  if (parsed.ok() &&
      (parsed->args.size() < command->min_args || parsed->args.size() > command->max_args)) {
    parsed = UsageError(command->args.empty() ? std::string("takes no arguments")
                                              : absl::StrCat("expects ", command->args));
  }
  if (!parsed.ok()) {
    *io.err << "usage: " << UsageLine(*command) << "   (--help for more)\n";
    return Report(parsed.status(), who, io);
  }

  auto flag_or_env = [&](const char* flag, const char* env, const std::string& fallback) {
    auto it = parsed->flags.find(flag);
    if (it != parsed->flags.end()) return it->second.back();
    std::string value = Env(env);
    return value.empty() ? fallback : value;
  };
  ConnectionOptions connection;
  connection.server = flag_or_env("server", "DISPATCH_SERVER", connection.server);
  connection.token = flag_or_env("token", "DISPATCH_TOKEN", "");
  connection.tls_ca = flag_or_env("tls_ca", "DISPATCH_TLS_CA", "");
  connection.tls_cert = flag_or_env("tls_cert", "DISPATCH_TLS_CERT", "");
  connection.tls_key = flag_or_env("tls_key", "DISPATCH_TLS_KEY", "");
  const bool json = parsed->flags.count("json") > 0;
  Invocation invocation(command, std::move(parsed->args), std::move(parsed->flags),
                        std::move(connection), json, &io);
  return Report(command->run(invocation), who, io);
}

std::vector<std::string> CoveredRpcs(const std::vector<Command>& commands) {
  std::set<std::string> rpcs;
  for (const Command& c : commands) rpcs.insert(c.rpcs.begin(), c.rpcs.end());
  return std::vector<std::string>(rpcs.begin(), rpcs.end());
}

}  // namespace dispatchd::ctl
