// The CLI's files and settings: login, tokens create --save, token-file permissions, contexts
// (config.yaml) and their precedence, completion scripts, --version and the version-skew warning.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/cli.h"
#include "cli/config.h"
#include "cli/exit_codes.h"
#include "common/version.h"
#include "tests/testing/test_util.h"
#include "tests/unit/cli/fake_scheduler.h"

namespace shoal::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::FakeScheduler;
using Reply = FakeScheduler::Reply;
using Request = FakeScheduler::Request;

struct CliRun {
  int code;
  std::string out;
  std::string err;
};

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// A fresh directory per test, removed afterwards.
class CliConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "shoal-cli-config-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    env_.config_dir = (dir_ / "cfg").string();  // does not exist yet
    env_.poll_interval = std::chrono::milliseconds(1);
    env_.unreachable_grace = std::chrono::milliseconds(0);
  }
  void TearDown() override { fs::remove_all(dir_); }

  CliRun Run(const std::vector<std::string>& args, const std::string& stdin_text = "") {
    std::istringstream in(stdin_text);
    CliEnv env = env_;
    env.in = &in;
    std::ostringstream out, err;
    int code = RunCli(args, out, err, env);
    return {code, out.str(), err.str()};
  }

  static std::string Read(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  static unsigned Mode(const fs::path& p) {
    struct stat st;
    EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
    return st.st_mode & 07777;
  }

  fs::path dir_;
  CliEnv env_;
};

Reply Json(int status, const json& body) { return {status, body.dump()}; }

FakeScheduler::Handler AcceptingScheduler() {
  return [](const Request& req) {
    if (req.authorization == "Bearer bad") {
      return Json(401, {{"error", {{"code", "Unauthenticated"}, {"message", "unknown token"}}}});
    }
    if (req.target == "/v1/tokens" && req.method == "GET") {
      return Json(200, {{"tokens", json::array()}});
    }
    if (req.target == "/v1/tokens" && req.method == "POST") {
      return Json(201, {{"id", 4}, {"account", "lab-a"}, {"role", "user"}, {"token", "shoal_new"}});
    }
    return Json(200, {{"workers", json::array()}});
  };
}

TEST_F(CliConfigTest, LoginStoresTheTokenPrivatelyAndLaterCommandsUseIt) {
  FakeScheduler fake(AcceptingScheduler());
  CliRun r = Run({"login", "--token-stdin", "--scheduler", fake.url()}, "tok-new\n");
  ASSERT_EQ(r.code, kExitOk) << r.err;
  const fs::path token = dir_ / "cfg" / "token";
  EXPECT_EQ(Read(token), "tok-new\n");
  EXPECT_EQ(Mode(token), 0600u);
  EXPECT_EQ(Mode(dir_ / "cfg"), 0700u);
  EXPECT_EQ(Mode(dir_ / "cfg" / "config.yaml"), 0600u);
  EXPECT_TRUE(Contains(r.out, "token saved to " + token.string())) << r.out;
  ASSERT_EQ(fake.requests().size(), 1u);
  EXPECT_EQ(fake.requests()[0].authorization, "Bearer tok-new");  // checked before saving
  // No temporary files are left next to it.
  int entries = 0;
  for (const auto& e : fs::directory_iterator(dir_ / "cfg")) entries += e.is_regular_file();
  EXPECT_EQ(entries, 2);  // token, config.yaml
  // The next command finds the scheduler (context "default") and the token without flags.
  CliRun w = Run({"workers"});
  EXPECT_EQ(w.code, kExitOk) << w.err;
  EXPECT_EQ(w.err.find("WARNING"), std::string::npos) << w.err;
  ASSERT_EQ(fake.requests().size(), 2u);
  EXPECT_EQ(fake.requests()[1].authorization, "Bearer tok-new");
}

