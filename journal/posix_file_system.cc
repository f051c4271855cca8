// The POSIX implementation of FileSystem.
#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "journal/file_system.h"

namespace dispatchd::journal {
namespace {

absl::Status ErrnoStatus(std::string_view op, const std::string& path, int err) {
  std::string msg = absl::StrCat(std::string(op), " ", path, ": ", std::strerror(err));
  switch (err) {
    case ENOENT:
      return absl::NotFoundError(msg);
    case EEXIST:
      return absl::AlreadyExistsError(msg);
    case ENOSPC:
    case EDQUOT:
      return absl::ResourceExhaustedError(msg);
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(msg);
    default:
      return absl::InternalError(msg);
  }
}

class PosixWritableFile final : public WritableFile {
 public:
  PosixWritableFile(std::string path, int fd, uint64_t position)
      : path_(std::move(path)), fd_(fd), position_(position) {}
  ~PosixWritableFile() override {
    if (fd_ >= 0) ::close(fd_);
  }

  absl::Status Append(std::string_view data) override {
    RETURN_IF_ERROR(WriteAt(data, position_));
    position_ += data.size();
    return absl::OkStatus();
  }

  absl::Status Preallocate(uint64_t size) override {
    struct stat st;
    if (::fstat(fd_, &st) != 0) return ErrnoStatus("fstat", path_, errno);
    static constexpr char kZeros[64 << 10] = {};
    for (auto at = static_cast<uint64_t>(st.st_size); at < size;) {
      const uint64_t n = std::min<uint64_t>(sizeof kZeros, size - at);
      RETURN_IF_ERROR(WriteAt(std::string_view(kZeros, n), at));
      at += n;
    }
    return absl::OkStatus();
  }

  absl::Status Sync() override {
    if (::fdatasync(fd_) != 0) return ErrnoStatus("fdatasync", path_, errno);
    return absl::OkStatus();
  }

  absl::Status Close() override {
    int fd = fd_;
    fd_ = -1;
    if (fd >= 0 && ::close(fd) != 0) return ErrnoStatus("close", path_, errno);
    return absl::OkStatus();
  }

 private:
  absl::Status WriteAt(std::string_view data, uint64_t at) {
    while (!data.empty()) {
      ssize_t n = ::pwrite(fd_, data.data(), data.size(), static_cast<off_t>(at));
      if (n < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus("write", path_, errno);
      }
      data.remove_prefix(static_cast<size_t>(n));
      at += static_cast<uint64_t>(n);
    }
    return absl::OkStatus();
  }

  const std::string path_;
  int fd_;
  uint64_t position_;
};

// A descriptor open for reading, closed with the object.
struct OpenFile {
  int fd = -1;
  OpenFile() = default;
  explicit OpenFile(int f) : fd(f) {}
  OpenFile(OpenFile&& other) noexcept : fd(std::exchange(other.fd, -1)) {}
  OpenFile& operator=(OpenFile&&) = delete;
  ~OpenFile() {
    if (fd >= 0) ::close(fd);
  }
};

absl::StatusOr<OpenFile> OpenToRead(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("open", path, errno);
  return OpenFile(fd);
}

// Reads `file` from where it stands to its end, or `limit` bytes of it.
absl::StatusOr<std::string> ReadAll(const OpenFile& file, const std::string& path,
                                    size_t limit = std::numeric_limits<size_t>::max()) {
  // Read straight into a string of the file's size (growing it 64 KiB at
  // a time would copy a large file over and over); grow it if the file
  // grew meanwhile.
  struct stat st;
  size_t capacity = ::fstat(file.fd, &st) == 0 && st.st_size > 0
                        ? static_cast<size_t>(st.st_size) + 1
                        : size_t{1} << 16;
  std::string out(std::min(capacity, limit), '\0');
  size_t got = 0;
  while (got < limit) {
    if (got == out.size()) out.resize(std::min(out.size() * 2, limit));
    ssize_t n = ::read(file.fd, out.data() + got, out.size() - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("read", path, errno);
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  out.resize(got);
  return out;
}

class PosixFs final : public FileSystem {
 public:
  absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override {
    return Open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
  }

  absl::StatusOr<std::unique_ptr<WritableFile>> OpenForWrite(const std::string& path,
                                                             uint64_t offset) override {
    return Open(path, O_WRONLY | O_CLOEXEC, offset);
  }

  absl::StatusOr<std::string> ReadFile(const std::string& path) override {
    ASSIGN_OR_RETURN(const OpenFile file, OpenToRead(path));
    return ReadAll(file, path);
  }

  absl::StatusOr<FileBytes> MapFile(const std::string& path) override {
    // Below this a copy is as cheap as a mapping and its page-table work.
    constexpr off_t kMapFrom = off_t{1} << 20;
    ASSIGN_OR_RETURN(const OpenFile file, OpenToRead(path));
    struct stat st;
    if (::fstat(file.fd, &st) != 0 || st.st_size < kMapFrom) {
      ASSIGN_OR_RETURN(std::string copy, ReadAll(file, path));
      return FileBytes(std::move(copy));
    }
    // MAP_POPULATE maps the whole file now, from the page cache, in one
    // call rather than in page faults as a scan reaches each part. The
    // mapping keeps the file once the descriptor is closed.
    const auto size = static_cast<size_t>(st.st_size);
    void* address = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, file.fd, 0);
    if (address == MAP_FAILED) return ErrnoStatus("mmap", path, errno);
    return FileBytes::Mapped(address, size);
  }

  absl::StatusOr<std::string> ReadHead(const std::string& path, size_t n) override {
    ASSIGN_OR_RETURN(const OpenFile file, OpenToRead(path));
    return ReadAll(file, path, n);
  }

  absl::StatusOr<std::vector<std::string>> ListDir(const std::string& dir) override {
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return ErrnoStatus("opendir", dir, errno);
    std::vector<std::string> names;
    while (struct dirent* e = ::readdir(d)) {
      std::string_view name = e->d_name;
      if (name != "." && name != "..") names.emplace_back(name);
    }
    ::closedir(d);
    return names;
  }

  absl::Status CreateDirs(const std::string& dir) override {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return ErrnoStatus("mkdir", dir, ec.value());
    return absl::OkStatus();
  }

  absl::Status Rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) return ErrnoStatus("rename", from, errno);
    return absl::OkStatus();
  }

