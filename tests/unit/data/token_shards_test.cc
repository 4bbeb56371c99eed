// Token shards in llm.c's format: written byte for byte as llm.c writes them, read back, and every
// malformed file refused with the file and the byte offset named.
#include "data/token_shards.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>
#include <vector>

#include "tests/testing/test_util.h"

namespace shoal {
namespace {

namespace fs = std::filesystem;

// The bytes llm.c's write_datafile produces: np.zeros(256, int32) with magic, version and count
// set, .tobytes() (little-endian), then the tokens as uint16 .tobytes().
std::string LlmcBytes(int32_t magic, int32_t version, int32_t count,
                      const std::vector<uint16_t>& tokens) {
  std::string bytes(1024, '\0');
  const int32_t head[3] = {magic, version, count};
  for (int h = 0; h < 3; ++h) {
    for (int b = 0; b < 4; ++b) {
      bytes[4 * h + b] = static_cast<char>((static_cast<uint32_t>(head[h]) >> (8 * b)) & 0xFF);
    }
  }
  for (uint16_t t : tokens) {
    bytes.push_back(static_cast<char>(t & 0xFF));
    bytes.push_back(static_cast<char>(t >> 8));
  }
  return bytes;
}

class TokenShardsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/shoal_token_shards_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }
  std::string Write(const std::string& name, const std::string& bytes) const {
    std::ofstream(Path(name), std::ios::binary) << bytes;
    return Path(name);
  }
  // Reading `name` fails with InvalidArgument whose message holds the path and every one of
  // `parts`; the header-only check agrees unless `header_ok`.
  void ExpectRefused(const std::string& name, std::initializer_list<std::string> parts,
                     int vocab = 0, bool header_ok = false) const {
    auto tokens = ReadTokenShard(Path(name), vocab);
    ASSERT_FALSE(tokens.ok()) << name;
    EXPECT_EQ(tokens.status().code(), StatusCode::kInvalidArgument);
    const std::string m = tokens.status().message();
    EXPECT_NE(m.find(Path(name)), std::string::npos) << m;
    for (const auto& p : parts) EXPECT_NE(m.find(p), std::string::npos) << m << " lacks " << p;
    EXPECT_EQ(ReadTokenShardHeader(Path(name)).ok(), header_ok) << name;
  }

  std::string dir_;
};

TEST_F(TokenShardsTest, RoundTrip) {
  std::vector<int32_t> tokens = {0, 1, 255, 256, 50256, 65535, 7};
  ASSERT_TRUE(WriteTokenShard(Path("a.bin"), tokens).ok());
  auto back = ReadTokenShard(Path("a.bin"));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, std::vector<uint16_t>(tokens.begin(), tokens.end()));
  auto count = ReadTokenShardHeader(Path("a.bin"));
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 7);

  std::vector<uint16_t> u16 = {3, 1, 4, 1, 5};
  ASSERT_TRUE(WriteTokenShard(Path("b.bin"), u16).ok());
  EXPECT_EQ(*ReadTokenShard(Path("b.bin"), 6), u16);
}

TEST_F(TokenShardsTest, EmptyShard) {
  ASSERT_TRUE(WriteTokenShard(Path("e.bin"), std::vector<int32_t>{}).ok());
  EXPECT_EQ(fs::file_size(Path("e.bin")), 1024u);
  auto back = ReadTokenShard(Path("e.bin"));
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back->empty());
}

// More tokens than one write chunk (1 Mi), so the chunked conversion is exercised.
TEST_F(TokenShardsTest, LargeShardRoundTrips) {
  std::vector<uint16_t> tokens((1 << 20) + 3);
  for (size_t i = 0; i < tokens.size(); ++i) tokens[i] = static_cast<uint16_t>(i * 2654435761u);
  ASSERT_TRUE(WriteTokenShard(Path("l.bin"), tokens).ok());
  EXPECT_EQ(fs::file_size(Path("l.bin")), 1024 + 2 * tokens.size());
  EXPECT_EQ(*ReadTokenShard(Path("l.bin")), tokens);
}

