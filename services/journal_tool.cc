#include "services/journal_tool.h"

#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "dispatch/v1/events.pb.h"
#include "engine/engine.h"
#include "journal/segment_reader.h"
#include "services/event_codec.h"
#include "services/event_text.h"
#include "services/snapshot_store.h"

namespace dispatchd::services {
namespace {

using journal::SegmentScan;

// Calls `fn` for every event of every segment in order; prints one line per
// segment to stderr when `report`. Returns false if the journal is damaged
// anywhere but a torn tail, or an event does not decode or fn fails.
bool ForEachEvent(const std::string& dir, bool report,
                  const std::function<absl::Status(const dispatch::v1::Event&)>& fn) {
  journal::FileSystem* fs = journal::PosixFileSystem();
  absl::StatusOr<std::vector<journal::SegmentFile>> segments = journal::ListSegments(fs, dir);
  if (!segments.ok()) {
    std::fprintf(stderr, "%s\n", segments.status().ToString().c_str());
    return false;
  }
  // Retention may have dropped the oldest segments: the log starts where
  // the first segment left starts (a snapshot must cover what is before).
  uint64_t last = segments->empty() ? 0 : segments->front().first_sequence - 1;
  for (size_t i = 0; i < segments->size(); ++i) {
    const journal::SegmentFile& seg = (*segments)[i];
    absl::StatusOr<journal::FileBytes> data = fs->MapFile(seg.path);
    if (!data.ok()) {
      std::fprintf(stderr, "%s\n", data.status().ToString().c_str());
      return false;
    }
    SegmentScan scan = journal::CheckSegment(seg, data->view(), last);
    if (report) {
      std::fprintf(stderr, "%s: records %llu..%llu (%llu), %s\n", seg.path.c_str(),
                   static_cast<unsigned long long>(scan.first_sequence),
                   static_cast<unsigned long long>(scan.last_sequence),
                   static_cast<unsigned long long>(scan.records),
                   scan.end == SegmentScan::End::kClean
                       ? "clean"
                       : absl::StrFormat("%s at offset %u: %s",
                                         scan.end == SegmentScan::End::kTorn ? "torn" : "CORRUPT",
                                         scan.end_offset, scan.problem)
                             .c_str());
    }
    const bool torn_tail = scan.end == SegmentScan::End::kTorn && i + 1 == segments->size();
    if (scan.end != SegmentScan::End::kClean && !torn_tail) return false;
    if (scan.end_offset == 0 && scan.end != SegmentScan::End::kClean) break;
    SegmentScan again;
    absl::Status st = journal::ScanSegment(
        data->view(),
        [&](const journal::Record& r) -> absl::Status {
          dispatch::v1::Event e;
          if (!e.ParseFromString(r.payload) || e.sequence() != r.sequence) {
            return absl::DataLossError(
                absl::StrFormat("record %u is not a valid event", r.sequence));
          }
          return fn(e);
        },
        &again);
    if (!st.ok()) {
      std::fprintf(stderr, "%s: %s\n", seg.path.c_str(), st.ToString().c_str());
      return false;
    }
    last = scan.last_sequence;
  }
  return true;
}

// Checks every snapshot file; returns the digest each valid one should
// match, by its last sequence. Sets *ok to false if any is damaged.
std::map<uint64_t, std::string> CheckSnapshots(const std::string& data_dir, bool* ok) {
  services::SnapshotStore store((std::filesystem::path(data_dir) / "snapshots").string(),
                                journal::PosixFileSystem());
  std::map<uint64_t, std::string> digests;
  absl::StatusOr<std::vector<std::string>> files = store.List();
  for (const std::string& path : files.ok() ? *files : std::vector<std::string>()) {
    absl::StatusOr<services::LoadedSnapshot> loaded = store.Load(path);
    if (!loaded.ok()) {
      std::fprintf(stderr, "%s\n", loaded.status().ToString().c_str());
      *ok = false;
      continue;
    }
    digests[loaded->last_sequence] = engine::ImageDigest(loaded->image);
  }
  return digests;
}

// The journal directory of a data directory.
std::string JournalDir(const std::string& data_dir) {
  return (std::filesystem::path(data_dir) / "journal").string();
}

// Where a replay of the journal starts. From nothing when the journal
// holds event 1; after retention dropped its oldest segments, from the
// oldest valid snapshot that reaches the journal's first event (loaded
// into `engine`). FAILED_PRECONDITION if there is none (dispatchd would
// refuse to start too).
absl::Status LoadStartingPoint(const std::string& data_dir, engine::Engine& engine) {
  absl::StatusOr<std::vector<journal::SegmentFile>> segments =
      journal::ListSegments(journal::PosixFileSystem(), JournalDir(data_dir));
  if (!segments.ok()) return segments.status();
  const uint64_t first = segments->empty() ? 1 : segments->front().first_sequence;
  if (first <= 1) return absl::OkStatus();
  services::SnapshotStore store((std::filesystem::path(data_dir) / "snapshots").string(),
                                journal::PosixFileSystem());
  absl::StatusOr<std::vector<std::string>> files = store.List();  // Newest first.
  std::optional<services::LoadedSnapshot> oldest;
  for (const std::string& path : files.ok() ? *files : std::vector<std::string>()) {
    absl::StatusOr<services::LoadedSnapshot> loaded = store.Load(path);
    if (loaded.ok() && loaded->last_sequence + 1 >= first) oldest = *std::move(loaded);
  }
  if (!oldest) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "the journal starts at event %u and no valid snapshot covers events 1 to %u", first,
        first - 1));
  }
  std::fprintf(stderr, "starting from %s (events up to %llu; older segments were dropped)\n",
               oldest->path.c_str(), static_cast<unsigned long long>(oldest->last_sequence));
  return engine.LoadImage(oldest->image);
}

}  // namespace

