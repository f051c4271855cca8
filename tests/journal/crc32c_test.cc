// Crc32c: the CPU's crc32 instruction and Boost's table must give the same
// checksum for every length, alignment and split, or a journal written on
// one machine would read as damaged on another.
#include <cstdint>
#include <random>
#include <string>
#include <string_view>

#include "gtest/gtest.h"
#include "journal/record_format.h"

namespace dispatchd::journal {
namespace {

using internal::Crc32cByInstruction;
using internal::Crc32cByTable;
using internal::HasCrc32cInstruction;

// Check values of CRC-32C from RFC 3720 (iSCSI), appendix B.4, and the
// customary "123456789".
TEST(Crc32cTest, KnownValues) {
  const std::string zeros(32, '\0');
  const std::string ones(32, '\xff');
  std::string ascending;
  for (int i = 0; i < 32; ++i) ascending.push_back(static_cast<char>(i));
  for (auto* crc : {&Crc32cByTable, &Crc32c}) {
    EXPECT_EQ((*crc)("123456789", 0), 0xE3069283u);
    EXPECT_EQ((*crc)(zeros, 0), 0x8A9136AAu);
    EXPECT_EQ((*crc)(ones, 0), 0x62A8AB43u);
    EXPECT_EQ((*crc)(ascending, 0), 0x46DD794Eu);
    EXPECT_EQ((*crc)("", 0), 0u);
  }
}

TEST(Crc32cTest, InstructionAgreesWithTableAtEveryLengthAndAlignment) {
  if (!HasCrc32cInstruction()) GTEST_SKIP() << "this CPU has no crc32 instruction";
  std::mt19937 random(7);
  std::string bytes(4096 + 16, '\0');
  for (char& c : bytes) c = static_cast<char>(random());
  for (size_t offset = 0; offset < 8; ++offset) {
    for (size_t length = 0; length <= 600; ++length) {
      const std::string_view data(bytes.data() + offset, length);
      ASSERT_EQ(Crc32cByInstruction(data, 0), Crc32cByTable(data, 0))
          << "offset " << offset << ", length " << length;
    }
  }
  const std::string_view whole(bytes.data() + 3, 4096);
  EXPECT_EQ(Crc32cByInstruction(whole, 0), Crc32cByTable(whole, 0));
}

// Inputs of three lanes (12 KiB) or more run three chains of the
// instruction side by side and join them; every length around the lane
// edges, and a long run of them, gives the table's checksum, also when
// continuing from another.
TEST(Crc32cTest, LongInputsInThreeLanesAgreeWithTable) {
  if (!HasCrc32cInstruction()) GTEST_SKIP() << "this CPU has no crc32 instruction";
  std::mt19937 random(13);
  std::string bytes(5 * 12288 + 64, '\0');
  for (char& c : bytes) c = static_cast<char>(random());
  for (size_t offset : {0, 3}) {
    for (size_t length : {12280, 12287, 12288, 12289, 12296, 24575, 24576, 24583, 5 * 12288 + 61}) {
      const std::string_view data(bytes.data() + offset, length);
      ASSERT_EQ(Crc32cByInstruction(data, 0), Crc32cByTable(data, 0))
          << "offset " << offset << ", length " << length;
      ASSERT_EQ(Crc32cByInstruction(data, 0x12345678u), Crc32cByTable(data, 0x12345678u))
          << "offset " << offset << ", length " << length;
    }
  }
  std::string zeros(3 * 12288, '\0');
  EXPECT_EQ(Crc32cByInstruction(zeros, 0), Crc32cByTable(zeros, 0));
}

TEST(Crc32cTest, ContinuingGivesTheChecksumOfTheWhole) {
  std::mt19937 random(11);
  std::string bytes(1000, '\0');
  for (char& c : bytes) c = static_cast<char>(random());
  const std::string_view all(bytes);
  const uint32_t whole = Crc32cByTable(all, 0);
  for (size_t split : {0, 1, 7, 8, 9, 500, 999, 1000}) {
    EXPECT_EQ(Crc32c(all.substr(split), Crc32c(all.substr(0, split))), whole) << split;
    EXPECT_EQ(Crc32cByTable(all.substr(split), Crc32cByTable(all.substr(0, split), 0)), whole)
        << split;
    if (HasCrc32cInstruction()) {
      EXPECT_EQ(Crc32cByInstruction(all.substr(split),
                                    Crc32cByInstruction(all.substr(0, split), 0)),
                whole)
          << split;
    }
  }
}

}  // namespace
}  // namespace dispatchd::journal
