// Request and delivery ids ("R-000042", "D-000001"): the engine writes
// them without a format parser, and accepts exactly what it writes, so an
// id a client sends back finds its record and any other spelling is
// unknown.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "absl/strings/str_format.h"
#include "engine/internal/records.h"

namespace dispatchd::engine::internal {
namespace {

TEST(NumberedIdTest, WritesSixDigitsZeroPaddedOrMore) {
  EXPECT_EQ(FormatNumberedId('R', 1), "R-000001");
  EXPECT_EQ(FormatNumberedId('D', 999999), "D-999999");
  EXPECT_EQ(FormatNumberedId('R', 1000000), "R-1000000");
  EXPECT_EQ(FormatNumberedId('R', UINT32_MAX), "R-4294967295");
  for (uint32_t n :
       {0u, 7u, 10u, 99u, 12345u, 100000u, 123456u, 9999999u, 10000000u, 2147483648u}) {
    EXPECT_EQ(FormatNumberedId('R', n), absl::StrFormat("%c-%06u", 'R', n)) << n;
  }
}

TEST(NumberedIdTest, ReadsBackExactlyWhatItWrites) {
  for (uint32_t n : {1u, 42u, 999999u, 1000000u, 123456789u, UINT32_MAX}) {
    EXPECT_EQ(ParseNumberedId('R', FormatNumberedId('R', n)), n) << n;
  }
  for (const char* bad : {"R-000000", "R-00001", "R-0000001", "R-01000000", "R-+00001", "R- 00001",
                          "R-00000x", "D-000001", "R000001", "R-4294967296", "R-", ""}) {
    EXPECT_EQ(ParseNumberedId('R', bad), std::nullopt) << bad;
  }
}

}  // namespace
}  // namespace dispatchd::engine::internal
