// configs/scheduler.yaml parsing, flag overrides and validation.
#include "scheduler/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "common/byte_size.h"
#include "common/duration.h"
#include "tests/testing/test_util.h"

namespace shoal {
namespace {

// The exit code ParseSchedulerFlags asks for (nullopt: go on); *err gets what it printed there.
std::optional<int> Parse(std::vector<std::string> args, SchedulerConfig* c, bool* check = nullptr,
                         std::string* err = nullptr) {
  bool check_only = false;
  std::ostringstream out_stream, err_stream;
  std::optional<int> code =
      ParseSchedulerFlags(std::move(args), c, &check_only, out_stream, err_stream);
  if (check != nullptr) *check = check_only;
  if (err != nullptr) *err = err_stream.str();
  return code;
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
  ASSERT_EQ(Parse({"--port", "9000", "--config", path, "--check-config"}, &c, &check),
            std::nullopt);
  EXPECT_TRUE(check);
  EXPECT_EQ(c.port, 9000);  // the flag wins wherever it stands
  EXPECT_EQ(c.worker_timeout_ms, 15000);
  EXPECT_EQ(c.heartbeat_wait_ms, 5000);
  EXPECT_TRUE(ValidateSchedulerConfig(c).ok());
  ASSERT_EQ(Parse({"--config=" + path, "--worker-timeout=30s"}, &c), std::nullopt);
  EXPECT_EQ(c.worker_timeout_ms, 30000);
  EXPECT_EQ(c.port, 8470);  // from the file: flags of an earlier parse do not stick
  ASSERT_EQ(Parse({"--worker-timeout", "20s", "--config", path}, &c), std::nullopt);
  EXPECT_EQ(c.worker_timeout_ms, 20000);
  // An override appended to a command line wins (tests restart the scheduler that way).
  SchedulerConfig twice;
  ASSERT_EQ(Parse({"--port", "0", "--state-dir", "/s", "--port", "9100"}, &twice), std::nullopt);
  EXPECT_EQ(twice.port, 9100);
}

TEST(ConfigTest, EveryFlagSetsItsKey) {
  // A value other than the default for each setting, given as a flag: it must land where the
  // same key of the file puts it.
  const std::map<std::string, std::string> kValues = {
      {"address", "0.0.0.0"},
      {"port", "9001"},
      {"stateDir", "/tmp/s"},
      {"workerTimeout", "40s"},
      {"heartbeatWait", "7s"},
      {"silentAfterEnd", "10s"},
      {"scheduleInterval", "250ms"},
      {"maxBodyBytes", "4096"},
      {"policy", "fairshare+backfill"},
      {"fairShareHalfLife", "2d"},
      {"ledgerHistoryInterval", "0"},
      {"ledgerHistoryRetention", "730d"},
      {"preemptMinRuntime", "3m"},
      {"preemptMaxPerJob", "2"},
      {"preemptMaxUnsaved", "5m"},
      {"lasLevels", "30m,5h"},
      {"lasStarveFactor", "4"},
      {"youngDaly", "true"},
      {"workerMtbfPrior", "2d"},
      {"resizeMinInterval", "4m"},
      {"adminTokenFile", "/a"},
      {"workerTokenFile", "/w"},
      {"workerAccount", "pool"},
      {"tlsCert", "/c.pem"},
      {"tlsKey", "/k.pem"},
      {"uiDir", "/srv/ui"},
      {"queues", "default,gpu"},
      {"maxConnections", "100"},
      {"maxConnectionsPerAddress", "0"},
      {"maxActiveJobs", "5"},
      {"maxSpecBytes", "8KiB"},
      {"jobLogBytes", "1MiB"},
      {"checkpointQuota", "0"},
      {"registryQuota", "1GiB"},
      {"registryUploadGrace", "2h"},
      {"registryMasterKeyFile", "/m.key"},
      {"logRetention", "1h"},
      {"checkpointRetention", "0s"},
      {"newWorkerRanksPerJob", "0"},
      {"audits", "true"},
      {"auditInitialRate", "0.2"},
      {"auditDecay", "0.5"},
      {"auditMinRate", "0.01"},
      {"auditScreenZ", "4"},
      {"auditScreenMinDeviation", "0.5"},
      {"allowTestFaults", "true"},
      {"gpuSpeeds", "H100=2.6,A100=1"},
      {"visibility.metricsNames", "true"},
      {"visibility.workers", "all"},
      {"visibility.jobs", "exists"},
      {"visibility.accounts", "all"},
  };
  ASSERT_EQ(kValues.size(), SchedulerSettings().size());
  for (const SchedulerSetting& s : SchedulerSettings()) {
    SCOPED_TRACE(s.flag);
    const std::string& value = kValues.at(s.key);
    SchedulerConfig by_file, by_flag, by_flag_eq;
    ASSERT_TRUE(SetSchedulerSetting(s.key, value, &by_file).ok());
    EXPECT_NE(by_file, SchedulerConfig{}) << "the test value is the default";
    ASSERT_EQ(Parse({s.flag, value}, &by_flag), std::nullopt);
    ASSERT_EQ(Parse({std::string(s.flag) + "=" + value}, &by_flag_eq), std::nullopt);
    EXPECT_EQ(by_flag, by_file);
    EXPECT_EQ(by_flag_eq, by_file);
  }
}

TEST(ConfigTest, ByteSizes) {
  EXPECT_EQ(*ParseByteSize("65536"), 65536);
  EXPECT_EQ(*ParseByteSize("64KiB"), 65536);
  EXPECT_EQ(*ParseByteSize("1.5MiB"), 1572864);
  EXPECT_EQ(*ParseByteSize("50GiB"), int64_t{50} << 30);
  EXPECT_EQ(*ParseByteSize("10MB"), 10000000);
  for (const char* bad : {"", "MiB", "-1KiB", "1 MiB", "1XB", "2000TiB", "nan", "1e400"}) {
    Result<int64_t> r = ParseByteSize(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.status().message().find("bad size"), std::string::npos) << bad;
  }
  SchedulerConfig c;
  EXPECT_FALSE(SetSchedulerSetting("maxSpecBytes", "2MiB", &c).ok());
  EXPECT_FALSE(SetSchedulerSetting("jobLogBytes", "1KiB", &c).ok());
  EXPECT_FALSE(SetSchedulerSetting("maxActiveJobs", "-1", &c).ok());
}

// The ledger's history: an interval of 0 turns it off, under a second is refused; its retention
// may pass the year other durations stop at.
TEST(ConfigTest, LedgerHistorySettings) {
  SchedulerConfig c;
  ASSERT_TRUE(SetSchedulerSetting("ledgerHistoryInterval", "0", &c).ok());
  EXPECT_EQ(c.ledger_history_interval_ms, 0);
  EXPECT_FALSE(SetSchedulerSetting("ledgerHistoryInterval", "500ms", &c).ok());
  ASSERT_TRUE(SetSchedulerSetting("ledgerHistoryRetention", "3650d", &c).ok());
  EXPECT_EQ(c.ledger_history_retention_ms, int64_t{3650} * 86400 * 1000);
  EXPECT_FALSE(SetSchedulerSetting("ledgerHistoryRetention", "3651d", &c).ok());
  EXPECT_FALSE(SetSchedulerSetting("ledgerHistoryRetention", "soon", &c).ok());
}

// +las's levels are GPU times, ascending; its starvation factor a number above 0.
TEST(ConfigTest, LasSettings) {
  SchedulerConfig c;
  EXPECT_EQ(c.las_levels_gpu_s, (std::vector<double>{3600, 36000, 360000}));
  ASSERT_TRUE(SetSchedulerSetting("lasLevels", "30m,2h,1d", &c).ok());
  EXPECT_EQ(c.las_levels_gpu_s, (std::vector<double>{1800, 7200, 86400}));
  ASSERT_TRUE(SetSchedulerSetting("lasLevels", "100h", &c).ok());
  EXPECT_EQ(c.las_levels_gpu_s, (std::vector<double>{360000}));
  for (const char* bad : {"", "1h,", "2h,1h", "1h,1h", "0", "1h,x", "1h,2h,3h,4h,5h,6h,7h,8h,9h"}) {
    Status st = SetSchedulerSetting("lasLevels", bad, &c);
    EXPECT_FALSE(st.ok()) << bad;
  }
  EXPECT_NE(SetSchedulerSetting("lasLevels", "1h,2h,3h,4h,5h,6h,7h,8h,9h", &c)
                .message()
                .find("at most 8"),
            std::string::npos);
  EXPECT_EQ(c.las_levels_gpu_s, (std::vector<double>{360000}));  // refused values change nothing
  ASSERT_TRUE(SetSchedulerSetting("lasStarveFactor", "0.5", &c).ok());
  EXPECT_EQ(c.las_starve_factor, 0.5);
  for (const char* bad : {"0", "-1", "1001", "x", "nan"}) {
    EXPECT_FALSE(SetSchedulerSetting("lasStarveFactor", bad, &c).ok()) << bad;
  }
}

TEST(ConfigTest, AuditSettingsAreValidatedAsATrustPolicy) {
  SchedulerConfig c;
  EXPECT_FALSE(c.audits);  // off by default (docs/audits.md "Status")
  EXPECT_FALSE(c.allow_test_faults);
  for (const char* bad : {"0", "1.5", "-0.1", "x", "0.1x", "nan", "inf", ""}) {
    EXPECT_FALSE(SetSchedulerSetting("auditInitialRate", bad, &c).ok()) << bad;
  }
  EXPECT_FALSE(SetSchedulerSetting("auditScreenZ", "0", &c).ok());
  EXPECT_FALSE(SetSchedulerSetting("auditScreenMinDeviation", "-0.1", &c).ok());
  EXPECT_FALSE(SetSchedulerSetting("audits", "yes", &c).ok());
  ASSERT_TRUE(SetSchedulerSetting("auditMinRate", "0.5", &c).ok());
  Status st = ValidateSchedulerConfig(c);  // above the initial rate of 0.1
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("auditMinRate"), std::string::npos) << st.message();
  ASSERT_TRUE(SetSchedulerSetting("auditInitialRate", "0.5", &c).ok());
  EXPECT_TRUE(ValidateSchedulerConfig(c).ok()) << ValidateSchedulerConfig(c).ToString();
  EXPECT_DOUBLE_EQ(TrustPolicyOf(c).initial_rate, 0.5);
}

// common/byte_size.h: decimal fractions are exact and rounded down; no exponents or signs.
TEST(ConfigTest, ByteSizesAreExact) {
  EXPECT_EQ(*ParseByteSize("0.1KiB"), 102);  // 102.4
  EXPECT_EQ(*ParseByteSize(".5KiB"), 512);
  EXPECT_EQ(*ParseByteSize("1.5GB"), 1500000000);
  // 2^53 + 1, not a double (above the default cap of 1 PiB, so with a larger one).
  EXPECT_EQ(*ParseByteSize("9007199254740993", int64_t{1} << 62), 9007199254740993);
  EXPECT_EQ(*ParseByteSize("1024TiB"), int64_t{1} << 50);  // the default cap, inclusive
  EXPECT_FALSE(ParseByteSize("1025TiB").ok());
  EXPECT_EQ(*ParseByteSize("1025TiB", int64_t{1} << 62), int64_t{1025} << 40);
  for (const char* bad : {"1e3", "+1", "-0", "1..5KiB", ".", "1PiB", "1kib"}) {
    EXPECT_FALSE(ParseByteSize(bad).ok()) << bad;
  }
}

TEST(ConfigTest, DocumentedDefaultsAreTheDefaults) {
  for (const SchedulerSetting& s : SchedulerSettings()) {
    SCOPED_TRACE(s.key);
    SchedulerConfig c;
    if (std::string(s.default_text).empty()) continue;  // "no default": an empty string field
    ASSERT_TRUE(SetSchedulerSetting(s.key, s.default_text, &c).ok());
    EXPECT_EQ(c, SchedulerConfig{});
  }
}

TEST(ConfigTest, HelpListsEveryFlagWithItsDefault) {
  SchedulerConfig c;
  bool check = false;
  std::ostringstream out, err;
  ASSERT_EQ(ParseSchedulerFlags({"--help"}, &c, &check, out, err), 0);
  for (const SchedulerSetting& s : SchedulerSettings()) {
    EXPECT_NE(out.str().find(s.flag), std::string::npos) << s.flag;
  }
  EXPECT_NE(out.str().find("(default 15s)"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("--check-config"), std::string::npos);
}

TEST(ConfigTest, VisibilityIsATableInTheFileAndPrivateByDefault) {
  SchedulerConfig defaults;
  EXPECT_FALSE(defaults.visibility.metrics_names);
  EXPECT_EQ(defaults.visibility.workers, Visibility::Workers::kOwner);
  EXPECT_EQ(defaults.visibility.jobs, Visibility::Jobs::kOwner);
  char tmpl[] = "/tmp/shoal-config-XXXXXX";
  std::string dir = ::mkdtemp(tmpl);
  auto write = [&](const std::string& text) {
    std::ofstream(dir + "/s.yaml", std::ios::trunc) << text;
    return dir + "/s.yaml";
  };
  SchedulerConfig c;
  ASSERT_TRUE(LoadSchedulerConfigFile(
                  write("port: 1\nvisibility:\n  metricsNames: true\n  workers: all\n"), &c)
                  .ok());
  EXPECT_TRUE(c.visibility.metrics_names);
  EXPECT_EQ(c.visibility.workers, Visibility::Workers::kAll);
  EXPECT_EQ(c.visibility.jobs, Visibility::Jobs::kOwner);  // not given: the default
  // A bad value names the line and the key; an unknown key in the table is refused.
  Status st = LoadSchedulerConfigFile(write("visibility:\n  jobs: public\n"), &c);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find(":2:3: visibility.jobs: expected owner or exists"), std::string::npos)
      << st.message();
  st = LoadSchedulerConfigFile(write("visibility: {wrokers: all}\n"), &c);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("visibility.workers"), std::string::npos) << st.message();
  EXPECT_FALSE(LoadSchedulerConfigFile(write("visibility: {metricsNames: yes}\n"), &c).ok());
  EXPECT_FALSE(LoadSchedulerConfigFile(write("visibility: all\n"), &c).ok());
  std::filesystem::remove_all(dir);
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
  // queues: a YAML list (or "a,b"), each a DNS label.
  ASSERT_TRUE(LoadSchedulerConfigFile(write("queues: [default, gpu-big]\n"), &c).ok());
  EXPECT_EQ(c.queues, (std::vector<std::string>{"default", "gpu-big"}));
  st = LoadSchedulerConfigFile(write("queues: [default, Big_GPU]\n"), &c);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("queue names are DNS labels"), std::string::npos) << st.message();
  EXPECT_FALSE(LoadSchedulerConfigFile(write("queues: [[a]]\n"), &c).ok());
  EXPECT_EQ(LoadSchedulerConfigFile(dir + "/missing.yaml", &c).code(), StatusCode::kNotFound);
  std::string err;
  EXPECT_EQ(Parse({"--prot", "1"}, &c, nullptr, &err), 2);
  EXPECT_NE(err.find("unknown flag --prot (did you mean --port?)"), std::string::npos) << err;
  EXPECT_EQ(Parse({"--port"}, &c, nullptr, &err), 2);
  EXPECT_NE(err.find("--port needs a value"), std::string::npos) << err;
  EXPECT_EQ(Parse({"--port", "abc"}, &c, nullptr, &err), 2);
  EXPECT_NE(err.find("bad value for --port"), std::string::npos) << err;
  EXPECT_EQ(Parse({"--worker-timeout=soon"}, &c, nullptr, &err), 2);
  EXPECT_NE(err.find("bad duration"), std::string::npos) << err;
  EXPECT_EQ(Parse({"--config", dir + "/missing.yaml"}, &c, nullptr, &err), 2);
  EXPECT_NE(err.find("missing.yaml"), std::string::npos) << err;
  st = LoadSchedulerConfigFile(write("wrokerTimeout: 5s\n"), &c);
  EXPECT_NE(st.message().find("did you mean workerTimeout?"), std::string::npos) << st.message();
  SchedulerConfig tight;
  tight.worker_timeout_ms = 4000;
  tight.heartbeat_wait_ms = 3000;  // more than half the timeout: workers would flap
  EXPECT_FALSE(ValidateSchedulerConfig(tight).ok());
  for (const char* good :
       {"fifo", "priority", "fairshare", "fifo+backfill", "fairshare+backfill"}) {
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