int VerifyJournal(const std::string& data_dir) {
  const std::string dir = JournalDir(data_dir);
  engine::SystemClock clock;
  engine::Engine engine(&clock);
  bool snapshots_ok = true;
  std::map<uint64_t, std::string> snapshots = CheckSnapshots(data_dir, &snapshots_ok);
  if (absl::Status start = LoadStartingPoint(data_dir, engine); !start.ok()) {
    std::fprintf(stderr, "%s\n", start.ToString().c_str());
    std::printf("%s: dispatchd will refuse to start on this journal\n", dir.c_str());
    return 1;
  }
  // Snapshots the replay starts at or after need no comparison.
  snapshots.erase(snapshots.begin(), snapshots.upper_bound(engine.last_sequence()));
  bool ok = ForEachEvent(dir, true, [&](const dispatch::v1::Event& e) -> absl::Status {
    if (e.sequence() <= engine.last_sequence()) return absl::OkStatus();
    if (absl::Status st = services::ApplyRecorded(e, engine); !st.ok()) return st;
    auto it = snapshots.find(e.sequence());
    if (it == snapshots.end()) return absl::OkStatus();
    const bool same = it->second == engine.Digest();
    std::fprintf(stderr, "snapshot at %llu: %s\n", static_cast<unsigned long long>(it->first),
                 same ? "matches the journal" : "DOES NOT match the journal");
    snapshots_ok = snapshots_ok && same;
    snapshots.erase(it);
    return absl::OkStatus();
  });
  for (const auto& [seq, digest] : snapshots) {
    std::fprintf(stderr, "snapshot at %llu: past the end of the journal\n",
                 static_cast<unsigned long long>(seq));
    snapshots_ok = false;
  }
  ok = ok && snapshots_ok;
  std::printf("%s: %llu events %s\n", dir.c_str(),
              static_cast<unsigned long long>(engine.last_sequence()),
              ok ? "replay cleanly: dispatchd will start on this journal"
                 : "before the damage: dispatchd will refuse to start on this journal");
  return ok ? 0 : 1;
}

// Replays the journal (up to `to`) and prints the state digest and the
// last sequence, as AdminService.GetStateDigest reports them.
int DigestJournal(const std::string& data_dir, uint64_t to) {
  const std::string dir = JournalDir(data_dir);
  engine::SystemClock clock;
  engine::Engine engine(&clock);
  if (absl::Status start = LoadStartingPoint(data_dir, engine); !start.ok()) {
    std::fprintf(stderr, "%s\n", start.ToString().c_str());
    return 1;
  }
  if (to != 0 && to < engine.last_sequence()) {
    std::fprintf(stderr,
                 "events up to %llu were dropped by retention; the earliest state "
                 "held is after event %llu\n",
                 static_cast<unsigned long long>(to),
                 static_cast<unsigned long long>(engine.last_sequence()));
    return 1;
  }
  const bool ok = ForEachEvent(dir, false, [&](const dispatch::v1::Event& e) -> absl::Status {
    if ((to != 0 && e.sequence() > to) || e.sequence() <= engine.last_sequence()) {
      return absl::OkStatus();
    }
    return services::ApplyRecorded(e, engine);
  });
  if (!ok) return 1;
  std::printf("%s %llu\n", engine.Digest().c_str(),
              static_cast<unsigned long long>(engine.last_sequence()));
  return 0;
}

int DumpJournal(const std::string& data_dir, uint64_t from, uint64_t limit, bool full) {
  const std::string dir = JournalDir(data_dir);
  uint64_t printed = 0;
  const bool ok = ForEachEvent(dir, false, [&](const dispatch::v1::Event& e) {
    if (e.sequence() < from || (limit != 0 && printed >= limit)) return absl::OkStatus();
    ++printed;
    std::printf("%s\n", full ? e.DebugString().c_str() : services::EventLine(e).c_str());
    return absl::OkStatus();
  });
  return ok ? 0 : 1;
}

}  // namespace dispatchd::services