TEST_F(TokenShardsTest, BytesAreExactlyLlmcs) {
  const std::vector<uint16_t> tokens = {50256, 464, 2068, 0x1234, 65535};
  ASSERT_TRUE(
      WriteTokenShard(Path("w.bin"), std::vector<int32_t>(tokens.begin(), tokens.end())).ok());
  const std::string expected = LlmcBytes(20240520, 1, 5, tokens);
  EXPECT_EQ(::shoal::testing::ReadFile(Path("w.bin")), expected);
  // Spot-check the layout by hand: magic 20240520 = 0x0134D888, version 1, count 5, token 0x1234.
  const std::string bytes = ::shoal::testing::ReadFile(Path("w.bin"));
  ASSERT_EQ(bytes.size(), 1024u + 10);
  EXPECT_EQ(bytes.substr(0, 12),
            std::string("\x88\xD8\x34\x01\x01\x00\x00\x00\x05\x00\x00\x00", 12));
  EXPECT_EQ(bytes.substr(1024 + 6, 2), std::string("\x34\x12", 2));
  // And a shard written by llm.c reads back unchanged.
  Write("llmc.bin", expected);
  EXPECT_EQ(*ReadTokenShard(Path("llmc.bin"), 65536), tokens);
}

TEST_F(TokenShardsTest, WriteRefusesTokensOutsideUint16) {
  Status st = WriteTokenShard(Path("x.bin"), std::vector<int32_t>{1, 2, 65536});
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("token 65536 at index 2"), std::string::npos) << st.message();
  EXPECT_FALSE(fs::exists(Path("x.bin")));
  st = WriteTokenShard(Path("x.bin"), std::vector<int32_t>{-1});
  EXPECT_NE(st.message().find("token -1 at index 0"), std::string::npos) << st.message();
  EXPECT_FALSE(fs::exists(Path("x.bin")));
}

TEST_F(TokenShardsTest, WriteReplacesAnExistingShard) {
  ASSERT_TRUE(WriteTokenShard(Path("r.bin"), std::vector<int32_t>{1, 2, 3}).ok());
  ASSERT_TRUE(WriteTokenShard(Path("r.bin"), std::vector<int32_t>{9}).ok());
  EXPECT_EQ(*ReadTokenShard(Path("r.bin")), std::vector<uint16_t>{9});
  for (const auto& entry : fs::directory_iterator(dir_)) {
    EXPECT_EQ(entry.path().filename(), "r.bin");  // no temporary left behind
  }
}

TEST_F(TokenShardsTest, MissingFileIsNotFound) {
  auto r = ReadTokenShard(Path("none.bin"));
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find(Path("none.bin")), std::string::npos);
}

TEST_F(TokenShardsTest, BadMagic) {
  Write("magic.bin", LlmcBytes(12345, 1, 1, {7}));
  ExpectRefused("magic.bin", {"bad magic 12345 at byte 0", "expected 20240520"});
  Write("llama.bin", LlmcBytes(20240801, 7, 1, {7, 0}));
  ExpectRefused("llama.bin", {"bad magic 20240801", "LLaMA-3"});
}

TEST_F(TokenShardsTest, UnsupportedVersion) {
  Write("v.bin", LlmcBytes(20240520, 2, 1, {7}));
  ExpectRefused("v.bin", {"unsupported version 2 at byte 4"});
}

TEST_F(TokenShardsTest, Truncated) {
  Write("t.bin", LlmcBytes(20240520, 1, 10, {1, 2, 3}));
  ExpectRefused("t.bin", {"truncated", "header says 10 tokens (byte 8)", "holds 3",
                          "ends at byte 1030", "end at byte 1044"});
  std::string odd = LlmcBytes(20240520, 1, 2, {1, 2});
  odd.pop_back();
  Write("odd.bin", odd);
  ExpectRefused("odd.bin", {"truncated", "holds 1 and a half"});
  Write("short.bin", std::string(100, '\0'));
  ExpectRefused("short.bin", {"truncated header", "100 bytes"});
  Write("neg.bin", LlmcBytes(20240520, 1, -1, {}));
  ExpectRefused("neg.bin", {"bad token count -1 at byte 8"});
}

TEST_F(TokenShardsTest, TrailingBytes) {
  Write("tr.bin", LlmcBytes(20240520, 1, 2, {1, 2, 3}) + "x");
  ExpectRefused("tr.bin", {"3 trailing bytes at byte 1028", "after the 2 tokens"});
}

TEST_F(TokenShardsTest, TokenOutsideVocabulary) {
  Write("vocab.bin", LlmcBytes(20240520, 1, 4, {5, 255, 256, 300}));
  EXPECT_TRUE(ReadTokenShard(Path("vocab.bin"), 301).ok());
  EXPECT_TRUE(ReadTokenShard(Path("vocab.bin")).ok());  // no vocabulary given: not checked
  ExpectRefused("vocab.bin", {"token 256 at index 2 (byte 1028)", "vocabulary of 256"}, 256,
                /*header_ok=*/true);
}

}  // namespace
}  // namespace shoal
