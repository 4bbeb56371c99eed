// Encryption at rest: sealing chunks, wrapping data keys, loading the master key.
#include "scheduler/registry/crypto.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace shoal {
namespace {

DataKey Key() {
  auto key = NewDataKey();
  EXPECT_TRUE(key.ok()) << key.status().ToString();
  return *key;
}

MasterKey Master(char fill) {
  auto key = MasterKeyFromHex(std::string(64, fill));
  EXPECT_TRUE(key.ok()) << key.status().ToString();
  return *key;
}

TEST(SealTest, RoundTripsEmptyAndLargePlaintexts) {
  const DataKey key = Key();
  for (const std::string& plain : {std::string(), std::string(size_t{8} << 20, 'z')}) {
    auto blob = SealChunk(key, plain, "chunk-id");
    ASSERT_TRUE(blob.ok()) << blob.status().ToString();
    EXPECT_EQ(static_cast<int64_t>(blob->size()),
              static_cast<int64_t>(plain.size()) + kSealOverhead);
    auto opened = OpenChunk(key, *blob, "chunk-id");
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    EXPECT_EQ(*opened, plain);
  }
}

TEST(SealTest, AnyFlippedBitFailsToOpen) {
  const DataKey key = Key();
  const std::string blob = *SealChunk(key, "seventeen bytes!!", "aad");
  for (size_t i = 0; i < blob.size(); ++i) {  // nonce, ciphertext and tag
    for (int bit = 0; bit < 8; ++bit) {
      std::string changed = blob;
      changed[i] = static_cast<char>(changed[i] ^ (1 << bit));
      EXPECT_EQ(OpenChunk(key, changed, "aad").status().code(), StatusCode::kInternal)
          << "byte " << i << " bit " << bit;
    }
  }
  EXPECT_EQ(OpenChunk(key, blob.substr(0, blob.size() - 1), "aad").status().code(),
            StatusCode::kInternal);
  auto short_blob = OpenChunk(key, blob.substr(0, kSealOverhead - 1), "aad");
  EXPECT_EQ(short_blob.status().code(), StatusCode::kInternal);
  EXPECT_NE(short_blob.status().message().find("shorter"), std::string::npos);
}

TEST(SealTest, AnotherKeyOrAnotherAadFails) {
  const DataKey key = Key();
  const std::string blob = *SealChunk(key, "private bytes", "id-a");
  EXPECT_EQ(OpenChunk(Key(), blob, "id-a").status().code(), StatusCode::kInternal);
  EXPECT_EQ(OpenChunk(key, blob, "id-b").status().code(), StatusCode::kInternal);
  EXPECT_EQ(OpenChunk(key, blob, "").status().code(), StatusCode::kInternal);
  EXPECT_TRUE(OpenChunk(key, blob, "id-a").ok());
}

TEST(SealTest, SealingTwiceGivesDifferentBlobs) {
  const DataKey key = Key();
  const std::string a = *SealChunk(key, "same plaintext", "id");
  const std::string b = *SealChunk(key, "same plaintext", "id");
  EXPECT_NE(a, b);
  EXPECT_NE(a.substr(0, 12), b.substr(0, 12));  // the nonces
  EXPECT_EQ(*OpenChunk(key, a, "id"), *OpenChunk(key, b, "id"));
  EXPECT_NE(Key().bytes, Key().bytes);
}

TEST(WrapTest, RoundTripsAndIsPrintable) {
  const MasterKey master = Master('a');
  const DataKey key = Key();
  auto wrapped = WrapDataKey(master, key, "datasets/alice/x");
  ASSERT_TRUE(wrapped.ok()) << wrapped.status().ToString();
  EXPECT_EQ(wrapped->substr(0, 3), "v1:");
  EXPECT_EQ(wrapped->size(), 3u + 2 * (32 + 28));
  EXPECT_EQ(wrapped->find_first_not_of("0123456789abcdef", 3), std::string::npos);
  EXPECT_NE(*wrapped, *WrapDataKey(master, key, "datasets/alice/x"));  // random nonce
  auto unwrapped = UnwrapDataKey(master, *wrapped, "datasets/alice/x");
  ASSERT_TRUE(unwrapped.ok()) << unwrapped.status().ToString();
  EXPECT_EQ(unwrapped->bytes, key.bytes);
}

TEST(WrapTest, AnotherMasterKeyContextOrChangeFails) {
  const MasterKey master = Master('a');
  const std::string wrapped = *WrapDataKey(master, Key(), "datasets/alice/x");
  auto other_master = UnwrapDataKey(Master('b'), wrapped, "datasets/alice/x");
  EXPECT_EQ(other_master.status().code(), StatusCode::kInternal);
  EXPECT_NE(other_master.status().message().find("datasets/alice/x"), std::string::npos);
  EXPECT_EQ(UnwrapDataKey(master, wrapped, "datasets/bob/x").status().code(),
            StatusCode::kInternal);
  std::string changed = wrapped;
  changed[10] = changed[10] == '0' ? '1' : '0';
  EXPECT_EQ(UnwrapDataKey(master, changed, "datasets/alice/x").status().code(),
            StatusCode::kInternal);
  // Not the format at all.
  EXPECT_EQ(UnwrapDataKey(master, "v2:" + wrapped.substr(3), "datasets/alice/x").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(UnwrapDataKey(master, wrapped.substr(0, 50), "datasets/alice/x").status().code(),
            StatusCode::kInvalidArgument);
  std::string not_hex = wrapped;
  not_hex[5] = 'g';
  EXPECT_EQ(UnwrapDataKey(master, not_hex, "datasets/alice/x").status().code(),
            StatusCode::kInvalidArgument);
}

class MasterKeyFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/shoal-masterkey-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Write(const std::string& content) {
    const std::string path = dir_ + "/master.key";
    std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
    return path;
  }
  std::string dir_;
};

TEST_F(MasterKeyFileTest, ReadsThirtyTwoRawBytes) {
  std::string raw(32, '\0');
  for (int i = 0; i < 32; ++i) raw[i] = static_cast<char>(i == 31 ? '\n' : 200 + i);
  auto key = LoadMasterKey(Write(raw));  // a raw key ending in a newline byte stays 32 bytes
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  EXPECT_EQ(std::string(key->bytes.begin(), key->bytes.end()), raw);
}

TEST_F(MasterKeyFileTest, ReadsHexWithATrailingNewline) {
  const std::string hex = "00112233445566778899AABBCCDDEEFF00112233445566778899aabbccddeeff";
  auto key = LoadMasterKey(Write(hex + "\n"));
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  EXPECT_EQ(key->bytes[0], 0x00);
  EXPECT_EQ(key->bytes[10], 0xaa);
  EXPECT_EQ(key->bytes[31], 0xff);
  EXPECT_EQ(LoadMasterKey(Write(hex))->bytes, key->bytes);
  // A key read from a file wraps what one from the same hex unwraps.
  const DataKey data = Key();
  EXPECT_EQ(UnwrapDataKey(*MasterKeyFromHex(hex), *WrapDataKey(*key, data, "c"), "c")->bytes,
            data.bytes);
}

TEST_F(MasterKeyFileTest, RefusesOtherLengthsNamingTheFileAndTheForms) {
  for (const std::string& content :
       {std::string(31, 'k'), std::string(33, 'k'), std::string(63, 'a') + "\n",
        std::string(65, 'a'), std::string(63, 'a') + "g", " " + std::string(64, 'a')}) {
    const std::string path = Write(content);
    auto key = LoadMasterKey(path);
    ASSERT_EQ(key.status().code(), StatusCode::kInvalidArgument) << content;
    const std::string m = key.status().message();
    EXPECT_NE(m.find(path), std::string::npos) << m;
    EXPECT_NE(m.find("32 raw bytes"), std::string::npos) << m;
    EXPECT_NE(m.find("64 hex digits"), std::string::npos) << m;
    EXPECT_EQ(m.find(content), std::string::npos) << "echoes the file: " << m;
  }
}

TEST_F(MasterKeyFileTest, AMissingFileIsUnavailableAndNamed) {
  const std::string path = dir_ + "/absent.key";
  auto key = LoadMasterKey(path);
  EXPECT_EQ(key.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(key.status().message().find(path), std::string::npos) << key.status().message();
}

}  // namespace
}  // namespace shoal
