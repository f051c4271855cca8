// The demo campus config that `make run` loads: the shipped file is valid
// and a broken one is refused with a message naming the file and the item.
#include "clients/demo/demo_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

namespace dispatchd::demo {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(DemoConfigTest, TheShippedCampusLoadsWithTheSizeTheQuickStartPromises) {
  absl::StatusOr<dispatch::demo::DemoCampus> campus = LoadDemoConfig(DISPATCHD_DEMO_CONFIG);
  ASSERT_TRUE(campus.ok()) << campus.status();
  EXPECT_GE(campus->zones_size(), 6);
  EXPECT_LE(campus->zones_size(), 10);
  EXPECT_GE(campus->technicians_size(), 15);
  EXPECT_GE(campus->depots_size(), 1);
  std::set<std::string> zones;
  for (const auto& z : campus->zones()) zones.insert(z.zone_id());
  for (const auto& t : campus->technicians()) {
    EXPECT_TRUE(zones.count(t.home_zone_id())) << t.technician_id();
    EXPECT_GT(t.skills_size(), 0) << t.technician_id();
  }
}

TEST(DemoConfigTest, AnUnknownFieldIsRefusedNamingTheSource) {
  absl::StatusOr<dispatch::demo::DemoCampus> campus =
      ParseDemoConfig(R"({"name": "x", "colour": "blue"})", "campus.json");
  ASSERT_FALSE(campus.ok());
  EXPECT_EQ(campus.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(campus.status().message()), StartsWith("campus.json"));
}

TEST(DemoConfigTest, ATechnicianInAnUnknownZoneIsRefusedNamingThem) {
  absl::StatusOr<dispatch::demo::DemoCampus> campus = LoadDemoConfig(DISPATCHD_DEMO_CONFIG);
  ASSERT_TRUE(campus.ok());
  campus->mutable_technicians(0)->set_home_zone_id("moon-base");
  absl::Status st = ValidateDemoCampus(*campus);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(st.message()), HasSubstr("moon-base"));
}

TEST(DemoConfigTest, MissingFileIsRefusedNamingIt) {
  absl::StatusOr<dispatch::demo::DemoCampus> campus = LoadDemoConfig("no/such/campus.json");
  ASSERT_FALSE(campus.ok());
  EXPECT_THAT(std::string(campus.status().message()), StartsWith("no/such/campus.json"));
}

}  // namespace
}  // namespace dispatchd::demo
