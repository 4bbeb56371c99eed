// configs/scheduler.yaml parsing, flag overrides and validation.
#include "scheduler/config.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "tests/testing/test_util.h"

namespace shoal {
namespace {

Status Parse(std::vector<std::string> args, SchedulerConfig* c, bool* check = nullptr) {
  std::vector<char*> argv;
  static std::string prog = "shoal-scheduler";
  argv.push_back(prog.data());
  for (auto& a : args) argv.push_back(a.data());
  bool check_only = false, help = false;
  Status st = ParseSchedulerFlags(static_cast<int>(argv.size()), argv.data(), c, &check_only, &help);
  if (check != nullptr) *check = check_only;
  return st;
}

TEST(ConfigTest, Durations) {
  EXPECT_EQ(*ParseDurationMs("500ms"), 500);
  EXPECT_EQ(*ParseDurationMs("15s"), 15000);
  EXPECT_EQ(*ParseDurationMs("2m"), 120000);
  EXPECT_EQ(*ParseDurationMs("1h"), 3600000);
  EXPECT_EQ(*ParseDurationMs("3"), 3000);
  EXPECT_EQ(*ParseDurationMs("1.5s"), 1500);
  for (const char* bad : {"", "s", "-1s", "abc", "5x", "1e400s", "nan"}) {
    EXPECT_FALSE(ParseDurationMs(bad).ok()) << bad;
  }
}

TEST(ConfigTest, ShippedConfigIsValidAndFlagsOverrideIt) {
  std::string path = (::shoal::testing::RepoRoot() / "configs/scheduler.yaml").string();
  SchedulerConfig c;
  bool check = false;
  ASSERT_TRUE(Parse({"--port", "9000", "--config", path, "--check-config"}, &c, &check).ok());
  EXPECT_TRUE(check);
  EXPECT_EQ(c.port, 9000);  // the flag wins wherever it stands
  EXPECT_EQ(c.worker_timeout_ms, 15000);
  EXPECT_EQ(c.heartbeat_wait_ms, 5000);
  EXPECT_TRUE(ValidateSchedulerConfig(c).ok());
  ASSERT_TRUE(Parse({"--config", path, "--worker-timeout=30s"}, &c).ok());
  EXPECT_EQ(c.worker_timeout_ms, 30000);
}

TEST(ConfigTest, BadFilesAndFlagsAreClearErrors) {
  char tmpl[] = "/tmp/shoal-config-XXXXXX";
  std::string dir = ::mkdtemp(tmpl);
  auto write = [&](const std::string& text) {
    std::ofstream(dir + "/s.yaml", std::ios::trunc) << text;
    return dir + "/s.yaml";
  };
  SchedulerConfig c;
  Status st = LoadSchedulerConfigFile(write("port: 1\nwrokerTimeout: 5s\n"), &c);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find(":2:1"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("wrokerTimeout"), std::string::npos);
  EXPECT_FALSE(LoadSchedulerConfigFile(write("port: [1\n"), &c).ok());
  EXPECT_FALSE(LoadSchedulerConfigFile(write("port: 70000\n"), &c).ok());
  EXPECT_FALSE(LoadSchedulerConfigFile(write("- a\n- b\n"), &c).ok());
  EXPECT_EQ(LoadSchedulerConfigFile(dir + "/missing.yaml", &c).code(), StatusCode::kNotFound);
  EXPECT_FALSE(Parse({"--bogus", "1"}, &c).ok());
  EXPECT_FALSE(Parse({"--port"}, &c).ok());
  EXPECT_FALSE(Parse({"--port", "abc"}, &c).ok());
  SchedulerConfig tight;
  tight.worker_timeout_ms = 4000;
  tight.heartbeat_wait_ms = 3000;  // more than half the timeout: workers would flap
  EXPECT_FALSE(ValidateSchedulerConfig(tight).ok());
  for (const char* good : {"fifo", "priority", "fairshare", "fifo+backfill", "fairshare+backfill"}) {
    SchedulerConfig p;
    p.policy = good;
    EXPECT_TRUE(ValidateSchedulerConfig(p).ok()) << good;
  }
  for (const char* bad : {"", "lottery", "fifo+", "fifo+magic", "+backfill", "FIFO"}) {
    SchedulerConfig p;
    p.policy = bad;
    Status v = ValidateSchedulerConfig(p);
    EXPECT_FALSE(v.ok()) << bad;
    EXPECT_NE(v.message().find("policy"), std::string::npos) << v.message();
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace shoal
