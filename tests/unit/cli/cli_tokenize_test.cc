// shoal tokenize: text files in, llm.c token shards out, without a scheduler; every input error
// is a usage error (exit 2) that writes nothing.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/cli.h"
#include "cli/exit_codes.h"
#include "data/token_shards.h"
#include "data/tokenizer.h"
#include "tests/testing/test_util.h"

namespace shoal::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct CliRun {
  int code;
  std::string out;
  std::string err;
};

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

class CliTokenizeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "shoal-cli-tokenize-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    // An unreachable scheduler: tokenize must not need one.
    env_.scheduler_env = "http://127.0.0.1:1";
  }
  void TearDown() override { fs::remove_all(dir_); }

  CliRun Run(const std::vector<std::string>& args) {
    std::ostringstream out, err;
    int code = RunCli(args, out, err, env_);
    return {code, out.str(), err.str()};
  }
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }
  std::string WriteText(const std::string& name, const std::string& text) const {
    std::ofstream(Path(name), std::ios::binary) << text;
    return Path(name);
  }
  // The tokens of every shard of `split` in `out`, in order.
  std::vector<uint16_t> ReadSplit(const std::string& out, const std::string& split) const {
    std::vector<uint16_t> all;
    for (int i = 0;; ++i) {
      char name[32];
      std::snprintf(name, sizeof(name), "/%s_%06d.bin", split.c_str(), i);
      if (!fs::exists(out + name)) break;
      auto tokens = ReadTokenShard(out + name, 256);
      EXPECT_TRUE(tokens.ok()) << tokens.status().ToString();
      if (tokens.ok()) all.insert(all.end(), tokens->begin(), tokens->end());
    }
    return all;
  }

  fs::path dir_;
  CliEnv env_;
};

std::string Sample() {
  return ::shoal::testing::ReadFile(::shoal::testing::RepoRoot() / "tests/data/text/sample.txt");
}

