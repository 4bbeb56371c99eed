// Every built program follows common/flags.h's conventions: --version, --help, "unknown flag"
// with a suggestion, and both `--flag=value` and `--flag value`. One table row per program; each
// run is a real process, bounded in time.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/version.h"
#include "worker/agent/process.h"

namespace shoal {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

struct Outcome {
  int exit_code = -1;
  std::string out, err;
};

class BinaryFlagsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/shoal-binary-flags-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Runs `bin args...` with stdout and stderr kept apart and none of the SHOAL_* variables that
  // would stand in for flags; killed (and the test failed) after 30 s.
  Outcome Start(const std::string& bin, const std::vector<std::string>& args) {
    const std::string out_file = dir_ + "/out-" + std::to_string(runs_) + ".txt";
    const std::string err_file = dir_ + "/err-" + std::to_string(runs_++) + ".txt";
    SpawnOptions spawn;
    spawn.argv = {"/bin/sh", "-c",
                  "exec env -u SHOAL_TOKEN -u SHOAL_SCHEDULER -u SHOAL_CA_FILE \"$0\" \"$@\" "
                  "2>\"$SHOAL_TEST_ERR\"",
                  bin};
    spawn.argv.insert(spawn.argv.end(), args.begin(), args.end());
    spawn.env["SHOAL_TEST_ERR"] = err_file;
    spawn.output_file = out_file;
    spawn.cwd = dir_;
    Outcome r;
    auto p = Spawn(spawn);
    if (!p.ok()) {
      ADD_FAILURE() << p.status().ToString();
      return r;
    }
    ExitInfo info;
    bool exited = false;
    for (auto deadline = std::chrono::steady_clock::now() + 30s;
         !(exited = TryReap(p->pid, &info)) && std::chrono::steady_clock::now() < deadline;) {
      std::this_thread::sleep_for(10ms);
    }
    if (!exited) {
      SignalGroup(p->pid, SIGKILL);
      WaitForExit(p->pid);
      ADD_FAILURE() << bin << " did not exit within 30 s";
    } else {
      r.exit_code = info.exit_code;
    }
    r.out = ReadFile(out_file);
    r.err = ReadFile(err_file);
    return r;
  }

