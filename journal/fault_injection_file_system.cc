#include "journal/fault_injection_file_system.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"

namespace dispatchd::journal {
namespace {

const char* OpName(FsOp op) {
  static const char* const kNames[] = {"open", "write", "fsync", "rename", "dir fsync",
                                       "truncate"};
  return kNames[static_cast<int>(op)];
}

class FaultyFile final : public WritableFile {
 public:
  FaultyFile(FaultInjectionFileSystem* fs, std::string path, std::unique_ptr<WritableFile> base,
             uint64_t position)
      : fs_(fs), path_(std::move(path)), base_(std::move(base)), position_(position) {}

  absl::Status Append(std::string_view data) override {
    RETURN_IF_ERROR(fs_->Check(FsOp::kWrite, path_));
    // Only what grows the file takes space: a write inside it (into
    // preallocated zeros) does not.
    const uint64_t inside =
        std::min<uint64_t>(data.size(), std::max(fs_->SizeOf(path_), position_) - position_);
    const uint64_t allowed = inside + fs_->Reserve(data.size() - inside);
    RETURN_IF_ERROR(base_->Append(data.substr(0, allowed)));
    fs_->Wrote(path_, position_, allowed);
    position_ += allowed;
    return allowed < data.size() ? DiskFull() : absl::OkStatus();
  }

  absl::Status Preallocate(uint64_t size) override {
    RETURN_IF_ERROR(fs_->Check(FsOp::kWrite, path_));
    const uint64_t had = fs_->SizeOf(path_);
    if (size <= had) return absl::OkStatus();
    const uint64_t allowed = fs_->Reserve(size - had);
    RETURN_IF_ERROR(base_->Preallocate(had + allowed));
    fs_->Wrote(path_, had, allowed);
    return had + allowed < size ? DiskFull() : absl::OkStatus();
  }

  absl::Status Sync() override {
    RETURN_IF_ERROR(fs_->Check(FsOp::kSync, path_));
    RETURN_IF_ERROR(base_->Sync());
    fs_->Synced(path_);
    return absl::OkStatus();
  }

  absl::Status Close() override { return base_->Close(); }

 private:
  absl::Status DiskFull() const {
    return absl::ResourceExhaustedError(absl::StrCat("write ", path_, ": No space left on device"));
  }

  FaultInjectionFileSystem* const fs_;
  const std::string path_;
  std::unique_ptr<WritableFile> base_;
  uint64_t position_;
};

}  // namespace

void FaultInjectionFileSystem::FailNth(FsOp op, int k, bool persistent) {
  absl::MutexLock lock(&mu_);
  rules_[static_cast<int>(op)] = Rule{counts_[static_cast<int>(op)] + k, persistent};
}

void FaultInjectionFileSystem::FillDiskAfter(uint64_t bytes) {
  absl::MutexLock lock(&mu_);
  disk_limited_ = true;
  disk_left_ = bytes;
}

void FaultInjectionFileSystem::ClearFaults() {
  absl::MutexLock lock(&mu_);
  for (Rule& r : rules_) r = Rule{};
  disk_limited_ = false;
}

int FaultInjectionFileSystem::Count(FsOp op) const {
  absl::MutexLock lock(&mu_);
  return counts_[static_cast<int>(op)];
}

absl::Status FaultInjectionFileSystem::Check(FsOp op, const std::string& path) {
  absl::MutexLock lock(&mu_);
  const int i = static_cast<int>(op);
  const int n = ++counts_[i];
  const Rule& r = rules_[i];
  if (r.nth != 0 && (n == r.nth || (r.persistent && n > r.nth))) {
    return absl::InternalError(absl::StrCat(OpName(op), " ", path, ": injected I/O error"));
  }
  return absl::OkStatus();
}

uint64_t FaultInjectionFileSystem::Reserve(uint64_t want) {
  absl::MutexLock lock(&mu_);
  if (!disk_limited_) return want;
  const uint64_t got = std::min(want, disk_left_);
  disk_left_ -= got;
  return got;
}

void FaultInjectionFileSystem::Wrote(const std::string& path, uint64_t offset, uint64_t bytes) {
  absl::MutexLock lock(&mu_);
  Track& t = files_[path];
  t.size = std::max(t.size, offset + bytes);
  if (offset < t.synced && bytes > 0) {
    t.overwritten.emplace_back(offset, std::min(bytes, t.synced - offset));
  }
}

void FaultInjectionFileSystem::Synced(const std::string& path) {
  absl::MutexLock lock(&mu_);
  Track& t = files_[path];
  t.synced = t.size;
  t.overwritten.clear();
}

uint64_t FaultInjectionFileSystem::SizeOf(const std::string& path) {
  absl::MutexLock lock(&mu_);
  return files_[path].size;
}

void FaultInjectionFileSystem::DropUnsyncedData() {
  absl::MutexLock lock(&mu_);
  for (auto& [path, t] : files_) {
    for (const auto& [offset, bytes] : t.overwritten) {
      auto file = base_->OpenForWrite(path, offset);
      if (file.ok()) (void)(*file)->Append(std::string(bytes, '\0'));
    }
    t.overwritten.clear();
    if (t.size > t.synced) (void)base_->Truncate(path, t.synced);
    t.size = t.synced;
  }
}

absl::StatusOr<std::unique_ptr<WritableFile>> FaultInjectionFileSystem::NewWritableFile(
    const std::string& path) {
  RETURN_IF_ERROR(Check(FsOp::kOpen, path));
  ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> base, base_->NewWritableFile(path));
  {
    absl::MutexLock lock(&mu_);
    files_[path] = Track{};
  }
  return std::make_unique<FaultyFile>(this, path, std::move(base), 0);
}

