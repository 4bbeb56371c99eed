#include <gtest/gtest.h>

#include "cli/args.h"

namespace shoal::cli {
namespace {

CliArgs MustParse(const std::vector<std::string>& args) {
  CliArgs out;
  Status st = ParseArgs(args, &out);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return out;
}

Status ParseError(const std::vector<std::string>& args) {
  CliArgs out;
  return ParseArgs(args, &out);
}

TEST(CliArgsTest, GlobalFlagsBeforeTheVerb) {
  CliArgs a = MustParse({"--scheduler", "http://h:1", "-o", "json", "list"});
  EXPECT_EQ(a.verb, "list");
  EXPECT_EQ(a.scheduler, "http://h:1");
  EXPECT_EQ(a.output, OutputFormat::kJson);
}

TEST(CliArgsTest, GlobalFlagsAfterTheVerbAndItsArguments) {
  CliArgs a = MustParse({"status", "7", "--scheduler=http://h:2", "--output", "wide"});
  EXPECT_EQ(a.verb, "status");
  EXPECT_EQ(a.scheduler, "http://h:2");
  EXPECT_EQ(a.output, OutputFormat::kWide);
  EXPECT_EQ(a.job_refs, std::vector<std::string>{"7"});
}

TEST(CliArgsTest, OutputValueForms) {
  EXPECT_EQ(MustParse({"list", "-ojson"}).output, OutputFormat::kJson);
  EXPECT_EQ(MustParse({"list", "-o", "wide"}).output, OutputFormat::kWide);
  EXPECT_EQ(MustParse({"list", "--output=table"}).output, OutputFormat::kTable);
  EXPECT_EQ(MustParse({"list"}).output, OutputFormat::kTable);
  EXPECT_EQ(MustParse({"-o", "json", "list", "-o", "wide"}).output, OutputFormat::kWide);  // last
}

TEST(CliArgsTest, BadOutputValueIsAnError) {
  Status st = ParseError({"list", "-o", "yaml"});
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("yaml"), std::string::npos);
  EXPECT_FALSE(ParseError({"list", "-o"}).ok());  // missing value
}

TEST(CliArgsTest, UnknownVerb) {
  CliArgs out;
  Status st = ParseArgs({"frobnicate", "7"}, &out);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("unexpected argument 'frobnicate'"), std::string::npos)
      << st.message();
  // A near miss gets a suggestion.
  EXPECT_NE(ParseError({"lsit"}).message().find("(did you mean list?)"), std::string::npos);
}

TEST(CliArgsTest, MissingVerb) {
  EXPECT_FALSE(ParseError({}).ok());
  EXPECT_FALSE(ParseError({"--scheduler", "http://h:1"}).ok());
}

TEST(CliArgsTest, UnknownFlagsAndFlagsOfOtherVerbs) {
  EXPECT_FALSE(ParseError({"list", "--bogus"}).ok());
  EXPECT_FALSE(ParseError({"list", "-f"}).ok());  // -f belongs to submit and logs
  EXPECT_FALSE(ParseError({"status", "7", "--wait"}).ok());
  Status st = ParseError({"--follow", "logs", "7"});  // verb flags go after the verb
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(st.message(),
            "shoal logs: unknown flag --follow before the command (it goes after 'shoal logs')");
  EXPECT_EQ(ParseError({"logs", "7", "--folow"}).message(),
            "shoal logs: unknown flag --folow (did you mean --follow?)");
}

TEST(CliArgsTest, SubmitFlags) {
  CliArgs a = MustParse({"submit", "job.yaml", "-f"});
  EXPECT_EQ(a.positional, std::vector<std::string>{"job.yaml"});
  EXPECT_TRUE(a.follow);
  EXPECT_FALSE(a.wait);
  EXPECT_TRUE(MustParse({"submit", "--wait", "job.yaml"}).wait);
  EXPECT_TRUE(MustParse({"submit", "job.yaml", "--follow"}).follow);
  EXPECT_FALSE(ParseError({"submit"}).ok());
  EXPECT_FALSE(ParseError({"submit", "a.yaml", "b.yaml"}).ok());
}

