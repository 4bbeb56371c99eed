// `shoal data`: its command line, its progress lines, and push/pull against an in-memory registry
// that behaves like the scheduler's routes (docs/registry.md, "HTTP API").
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>

#include "cli/args.h"
#include "cli/cli.h"
#include "cli/exit_codes.h"
#include "cli/registry_transfer.h"
#include "cli/transfer_progress.h"
#include "common/registry/manifest.h"
#include "common/sha256.h"
#include "tests/unit/cli/fake_scheduler.h"

namespace shoal::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::FakeScheduler;
using Reply = FakeScheduler::Reply;
using Request = FakeScheduler::Request;

constexpr int64_t kNow = 1'750'000'000'000;

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

Status ParseError(const std::vector<std::string>& args) {
  CliArgs out;
  return ParseArgs(args, &out);
}

// ---- the command line ----

TEST(CliDataArgsTest, GoodLines) {
  CliArgs a;
  ASSERT_TRUE(ParseArgs({"data", "push", "./mnist", "--name", "lab-a/mnist", "--private",
                         "--version", "v1.2", "--description", "digits", "--license", "MIT",
                         "--format", "idx", "--trusted-workers", "lab-a,lab-b"},
                        &a)
                  .ok());
  EXPECT_EQ(a.verb, "data");
  EXPECT_EQ(a.sub, "push");
  EXPECT_EQ(a.positional[1], "./mnist");
  EXPECT_EQ(a.name, "lab-a/mnist");
  EXPECT_EQ(a.visibility, "private");
  EXPECT_EQ(a.data_version, "v1.2");
  EXPECT_EQ(a.description, "digits");
  EXPECT_EQ(a.license, "MIT");
  EXPECT_EQ(a.format, "idx");
  EXPECT_EQ(a.trusted_workers, (std::vector<std::string>{"lab-a", "lab-b"}));
  for (const std::vector<std::string>& line : std::vector<std::vector<std::string>>{
           {"data", "push", "f.csv", "--name", "mnist", "--public"},
           {"data", "ls"},
           {"data", "ls", "--account", "lab-b"},
           {"data", "show", "mnist"},
           {"data", "show", "lab-a/mnist@3"},
           {"data", "show", "mnist@latest"},
           {"data", "pull", "mnist@sha256:" + std::string(64, 'a'), "out"},
           {"data", "grant", "mnist", "lab-b", "--expires", "30d"},
           {"data", "revoke", "lab-a/mnist", "lab-b"},
           {"data", "access", "mnist"},
           {"data", "audit", "mnist"},
           {"data", "rm", "mnist@2"},
       }) {
    EXPECT_TRUE(ParseArgs(line, &a).ok()) << line[1] << ": " << ParseArgs(line, &a).message();
  }
}

TEST(CliDataArgsTest, BadLinesSayWhatIsWrong) {
  struct Case {
    std::vector<std::string> line;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"data"}, "needs push PATH"},
      {{"data", "frob"}, "takes push, ls, show"},
      {{"data", "push", "x", "--public"}, "needs --name NAME"},
      {{"data", "push", "x", "--name", "m"}, "exactly one of --public and --private"},
      {{"data", "push", "x", "--name", "m", "--public", "--private"}, "exactly one of"},
      {{"data", "push", "--name", "m", "--public"}, "usage: shoal data push PATH"},
      {{"data", "push", "x", "--name", "Mnist", "--public"}, "bad name in \"Mnist\""},
      {{"data", "push", "x", "--name", "m@1", "--public"}, "names a version here"},
      {{"data", "push", "x", "--name", "a_b/m", "--public"}, "bad account in \"a_b/m\""},
      {{"data", "push", "x", "--name", "m", "--public", "--version", "latest"}, "--version"},
      {{"data", "push", "x", "--name", "m", "--public", "--version", "-1"}, "--version"},
      {{"data", "push", "x", "--name", "m", "--public", "--trusted-workers", "a"},
       "--trusted-workers goes with --private"},
      {{"data", "push", "x", "--name", "m", "--private", "--trusted-workers", "a,,b"},
       "account names"},
      {{"data", "show", "m", "--public"}, "go with 'shoal data push'"},
      {{"data", "show", "m@"}, "bad version"},
      {{"data", "show", "m@" + std::string(65, 'v')}, "bad version"},
      {{"data", "pull", "m"}, "usage: shoal data pull NAME[@V] DIR"},
      {{"data", "rm", "m"}, "needs a version"},
      {{"data", "rm", "m@latest"}, "bad version"},
      {{"data", "grant", "m", "Bob"}, "an ACCOUNT name"},
      {{"data", "grant", "m", "bob", "--expires", "soon"}, "--expires needs a duration"},
      {{"data", "revoke", "m", "bob", "--expires", "1d"}, "--expires goes with"},
      {{"data", "access", "m", "--account", "x"}, "--account goes with 'shoal data ls'"},
      {{"data", "ls", "extra"}, "usage: shoal data ls"},
  };
  for (const Case& c : cases) {
    Status st = ParseError(c.line);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << c.line.back();
    EXPECT_TRUE(Contains(st.message(), c.message)) << st.message();
  }
  std::ostringstream out, err;
  EXPECT_EQ(RunCli({"data", "rm", "m"}, out, err), kExitUsage);
  EXPECT_TRUE(Contains(err.str(), "Run 'shoal data --help'")) << err.str();
}

