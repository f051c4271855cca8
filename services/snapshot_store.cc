#include "services/snapshot_store.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/status_macros.h"
#include "journal/record_format.h"

namespace dispatchd::services {
namespace {

constexpr char kMagic[4] = {'D', 'S', 'N', 'P'};
constexpr uint32_t kVersion = 1;
constexpr size_t kHeaderSize = 32;

std::string FileName(uint64_t last_sequence) {
  return absl::StrFormat("snap-%020u.snap", last_sequence);
}

bool ParseFileName(const std::string& name, uint64_t* last_sequence) {
  constexpr size_t kLen = 5 + 20 + 5;
  if (name.size() != kLen || name.compare(0, 5, "snap-") != 0 ||
      name.compare(kLen - 5, 5, ".snap") != 0) {
    return false;
  }
  return absl::SimpleAtoi(name.substr(5, 20), last_sequence);
}

absl::Status Bad(const std::string& path, std::string_view what) {
  return absl::DataLossError(absl::StrCat("snapshot ", path, ": ", std::string(what)));
}

}  // namespace

SnapshotStore::SnapshotStore(std::string dir, journal::FileSystem* fs, int keep,
                             std::function<void(const std::string&)> log)
    : dir_(std::move(dir)), fs_(fs), keep_(std::max(1, keep)), log_(std::move(log)) {}

absl::Status SnapshotStore::Write(uint64_t last_sequence, const engine::StateImage& image) {
  const std::string payload = engine::EncodeImageCanonical(image);
  std::string header(kMagic, 4);
  journal::PutFixed32(&header, kVersion);
  journal::PutFixed64(&header, last_sequence);
  journal::PutFixed64(&header, payload.size());
  journal::PutFixed32(&header, journal::Crc32c(payload));
  journal::PutFixed32(&header, journal::Crc32c(header));
  RETURN_IF_ERROR(fs_->CreateDirs(dir_));
  // Header and payload written in turn: joining them would copy the
  // payload (a gigabyte at ten million events) for nothing.
  RETURN_IF_ERROR(journal::WriteFileAtomically(
      fs_, journal::JoinPath(dir_, FileName(last_sequence)), {header, payload}));
  ASSIGN_OR_RETURN(std::vector<std::string> all, List());
  for (size_t i = static_cast<size_t>(keep_); i < all.size(); ++i) {
    RETURN_IF_ERROR(fs_->RemoveFile(all[i]));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::pair<uint64_t, std::string>>> SnapshotStore::ListBySequence()
    const {
  absl::StatusOr<std::vector<std::string>> names = fs_->ListDir(dir_);
  std::vector<std::pair<uint64_t, std::string>> found;
  if (absl::IsNotFound(names.status())) return found;
  if (!names.ok()) return names.status();
  for (const std::string& name : *names) {
    uint64_t seq;
    if (ParseFileName(name, &seq)) found.emplace_back(seq, journal::JoinPath(dir_, name));
  }
  std::sort(found.rbegin(), found.rend());
  return found;
}

absl::StatusOr<uint64_t> SnapshotStore::OldestSequence() const {
  ASSIGN_OR_RETURN(auto found, ListBySequence());
  return found.empty() ? 0 : found.back().first;
}

absl::StatusOr<uint64_t> SnapshotStore::NewestSequence() const {
  ASSIGN_OR_RETURN(auto found, ListBySequence());
  return found.empty() ? 0 : found.front().first;
}

absl::StatusOr<std::vector<std::string>> SnapshotStore::List() const {
  ASSIGN_OR_RETURN(auto found, ListBySequence());
  std::vector<std::string> out;
  for (auto& [seq, path] : found) out.push_back(std::move(path));
  return out;
}

std::string_view SnapshotStore::CheckedFile::payload() const {
  return bytes.view().substr(kHeaderSize);
}

absl::StatusOr<SnapshotStore::CheckedFile> SnapshotStore::ReadChecked(
    const std::string& path) const {
  CheckedFile file;
  ASSIGN_OR_RETURN(file.bytes, fs_->MapFile(path));
  const std::string_view bytes = file.bytes.view();
  if (bytes.size() < kHeaderSize) return Bad(path, "shorter than its header");
  if (std::memcmp(bytes.data(), kMagic, 4) != 0) return Bad(path, "bad magic");
  if (journal::DecodeFixed32(bytes.data() + 28) != journal::Crc32c(bytes.substr(0, 28))) {
    return Bad(path, "header checksum mismatch");
  }
  if (journal::DecodeFixed32(bytes.data() + 4) != kVersion) return Bad(path, "unknown version");
  file.last_sequence = journal::DecodeFixed64(bytes.data() + 8);
  const uint64_t length = journal::DecodeFixed64(bytes.data() + 16);
  if (length != bytes.size() - kHeaderSize) return Bad(path, "payload length mismatch");
  if (journal::Crc32c(file.payload()) != journal::DecodeFixed32(bytes.data() + 24)) {
    return Bad(path, "payload checksum mismatch");
  }
  return file;
}

absl::StatusOr<std::string> SnapshotStore::UseNewest(
    const std::function<absl::Status(const std::string& path, const CheckedFile& file)>& use)
    const {
  ASSIGN_OR_RETURN(std::vector<std::string> all, List());
  for (const std::string& path : all) {
    absl::StatusOr<CheckedFile> file = ReadChecked(path);
    absl::Status used = file.ok() ? use(path, *file) : file.status();
    if (used.ok()) return path;
    if (log_) log_(absl::StrCat(used.message(), "; trying an older one"));
  }
  return std::string();
}

absl::StatusOr<LoadedSnapshot> SnapshotStore::Decode(const std::string& path,
                                                     const CheckedFile& file) {
  absl::StatusOr<engine::StateImage> image = engine::DecodeImageCanonical(file.payload());
  if (!image.ok()) return Bad(path, std::string(image.status().message()));
  if (image->last_sequence != file.last_sequence) return Bad(path, "header and image disagree");
  return LoadedSnapshot{file.last_sequence, path, *std::move(image)};
}

absl::Status SnapshotStore::DecodeParts(const CheckedFile& file, size_t run,
                                        engine::ImageParts parts) {
  parts.head = [&file, head = std::move(parts.head)](engine::StateImage&& image) {
    if (image.last_sequence != file.last_sequence) {
      return absl::DataLossError("header and image disagree");
    }
    return head(std::move(image));
  };
  return engine::DecodeImageParts(file.payload(), run, parts);
}

absl::StatusOr<LoadedSnapshot> SnapshotStore::Load(const std::string& path) const {
  ASSIGN_OR_RETURN(CheckedFile file, ReadChecked(path));
  return Decode(path, file);
}

absl::Status SnapshotStore::LoadInto(const std::string& path, engine::Engine& engine,
                                     const std::function<bool()>& stop, size_t run) const {
  ASSIGN_OR_RETURN(const CheckedFile file, ReadChecked(path));
  std::unique_ptr<engine::Engine::PartLoad> load;
  engine::ImageParts parts;
  parts.head = [&](engine::StateImage&& head) -> absl::Status {
    ASSIGN_OR_RETURN(load, engine.StartLoad(head));
    return absl::OkStatus();
  };
  parts.requests = [&](std::vector<engine::RequestImage>&& requests) -> absl::Status {
    if (stop()) return absl::AbortedError("stopped while loading the snapshot");
    return load->Requests(std::move(requests));
  };
  parts.rest = [&](engine::StateImage&& rest) { return load->Finish(std::move(rest)); };
  const absl::Status loaded = DecodeParts(file, run, std::move(parts));
  if (loaded.ok() || absl::IsAborted(loaded)) return loaded;
  return Bad(path, std::string(loaded.message()));
}

absl::StatusOr<std::optional<LoadedSnapshot>> SnapshotStore::LoadNewest() const {
  std::optional<LoadedSnapshot> loaded;
  RETURN_IF_ERROR(UseNewest([&](const std::string& path, const CheckedFile& file) {
                    absl::StatusOr<LoadedSnapshot> decoded = Decode(path, file);
                    if (decoded.ok()) loaded = *std::move(decoded);
                    return decoded.status();
                  }).status());
  return loaded;  // Empty if none was taken.
}

void SnapshotStore::FeedNewest(SnapshotFeed* feed, size_t run) const {
  absl::StatusOr<std::string> used =
      UseNewest([&](const std::string& path, const CheckedFile& file) -> absl::Status {
        bool cancelled = false;  // The loader stopped: no use going on.
        auto sent = [&cancelled](absl::Status s) {
          cancelled = absl::IsCancelled(s);
          return s;
        };
        engine::ImageParts parts;
        parts.head = [&](engine::StateImage&& head) {
          return sent(feed->Head(path, std::move(head)));
        };
        parts.requests = [&](std::vector<engine::RequestImage>&& r) {
          return sent(feed->Requests(std::move(r)));
        };
        parts.rest = [&](engine::StateImage&& rest) { return sent(feed->Rest(std::move(rest))); };
        const absl::Status decoded = DecodeParts(file, run, std::move(parts));
        if (decoded.ok() || cancelled) return absl::OkStatus();
        feed->Abandon();
        return Bad(path, std::string(decoded.message()));
      });
  // After the rest of the file taken, with none found, or with the error.
  feed->End(used.status());
}

}  // namespace dispatchd::services
