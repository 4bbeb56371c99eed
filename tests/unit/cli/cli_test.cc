// RunCli as a whole: usage errors, help, spec validation before any network access, and an
// unreachable scheduler.
#include "cli/cli.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/exit_codes.h"
#include "tests/testing/test_util.h"
#include "tests/unit/cli/fake_scheduler.h"

namespace shoal::cli {
namespace {

namespace fs = std::filesystem;

// Nothing listens on port 1: connecting fails at once with "connection refused".
constexpr const char* kUnreachable = "http://127.0.0.1:1";

using ::shoal::testing::RepoRoot;
using ::shoal::testing::YamlFiles;

struct CliRun {
  int code;
  std::string out;
  std::string err;
};

CliRun RunArgs(const std::vector<std::string>& args, const CliEnv& env = CliEnv()) {
  std::ostringstream out, err;
  int code = RunCli(args, out, err, env);
  return {code, out.str(), err.str()};
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST(CliTest, NoArgumentsPrintsHelpAndFails) {
  CliRun r = RunArgs({});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_TRUE(Contains(r.err, "Subcommands:"));
}

TEST(CliTest, GlobalAndVerbHelp) {
  CliRun r = RunArgs({"--help"});
  EXPECT_EQ(r.code, kExitOk);
  for (const char* verb : {"submit", "list", "status", "cancel", "logs", "workers"}) {
    EXPECT_TRUE(Contains(r.out, std::string("  ") + verb)) << verb;
  }
  EXPECT_TRUE(Contains(r.out, "SHOAL_SCHEDULER"));
  CliRun s = RunArgs({"status", "-h"});  // no ID needed for help
  EXPECT_EQ(s.code, kExitOk);
  EXPECT_TRUE(Contains(s.out, "Usage: shoal status")) << s.out;
  EXPECT_EQ(RunArgs({"help", "logs"}).out, RunArgs({"logs", "--help"}).out);
  EXPECT_TRUE(Contains(RunArgs({"list", "--help"}).out, "1 hour"));  // the hiding rule is told
}

TEST(CliTest, UsageErrorsExit2WithAHint) {
  for (const auto& args : std::vector<std::vector<std::string>>{{"frobnicate"},
                                                                {"status"},
                                                                {"status", "0"},
                                                                {"list", "--bogus"},
                                                                {"list", "-o", "yaml"},
                                                                {"cancel"},
                                                                {"logs", "3", "--rank", "x"}}) {
    CliRun r = RunArgs(args);
    EXPECT_EQ(r.code, kExitUsage) << args[0];
    EXPECT_TRUE(r.err.rfind("shoal", 0) == 0) << r.err;
    EXPECT_TRUE(Contains(r.err, "--help' for the flags.")) << r.err;
    EXPECT_EQ(r.out, "");
  }
  EXPECT_TRUE(Contains(RunArgs({"status"}).err, "Run 'shoal status --help'"));
  EXPECT_EQ(RunArgs({"list", "--stat", "running"}).err,
            "shoal list: unknown flag --stat (did you mean --state?)\n"
            "Run 'shoal list --help' for the flags.\n");
}

TEST(CliTest, BadSchedulerAddressIsAUsageError) {
  CliRun r = RunArgs({"list", "--scheduler", "ftp://example.com"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_TRUE(Contains(r.err, "bad scheduler address"));
}

TEST(CliTest, UnreachableSchedulerExits3WithAHint) {
  CliRun r = RunArgs({"list", "--scheduler", kUnreachable});
  EXPECT_EQ(r.code, kExitUnavailable);
  EXPECT_TRUE(Contains(r.err, "cannot reach the scheduler at http://127.0.0.1:1")) << r.err;
  EXPECT_TRUE(Contains(r.err, "is shoal-scheduler running?")) << r.err;
  EXPECT_EQ(RunArgs({"status", "7", "--scheduler", kUnreachable}).code, kExitUnavailable);
  EXPECT_EQ(RunArgs({"workers", "--scheduler", kUnreachable}).code, kExitUnavailable);
  EXPECT_EQ(RunArgs({"cancel", "1", "2", "--scheduler", kUnreachable}).code, kExitUnavailable);
  EXPECT_EQ(RunArgs({"logs", "1", "--scheduler", kUnreachable}).code, kExitUnavailable);
}

TEST(CliTest, SchedulerAddressComesFromTheEnvironmentUnlessAFlagGivesOne) {
  CliEnv env;
  env.scheduler_env = kUnreachable;
  CliRun r = RunArgs({"list"}, env);
  EXPECT_EQ(r.code, kExitUnavailable);
  EXPECT_TRUE(Contains(r.err, kUnreachable)) << r.err;
  env.scheduler_env = "http://127.0.0.1:2";
  EXPECT_TRUE(Contains(RunArgs({"list", "--scheduler", kUnreachable}, env).err, kUnreachable));
}

// Every bad spec is reported with its position and exits 2 before the (unreachable) scheduler is
// contacted: reaching the network would make it exit 3 instead.
TEST(CliTest, InvalidSpecsExit2WithoutContactingTheScheduler) {
  auto files = YamlFiles(RepoRoot() / "tests" / "data" / "bad_specs");
  ASSERT_GE(files.size(), 10u);
  for (const auto& file : files) {
    CliRun r = RunArgs({"submit", file.string(), "--scheduler", kUnreachable, "--follow"});
    EXPECT_EQ(r.code, kExitUsage) << file << "\n" << r.err;
    EXPECT_TRUE(Contains(r.err, file.string())) << file << "\n" << r.err;
    EXPECT_FALSE(Contains(r.err, "cannot reach")) << file << "\n" << r.err;
    EXPECT_EQ(r.out, "") << file;
  }
}

TEST(CliTest, InvalidSpecSendsNoRequest) {
  testing::FakeScheduler fake([](const auto&) { return testing::FakeScheduler::Reply{201, "{}"}; });
  fs::path bad = RepoRoot() / "tests" / "data" / "bad_specs" / "07-workers-zero.yaml";
  CliRun r = RunArgs({"submit", bad.string(), "--scheduler", fake.url()});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_TRUE(Contains(r.err, "spec.workers.min")) << r.err;
  EXPECT_TRUE(Contains(r.err, "nothing was submitted")) << r.err;
  EXPECT_TRUE(fake.requests().empty());
}

TEST(CliTest, MissingSpecFileIsAUsageError) {
  CliRun r = RunArgs({"submit", "/nonexistent/job.yaml", "--scheduler", kUnreachable});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_TRUE(Contains(r.err, "/nonexistent/job.yaml")) << r.err;
}

// A valid spec passes local validation and only then fails on the network.
TEST(CliTest, ValidSpecsReachTheNetwork) {
  CliEnv env;
  env.submit_retry = std::chrono::milliseconds(0);  // no retrying an unreachable address here
  for (const auto& file : YamlFiles(RepoRoot() / "configs" / "jobs")) {
    CliRun r = RunArgs({"submit", file.string(), "--scheduler", kUnreachable}, env);
    EXPECT_EQ(r.code, kExitUnavailable) << file << "\n" << r.err;
  }
}

// --dry-run validates and estimates without the network: exit 0 against an unreachable address.
TEST(CliTest, DryRunPrintsTheMemoryPerRankAndSendsNothing) {
  const std::string spec = (RepoRoot() / "configs" / "jobs" / "fashion-mnist-mlp.yaml").string();
  CliRun r = RunArgs({"submit", spec, "--dry-run", "--scheduler", kUnreachable});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, spec + ": valid; nothing was submitted (--dry-run)\n" +
                       "memory per rank: 270.4 MiB of RAM (parameters 235.1K x 16 B = 3.6 MiB, "
                       "checkpoint snapshot 235.1K x 12 B = 2.7 MiB, activations 8.1 MiB, "
                       "overhead 256.0 MiB)\n");
  const std::string gpt = (RepoRoot() / "configs" / "jobs" / "gpt-fortunes.yaml").string();
  CliRun j = RunArgs({"submit", gpt, "--dry-run", "-o", "json", "--scheduler", kUnreachable});
  ASSERT_EQ(j.code, kExitOk) << j.err;
  const nlohmann::json reply = nlohmann::json::parse(j.out);
  EXPECT_EQ(reply["name"], "gpt-fortunes");
  // 2 blocks of C=64 on T=64 bytes: 256*64 + 64*64 + 2*(12*64*64 + 13*64) + 2*64 parameters.
  EXPECT_EQ(reply["memoryPerRank"]["parameters"],
            256 * 64 + 64 * 64 + 2 * (12 * 64 * 64 + 13 * 64) + 2 * 64);
  EXPECT_EQ(reply["memoryPerRank"]["bytes"], reply["memoryPerRank"]["hostBytes"]);
  CliRun both = RunArgs({"submit", spec, "--dry-run", "--wait"});
  EXPECT_EQ(both.code, kExitUsage);
  EXPECT_TRUE(Contains(both.err, "--dry-run submits nothing to wait for")) << both.err;
}

}  // namespace
}  // namespace shoal::cli
