// Test support for the dispatchctl tests: the real dispatchctl binary as a
// child process, run to completion (exit code, stdout, stderr) or kept
// running with its stdin and stdout on pipes (tech watch, board --watch).
#ifndef DISPATCHD_TESTS_CLIENTS_CTL_PROCESS_H_
#define DISPATCHD_TESTS_CLIENTS_CTL_PROCESS_H_

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

extern char** environ;

namespace dispatchd::ctl::testing {

// What a finished dispatchctl run left behind.
struct CtlResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// The environment without DISPATCH_* variables, plus `extra` ("NAME=value").
inline std::vector<std::string> CtlEnvironment(const std::vector<std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    if (!absl::StartsWith(*e, "DISPATCH_")) env.push_back(*e);
  }
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

inline std::vector<char*> CtlPointers(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  for (std::string& s : strings) pointers.push_back(s.data());
  pointers.push_back(nullptr);
  return pointers;
}

// A running dispatchctl with stdin, stdout and stderr on pipes.
class CtlProcess {
 public:
  explicit CtlProcess(const std::vector<std::string>& args,
                      const std::vector<std::string>& env = {}) {
    int in[2], out[2], err[2];
    // Close-on-exec, so that no other child (a daemon started later) holds
    // this one's stdin open.
    EXPECT_EQ(pipe2(in, O_CLOEXEC), 0);
    EXPECT_EQ(pipe2(out, O_CLOEXEC), 0);
    EXPECT_EQ(pipe2(err, O_CLOEXEC), 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, err[1], STDERR_FILENO);
    for (int fd : {in[0], in[1], out[0], out[1], err[0], err[1]}) {
      posix_spawn_file_actions_addclose(&actions, fd);
    }
    std::vector<std::string> argv_strings = {DISPATCHCTL_BINARY};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<std::string> env_strings = CtlEnvironment(env);
    std::vector<char*> argv = CtlPointers(argv_strings);
    std::vector<char*> envp = CtlPointers(env_strings);
    EXPECT_EQ(posix_spawn(&pid_, DISPATCHCTL_BINARY, &actions, nullptr, argv.data(), envp.data()),
              0);
    posix_spawn_file_actions_destroy(&actions);
    close(in[0]);
    close(out[1]);
    close(err[1]);
    in_ = in[1];
    out_ = out[0];
    err_ = err[0];
  }
  ~CtlProcess() {
    if (in_ >= 0) close(in_);
    if (!exit_code_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    close(out_);
    close(err_);
  }

  void Send(const std::string& line) {
    const std::string text = line + "\n";
    EXPECT_EQ(write(in_, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  }
  void CloseStdin() {
    close(in_);
    in_ = -1;
  }

  // Waits up to `timeout` for a stdout line containing `needle`, after the
  // lines already taken; returns it.
  std::optional<std::string> LineWith(const std::string& needle,
                                      absl::Duration timeout = absl::Seconds(20)) {
    const absl::Time deadline = absl::Now() + timeout;
    while (true) {
      for (size_t nl; (nl = pending_.find('\n')) != std::string::npos;) {
        std::string line = pending_.substr(0, nl);
        pending_.erase(0, nl + 1);
        if (absl::StrContains(line, needle)) return line;
      }
      if (absl::Now() >= deadline || !Pump(absl::Now() < deadline ? 100 : 0)) {
        return std::nullopt;
      }
    }
  }

  // Waits for the exit (after reading everything); the exit code, or -1
  // if it did not exit within `timeout`.
  int Wait(absl::Duration timeout = absl::Seconds(20)) {
    const absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      Pump(50);
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        while (Pump(0)) {
        }
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        return *exit_code_;
      }
    }
    return -1;
  }

  void Signal(int signal) { kill(pid_, signal); }

  const std::string& out() const { return all_out_; }
  const std::string& err() const { return all_err_; }

 private:
  // Reads what is ready on stdout and stderr, waiting up to `ms`. False
  // once both are closed.
  bool Pump(int ms) {
    pollfd p[2] = {{out_open_ ? out_ : -1, POLLIN, 0}, {err_open_ ? err_ : -1, POLLIN, 0}};
    if (!out_open_ && !err_open_) return false;
    if (poll(p, 2, ms) <= 0) return true;
    char chunk[4096];
    if (p[0].revents != 0) {
      const ssize_t n = read(out_, chunk, sizeof(chunk));
      if (n <= 0) {
        out_open_ = false;
      } else {
        pending_.append(chunk, n);
        all_out_.append(chunk, n);
      }
    }
    if (p[1].revents != 0) {
      const ssize_t n = read(err_, chunk, sizeof(chunk));
      if (n <= 0) {
        err_open_ = false;
      } else {
        all_err_.append(chunk, n);
      }
    }
    return true;
  }

  pid_t pid_ = -1;
  int in_ = -1, out_ = -1, err_ = -1;
  bool out_open_ = true, err_open_ = true;
  std::string pending_, all_out_, all_err_;
  std::optional<int> exit_code_;
};

// Runs dispatchctl with `args` to completion (stdin at end of input).
inline CtlResult RunCtl(const std::vector<std::string>& args,
                        const std::vector<std::string>& env = {}) {
  CtlProcess process(args, env);
  process.CloseStdin();
  CtlResult result;
  result.exit_code = process.Wait(absl::Seconds(30));
  result.out = process.out();
  result.err = process.err();
  return result;
}

// How often `needle` starts a line of `text`.
inline int LinesStartingWith(const std::string& text, const std::string& needle) {
  int count = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    if (text.compare(start, needle.size(), needle) == 0) ++count;
    start = end + 1;
  }
  return count;
}

}  // namespace dispatchd::ctl::testing

#endif  // DISPATCHD_TESTS_CLIENTS_CTL_PROCESS_H_