TEST_F(CliConfigTest, LoginWithAContextAndSwitchingContexts) {
  FakeScheduler lab(AcceptingScheduler()), home(AcceptingScheduler());
  ASSERT_EQ(Run({"login", "--token", "tok-lab", "--scheduler", lab.url(), "--context", "lab"}).code,
            kExitOk);
  ASSERT_EQ(Run({"login", "--token=tok-home", "--scheduler", home.url(), "--context", "home"}).code,
            kExitOk);
  EXPECT_EQ(Read(dir_ / "cfg" / "tokens" / "lab"), "tok-lab\n");
  EXPECT_EQ(Mode(dir_ / "cfg" / "tokens"), 0700u);
  CliRun list = Run({"config", "get-contexts"});
  ASSERT_EQ(list.code, kExitOk) << list.err;
  EXPECT_TRUE(Contains(list.out, "CURRENT   NAME   SCHEDULER")) << list.out;
  EXPECT_TRUE(Contains(list.out, "*         home   " + home.url())) << list.out;
  EXPECT_TRUE(Contains(list.out, "-         lab    " + lab.url())) << list.out;
  // The current context (home) is used; --context picks another for one command.
  EXPECT_EQ(Run({"workers"}).code, kExitOk);
  EXPECT_EQ(home.requests().back().authorization, "Bearer tok-home");
  EXPECT_EQ(Run({"workers", "--context", "lab"}).code, kExitOk);
  EXPECT_EQ(lab.requests().back().authorization, "Bearer tok-lab");
  CliRun use = Run({"config", "use-context", "lab"});
  EXPECT_EQ(use.code, kExitOk) << use.err;
  size_t before = lab.requests().size();
  EXPECT_EQ(Run({"workers"}).code, kExitOk);
  EXPECT_EQ(lab.requests().size(), before + 1);
  EXPECT_EQ(Run({"config", "use-context", "nowhere"}).code, kExitNotFound);
  CliRun missing = Run({"workers", "--context", "nowhere"});
  EXPECT_EQ(missing.code, kExitUsage);
  EXPECT_TRUE(Contains(missing.err, "no context \"nowhere\"")) << missing.err;
  // A new context without --scheduler takes the address in effect (the current context's, lab).
  ASSERT_EQ(Run({"login", "--token", "tok-lab2", "--context", "lab2"}).code, kExitOk);
  EXPECT_EQ(lab.requests().back().authorization, "Bearer tok-lab2");  // checked there
  CliRun after = Run({"config", "get-contexts"});
  EXPECT_TRUE(Contains(after.out, "*         lab2   " + lab.url())) << after.out;
}

TEST_F(CliConfigTest, PrecedenceIsFlagThenEnvironmentThenContext) {
  FakeScheduler from_context(AcceptingScheduler()), from_env(AcceptingScheduler()),
      from_flag(AcceptingScheduler());
  ASSERT_EQ(
      Run({"login", "--token", "tok-ctx", "--scheduler", from_context.url(), "--context", "c"})
          .code,
      kExitOk);
  env_.scheduler_env = from_env.url();
  env_.token_env = "tok-env";
  EXPECT_EQ(Run({"workers"}).code, kExitOk);
  EXPECT_EQ(from_env.requests().back().authorization, "Bearer tok-env");
  EXPECT_EQ(Run({"workers", "--scheduler", from_flag.url(), "--token", "tok-flag"}).code, kExitOk);
  EXPECT_EQ(from_flag.requests().back().authorization, "Bearer tok-flag");
  EXPECT_EQ(from_context.requests().size(), 1u);  // only login's check
}

TEST_F(CliConfigTest, LoginRefusesARejectedOrMissingToken) {
  FakeScheduler fake(AcceptingScheduler());
  CliRun bad = Run({"login", "--token-stdin", "--scheduler", fake.url()}, "bad\n");
  EXPECT_EQ(bad.code, kExitNotFound);
  EXPECT_TRUE(Contains(bad.err, "refused the token: unknown token; nothing was saved")) << bad.err;
  EXPECT_FALSE(fs::exists(dir_ / "cfg" / "token"));
  EXPECT_FALSE(fs::exists(dir_ / "cfg" / "config.yaml"));
  EXPECT_EQ(Run({"login", "--scheduler", fake.url()}).code, kExitUsage);  // stdin: no terminal
  env_.stdin_is_tty = true;                                               // on a terminal it asks
  CliRun asked = Run({"login", "--scheduler", fake.url()}, "tok-typed\n");
  EXPECT_EQ(asked.code, kExitOk) << asked.err;
  EXPECT_EQ(asked.err, "Token: ");
  EXPECT_EQ(Read(dir_ / "cfg" / "token"), "tok-typed\n");
  EXPECT_EQ(Run({"login", "--token-stdin", "--scheduler", fake.url()}, "\n").code, kExitUsage);
}

TEST_F(CliConfigTest, ReadableTokenFileGetsAWarning) {
  FakeScheduler fake(AcceptingScheduler());
  const fs::path file = dir_ / "tok";
  std::ofstream(file) << "tok-file\n";
  fs::permissions(file, fs::perms(0644));
  env_.token_file = file.string();
  CliRun r = Run({"tokens", "--scheduler", fake.url()});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(r.err, "WARNING: token file " + file.string() +
                       " is readable by others (mode 0644); chmod 600 " + file.string() + "\n");
  EXPECT_EQ(fake.requests().back().authorization, "Bearer tok-file");
  fs::permissions(file, fs::perms(0600));
  EXPECT_EQ(Run({"tokens", "--scheduler", fake.url()}).err, "");
}

