// The safetensors writer and reader: round trip, the on-disk layout, and hostile files.
#include "common/safetensors.h"

#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/file_util.h"

namespace shoal {
namespace {

class SafetensorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/shoal-st-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // A file: the 8-byte length, `header` as given, then `data`.
  std::string Raw(const std::string& header, const std::string& data) {
    std::string out(8, '\0');
    uint64_t n = header.size();
    for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(n >> (8 * i));
    return out + header + data;
  }
  std::string Floats(std::initializer_list<float> v) {
    std::string s(v.size() * 4, '\0');
    std::memcpy(s.data(), v.begin(), s.size());
    return s;
  }
  std::string dir_;
};

TEST_F(SafetensorsTest, RoundTripAndLayout) {
  const std::vector<float> w = {1, 2, 3, 4, 5, 6}, b = {-1.5f, 0.25f};
  const std::string path = dir_ + "/a.safetensors";
  ASSERT_TRUE(WriteSafetensors(path, {{"w", {2, 3}, w.data()}, {"b", {2}, b.data()}, {"e", {0}, nullptr}},
                               {{"step", "7"}})
                  .ok());
  auto f = ReadSafetensors(path, 1 << 20);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->tensors.at("w").shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(f->tensors.at("w").data, w);
  EXPECT_EQ(f->tensors.at("b").data, b);
  EXPECT_TRUE(f->tensors.at("e").data.empty());
  EXPECT_EQ(f->metadata.at("step"), "7");
  // The layout other tools expect: u64 LE header length, JSON, data 8-byte aligned, in order.
  auto bytes = ReadFileLimited(path, 1 << 20);
  ASSERT_TRUE(bytes.ok());
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<uint8_t>((*bytes)[i]);
  EXPECT_EQ((8 + n) % 8, 0u);
  auto header = nlohmann::json::parse(bytes->substr(8, n));
  EXPECT_EQ(header["w"]["dtype"], "F32");
  EXPECT_EQ(header["w"]["data_offsets"], nlohmann::json({0, 24}));
  EXPECT_EQ(header["b"]["data_offsets"], nlohmann::json({24, 32}));
  EXPECT_EQ(header["__metadata__"]["step"], "7");
  EXPECT_EQ(bytes->size(), 8 + n + 32);
  float first;
  std::memcpy(&first, bytes->data() + 8 + n, 4);
  EXPECT_EQ(first, 1.0f);
  // No temporary left behind.
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir_)) files += e.is_regular_file();
  EXPECT_EQ(files, 1);
  // Bad names are refused before anything is written.
  EXPECT_FALSE(WriteSafetensors(dir_ + "/x", {{"", {1}, w.data()}}, {}).ok());
  EXPECT_FALSE(WriteSafetensors(dir_ + "/x", {{"a", {1}, w.data()}, {"a", {1}, w.data()}}, {}).ok());
  EXPECT_FALSE(WriteSafetensors(dir_ + "/x", {{"a", {-1}, w.data()}}, {}).ok());
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/x"));
}

TEST_F(SafetensorsTest, HostileFilesAreInvalidArgumentNeverACrash) {
  const std::string ok_header = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  ASSERT_TRUE(ParseSafetensors(Raw(ok_header, Floats({1, 2}))).ok());
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"short", std::string("\x05\x00", 2)},
      {"length beyond file", Raw(ok_header, Floats({1, 2})).replace(0, 8, std::string(8, '\xff'))},
      {"not json", Raw("{\"a\":", "")},
      {"not an object", Raw("[1,2]", "")},
      {"F16", Raw(R"({"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}})", "abcd")},
      {"shape mismatch", Raw(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", Floats({1, 2}))},
      {"offsets beyond data", Raw(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})", Floats({1, 2}))},
      {"reversed offsets", Raw(R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})", Floats({1, 2}))},
      {"negative dim", Raw(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", Floats({1, 2}))},
      {"huge dims", Raw(R"({"a":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,8]}})", Floats({1, 2}))},
      {"overlap", Raw(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", Floats({1, 2}))},
      {"gap", Raw(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", Floats({1, 2}))},
      {"trailing bytes", Raw(ok_header, Floats({1, 2, 3}))},
      {"missing field", Raw(R"({"a":{"dtype":"F32","shape":[2]}})", Floats({1, 2}))},
      {"metadata not strings", Raw(R"({"__metadata__":{"a":1}})", "")},
      {"long name", Raw("{\"" + std::string(5000, 'n') + R"(":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}})", "")},
  };
  for (const auto& [what, bytes] : bad) {
    auto r = ParseSafetensors(bytes);
    ASSERT_FALSE(r.ok()) << what;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << what << ": " << r.status().ToString();
  }
  // A file over the caller's limit is refused before it is read.
  const std::string path = dir_ + "/big.safetensors";
  ASSERT_TRUE(WriteFileAtomic(path, Raw(ok_header, Floats({1, 2}))).ok());
  EXPECT_EQ(ReadSafetensors(path, 10).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ReadSafetensors(dir_ + "/none", 10).status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace shoal
