// The wire messages of common/wire/: what each side sends round-trips, and malformed input is
// refused with the message the peer sees.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/wire/assignment.h"

namespace shoal {
namespace {

using nlohmann::json;

json GoodAssignment() {
  return {{"job", 7},       {"attempt", 2},    {"rank", 1},
          {"worldSize", 3}, {"name", "mnist"}, {"spec", "kind: Job\n"}};
}

TEST(WireAssignmentTest, RoundTripsWhatTheSchedulerSends) {
  const wire::Assignment a{
      .job = 7, .attempt = 2, .rank = 1, .world_size = 3, .name = "mnist", .spec = "kind: Job\n"};
  // The exact keys the scheduler has always sent.
  EXPECT_EQ(wire::ToJson(a), GoodAssignment());
  EXPECT_EQ(wire::ToJson(a).dump(),
            R"({"attempt":2,"job":7,"name":"mnist","rank":1,"spec":"kind: Job\n","worldSize":3})");
  auto back = wire::AssignmentFromJson(wire::ToJson(a));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, a);
}

TEST(WireAssignmentTest, DefaultsWorldSizeAndNameLikeTheAgentAlwaysDid) {
  json j = GoodAssignment();
  j.erase("worldSize");
  j.erase("name");
  j["extra"] = "ignored";
  auto a = wire::AssignmentFromJson(j);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->world_size, 1);
  EXPECT_EQ(a->name, "");
  EXPECT_EQ(a->rank, 1);
}

TEST(WireAssignmentTest, RefusesMalformedAssignments) {
  const std::string needs = "an assignment needs integer job, attempt and rank and a string spec";
  for (const char* key : {"job", "attempt", "rank", "spec"}) {
    json j = GoodAssignment();
    j.erase(key);
    auto a = wire::AssignmentFromJson(j);
    ASSERT_FALSE(a.ok()) << "without " << key;
    EXPECT_EQ(a.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(a.status().message(), needs) << "without " << key;
  }
  json j = GoodAssignment();
  j["rank"] = "1";
  EXPECT_EQ(wire::AssignmentFromJson(j).status().message(), needs);
  j = GoodAssignment();
  j["job"] = 1.5;
  EXPECT_EQ(wire::AssignmentFromJson(j).status().message(), needs);
  j = GoodAssignment();
  j["spec"] = json::object();
  EXPECT_EQ(wire::AssignmentFromJson(j).status().message(), needs);
  EXPECT_EQ(wire::AssignmentFromJson(json::array()).status().message(), needs);
  j = GoodAssignment();
  j["worldSize"] = "3";
  EXPECT_EQ(wire::AssignmentFromJson(j).status().message(),
            "an assignment's worldSize must be an integer");
  j = GoodAssignment();
  j["name"] = 5;
  EXPECT_EQ(wire::AssignmentFromJson(j).status().message(),
            "an assignment's name must be a string");
}

}  // namespace
}  // namespace shoal