TEST_F(CliConfigTest, TokensCreateSaveWritesAPrivateFileInsteadOfStdout) {
  FakeScheduler fake(AcceptingScheduler());
  const fs::path path = dir_ / "new" / "dir" / "lab-a.token";
  CliRun r = Run({"tokens", "create", "lab-a", "--role", "user", "--save", path.string(),
                  "--scheduler", fake.url(), "--token", "tok-admin"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(Read(path), "shoal_new\n");
  EXPECT_EQ(Mode(path), 0600u);
  EXPECT_EQ(Mode(dir_ / "new" / "dir"), 0700u);
  EXPECT_TRUE(Contains(r.err, "saved to " + path.string())) << r.err;
  // Without a PATH: the token file the CLI reads.
  r = Run({"tokens", "create", "lab-a", "--role", "user", "--save", "--scheduler", fake.url(),
           "--token", "tok-admin"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(Read(dir_ / "cfg" / "token"), "shoal_new\n");
  // Not onto the file this command's own token came from (the admin's, say): refused before a
  // token is created, and the file is untouched.
  std::ofstream(dir_ / "admin.token") << "tok-admin\n";
  fs::permissions(dir_ / "admin.token", fs::perms(0600));
  CliEnv as_admin = env_;
  as_admin.token_file = (dir_ / "admin.token").string();
  std::swap(env_, as_admin);
  const size_t posts = fake.requests().size();
  r = Run({"tokens", "create", "lab-a", "--role", "user", "--save", "--scheduler", fake.url()});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_TRUE(Contains(r.err, "holds the token this command runs with")) << r.err;
  EXPECT_EQ(fake.requests().size(), posts);
  EXPECT_EQ(Read(dir_ / "admin.token"), "tok-admin\n");
  r = Run({"tokens", "create", "lab-a", "--role", "user", "--save",
           (dir_ / "user.token").string(), "--scheduler", fake.url()});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(Read(dir_ / "user.token"), "shoal_new\n");
  std::swap(env_, as_admin);
}

TEST_F(CliConfigTest, BadConfigFileIsAUsageErrorWithItsLine) {
  fs::create_directories(dir_ / "cfg");
  std::ofstream(dir_ / "cfg" / "config.yaml")
      << "current-context: a\ncontexts:\n  - name: a\n    schedular: http://x\n";
  CliRun r = Run({"workers"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_TRUE(Contains(r.err, (dir_ / "cfg" / "config.yaml").string() + ":4: unknown context key "
                                                                        "\"schedular\""))
      << r.err;
  std::ofstream(dir_ / "cfg" / "config.yaml") << "contexts: [\n";
  r = Run({"workers"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_TRUE(Contains(r.err, "config.yaml:")) << r.err;
  std::ofstream(dir_ / "cfg" / "config.yaml") << "current-context: gone\ncontexts: []\n";
  r = Run({"workers"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_TRUE(Contains(r.err, "config.yaml:1: current-context \"gone\" names no context")) << r.err;
}

TEST_F(CliConfigTest, ConfigRoundTrips) {
  CliConfig config;
  config.current_context = "b";
  config.contexts = {{"a", "http://a:1", "/t/a", ""}, {"b", "https://b", "", "/ca.pem"}};
  const std::string path = (dir_ / "cfg" / "config.yaml").string();
  ASSERT_TRUE(SaveCliConfig(path, config).ok());
  auto loaded = LoadCliConfig(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  EXPECT_EQ(loaded->current_context, "b");
  ASSERT_EQ(loaded->contexts.size(), 2u);
  EXPECT_EQ(loaded->contexts[0].token_file, "/t/a");
  EXPECT_EQ(loaded->contexts[1].ca_file, "/ca.pem");
  EXPECT_TRUE(LoadCliConfig((dir_ / "none.yaml").string())->contexts.empty());
}

// shoal explain: the spec's documentation without a scheduler (none runs in this test).
TEST_F(CliConfigTest, ExplainPrintsAFieldsContractAndSuggestsForTypos) {
  CliRun model = Run({"explain", "spec.model"});
  ASSERT_EQ(model.code, kExitOk) << model.err;
  EXPECT_TRUE(Contains(model.out, "spec.model")) << model.out;
  EXPECT_TRUE(Contains(model.out, "layers")) << model.out;  // its fields are listed
  CliRun layers = Run({"explain", "model.layers"});  // spec. implied
  ASSERT_EQ(layers.code, kExitOk) << layers.err;
  EXPECT_TRUE(Contains(layers.out, "spec.model.layers")) << layers.out;
  CliRun typo = Run({"explain", "limits.maxRunTime"});
  EXPECT_EQ(typo.code, kExitNotFound);
  EXPECT_TRUE(Contains(typo.err, "limits.maxRuntime")) << typo.err;  // the suggestion
  EXPECT_EQ(Run({"explain", "a", "b"}).code, kExitUsage);
}

TEST_F(CliConfigTest, CompletionScripts) {
  CliRun bash = Run({"completion", "bash"});
  ASSERT_EQ(bash.code, kExitOk);
  for (const char* word :
       {"checkpoints", "login", "--tail", "--watch", "--context", "use-context"}) {
    EXPECT_TRUE(Contains(bash.out, word)) << word;
  }
  const fs::path script = dir_ / "shoal.bash";
  std::ofstream(script) << bash.out;
  EXPECT_EQ(std::system(("bash -n " + script.string()).c_str()), 0) << bash.out;
  // Completing "shoal --scheduler URL lo": the URL is the flag's value, not the verb.
  const fs::path result = dir_ / "completed";
  const std::string run = "bash -c 'source " + script.string() +
                          "; COMP_WORDS=(shoal --scheduler http://h:1 lo); COMP_CWORD=3; _shoal; "
                          "echo \"${COMPREPLY[*]}\" > " +
                          result.string() + "'";
  ASSERT_EQ(std::system(run.c_str()), 0);
  EXPECT_EQ(Read(result), "logs login\n");
  const std::string flags = "bash -c 'source " + script.string() +
                            "; COMP_WORDS=(shoal logs 7 --ta); COMP_CWORD=3; _shoal; "
                            "echo \"${COMPREPLY[*]}\" > " +
                            result.string() + "'";
  ASSERT_EQ(std::system(flags.c_str()), 0);
  EXPECT_EQ(Read(result), "--tail\n");
  EXPECT_TRUE(
      Contains(bash.out, "      --scheduler|--token|--ca-file|--context|--output|-o) ((i++))"))
      << bash.out;  // only the flags that take a value: not --help or --version
  CliRun zsh = Run({"completion", "zsh"});
  ASSERT_EQ(zsh.code, kExitOk);
  EXPECT_TRUE(zsh.out.rfind("#compdef shoal\n", 0) == 0);
  EXPECT_TRUE(Contains(zsh.out, "--since")) << zsh.out;
}

TEST_F(CliConfigTest, VersionFlag) {
  CliRun r = Run({"--version"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(r.out, VersionLine("shoal") + "\n");
}

TEST_F(CliConfigTest, WarnsOnceWhenTheSchedulerRunsAnotherVersion) {
  json version = {{"version", "0.1.0"}, {"commit", "abc1234"}};
  int status = 200;
  FakeScheduler fake([&](const Request& req) {
    if (req.target == "/v1/version") return Json(status, version);
    return Json(200, {{"tokens", json::array()}});
  });
  env_.check_version = true;
  CliRun r = Run({"tokens", "--scheduler", fake.url()});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(r.err, "shoal: warning: the scheduler at " + fake.url() +
                       " runs 0.1.0 (commit abc1234), this shoal is " + Version() + " (commit " +
                       GitCommit() + ")\n");
  version = {{"version", Version()}, {"commit", GitCommit()}};
  EXPECT_EQ(Run({"tokens", "--scheduler", fake.url()}).err, "");
  // Once per command, after its first request, even when it sends several.
  version = {{"version", "0.3.0"}, {"commit", GitCommit()}};
  size_t first = fake.requests().size();
  r = Run({"tokens", "--scheduler", fake.url()});
  EXPECT_EQ(fake.requests().size(), first + 2);
  EXPECT_EQ(fake.requests()[first].target, "/v1/tokens");
  EXPECT_EQ(fake.requests()[first + 1].target, "/v1/version");
  EXPECT_TRUE(Contains(r.err, "runs 0.3.0")) << r.err;
  status = 404;  // an older scheduler: silent
  EXPECT_EQ(Run({"tokens", "--scheduler", fake.url()}).err, "");
  size_t before = fake.requests().size();
  Run({"completion", "bash"});  // does not contact the scheduler
  // Nor does a submit whose spec fails local validation: not even for the version.
  const fs::path bad =
      ::shoal::testing::RepoRoot() / "tests" / "data" / "bad_specs" / "07-workers-zero.yaml";
  ASSERT_TRUE(fs::exists(bad)) << bad;
  EXPECT_EQ(Run({"submit", bad.string(), "--scheduler", fake.url()}).code, kExitUsage);
  EXPECT_EQ(fake.requests().size(), before);
}

}  // namespace
}  // namespace shoal::cli
