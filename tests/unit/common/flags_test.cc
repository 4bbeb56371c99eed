#include "common/flags.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <sstream>

#include "common/version.h"

namespace shoal::flags {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// A small program: an integer with a short name, a string, a double and a switch.
struct Program {
  CLI::App app;
  int a = 7;
  std::string food = "fish";
  double rate = 0.5;
  bool dry_run = false;

  Program() {
    Configure(app, "prog");
    app.add_option("-a,--a", a, "an integer");
    app.add_option("--food", food, "what to eat");
    app.add_option("--rate", rate, "a rate")->check(Positive(10));
    app.add_flag("--dry-run", dry_run, "only pretend");
  }
};

struct Outcome {
  std::optional<int> code;
  std::string out, err;
};

Outcome ParseWith(Program& p, std::vector<std::string> args) {
  std::ostringstream out, err;
  Outcome o;
  o.code = Parse(p.app, std::move(args), out, err);
  o.out = out.str();
  o.err = err.str();
  return o;
}

struct Case {
  std::vector<std::string> args;
  int want_a;                        // when the parse goes on
  std::string want_food;             // when the parse goes on
  std::optional<int> want_code;      // nullopt: the program goes on
  std::vector<std::string> err_has;  // substrings of stderr
  std::vector<std::string> out_has;  // substrings of stdout
};

TEST(FlagsTest, Table) {
  const std::string usage_tail = "\nRun 'prog --help' for the flags.\n";
  const std::vector<Case> cases = {
      {{}, 7, "fish", std::nullopt, {}, {}},
      {{"--a=1"}, 1, "fish", std::nullopt, {}, {}},
      {{"--a", "1"}, 1, "fish", std::nullopt, {}, {}},
      {{"-a", "1"}, 1, "fish", std::nullopt, {}, {}},
      {{"--food=rice", "--a", "3"}, 3, "rice", std::nullopt, {}, {}},
      {{"--food", "a b"}, 7, "a b", std::nullopt, {}, {}},
      {{"--a", "1", "--food=x", "-a", "2", "--a=3"}, 3, "x", std::nullopt, {}, {}},  // last wins
      {{"--fod", "rice"},
       7,
       "fish",
       2,
       {"prog: unknown flag --fod (did you mean --food?)" + usage_tail},
       {}},
      {{"--fod=rice"}, 7, "fish", 2, {"prog: unknown flag --fod (did you mean --food?)"}, {}},
      {{"--dryrun"}, 7, "fish", 2, {"unknown flag --dryrun (did you mean --dry-run?)"}, {}},
      {{"--zzzzzz"}, 7, "fish", 2, {"prog: unknown flag --zzzzzz" + usage_tail}, {}},
      {{"--a"}, 7, "fish", 2, {"prog: flag --a needs a value" + usage_tail}, {}},
      {{"--a", "x1"}, 7, "fish", 2, {"prog: bad value 'x1' for --a (expected INT)"}, {}},
      {{"--a=1.5"}, 7, "fish", 2, {"bad value '1.5' for --a"}, {}},
      {{"--rate", "fast"}, 7, "fish", 2, {"bad value for --rate: 'fast' is not a number"}, {}},
      {{"--rate", "0"}, 7, "fish", 2, {"prog: bad value for --rate: must be greater than 0"}, {}},
      {{"--rate=11"}, 7, "fish", 2, {"prog: bad value for --rate: must be at most 10\n"}, {}},
      {{"--rate=2.5"}, 7, "fish", std::nullopt, {}, {}},
      {{"stray"}, 7, "fish", 2, {"prog: unexpected argument 'stray'" + usage_tail}, {}},
      {{"--help"}, 7, "fish", 0, {}, {"--food", "what to eat (default fish)", "(default 7)"}},
      {{"-h"}, 7, "fish", 0, {}, {"--dry-run", "--version"}},
      {{"--version"}, 7, "fish", 0, {}, {VersionLine("prog") + "\n"}},
  };
  for (const Case& c : cases) {
    std::string label;
    for (const std::string& a : c.args) label += a + " ";
    SCOPED_TRACE("args: " + label);
    Program p;
    Outcome o = ParseWith(p, c.args);
    EXPECT_EQ(o.code, c.want_code);
    if (!c.want_code.has_value()) {
      EXPECT_EQ(p.a, c.want_a);
      EXPECT_EQ(p.food, c.want_food);
      EXPECT_EQ(o.out, "");
      EXPECT_EQ(o.err, "");
    }
    if (c.want_code == 2) {
      EXPECT_EQ(o.out, "");
      // One error and the hint, nothing else: two lines.
      EXPECT_EQ(std::count(o.err.begin(), o.err.end(), '\n'), 2) << o.err;
    }
    if (c.want_code == 0) {
      EXPECT_EQ(o.err, "");
    }
    for (const std::string& s : c.err_has) EXPECT_THAT(o.err, HasSubstr(s));
    for (const std::string& s : c.out_has) EXPECT_THAT(o.out, HasSubstr(s));
  }
}

TEST(FlagsTest, NoSuggestionWhenNothingIsClose) {
  Program p;
  Outcome o = ParseWith(p, {"--zzzzzz"});
  EXPECT_THAT(o.err, Not(HasSubstr("did you mean")));
}

TEST(FlagsTest, VersionLineNamesTheCommit) {
  Program p;
  Outcome o = ParseWith(p, {"--version"});
  EXPECT_THAT(o.out, HasSubstr("prog "));
  EXPECT_THAT(o.out, HasSubstr(Version()));
  EXPECT_THAT(o.out, HasSubstr(GitCommit()));
}

TEST(FlagsTest, SubcommandErrorsNameTheCommandPath) {
  CLI::App app;
  Configure(app, "tool");
  CLI::App* jobs = app.add_subcommand("jobs", "the jobs");
  int limit = 10;
  jobs->add_option("--limit", limit, "how many");
  std::ostringstream out, err;
  EXPECT_EQ(Parse(app, {"jobs", "--limt", "3"}, out, err), 2);
  EXPECT_THAT(err.str(), HasSubstr("tool jobs: unknown flag --limt (did you mean --limit?)"));
  EXPECT_THAT(err.str(), HasSubstr("Run 'tool jobs --help'"));

  std::ostringstream out2, err2;
  EXPECT_EQ(Parse(app, {"jbos"}, out2, err2), 2);
  EXPECT_THAT(err2.str(), HasSubstr("tool: unexpected argument 'jbos' (did you mean jobs?)"));

  std::ostringstream out3, err3;
  EXPECT_EQ(Parse(app, {"jobs", "--limit=4"}, out3, err3), std::nullopt) << err3.str();
  EXPECT_EQ(limit, 4);
}

// A repeatable flag as shoal-worker's --data-root: one value per occurrence, and the values given
// replace the default list.
TEST(FlagsTest, RepeatedFlagReplacesTheDefaultList) {
  auto make = [](std::vector<std::string>* roots) {
    auto app = std::make_unique<CLI::App>();
    Configure(*app, "prog");
    app->add_option("--root", *roots, "a root")->allow_extra_args(false);
    return app;
  };
  std::vector<std::string> roots = {"/default"};
  auto app = make(&roots);
  std::ostringstream out, err;
  ASSERT_EQ(Parse(*app, {}, out, err), std::nullopt);
  EXPECT_EQ(roots, std::vector<std::string>({"/default"}));
  ASSERT_EQ(Parse(*app, {"--root", "/a", "--root=/b"}, out, err), std::nullopt) << err.str();
  EXPECT_EQ(roots, std::vector<std::string>({"/a", "/b"}));
  roots = {"/default"};
  auto strict = make(&roots);
  EXPECT_EQ(Parse(*strict, {"--root", "/a", "/b"}, out, err), 2);
  EXPECT_THAT(err.str(), HasSubstr("unexpected argument '/b'"));
}

TEST(FlagsTest, ParseFromArgvSkipsTheProgramPath) {
  Program p;
  const char* argv[] = {"/usr/bin/prog", "--a", "5", "--dry-run"};
  EXPECT_EQ(Parse(p.app, 4, argv), std::nullopt);
  EXPECT_EQ(p.a, 5);
  EXPECT_TRUE(p.dry_run);
}

TEST(SuggestTest, PicksTheClosestWithinTheBound) {
  const std::vector<std::string> names = {"--port", "--policy", "--state-dir", "-p"};
  EXPECT_EQ(Suggest("--prot", names), "--port");  // a swap of neighbours is one edit
  EXPECT_EQ(Suggest("--polcy", names), "--policy");
  EXPECT_EQ(Suggest("--statedir", names), "--state-dir");
  EXPECT_EQ(Suggest("--zzzzzz", names), "");
  EXPECT_EQ(Suggest("-q", names), "");  // too short to tell a typo from another flag
  EXPECT_EQ(Suggest("--port", {}), "");
}

TEST(WrapTest, BreaksAtSpacesAndKeepsNewlines) {
  EXPECT_EQ(Wrap("aa bb cc dd", 5), "aa bb\ncc dd");
  EXPECT_EQ(Wrap("aa bb\ncc", 80), "aa bb\ncc");
  EXPECT_EQ(Wrap("abcdefgh ij", 4), "abcdefgh\nij");  // a long word stays whole
  EXPECT_EQ(Wrap("", 10), "");
}

TEST(FlagsTest, HelpLinesFitTheWidth) {
  Program p;
  p.app.add_option("--long", p.food,
                   "a description long enough to need wrapping: it goes on and on about what the "
                   "flag does, why, and which other flags it interacts with, past any terminal");
  std::ostringstream out, err;
  ASSERT_EQ(Parse(p.app, {"--help"}, out, err), 0);
  std::istringstream lines(out.str());
  for (std::string line; std::getline(lines, line);) EXPECT_LE(line.size(), 100u) << line;
}

}  // namespace
}  // namespace shoal::flags