TEST(CliDataArgsTest, HelpAndCompletionKnowTheVerb) {
  EXPECT_TRUE(Contains(HelpText("data"), "resumes where it stopped"));
  EXPECT_TRUE(Contains(HelpText(""), "data"));
  bool found = false;
  for (const VerbFlags& v : CompletionTable()) {
    if (v.verb != "data") continue;
    found = true;
    EXPECT_NE(std::find(v.actions.begin(), v.actions.end(), "pull"), v.actions.end());
    EXPECT_NE(std::find(v.flags.begin(), v.flags.end(), "--trusted-workers"), v.flags.end());
  }
  EXPECT_TRUE(found);
}

TEST(CliDataArgsTest, ArtifactRefsAndVersions) {
  auto ref = ParseArtifactRef("lab-a/mnist@v2", VersionRule::kOptional);
  ASSERT_TRUE(ref.ok());
  EXPECT_EQ(ref->account, "lab-a");
  EXPECT_EQ(ref->name, "mnist");
  EXPECT_EQ(ref->version, "v2");
  EXPECT_FALSE(ParseArtifactRef("a/b/c", VersionRule::kNone).ok());
  EXPECT_FALSE(ParseArtifactRef("", VersionRule::kNone).ok());
  EXPECT_EQ(ArtifactPath(ArtifactKind::kModel, "a", "b"), "/v1/models/a/b");
  EXPECT_EQ(NextIntegerVersion(json::object()), "1");
  EXPECT_EQ(
      NextIntegerVersion(
          {{"versions",
            {{{"version", "3"}}, {{"version", "v9"}}, {{"version", "10"}}, {{"version", "007"}}}}}),
      "11");
}

// ---- progress ----

TEST(TransferProgressTest, Formatting) {
  EXPECT_EQ(FormatMegabytes(0), "0.0");
  EXPECT_EQ(FormatMegabytes(12'345'678), "12.3");
  EXPECT_EQ(FormatTransferLine("push", 50'000'000, 200'000'000, 2.0),
            "push: 50.0 of 200.0 MB (25%), 25.0 MB/s");
  EXPECT_EQ(FormatTransferLine("pull", 0, 0, 0), "pull: 0.0 of 0.0 MB (100%), - MB/s");
  EXPECT_EQ(FormatTransferBar("push", 50, 100, 0, 10),
            "push [#####-----]  50%  0.0/0.0 MB  - MB/s");
  EXPECT_EQ(FormatTransferBar("pull", 100'000'000, 100'000'000, 4.0, 4),
            "pull [####] 100%  100.0/100.0 MB  25.0 MB/s");
}

TEST(TransferProgressTest, PlainLinesEveryTenPercentAndTheBarInPlace) {
  auto now = std::chrono::steady_clock::time_point();
  auto clock = [&] { return now; };
  std::ostringstream plain;
  TransferProgress lines(plain, /*tty=*/false, "push", true, clock);
  for (int i = 0; i <= 100; ++i) {
    now += std::chrono::milliseconds(10);
    lines.Update(i, 100);
  }
  lines.Finish();
  const std::string text = plain.str();
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 11) << text;  // 0%, 10%, ..., 100%
  EXPECT_TRUE(Contains(text, "push: 0.0 of 0.0 MB (100%)")) << text;

  std::ostringstream bar;
  TransferProgress tty(bar, /*tty=*/true, "pull", true, clock);
  tty.Update(1, 4);
  tty.Update(2, 4);  // within 100 ms: not drawn
  now += std::chrono::seconds(1);
  tty.Update(3, 4);
  tty.Finish();
  const std::string drawn = bar.str();
  EXPECT_EQ(std::count(drawn.begin(), drawn.end(), '\r'), 3) << drawn;
  EXPECT_EQ(drawn.back(), '\n');

  std::ostringstream none;
  TransferProgress off(none, false, "push", /*enabled=*/false, clock);
  off.Update(1, 2);
  off.Finish();
  EXPECT_EQ(none.str(), "");
}

}  // namespace
}  // namespace shoal::cli