  absl::Status SyncDir(const std::string& dir) override {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus("open", dir, errno);
    int rc = ::fsync(fd);
    int err = errno;
    ::close(fd);
    if (rc != 0) return ErrnoStatus("fsync", dir, err);
    return absl::OkStatus();
  }

  absl::Status Truncate(const std::string& path, uint64_t size) override {
    if (::truncate(path.c_str(), static_cast<off_t>(size)) != 0) {
      return ErrnoStatus("truncate", path, errno);
    }
    return absl::OkStatus();
  }

  absl::Status RemoveFile(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return ErrnoStatus("unlink", path, errno);
    return absl::OkStatus();
  }

 private:
  absl::StatusOr<std::unique_ptr<WritableFile>> Open(const std::string& path, int flags,
                                                     uint64_t position) {
    int fd = ::open(path.c_str(), flags, 0644);
    if (fd < 0) return ErrnoStatus("open", path, errno);
    return std::make_unique<PosixWritableFile>(path, fd, position);
  }
};

}  // namespace

FileBytes FileBytes::Mapped(const void* address, size_t size) {
  FileBytes bytes;
  bytes.mapped_ = address;
  bytes.mapped_size_ = size;
  return bytes;
}

FileBytes& FileBytes::operator=(FileBytes&& other) noexcept {
  if (this != &other) {
    Release();
    copy_ = std::move(other.copy_);
    mapped_ = std::exchange(other.mapped_, nullptr);
    mapped_size_ = std::exchange(other.mapped_size_, 0);
  }
  return *this;
}

void FileBytes::Release() {
  if (mapped_ != nullptr) ::munmap(const_cast<void*>(mapped_), mapped_size_);
  mapped_ = nullptr;
  mapped_size_ = 0;
}

absl::StatusOr<FileBytes> FileSystem::MapFile(const std::string& path) {
  ASSIGN_OR_RETURN(std::string copy, ReadFile(path));
  return FileBytes(std::move(copy));
}

absl::StatusOr<std::string> FileSystem::ReadHead(const std::string& path, size_t n) {
  ASSIGN_OR_RETURN(std::string all, ReadFile(path));
  if (all.size() > n) all.resize(n);
  return all;
}

FileSystem* PosixFileSystem() {
  static PosixFs* fs = new PosixFs();
  return fs;
}

std::string JoinPath(std::string_view dir, std::string_view name) {
  if (dir.empty()) return std::string(name);
  std::string path(dir);
  if (path.back() != '/') path += '/';
  path += name;
  return path;
}

absl::Status WriteFileAtomically(FileSystem* fs, const std::string& path,
                                 std::initializer_list<std::string_view> parts) {
  const std::string tmp = absl::StrCat(path, ".tmp");
  (void)fs->RemoveFile(tmp);  // A leftover from a crash; absence is fine.
  auto file = fs->NewWritableFile(tmp);
  if (!file.ok()) return file.status();
  absl::Status st;
  for (std::string_view part : parts) {
    if (st.ok()) st = (*file)->Append(part);
  }
  if (st.ok()) st = (*file)->Sync();
  absl::Status closed = (*file)->Close();
  if (st.ok()) st = closed;
  if (st.ok()) st = fs->Rename(tmp, path);
  if (!st.ok()) return st;
  std::string dir = std::filesystem::path(path).parent_path().string();
  return fs->SyncDir(dir.empty() ? "." : dir);
}

}  // namespace dispatchd::journal
