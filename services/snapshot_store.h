// SnapshotStore: snapshot files of the engine's state in one directory.
//
// A snapshot is "snap-<last sequence, 20 digits>.snap": a 32-byte header
// (magic "DSNP", format version, the last event sequence it includes, the
// payload length, a CRC-32C of the payload, and a CRC-32C of the header
// itself) followed by the payload, the engine's canonical image encoding
// (engine/state_image.h). docs/journal_format.md has the byte layout.
//
// Writes are atomic (temp file, fsync, rename, directory fsync), so a crash
// leaves either the old set or the new one; a file that fails any check is
// never loaded, and the next older one is tried.
//
// Thread safety: thread-safe (no state beyond the directory).
#ifndef DISPATCHD_SERVICES_SNAPSHOT_STORE_H_
#define DISPATCHD_SERVICES_SNAPSHOT_STORE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/engine.h"
#include "engine/state_image.h"
#include "journal/file_system.h"
#include "services/snapshot_feed.h"

namespace dispatchd::services {

struct LoadedSnapshot {
  uint64_t last_sequence = 0;
  std::string path;
  engine::StateImage image;
};

class SnapshotStore {
 public:
  // "*fs" must outlive the store. `keep`: how many snapshots to retain.
  SnapshotStore(std::string dir, journal::FileSystem* fs, int keep = 3,
                std::function<void(const std::string&)> log = nullptr);

  // Writes the image of the state after `last_sequence` atomically, then
  // removes all but the newest `keep` snapshots.
  absl::Status Write(uint64_t last_sequence, const engine::StateImage& image);

  // The newest snapshot that passes every check, if any. Files that fail
  // are reported through `log` and skipped, never loaded.
  absl::StatusOr<std::optional<LoadedSnapshot>> LoadNewest() const;

  // Checks one file; DATA_LOSS naming the file and what is wrong. The
  // payload is decoded only once its checksum matches.
  absl::StatusOr<LoadedSnapshot> Load(const std::string& path) const;

  // Checks the file at `path` and loads it into `engine` (fresh) in parts
  // as it decodes (Engine::StartLoad), so that no more than one run of
  // `run` requests is held decoded at a time, asking `stop` before each
  // run: ABORTED once it says true. On any error the engine is unchanged;
  // DATA_LOSS names the file.
  absl::Status LoadInto(const std::string& path, engine::Engine& engine,
                        const std::function<bool()>& stop, size_t run = 4096) const;

  // LoadNewest, handing the image to `feed` in parts (runs of `run`
  // requests) while it is decoded, so that another thread loads it
  // meanwhile (SnapshotFeed). Files are tried newest first; one that fails
  // the file checks is skipped before any part of it goes out, one whose
  // decode fails is abandoned half way. Always ends the feed: after the
  // rest of the file it found, with none found, or with the error.
  void FeedNewest(SnapshotFeed* feed, size_t run = 4096) const;

  // Snapshot files, newest first.
  absl::StatusOr<std::vector<std::string>> List() const;

  // The last sequence of the oldest snapshot kept (0: none). Journal
  // retention drops only what this one covers, so a damaged newer
  // snapshot still leaves an older one plus the log.
  absl::StatusOr<uint64_t> OldestSequence() const;

  // The last sequence of the newest snapshot, by its file name (0: none).
  // The file is not read, so it may yet fail its checks.
  absl::StatusOr<uint64_t> NewestSequence() const;

 private:
  struct CheckedFile {
    journal::FileBytes bytes;  // Header and payload.
    uint64_t last_sequence = 0;
    std::string_view payload() const;
  };
  // Reads `path` and checks its header and payload checksum.
  absl::StatusOr<CheckedFile> ReadChecked(const std::string& path) const;
  // Decodes a checked file whole.
  static absl::StatusOr<LoadedSnapshot> Decode(const std::string& path, const CheckedFile& file);
  // Decodes a checked file in parts into `parts`, refusing a head whose
  // sequence is not the file header's; DecodeImageParts' status as is.
  static absl::Status DecodeParts(const CheckedFile& file, size_t run, engine::ImageParts parts);
  // The files newest first, each read and checked, until `use` takes one
  // (returns OK); a file that fails its checks or that `use` refuses is
  // logged and the next older one tried. The path taken, empty if none.
  absl::StatusOr<std::string> UseNewest(
      const std::function<absl::Status(const std::string& path, const CheckedFile& file)>& use)
      const;
  // (last sequence, path), newest first.
  absl::StatusOr<std::vector<std::pair<uint64_t, std::string>>> ListBySequence() const;

  const std::string dir_;
  journal::FileSystem* const fs_;
  const int keep_;
  const std::function<void(const std::string&)> log_;
};

}  // namespace dispatchd::services

#endif  // DISPATCHD_SERVICES_SNAPSHOT_STORE_H_
