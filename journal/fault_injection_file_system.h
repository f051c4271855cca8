// FaultInjectionFileSystem: a FileSystem over the real one that fails
// chosen operations, runs out of space on command, and can simulate a
// power cut by dropping every byte that was not fsynced. Test-only.
//
// Thread safety: thread-safe.
#ifndef DISPATCHD_JOURNAL_FAULT_INJECTION_FILE_SYSTEM_H_
#define DISPATCHD_JOURNAL_FAULT_INJECTION_FILE_SYSTEM_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "journal/file_system.h"

namespace dispatchd::journal {

enum class FsOp { kOpen, kWrite, kSync, kRename, kSyncDir, kTruncate, kCount };

class FaultInjectionFileSystem final : public FileSystem {
 public:
  explicit FaultInjectionFileSystem(FileSystem* base = PosixFileSystem()) : base_(base) {}

  // The `k`-th (1-based, counted from now) operation of kind `op` fails;
  // with `persistent`, so does every later one of that kind.
  void FailNth(FsOp op, int k, bool persistent);
  // Writes fail with RESOURCE_EXHAUSTED (ENOSPC) once files have grown by
  // `bytes` more bytes (writing inside a file takes no space); the write
  // that crosses the line writes a part.
  void FillDiskAfter(uint64_t bytes);
  void ClearFaults();
  // How many operations of kind `op` have been attempted.
  int Count(FsOp op) const;
  // Power cut: every file loses what was written after its last Sync.
  // Bytes it had then stay; a write over them since is undone as zeros,
  // which is what they were (the journal writes only over the zeros it
  // preallocated).
  void DropUnsyncedData();

  absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override;
  absl::StatusOr<std::unique_ptr<WritableFile>> OpenForWrite(const std::string& path,
                                                             uint64_t offset) override;
  absl::StatusOr<std::string> ReadFile(const std::string& path) override;
  absl::StatusOr<std::vector<std::string>> ListDir(const std::string& dir) override;
  absl::Status CreateDirs(const std::string& dir) override;
  absl::Status Rename(const std::string& from, const std::string& to) override;
  absl::Status SyncDir(const std::string& dir) override;
  absl::Status Truncate(const std::string& path, uint64_t size) override;
  absl::Status RemoveFile(const std::string& path) override;

  // Used by the files it hands out.
  absl::Status Check(FsOp op, const std::string& path);
  // How many of `want` bytes may be written before the disk is full.
  uint64_t Reserve(uint64_t want);
  // `bytes` were written to `path` at `offset`.
  void Wrote(const std::string& path, uint64_t offset, uint64_t bytes);
  void Synced(const std::string& path);
  uint64_t SizeOf(const std::string& path);

 private:
  struct Rule {
    int nth = 0;  // 0: none.
    bool persistent = false;
  };
  struct Track {
    uint64_t size = 0;
    uint64_t synced = 0;  // The size at the last Sync.
    // Writes since the last Sync below `synced`: {offset, bytes}.
    std::vector<std::pair<uint64_t, uint64_t>> overwritten;
  };

  FileSystem* const base_;
  mutable absl::Mutex mu_;
  int counts_[static_cast<int>(FsOp::kCount)] ABSL_GUARDED_BY(mu_) = {};
  Rule rules_[static_cast<int>(FsOp::kCount)] ABSL_GUARDED_BY(mu_);
  bool disk_limited_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t disk_left_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::string, Track> files_ ABSL_GUARDED_BY(mu_);
};

}  // namespace dispatchd::journal

#endif  // DISPATCHD_JOURNAL_FAULT_INJECTION_FILE_SYSTEM_H_
