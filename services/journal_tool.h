// The read-only journal tools behind `dispatch-journal` and
// `dispatchctl journal verify`: verify, dump and digest a data directory
// without changing it. Each prints its report (stdout for the result,
// stderr for per-segment and per-snapshot lines) and returns the process
// exit code: 0 if all is well, 1 otherwise.
//
// Thread safety: stateless functions; each call reads the files on its own.
// Do not run them on a data directory a live dispatchd is appending to if
// you need a stable answer (a torn tail is reported, not an error).
#ifndef DISPATCHD_SERVICES_JOURNAL_TOOL_H_
#define DISPATCHD_SERVICES_JOURNAL_TOOL_H_

#include <cstdint>
#include <string>

namespace dispatchd::services {

// Checks every segment and record of <data_dir>/journal, replays every event
// through the engine, and checks every snapshot in <data_dir>/snapshots and
// compares it with the replay at its sequence. 0: dispatchd will start on
// this data directory; 1: it will refuse (damage, a bad snapshot).
int VerifyJournal(const std::string& data_dir);

// Prints the events of <data_dir>/journal from sequence `from` on, at most
// `limit` of them (0: all), one line each, or whole (text format) if `full`.
int DumpJournal(const std::string& data_dir, uint64_t from, uint64_t limit, bool full);

// Replays <data_dir>/journal up to sequence `to` (0: all) and prints
// "<digest> <last_sequence>", as AdminService.GetStateDigest reports them.
int DigestJournal(const std::string& data_dir, uint64_t to);

}  // namespace dispatchd::services

#endif  // DISPATCHD_SERVICES_JOURNAL_TOOL_H_