TEST_F(CliTokenizeTest, BytesShardsHoldTheTextTrainThenVal) {
  const std::string sample = Sample();
  ASSERT_GT(sample.size(), 5000u);
  const std::string a = WriteText("a.txt", sample);
  const std::string b = WriteText("b.txt", std::string("\xFF\x00tail", 6));
  const std::string out = Path("shards");
  CliRun r = Run({"tokenize", a, b, "--tokenizer", "bytes", "--out", out, "--shard-tokens", "4000",
                  "--val-fraction", "0.25"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  const std::string all = sample + std::string("\xFF\x00tail", 6);
  const int64_t total = static_cast<int64_t>(all.size());
  const int64_t val = (total + 3) / 4;  // ceil(0.25 * total)
  std::vector<uint16_t> train_tokens = ReadSplit(out, "train");
  std::vector<uint16_t> val_tokens = ReadSplit(out, "val");
  EXPECT_EQ(static_cast<int64_t>(val_tokens.size()), val);
  std::string back(train_tokens.begin(), train_tokens.end());
  back.append(val_tokens.begin(), val_tokens.end());
  EXPECT_EQ(back, all);  // bytes tokens are the bytes: train then val is the input, in order
  // Shards of at most 4000 tokens; each one reported.
  EXPECT_EQ(*ReadTokenShardHeader(out + "/train_000000.bin"), 4000);
  EXPECT_TRUE(fs::exists(out + "/train_000001.bin"));
  EXPECT_TRUE(Contains(r.out, "wrote " + out + "/train_000000.bin (4000 tokens)")) << r.out;
  EXPECT_TRUE(Contains(r.out, "wrote " + out + "/val_000000.bin")) << r.out;
  EXPECT_TRUE(Contains(r.out, "tokenizer bytes (vocabulary 256): 2 files")) << r.out;
  EXPECT_TRUE(
      Contains(r.out, "train " + std::to_string(total - val) + ", val " + std::to_string(val)))
      << r.out;
}

TEST_F(CliTokenizeTest, DefaultsAndJsonOutput) {
  const std::string in = WriteText("t.txt", std::string(100, 'x'));
  CliRun r = Run({"tokenize", in, "--tokenizer", "bytes", "--out", Path("o"), "-o", "json"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  json j = json::parse(r.out);
  EXPECT_EQ(j["tokenizer"], "bytes");
  EXPECT_EQ(j["vocabSize"], 256);
  EXPECT_EQ(j["trainTokens"], 90);  // default --val-fraction 0.1
  EXPECT_EQ(j["valTokens"], 10);
  ASSERT_EQ(j["shards"].size(), 2u);
  EXPECT_EQ(j["shards"][1]["path"], Path("o") + "/val_000000.bin");
}

TEST_F(CliTokenizeTest, ZeroValFractionWritesNoValidationShard) {
  const std::string in = WriteText("t.txt", "hello");
  CliRun r =
      Run({"tokenize", in, "--tokenizer", "bytes", "--out", Path("o"), "--val-fraction", "0"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(ReadSplit(Path("o"), "train").size(), 5u);
  EXPECT_FALSE(fs::exists(Path("o") + "/val_000000.bin"));
}

TEST_F(CliTokenizeTest, InputErrorsAreUsageErrors) {
  const std::string in = WriteText("t.txt", "hello");
  const std::string out = Path("o");
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"tokenize", Path("missing.txt"), "--tokenizer", "bytes", "--out", out},
       "missing.txt: no such file"},
      {{"tokenize", dir_.string(), "--tokenizer", "bytes", "--out", out}, "is a directory"},
      {{"tokenize", in, "--tokenizer", "bpe", "--out", out}, "--tokenizer"},
      {{"tokenize", in, "--out", out}, "needs --tokenizer"},
      {{"tokenize", in, "--tokenizer", "bytes"}, "needs --out"},
      {{"tokenize", "--tokenizer", "bytes", "--out", out}, "INPUT"},
      {{"tokenize", in, "--tokenizer", "bytes", "--out", out, "--val-fraction", "1"},
       "--val-fraction"},
      {{"tokenize", in, "--tokenizer", "bytes", "--out", out, "--val-fraction", "-0.1"},
       "--val-fraction"},
      {{"tokenize", in, "--tokenizer", "bytes", "--out", out, "--val-fraction", "ten"},
       "--val-fraction"},
      {{"tokenize", in, "--tokenizer", "bytes", "--out", out, "--shard-tokens", "0"},
       "--shard-tokens"},
      {{"tokenize", in, "--tokenizer", "bytes", "--out", out, "--shard-tokens", "2147483648"},
       "--shard-tokens"},
      {{"tokenize", in, "--tokenizer", "bytes", "--out", out, "--encoder", in, "--vocab", in},
       "go with --tokenizer gpt2"},
      {{"tokenize", in, "--tokenizer", "gpt2", "--out", out, "--encoder", in},
       "--encoder and --vocab go together"},
      {{"tokenize", in, "--tokenizer", "gpt2", "--out", out}, "SHOAL_GPT2_DIR"},
      {{"tokenize", in, "--tokenizer", "gpt2", "--out", out, "--encoder", Path("no.json"),
        "--vocab", in},
       "no.json: no such file"},
      {{"tokenize", WriteText("empty.txt", ""), "--tokenizer", "bytes", "--out", out}, "no text"},
      {{"tokenize", in, "--tokenizer", "bytes", "--out", in}, "not a directory"},
  };
  for (const Case& c : cases) {
    CliRun r = Run(c.args);
    EXPECT_EQ(r.code, kExitUsage) << c.args[1] << " " << c.message << ": " << r.err;
    EXPECT_TRUE(Contains(r.err, c.message)) << r.err;
    EXPECT_FALSE(fs::exists(out + "/train_000000.bin")) << c.message;
  }
}

// $SHOAL_GPT2_DIR is where the gpt2 files are looked for without --encoder/--vocab.
TEST_F(CliTokenizeTest, Gpt2FilesComeFromTheEnvironment) {
  const std::string in = WriteText("t.txt", "hello");
  env_.gpt2_dir_env = Path("gpt2");
  CliRun r = Run({"tokenize", in, "--tokenizer", "gpt2", "--out", Path("o")});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_TRUE(Contains(r.err, Path("gpt2") + "/encoder.json: no such file")) << r.err;
}

TEST_F(CliTokenizeTest, RefusesADirectoryThatAlreadyHoldsShards) {
  const std::string in = WriteText("t.txt", "hello world");
  ASSERT_EQ(Run({"tokenize", in, "--tokenizer", "bytes", "--out", Path("o")}).code, kExitOk);
  CliRun again = Run({"tokenize", in, "--tokenizer", "bytes", "--out", Path("o")});
  EXPECT_EQ(again.code, kExitUsage);
  EXPECT_TRUE(Contains(again.err, "already holds shards")) << again.err;
}

TEST_F(CliTokenizeTest, HelpDescribesTheFormat) {
  CliRun r = Run({"tokenize", "--help"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_TRUE(Contains(r.out, "--val-fraction")) << r.out;
  EXPECT_TRUE(Contains(r.out, "llm.c")) << r.out;
  EXPECT_TRUE(Contains(Run({"--help"}).out, "tokenize"));
}

}  // namespace
}  // namespace shoal::cli