absl::StatusOr<std::unique_ptr<WritableFile>> FaultInjectionFileSystem::OpenForWrite(
    const std::string& path, uint64_t offset) {
  RETURN_IF_ERROR(Check(FsOp::kOpen, path));
  ASSIGN_OR_RETURN(std::string existing, base_->ReadFile(path));
  ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> base, base_->OpenForWrite(path, offset));
  {
    absl::MutexLock lock(&mu_);
    files_[path] = Track{existing.size(), existing.size(), {}};
  }
  return std::make_unique<FaultyFile>(this, path, std::move(base), offset);
}

absl::StatusOr<std::string> FaultInjectionFileSystem::ReadFile(const std::string& path) {
  return base_->ReadFile(path);
}

absl::StatusOr<std::vector<std::string>> FaultInjectionFileSystem::ListDir(
    const std::string& dir) {
  return base_->ListDir(dir);
}

absl::Status FaultInjectionFileSystem::CreateDirs(const std::string& dir) {
  return base_->CreateDirs(dir);
}

absl::Status FaultInjectionFileSystem::Rename(const std::string& from, const std::string& to) {
  RETURN_IF_ERROR(Check(FsOp::kRename, from));
  RETURN_IF_ERROR(base_->Rename(from, to));
  absl::MutexLock lock(&mu_);
  if (auto it = files_.find(from); it != files_.end()) {
    files_[to] = it->second;
    files_.erase(it);
  }
  return absl::OkStatus();
}

absl::Status FaultInjectionFileSystem::SyncDir(const std::string& dir) {
  RETURN_IF_ERROR(Check(FsOp::kSyncDir, dir));
  return base_->SyncDir(dir);
}

absl::Status FaultInjectionFileSystem::Truncate(const std::string& path, uint64_t size) {
  RETURN_IF_ERROR(Check(FsOp::kTruncate, path));
  RETURN_IF_ERROR(base_->Truncate(path, size));
  absl::MutexLock lock(&mu_);
  if (auto it = files_.find(path); it != files_.end()) {
    it->second.size = std::min(it->second.size, size);
    it->second.synced = std::min(it->second.synced, size);
  }
  return absl::OkStatus();
}

absl::Status FaultInjectionFileSystem::RemoveFile(const std::string& path) {
  RETURN_IF_ERROR(base_->RemoveFile(path));
  absl::MutexLock lock(&mu_);
  files_.erase(path);
  return absl::OkStatus();
}

}  // namespace dispatchd::journal