  static std::string ReadFile(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  std::string dir_;
  int runs_ = 0;
};

// `--flag=value` and `--flag value` of one flag must give the same outcome, and one that shows
// the value was read (so a parser that dropped it would fail).
struct FormCase {
  std::vector<std::string> args_eq;     // with --flag=value
  std::vector<std::string> args_space;  // the same with --flag value
  int exit_code;
  std::string out_has;  // in stdout ("" = no check)
  std::string err_has;  // in stderr ("" = no check)
};

struct Program {
  std::string name;
  std::string bin;
  std::string known_flag;  // listed by --help
  std::string typo;        // an unknown flag close to a real one
  std::string suggestion;  // the real one
  std::vector<FormCase> forms;
};

std::vector<Program> Programs() {
  return {
      {"shoal-scheduler",
       SHOAL_SCHEDULER_BIN,
       "--worker-timeout",
       "--prot",
       "--port",
       {
           // Read and applied: 20s is more than half of the default 15s worker timeout.
           {{"--check-config", "--heartbeat-wait=20s"},
            {"--check-config", "--heartbeat-wait", "20s"},
            2,
            "",
            "heartbeatWait must be at most half of workerTimeout"},
           {{"--check-config", "--heartbeat-wait=2s"},
            {"--check-config", "--heartbeat-wait", "2s"},
            0,
            "configuration ok",
            ""},
       }},
      {"shoal-worker",
       SHOAL_WORKER_BIN,
       "--data-root",
       "--nmae",
       "--name",
       {
           {{"--token-file=no-such-token"},
            {"--token-file", "no-such-token"},
            2,
            "",
            "no-such-token"},
           {{"--cache-max-gb=0"},
            {"--cache-max-gb", "0"},
            2,
            "",
            "--cache-max-gb must be a number of GB above 0"},
       }},
      {"shoal-train",
       SHOAL_TRAIN_BIN,
       "--progress-json",
       "--world-sise",
       "--world-size",
       {
           {{"job.yaml", "--world-size=2", "--rank=3"},
            {"job.yaml", "--world-size", "2", "--rank", "3"},
            2,
            "",
            "--rank 3 must be below --world-size 2"},
       }},
      {"shoal",
       SHOAL_CLI_BIN,
       "--scheduler",
       "--schedulr",
       "--scheduler",
       {
           // The address is used: nothing listens on port 1.
           {{"--scheduler=http://127.0.0.1:1", "workers"},
            {"--scheduler", "http://127.0.0.1:1", "workers"},
            3,
            "",
            "cannot reach the scheduler at http://127.0.0.1:1"},
           {{"list", "--state=bogus"}, {"list", "--state", "bogus"}, 2, "", "bogus"},
       }},
      {"shoal-sim",
       SHOAL_SIM_BIN,
       "--misestimate",
       "--synthetc",
       "--synthetic",
       {
           {{"--synthetic=20", "--cluster=2x8", "--policy=fifo", "-o", "json"},
            {"--synthetic", "20", "--cluster", "2x8", "--policy", "fifo", "-o", "json"},
            0,
            "\"jobs\": 20",
            ""},
           // +las levels are read (and echoed in the JSON) and must ascend.
           {{"--synthetic=20", "--cluster=2x8", "--policy=fifo+las", "--las-levels=2,20", "-o",
             "json"},
            {"--synthetic", "20", "--cluster", "2x8", "--policy", "fifo+las", "--las-levels",
             "2,20", "-o", "json"},
            0,
            "\"lasLevelsGpuHours\": [\n    2.0,\n    20.0\n  ]",
            ""},
           {{"--synthetic=20", "--cluster=2x8", "--las-levels=10,1"},
            {"--synthetic", "20", "--cluster", "2x8", "--las-levels", "10,1"},
            2,
            "",
            "--las-levels: give one or more GPU-hour levels, ascending"},
       }},
  };
}

TEST_F(BinaryFlagsTest, VersionHelpUnknownFlagAndBothValueForms) {
  for (const Program& p : Programs()) {
    SCOPED_TRACE(p.name);

    Outcome version = Start(p.bin, {"--version"});
    EXPECT_EQ(version.exit_code, 0) << version.err;
    // The commit as common/version.h writes it; not necessarily this test's own (a partial
    // rebuild may relink the programs after a commit without relinking the test).
    EXPECT_TRUE(std::regex_match(
        version.out,
        std::regex(p.name + " " + Version() + " \\(commit ([0-9a-f]{7,40}(-dirty)?|unknown)\\)\n")))
        << version.out;
    EXPECT_EQ(version.err, "");

    Outcome help = Start(p.bin, {"--help"});
    EXPECT_EQ(help.exit_code, 0) << help.err;
    EXPECT_THAT(help.out, HasSubstr("Usage: " + p.name));
    EXPECT_THAT(help.out, HasSubstr(p.known_flag));
    EXPECT_THAT(help.out, HasSubstr("--version"));
    EXPECT_EQ(help.err, "");

    Outcome unknown = Start(p.bin, {p.typo, "1"});
    EXPECT_EQ(unknown.exit_code, 2);
    EXPECT_THAT(unknown.err, HasSubstr(p.name + ": unknown flag " + p.typo + " (did you mean " +
                                       p.suggestion + "?)"));
    EXPECT_THAT(unknown.err, HasSubstr("Run '" + p.name + " --help' for the flags."));
    EXPECT_EQ(unknown.out, "");

    for (const FormCase& f : p.forms) {
      for (const auto* args : {&f.args_eq, &f.args_space}) {
        std::string label;
        for (const std::string& a : *args) label += a + " ";
        SCOPED_TRACE(label);
        Outcome r = Start(p.bin, *args);
        EXPECT_EQ(r.exit_code, f.exit_code) << r.out << r.err;
        if (!f.out_has.empty()) {
          EXPECT_THAT(r.out, HasSubstr(f.out_has));
        }
        if (!f.err_has.empty()) {
          EXPECT_THAT(r.err, HasSubstr(f.err_has));
        }
      }
    }
  }
}

}  // namespace
}  // namespace shoal
