// dispatchctl: the dispatcher's command line for dispatchd, and the
// reference technician and alert client. See clients/README.md.
//
//   dispatchctl board --server=127.0.0.1:50051
//   dispatchctl tech watch --id T-ELEC-02
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "clients/dispatchctl/cli.h"
#include "clients/dispatchctl/commands.h"

namespace {

std::atomic<bool>* g_stop = nullptr;

// The first Ctrl-C asks the running command to stop (streams end cleanly);
// a second one exits at once.
void OnStopSignal(int) {
  if (g_stop == nullptr || g_stop->exchange(true)) _exit(130);
}

// Reads stdin a line at a time, giving up within 0.2 s of a stop.
class StdinLines {
 public:
  explicit StdinLines(std::atomic<bool>* stop) : stop_(stop) {}

  std::optional<std::string> Next() {
    while (true) {
      const size_t nl = buffer_.find('\n');
      if (nl != std::string::npos) {
        std::string line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        return line;
      }
      if (eof_ || stop_->load()) {
        if (eof_ && !buffer_.empty() && !stop_->load()) {
          std::string line;
          line.swap(buffer_);
          return line;
        }
        return std::nullopt;
      }
      pollfd p{STDIN_FILENO, POLLIN, 0};
      if (poll(&p, 1, 200) <= 0) continue;
      char chunk[4096];
      const ssize_t n = read(STDIN_FILENO, chunk, sizeof(chunk));
      if (n <= 0) {
        eof_ = true;
        continue;
      }
      buffer_.append(chunk, n);
    }
  }

 private:
  std::atomic<bool>* const stop_;
  std::string buffer_;
  bool eof_ = false;
};

}  // namespace

int main(int argc, char** argv) {
  dispatchd::ctl::Io io;
  io.out = &std::cout;
  io.err = &std::cerr;
  g_stop = io.stop.get();
  struct sigaction action = {};
  action.sa_handler = OnStopSignal;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  signal(SIGPIPE, SIG_IGN);
  StdinLines stdin_lines(io.stop.get());
  io.read_line = [&stdin_lines] { return stdin_lines.Next(); };

  std::vector<std::string> args(argv + 1, argv + argc);
  const int code = dispatchd::ctl::RunDispatchctl(dispatchd::ctl::AllCommands(), args, io);
  std::cout.flush();
  return code;
}
