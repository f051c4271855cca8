// The dispatchctl command framework: the command table, argument parsing,
// help, output (tables or protobuf JSON) and exit codes.
//
//   std::vector<Command> commands = AllCommands();
//   return RunDispatchctl(commands, args, io);
//
// Exit codes: 0 success; 1 a local check failed (journal verify); 2 a usage
// error (unknown command or flag, missing or malformed argument); 10 + the
// gRPC status code when the server (or the channel) answered with an error,
// e.g. 15 for NOT_FOUND, 24 for UNAVAILABLE.
//
// Thread safety: RunDispatchctl is reentrant; an Invocation belongs to one
// command run, and only its client() and io() may be shared with threads
// the command starts.
#ifndef DISPATCHD_CLIENTS_DISPATCHCTL_CLI_H_
#define DISPATCHD_CLIENTS_DISPATCHCTL_CLI_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "clients/dispatchctl/client.h"
#include "google/protobuf/message.h"

namespace dispatchd::ctl {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitServerBase = 10;

// Where a command reads and writes. `stop` is set by Ctrl-C (and by a
// command that wants its helper threads to end).
struct Io {
  std::ostream* out = nullptr;
  std::ostream* err = nullptr;
  // The next line of input without its newline; nullopt at end of input or
  // once `*stop` is set. Must return within ~0.2 s of `*stop` being set.
  std::function<std::optional<std::string>()> read_line;
  std::shared_ptr<std::atomic<bool>> stop = std::make_shared<std::atomic<bool>>(false);
};

// A usage error (exit 2); a local failure (exit 1). Any other non-OK status
// is taken as the server's answer (exit 10 + code).
absl::Status UsageError(const std::string& message);
absl::Status LocalFailure(const std::string& message);

struct FlagSpec {
  std::string name;   // Without the dashes.
  std::string value;  // Placeholder, e.g. "ZONE"; empty: a boolean flag.
  std::string help;
  bool repeated = false;  // May be given more than once.
};

class Invocation;

struct Command {
  std::vector<std::string> path;  // e.g. {"technicians", "shift", "start"}.
  std::string args;               // Positional arguments, e.g. "<request_id>".
  size_t min_args = 0;
  size_t max_args = 0;
  std::string summary;  // One line.
  std::vector<FlagSpec> flags;
  // The dispatch.v1 methods it calls, "dispatch.v1.RequestService.GetRequest".
  std::vector<std::string> rpcs;
  std::function<absl::Status(Invocation&)> run;
};

// The parsed command line of one command.
class Invocation {
 public:
  Invocation(const Command* command, std::vector<std::string> args,
             std::map<std::string, std::vector<std::string>> flags, ConnectionOptions connection,
             bool json, Io* io);

  const Command& command() const { return *command_; }
  const std::vector<std::string>& args() const { return args_; }
  bool json() const { return json_; }
  Io& io() { return *io_; }
  std::ostream& out() { return *io_->out; }

  bool Has(const std::string& flag) const { return flags_.count(flag) > 0; }
  // The flag's last value, or `fallback` if it is absent.
  std::string Get(const std::string& flag, const std::string& fallback = "") const;
  std::vector<std::string> GetAll(const std::string& flag) const;
  // The flag's value, or a usage error naming it.
  absl::StatusOr<std::string> Required(const std::string& flag) const;
  // Whole numbers; a usage error naming the flag if malformed.
  absl::StatusOr<uint32_t> Uint(const std::string& flag, uint32_t fallback = 0) const;
  absl::StatusOr<int64_t> Int(const std::string& flag, int64_t fallback = 0) const;

  // The connection, made on first use.
  absl::StatusOr<Client*> client();

  // Writes `message` as one line of protobuf JSON under --json; otherwise
  // calls `human`.
  void Print(const google::protobuf::Message& message, const std::function<void()>& human);

 private:
  const Command* command_;
  std::vector<std::string> args_;
  std::map<std::string, std::vector<std::string>> flags_;
  ConnectionOptions connection_;
  bool json_;
  Io* io_;
  std::unique_ptr<Client> client_;
};

// Runs dispatchctl with `args` (without the program name); returns the exit
// code. Reads DISPATCH_SERVER, DISPATCH_TOKEN and DISPATCH_TLS_CA / _CERT /
// _KEY from the environment; flags override them.
int RunDispatchctl(const std::vector<Command>& commands, const std::vector<std::string>& args,
                   Io& io);

// Every dispatch.v1 method some command calls.
std::vector<std::string> CoveredRpcs(const std::vector<Command>& commands);

}  // namespace dispatchd::ctl

#endif  // DISPATCHD_CLIENTS_DISPATCHCTL_CLI_H_
