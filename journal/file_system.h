// The file operations the journal needs, behind an interface so that tests
// can inject failures (a failing write, fsync, open or rename; a full disk)
// and so that the journal never calls the OS directly.
//
// Thread safety: implementations are thread-safe; a WritableFile is used by
// one thread at a time.
#ifndef DISPATCHD_JOURNAL_FILE_SYSTEM_H_
#define DISPATCHD_JOURNAL_FILE_SYSTEM_H_

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace dispatchd::journal {

// A file open for writing at a position that moves forward: from 0 for a
// new file, from where it was opened (OpenForWrite) otherwise.
class WritableFile {
 public:
  virtual ~WritableFile() = default;
  // Writes all of `data` at the write position and moves the position
  // past it; bytes there (preallocated zeros) are overwritten. On error
  // the file's tail is unknown: the caller must stop using it.
  virtual absl::Status Append(std::string_view data) = 0;
  // Writes zeros from the end of the file until it is `size` bytes long
  // (nothing if it is that long already); the write position stays. A
  // later Append into zeros already durable makes only the data durable:
  // fdatasync need not also commit a new file size, which on ext4 took
  // about a third of an append's sync. (fallocate does not do: its
  // unwritten extents cost a metadata commit when first written.)
  virtual absl::Status Preallocate(uint64_t size) = 0;
  // Makes everything written so far durable (fdatasync).
  virtual absl::Status Sync() = 0;
  virtual absl::Status Close() = 0;
};

// The whole of a file, read for scanning: either a read-only mapping of
// the file or a copy of its bytes. Move-only; a mapping is released with
// the object. A mapping shows the file as it is: it must not be read past
// a truncation of the file made while it is alive (the journal truncates
// only during recovery, once it is done reading the segment).
class FileBytes {
 public:
  FileBytes() = default;
  explicit FileBytes(std::string copy) : copy_(std::move(copy)) {}
  // Takes over `size` bytes mapped at `address` (munmap on release).
  static FileBytes Mapped(const void* address, size_t size);
  FileBytes(FileBytes&& other) noexcept { *this = std::move(other); }
  FileBytes& operator=(FileBytes&& other) noexcept;
  FileBytes(const FileBytes&) = delete;
  FileBytes& operator=(const FileBytes&) = delete;
  ~FileBytes() { Release(); }

  std::string_view view() const {
    return mapped_ != nullptr ? std::string_view(static_cast<const char*>(mapped_), mapped_size_)
                              : std::string_view(copy_);
  }
  size_t size() const { return view().size(); }
  bool mapped() const { return mapped_ != nullptr; }

 private:
  void Release();

  std::string copy_;
  const void* mapped_ = nullptr;
  size_t mapped_size_ = 0;
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;
  // Creates `path` (failing if it exists) for writing from its start.
  virtual absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(
      const std::string& path) = 0;
  // Opens an existing `path` for writing from `offset` on.
  virtual absl::StatusOr<std::unique_ptr<WritableFile>> OpenForWrite(const std::string& path,
                                                                     uint64_t offset) = 0;
  // Reads the whole of `path`. NOT_FOUND if it does not exist.
  virtual absl::StatusOr<std::string> ReadFile(const std::string& path) = 0;
  // Reads the whole of `path` for scanning, as ReadFile does, but may map
  // it instead of copying it (the POSIX file system maps files of 1 MiB or
  // more: no buffer to zero and fill, which for journal segments and
  // snapshots of hundreds of MiB was most of the cost of reading them).
  // This default copies, through ReadFile.
  virtual absl::StatusOr<FileBytes> MapFile(const std::string& path);
  // Reads the first `n` bytes of `path` (fewer if the file is shorter).
  // This default reads the whole file, through ReadFile.
  virtual absl::StatusOr<std::string> ReadHead(const std::string& path, size_t n);
  // Names (not paths) of the entries of `dir`, in no particular order.
  virtual absl::StatusOr<std::vector<std::string>> ListDir(const std::string& dir) = 0;
  // Creates `dir` and its parents if missing.
  virtual absl::Status CreateDirs(const std::string& dir) = 0;
  // Atomically replaces `to` with `from`.
  virtual absl::Status Rename(const std::string& from, const std::string& to) = 0;
  // Makes the directory's entries (creations, renames) durable.
  virtual absl::Status SyncDir(const std::string& dir) = 0;
  virtual absl::Status Truncate(const std::string& path, uint64_t size) = 0;
  virtual absl::Status RemoveFile(const std::string& path) = 0;
};

// The real file system (POSIX). Never null; lives forever.
FileSystem* PosixFileSystem();

// Writes `parts`, one after the other, to `path` atomically and durably: a
// temp file beside it, fsync, rename over `path`, fsync of the directory.
// In parts, a large body and its small header need not be joined in memory.
absl::Status WriteFileAtomically(FileSystem* fs, const std::string& path,
                                 std::initializer_list<std::string_view> parts);
inline absl::Status WriteFileAtomically(FileSystem* fs, const std::string& path,
                                        std::string_view data) {
  return WriteFileAtomically(fs, path, {data});
}

std::string JoinPath(std::string_view dir, std::string_view name);

}  // namespace dispatchd::journal

#endif  // DISPATCHD_JOURNAL_FILE_SYSTEM_H_
