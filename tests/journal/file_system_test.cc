// FileSystem::MapFile: large files are mapped, small ones copied, and either
// way the bytes are the file's; a missing file is NOT_FOUND, as ReadFile
// says, and a mapping moves with its FileBytes and is released once. Also
// ReadHead, and WriteFileAtomically in parts.
#include "journal/file_system.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>

#include "journal/fault_injection_file_system.h"
#include "tests/journal/test_dir.h"

namespace dispatchd::journal {
namespace {

using ::dispatchd::testing::TestDir;

void Write(const std::string& path, const std::string& data) {
  auto f = PosixFileSystem()->NewWritableFile(path);
  ASSERT_TRUE(f.ok()) << f.status();
  ASSERT_TRUE((*f)->Append(data).ok());
  ASSERT_TRUE((*f)->Close().ok());
}

std::string Pattern(size_t size) {
  std::string s(size, '\0');
  for (size_t i = 0; i < size; ++i) s[i] = static_cast<char>((i * 131) ^ (i >> 9));
  return s;
}

TEST(MapFileTest, ALargeFileIsMappedWithTheFilesBytes) {
  TestDir dir;
  const std::string path = JoinPath(dir.path(), "large");
  const std::string data = Pattern((3 << 20) + 17);
  Write(path, data);
  absl::StatusOr<FileBytes> bytes = PosixFileSystem()->MapFile(path);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  EXPECT_TRUE(bytes->mapped());
  EXPECT_EQ(bytes->size(), data.size());
  EXPECT_TRUE(bytes->view() == data);
}

TEST(MapFileTest, ASmallOrEmptyFileIsCopied) {
  TestDir dir;
  for (const std::string& data : {std::string(), Pattern(100), Pattern((1 << 20) - 1)}) {
    SCOPED_TRACE(data.size());
    const std::string path = JoinPath(dir.path(), std::to_string(data.size()));
    Write(path, data);
    absl::StatusOr<FileBytes> bytes = PosixFileSystem()->MapFile(path);
    ASSERT_TRUE(bytes.ok()) << bytes.status();
    EXPECT_FALSE(bytes->mapped());
    EXPECT_TRUE(bytes->view() == data);
  }
}

TEST(MapFileTest, AMissingFileIsNotFound) {
  TestDir dir;
  absl::StatusOr<FileBytes> bytes = PosixFileSystem()->MapFile(JoinPath(dir.path(), "none"));
  EXPECT_TRUE(absl::IsNotFound(bytes.status())) << bytes.status();
}

TEST(MapFileTest, AMappingMovesWithItsBytes) {
  TestDir dir;
  const std::string path = JoinPath(dir.path(), "large");
  const std::string data = Pattern(2 << 20);
  Write(path, data);
  FileBytes first = *PosixFileSystem()->MapFile(path);
  const char* address = first.view().data();
  FileBytes second(std::move(first));
  EXPECT_EQ(second.view().data(), address);
  EXPECT_TRUE(second.view() == data);
  EXPECT_TRUE(first.view().empty());  // NOLINT(bugprone-use-after-move): moved-from is empty.
  FileBytes third = FileBytes(std::string("copy"));
  third = std::move(second);  // Releases nothing of its own but the copy.
  EXPECT_TRUE(third.mapped());
  EXPECT_TRUE(third.view() == data);
}

// ReadHead reads the first bytes of a file, fewer of a shorter one, and
// says NOT_FOUND for a missing one, on the POSIX file system and through
// the default (ReadFile) alike.
TEST(ReadHeadTest, ReadsTheFirstBytesOrTheWholeOfAShorterFile) {
  FaultInjectionFileSystem by_default;  // Keeps FileSystem's ReadHead.
  TestDir dir;
  const std::string data = Pattern((2 << 20) + 5);
  const std::string large = JoinPath(dir.path(), "large");
  const std::string small = JoinPath(dir.path(), "small");
  Write(large, data);
  Write(small, data.substr(0, 10));
  for (FileSystem* fs : {PosixFileSystem(), static_cast<FileSystem*>(&by_default)}) {
    absl::StatusOr<std::string> head = fs->ReadHead(large, 32);
    ASSERT_TRUE(head.ok()) << head.status();
    EXPECT_EQ(*head, data.substr(0, 32));
    head = fs->ReadHead(small, 32);
    ASSERT_TRUE(head.ok()) << head.status();
    EXPECT_EQ(*head, data.substr(0, 10));
    head = fs->ReadHead(large, data.size() + 100);
    ASSERT_TRUE(head.ok()) << head.status();
    EXPECT_TRUE(*head == data);
    EXPECT_TRUE(absl::IsNotFound(fs->ReadHead(JoinPath(dir.path(), "none"), 32).status()));
  }
}

TEST(WriteFileAtomicallyTest, WritesItsPartsOneAfterTheOtherAndReplacesTheFile) {
  TestDir dir;
  const std::string path = JoinPath(dir.path(), "file");
  ASSERT_TRUE(WriteFileAtomically(PosixFileSystem(), path, "old contents").ok());
  const std::string large = Pattern(3 << 20);
  ASSERT_TRUE(WriteFileAtomically(PosixFileSystem(), path, {"head", "", large, "tail"}).ok());
  EXPECT_EQ(*PosixFileSystem()->ReadFile(path), "head" + large + "tail");
  EXPECT_TRUE(absl::IsNotFound(PosixFileSystem()->ReadFile(path + ".tmp").status()));
}

}  // namespace
}  // namespace dispatchd::journal
