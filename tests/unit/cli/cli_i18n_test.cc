// The real `shoal` binary under other locales (cli/i18n.h): Chinese headers and messages from the
// zh_CN catalog built into <build>/share/locale, English when the catalog or the language is
// missing, and machine-readable output (-o json, numbers, spec parsing) identical in every locale.
// The child runs with a clean environment (env -i), so only the variables a test names count.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/child_process.h"
#include "cli/format.h"
#include "cli/i18n.h"
#include "tests/testing/test_util.h"
#include "tests/unit/cli/fake_scheduler.h"

namespace shoal::cli {
namespace {

using json = nlohmann::json;
using testing::FakeScheduler;
using Reply = FakeScheduler::Reply;
using Request = FakeScheduler::Request;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Two jobs with fractional numbers (loss, accuracy): a decimal comma would show in every format.
// Fixed times, so that every run of a test sees the same replies.
json Jobs() {
  static const int64_t now = NowMs();
  json running = {{"id", 3},
                  {"name", "fashion-mlp"},
                  {"project", "default"},
                  {"owner", "alice"},
                  {"state", "RUNNING"},
                  {"reason", ""},
                  {"submittedMs", now - 300'000},
                  {"startedMs", now - 290'000},
                  {"finishedMs", 0},
                  {"workers", {{"min", 2}, {"max", 2}}},
                  {"worldSize", 2},
                  {"placement", {"w-1", "w-2"}},
                  {"attempts", 1},
                  {"progress", {{"epoch", 2}, {"epochs", 5}, {"loss", 0.35123}}},
                  {"result", json::object()}};
  json done = running;
  done["id"] = 2;
  done["name"] = "tiny-mlp";
  done["state"] = "SUCCEEDED";
  done["finishedMs"] = now - 60'000;
  done["result"] = {{"testAccuracy", 0.8778}, {"trainLoss", 0.25}};
  return {{"jobs", {running, done}}};
}

Reply Serve(const Request& req) {
  const json jobs = Jobs();
  if (req.target == "/v1/jobs/3") return {200, jobs["jobs"][0].dump()};
  if (req.target == "/v1/jobs" || req.target.rfind("/v1/jobs?", 0) == 0) {
    return {200, jobs.dump()};
  }
  if (req.target == "/v1/workers") return {200, R"({"workers": []})"};
  return {404, R"({"error": {"code": "NotFound", "message": "no route"}})"};
}

// Runs the built shoal with only `env` (NAME=VALUE) in its environment.
ChildResult RunShoal(const std::vector<std::string>& env, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"/usr/bin/env", "-i"};
  argv.insert(argv.end(), env.begin(), env.end());
  argv.push_back(SHOAL_CLI_BIN);
  argv.insert(argv.end(), args.begin(), args.end());
  Result<ChildResult> r = RunChild(argv);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : ChildResult{};
}

// A directory for $LOCPATH holding de_DE.UTF-8 and zh_CN.UTF-8 compiled by localedef, so the
// tests also run with those locales installed (a bare container has only C and C.UTF-8); "" when
// localedef or the locale sources (Debian's `locales` package) are missing.
const std::string& InstalledLocales() {
  static const std::string dir = [] {
    const std::filesystem::path d =
        std::filesystem::temp_directory_path() / ("shoal-i18n-locales-" + std::to_string(getpid()));
    std::error_code ec;
    std::filesystem::create_directories(d, ec);
    for (const char* name : {"de_DE", "zh_CN"}) {
      Result<ChildResult> r = RunChild(
          {"localedef", "-i", name, "-f", "UTF-8", (d / (std::string(name) + ".UTF-8")).string()});
      if (!r.ok() || r->exit_code != 0) return std::string();
    }
    return d.string();
  }();
  return dir;
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// The catalog is found beside the binary (<build>/cli/shoal → <build>/share/locale).
class CliI18nTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::filesystem::path mo = std::filesystem::path(SHOAL_CLI_BIN).parent_path() / ".." /
                                     "share/locale/zh_CN/LC_MESSAGES/shoal.mo";
    ASSERT_TRUE(std::filesystem::is_regular_file(mo)) << mo << " was not built (msgfmt)";
  }
  FakeScheduler fake_{Serve};
};

// LANG alone: glibc has no zh_CN.UTF-8 locale in a bare container, and the CLI still finds the
// language (C.UTF-8 + $LANGUAGE); where the locale is installed, setlocale takes it directly.
TEST_F(CliI18nTest, ListPrintsChineseHeadersUnderAChineseLang) {
  ChildResult zh = RunShoal({"LANG=zh_CN.UTF-8"}, {"list", "--scheduler", fake_.url()});
  ASSERT_EQ(zh.exit_code, 0) << zh.stderr_text;
  const std::string header = zh.stdout_text.substr(0, zh.stdout_text.find('\n'));
  EXPECT_TRUE(Contains(header, "名称")) << zh.stdout_text;
  EXPECT_TRUE(Contains(header, "状态")) << zh.stdout_text;
  EXPECT_FALSE(Contains(header, "NAME")) << zh.stdout_text;
  // Values stay as the scheduler and scripts know them; the progress words are translated, the
  // numbers keep their decimal point.
  EXPECT_TRUE(Contains(zh.stdout_text, "RUNNING")) << zh.stdout_text;
  EXPECT_TRUE(Contains(zh.stdout_text, "轮 2/5 损失 0.351")) << zh.stdout_text;
  EXPECT_TRUE(Contains(zh.stdout_text, "准确率 0.878")) << zh.stdout_text;
  // Columns line up in terminal columns: "tiny-mlp" starts under the (double-width) NAME header.
  const std::string row = zh.stdout_text.substr(header.size() + 1);
  EXPECT_EQ(DisplayWidth(header.substr(0, header.find("名称"))),
            DisplayWidth(row.substr(0, row.find("tiny-mlp"))))
      << zh.stdout_text;

  ChildResult en = RunShoal({}, {"list", "--scheduler", fake_.url()});
  ASSERT_EQ(en.exit_code, 0) << en.stderr_text;
  EXPECT_EQ(en.stdout_text.rfind("ID   NAME", 0), 0u) << en.stdout_text;
  EXPECT_TRUE(Contains(en.stdout_text, "ep 2/5 loss 0.351")) << en.stdout_text;
}

TEST_F(CliI18nTest, LanguageOverAUtf8BaseLocaleAndMessagesOnStderr) {
  ChildResult r =
      RunShoal({"LANG=C.UTF-8", "LANGUAGE=zh_CN"}, {"workers", "--scheduler", fake_.url()});
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_TRUE(Contains(r.stderr_text, "还没有工作节点加入资源池")) << r.stderr_text;
  ChildResult status = RunShoal({"LANGUAGE=zh_CN", "LC_ALL=zh_CN.UTF-8"},
                                {"status", "3", "--scheduler", fake_.url()});
  ASSERT_EQ(status.exit_code, 0) << status.stderr_text;
  EXPECT_TRUE(Contains(status.stdout_text, "名称:")) << status.stdout_text;
  EXPECT_TRUE(Contains(status.stdout_text, "损失 0.3512")) << status.stdout_text;
  // The CLI's own errors are translated.
  ChildResult missing = RunShoal({"LANG=zh_CN.UTF-8"}, {"status", "9", "--scheduler", fake_.url()});
  EXPECT_EQ(missing.exit_code, 4);
  EXPECT_TRUE(Contains(missing.stderr_text, "shoal: 未找到作业 9")) << missing.stderr_text;
}

// English whenever the catalog cannot be used: LC_ALL=C wins over LANG, a language without a
// catalog, a catalog directory that does not exist.
TEST_F(CliI18nTest, FallsBackToEnglishSilently) {
  for (const auto& env : std::vector<std::vector<std::string>>{
           {"LC_ALL=C", "LANG=zh_CN.UTF-8", "LANGUAGE=zh_CN"},
           {"LANG=fr_FR.UTF-8"},
           {"LANG=xx_YY"},
           {"LANG=zh_CN.UTF-8", "SHOAL_LOCALEDIR=/nonexistent"}}) {
    ChildResult r = RunShoal(env, {"list", "--scheduler", fake_.url()});
    EXPECT_EQ(r.exit_code, 0) << env[0] << ": " << r.stderr_text;
    EXPECT_EQ(r.stdout_text.rfind("ID   NAME", 0), 0u) << env[0] << ": " << r.stdout_text;
    EXPECT_EQ(r.stderr_text, "") << env[0];
  }
}

// -o json is the same document byte for byte in every locale, and a spec (with fractional
// numbers) parses the same: LC_NUMERIC stays "C".
TEST_F(CliI18nTest, JsonAndSpecParsingDoNotDependOnTheLocale) {
  const std::string spec =
      (::shoal::testing::RepoRoot() / "configs" / "jobs" / "tiny-mlp.yaml").string();
  const std::vector<std::vector<std::string>> commands = {
      {"-o", "json", "list", "--scheduler", fake_.url()},
      {"-o", "json", "status", "3", "--scheduler", fake_.url()},
      {"-o", "json", "submit", "--dry-run", spec}};
  for (const auto& args : commands) {
    ChildResult en = RunShoal({}, args);
    ASSERT_EQ(en.exit_code, 0) << args[2] << ": " << en.stderr_text;
    ASSERT_FALSE(en.stdout_text.empty());
    for (const auto& env :
         std::vector<std::vector<std::string>>{{"LANG=zh_CN.UTF-8"},
                                               {"LANG=C.UTF-8", "LANGUAGE=zh_CN"},
                                               {"LC_ALL=de_DE.UTF-8"},
                                               {"LANG=de_DE.UTF-8", "LC_NUMERIC=de_DE.UTF-8"}}) {
      ChildResult r = RunShoal(env, args);
      EXPECT_EQ(r.exit_code, 0) << env[0] << " " << args[2] << ": " << r.stderr_text;
      EXPECT_EQ(r.stdout_text, en.stdout_text) << env[0] << " " << args[2];
    }
  }
}

// With the locales installed, setlocale succeeds directly (no $LANGUAGE fallback), and German's
// decimal comma must still not reach -o json, the tables or the spec parser.
TEST_F(CliI18nTest, InstalledLocalesTranslateAndKeepTheDecimalPoint) {
  const std::string& locpath = InstalledLocales();
  if (locpath.empty()) GTEST_SKIP() << "localedef cannot build de_DE/zh_CN (no `locales` data)";
  const std::string loc = "LOCPATH=" + locpath;
  ChildResult zh = RunShoal({loc, "LANG=zh_CN.UTF-8"}, {"list", "--scheduler", fake_.url()});
  ASSERT_EQ(zh.exit_code, 0) << zh.stderr_text;
  EXPECT_TRUE(Contains(zh.stdout_text, "名称")) << zh.stdout_text;
  const std::string spec =
      (::shoal::testing::RepoRoot() / "configs" / "jobs" / "tiny-mlp.yaml").string();
  for (const auto& args :
       std::vector<std::vector<std::string>>{{"-o", "json", "list", "--scheduler", fake_.url()},
                                             {"-o", "json", "submit", "--dry-run", spec},
                                             {"submit", "--dry-run", spec},
                                             {"list", "--scheduler", fake_.url()}}) {
    ChildResult en = RunShoal({}, args);
    ASSERT_EQ(en.exit_code, 0) << en.stderr_text;
    ChildResult de = RunShoal({loc, "LC_ALL=de_DE.UTF-8"}, args);
    EXPECT_EQ(de.exit_code, 0) << de.stderr_text;
    EXPECT_EQ(de.stdout_text, en.stdout_text) << args[0] << " " << args[1];
  }
  std::error_code ec;
  std::filesystem::remove_all(locpath, ec);
}

// The formatting half of TrFormat and TrPlural: positional, reorderable, unknown left alone.
TEST(TrFormatTest, SubstitutesPositionalArguments) {
  EXPECT_EQ(SubstituteArgs("{1}: {0} errors", {"3", "job.yaml"}), "job.yaml: 3 errors");
  EXPECT_EQ(SubstituteArgs("job {0} (shoal status {0})", {"7"}), "job 7 (shoal status 7)");
  EXPECT_EQ(SubstituteArgs("{2} {x} {} {", {"a"}), "{2} {x} {} {");
  EXPECT_EQ(SubstituteArgs("{0}", {"{1}", "no"}), "{1}");  // arguments are not rescanned
  // Without InitI18n (this process), the English text.
  EXPECT_EQ(TrPlural("{0} job", "{0} jobs", 1), "1 job");
  EXPECT_EQ(TrPlural("{1}: {0} error", "{1}: {0} errors", 2, {"a.yaml"}), "a.yaml: 2 errors");
  EXPECT_EQ(TrFormat("cancelled job {0}", {"7"}), "cancelled job 7");
}

}  // namespace
}  // namespace shoal::cli
