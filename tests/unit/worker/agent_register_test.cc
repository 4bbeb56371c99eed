// The agent's registration: a per-process instance id in the body, and a 409 (another live agent
// holds the name) ends the agent with the scheduler's message instead of retrying.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <nlohmann/json.hpp>
#include <regex>

#include "tests/unit/cli/fake_scheduler.h"
#include "worker/agent/agent.h"

namespace shoal {
namespace {

using cli::testing::FakeScheduler;
using nlohmann::json;

class AgentRegisterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/shoal-agent-register-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  AgentOptions Options(const std::string& url) {
    AgentOptions o;
    o.scheduler_url = url;
    o.name = "box-0";
    o.token = "t0k3n";
    o.detect_gpus = false;
    o.trainer_path = "/bin/true";  // never started: no assignment arrives
    o.work_dir = dir_ + "/work";
    return o;
  }

  // Runs the agent; stops it after 20 s if it has not returned by itself (a failure).
  Status RunBounded(Agent& agent) {
    auto done = std::async(std::launch::async, [&] { return agent.Run(); });
    if (done.wait_for(std::chrono::seconds(20)) != std::future_status::ready) {
      ADD_FAILURE() << "the agent kept running after the refusal";
      agent.Stop();
    }
    return done.get();
  }

  std::string dir_;
};

TEST_F(AgentRegisterTest, ConflictEndsTheAgentWithTheSchedulersMessage) {
  FakeScheduler fake([](const FakeScheduler::Request& r) -> FakeScheduler::Reply {
    if (r.target == "/v1/workers/register") {
      return {
          409,
          R"({"error":{"code":"AlreadyExists","message":"worker box-0 is registered by a live agent"}})"};
    }
    return {404, R"({"error":{"code":"NotFound","message":"no"}})"};
  });
  Agent agent(Options(fake.url()));
  Status st = RunBounded(agent);
  EXPECT_EQ(st.code(), StatusCode::kAlreadyExists) << st.ToString();
  EXPECT_NE(st.message().find("worker box-0 is registered by a live agent"), std::string::npos)
      << st.message();
  // One attempt: a conflict is not retried.
  const auto requests = fake.requests();
  ASSERT_EQ(requests.size(), 1u);
  json body = json::parse(requests[0].body);
  EXPECT_EQ(body.value("name", ""), "box-0");
  EXPECT_TRUE(std::regex_match(body.value("instance", ""), std::regex("[0-9a-f]{32}")))
      << body.dump();
}

TEST_F(AgentRegisterTest, EveryAgentProcessHasItsOwnInstance) {
  FakeScheduler fake([](const FakeScheduler::Request&) -> FakeScheduler::Reply {
    // 403 ends the agent at once as well; only the bodies matter here.
    return {403, R"({"error":{"code":"PermissionDenied","message":"not this time"}})"};
  });
  for (int i = 0; i < 2; ++i) {
    Agent agent(Options(fake.url()));
    EXPECT_EQ(RunBounded(agent).code(), StatusCode::kPermissionDenied);
  }
  const auto requests = fake.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_NE(json::parse(requests[0].body).value("instance", ""),
            json::parse(requests[1].body).value("instance", ""));
}

}  // namespace
}  // namespace shoal