TEST(CliArgsTest, MissingAndBadJobIds) {
  Status missing = ParseError({"status"});
  EXPECT_EQ(missing.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(missing.message().find("job ID"), std::string::npos);
  EXPECT_FALSE(ParseError({"status", "0"}).ok());
  EXPECT_FALSE(ParseError({"status", "-3"}).ok());
  EXPECT_FALSE(ParseError({"status", "99999999999999999999"}).ok());
  EXPECT_FALSE(ParseError({"status", "7", "8"}).ok());
  EXPECT_FALSE(ParseError({"cancel"}).ok());
  EXPECT_FALSE(ParseError({"cancel", "7", "0"}).ok());
  EXPECT_FALSE(ParseError({"logs"}).ok());
  EXPECT_FALSE(ParseError({"list", "7"}).ok());
  EXPECT_FALSE(ParseError({"workers", "7"}).ok());
}

TEST(CliArgsTest, CancelTakesSeveralIdsOrNames) {
  EXPECT_EQ(MustParse({"cancel", "7", "tiny-mlp", "3"}).job_refs,
            (std::vector<std::string>{"7", "tiny-mlp", "3"}));
  // A word that is not an integer is a job name, looked up when the command runs.
  EXPECT_EQ(MustParse({"status", "7x"}).job_refs, std::vector<std::string>{"7x"});
  EXPECT_EQ(MustParse({"logs", "tiny-mlp"}).job_refs, std::vector<std::string>{"tiny-mlp"});
}

TEST(CliArgsTest, CancelAll) {
  CliArgs a = MustParse({"cancel", "--all", "--state", "pending", "--yes"});
  EXPECT_TRUE(a.all);
  EXPECT_TRUE(a.yes);
  EXPECT_EQ(a.state, "PENDING");
  EXPECT_TRUE(a.job_refs.empty());
  EXPECT_FALSE(ParseError({"cancel", "--all", "7"}).ok());
  EXPECT_FALSE(ParseError({"cancel", "7", "--state", "pending"}).ok());
  EXPECT_FALSE(ParseError({"cancel", "--yes"}).ok());
}

TEST(CliArgsTest, NewListAndLogsFlags) {
  CliArgs l = MustParse({"list", "--owner=bob", "--name", "tiny-mlp", "-w"});
  EXPECT_EQ(l.owner, "bob");
  EXPECT_EQ(l.name, "tiny-mlp");
  EXPECT_TRUE(l.watch);
  EXPECT_FALSE(ParseError({"list", "--watch", "-o", "json"}).ok());
  CliArgs g = MustParse({"logs", "5", "--tail", "20", "--since=2h", "--timestamps"});
  EXPECT_EQ(*g.tail, 20);
  EXPECT_EQ(*g.since_s, 7200);
  EXPECT_TRUE(g.timestamps);
  EXPECT_EQ(*MustParse({"logs", "5", "--since", "10m"}).since_s, 600);
  EXPECT_FALSE(ParseError({"logs", "5", "--tail", "-3"}).ok());
  EXPECT_FALSE(ParseError({"logs", "5", "--since", "ten"}).ok());
}

TEST(CliArgsTest, TokensSaveTakesAnOptionalPath) {
  CliArgs a = MustParse({"tokens", "create", "lab-a", "--role", "user", "--save"});
  EXPECT_TRUE(a.save);
  EXPECT_EQ(a.save_path, "");
  CliArgs b = MustParse({"tokens", "create", "lab-a", "--role", "user", "--save", "/tmp/t"});
  EXPECT_EQ(b.save_path, "/tmp/t");
  EXPECT_EQ(MustParse({"tokens", "create", "lab-a", "--save=/x", "--role", "user"}).save_path,
            "/x");
  EXPECT_FALSE(ParseError({"tokens", "list", "--save"}).ok());
  EXPECT_FALSE(ParseError({"list", "--save"}).ok());
}

TEST(CliArgsTest, LoginConfigCheckpointsCompletion) {
  CliArgs l = MustParse({"login", "--token-stdin", "--context", "lab"});
  EXPECT_TRUE(l.token_stdin);
  EXPECT_EQ(l.context, "lab");
  EXPECT_FALSE(ParseError({"login", "extra"}).ok());
  EXPECT_EQ(MustParse({"config", "use-context", "lab"}).sub, "use-context");
  EXPECT_FALSE(ParseError({"config", "use-context"}).ok());
  EXPECT_FALSE(ParseError({"config", "delete-context", "x"}).ok());
  CliArgs c = MustParse({"checkpoints", "get", "tiny-mlp", "400", "-O", "m.safetensors"});
  EXPECT_EQ(c.sub, "get");
  EXPECT_EQ(c.job_refs, std::vector<std::string>{"tiny-mlp"});
  EXPECT_EQ(c.output_file, "m.safetensors");
  EXPECT_FALSE(ParseError({"checkpoints", "ls"}).ok());
  EXPECT_FALSE(ParseError({"checkpoints", "ls", "7", "400"}).ok());
  EXPECT_FALSE(ParseError({"checkpoints", "get", "7", "x"}).ok());
  EXPECT_EQ(MustParse({"checkpoints", "rm", "7"}).sub, "rm");
  EXPECT_FALSE(ParseError({"checkpoints", "rm", "7", "400"}).ok());
  EXPECT_FALSE(ParseError({"checkpoints", "rm", "7", "-O", "x"}).ok());
  EXPECT_FALSE(ParseError({"checkpoints", "drop", "7"}).ok());
  EXPECT_EQ(MustParse({"completion", "zsh"}).sub, "zsh");
  EXPECT_FALSE(ParseError({"completion", "fish"}).ok());
  EXPECT_TRUE(MustParse({"--version"}).version);
}

TEST(CliArgsTest, LogsFlags) {
  CliArgs a = MustParse({"logs", "5", "-f", "--rank", "1"});
  EXPECT_TRUE(a.follow);
  ASSERT_TRUE(a.rank.has_value());
  EXPECT_EQ(*a.rank, 1);
  EXPECT_EQ(*MustParse({"logs", "--rank=0", "5"}).rank, 0);
  EXPECT_FALSE(MustParse({"logs", "5"}).rank.has_value());
  EXPECT_FALSE(ParseError({"logs", "5", "--rank", "x"}).ok());
  EXPECT_FALSE(ParseError({"logs", "5", "--rank", "-1"}).ok());
  EXPECT_FALSE(ParseError({"logs", "5", "--rank"}).ok());
}

TEST(CliArgsTest, ListFlags) {
  CliArgs a = MustParse({"list", "--state", "running", "--all"});
  EXPECT_EQ(a.state, "RUNNING");
  EXPECT_TRUE(a.all);
  EXPECT_TRUE(MustParse({"list", "-a"}).all);
  EXPECT_FALSE(ParseError({"list", "--state", "SLEEPING"}).ok());
}

TEST(CliArgsTest, HelpSkipsArgumentChecks) {
  CliArgs a = MustParse({"status", "--help"});
  EXPECT_TRUE(a.help);
  EXPECT_EQ(a.verb, "status");
  EXPECT_TRUE(MustParse({"-h"}).help);
  EXPECT_EQ(MustParse({"help", "logs"}).positional, std::vector<std::string>{"logs"});
  EXPECT_FALSE(ParseError({"help", "bogus"}).ok());
}

TEST(CliArgsTest, DoubleDashEndsFlags) {
  CliArgs a = MustParse({"submit", "--", "-odd-name.yaml"});
  EXPECT_EQ(a.positional, std::vector<std::string>{"-odd-name.yaml"});
}

TEST(CliArgsTest, VerbIsKeptOnErrorsForTheUsageHint) {
  CliArgs out;
  EXPECT_FALSE(ParseArgs({"logs", "0"}, &out).ok());
  EXPECT_EQ(out.verb, "logs");
}

// A job named like a verb is still a job: one verb per command line.
TEST(CliArgsTest, AWordNamedLikeAVerbIsAnArgument) {
  CliArgs a = MustParse({"status", "list"});
  EXPECT_EQ(a.verb, "status");
  EXPECT_EQ(a.job_refs, std::vector<std::string>{"list"});
}

TEST(CliArgsTest, BothValueFormsForEveryValueFlag) {
  for (const auto& [flag, value] : std::vector<std::pair<std::string, std::string>>{
           {"--tail", "5"}, {"--since", "10m"}, {"--rank", "1"}}) {
    CliArgs a = MustParse({"logs", "7", flag, value});
    CliArgs b = MustParse({"logs", "7", flag + "=" + value});
    EXPECT_EQ(a.tail, b.tail) << flag;
    EXPECT_EQ(a.since_s, b.since_s) << flag;
    EXPECT_EQ(a.rank, b.rank) << flag;
  }
  EXPECT_EQ(MustParse({"list", "--owner=bob"}).owner, MustParse({"list", "--owner", "bob"}).owner);
  EXPECT_EQ(MustParse({"--context=lab", "list"}).context, "lab");
}

TEST(CliArgsTest, GeneratedHelp) {
  std::string overview = HelpText("");
  for (const char* verb : {"submit", "checkpoints", "login", "config", "completion"}) {
    EXPECT_NE(overview.find(std::string("  ") + verb), std::string::npos) << verb;
  }
  std::string logs = HelpText("logs");
  for (const char* flag : {"--follow", "--rank", "--tail", "--since", "--timestamps"}) {
    EXPECT_NE(logs.find(flag), std::string::npos) << flag;
  }
  EXPECT_NE(logs.find("Usage: shoal logs"), std::string::npos) << logs;
}

TEST(CliArgsTest, ParseJobId) {
  EXPECT_EQ(*ParseJobId("42"), 42);
  EXPECT_FALSE(ParseJobId("").ok());
  EXPECT_FALSE(ParseJobId("+4").ok());
  EXPECT_FALSE(ParseJobId(" 4").ok());
}

}  // namespace
}  // namespace shoal::cli
