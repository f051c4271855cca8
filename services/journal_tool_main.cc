// dispatch-journal: reads a data directory's journal without changing it.
//
//   dispatch-journal verify <data_dir>   every segment and record checked, every
//                                        event replayed through the engine, every
//                                        snapshot checked and compared with the
//                                        replay at its sequence; exit 0 if all
//                                        is well
//   dispatch-journal dump <data_dir> [--from=N] [--limit=N] [--full]
//                                        events as readable lines (or whole)
//   dispatch-journal digest <data_dir> [--to=N]
//                                        the state digest of a replay, to
//                                        compare with GetStateDigest
//
// The work is in services/journal_tool.h, shared with `dispatchctl journal
// verify`.
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "services/journal_tool.h"

ABSL_FLAG(uint64_t, from, 1, "dump: the first sequence to print");
ABSL_FLAG(uint64_t, limit, 0, "dump: print at most this many events (0: all)");
ABSL_FLAG(bool, full, false, "dump: print each event whole (protobuf text format)");
ABSL_FLAG(uint64_t, to, 0, "digest: replay events up to this sequence only (0: all)");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "dispatch-journal verify|dump|digest <data_dir>: reads dispatchd's journal without changing "
      "it");
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  const std::string verb = args.size() == 3 ? args[1] : "";
  if (verb != "verify" && verb != "dump" && verb != "digest") {
    std::fprintf(stderr,
                 "usage: dispatch-journal verify|dump|digest <data_dir> [--from=N] "
                 "[--limit=N] [--full] [--to=N]\n");
    return 2;
  }
  const std::string data_dir = args[2];
  if (verb == "verify") return dispatchd::services::VerifyJournal(data_dir);
  if (verb == "dump") {
    return dispatchd::services::DumpJournal(data_dir, absl::GetFlag(FLAGS_from),
                                            absl::GetFlag(FLAGS_limit), absl::GetFlag(FLAGS_full));
  }
  return dispatchd::services::DigestJournal(data_dir, absl::GetFlag(FLAGS_to));
}
