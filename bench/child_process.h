// A child process with its stdout on a pipe: the real dispatchd, or this
// benchmark's own binary in a child mode (the no-op server, the memory
// probe). Lines are read with a timeout; the destructor kills the child
// (SIGKILL) if it is still running.
//
// Thread safety: not thread-safe; one owner thread.
#ifndef DISPATCHD_BENCH_CHILD_PROCESS_H_
#define DISPATCHD_BENCH_CHILD_PROCESS_H_

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace dispatchd::bench {

class ChildProcess {
 public:
  // Starts `binary` with `args` (argv[1..]). UNAVAILABLE if it cannot.
  static absl::StatusOr<std::unique_ptr<ChildProcess>> Start(
      const std::string& binary, const std::vector<std::string>& args);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // The next stdout line containing `needle`, waiting up to `timeout`;
  // nullopt on timeout or when the child closes stdout.
  std::optional<std::string> LineWith(const std::string& needle,
                                      absl::Duration timeout = absl::Seconds(60));
  // Sends `signal`, waits up to `timeout`; the exit status or nullopt.
  std::optional<int> Stop(int signal, absl::Duration timeout = absl::Seconds(30));
  pid_t pid() const { return pid_; }

 private:
  ChildProcess(pid_t pid, int out) : pid_(pid), out_(out) {}
  pid_t pid_;
  int out_;
  std::string buffer_;
  bool exited_ = false;
};

// The absolute path of the running binary.
std::string SelfPath();

}  // namespace dispatchd::bench

#endif  // DISPATCHD_BENCH_CHILD_PROCESS_H_
