// Token shards as the trainer's rows (LoadTokenWindows, data/dataset.h): windows of T tokens with
// the next T as labels, shards of a prefix concatenated in order, and the refusals.
#include <unistd.h>

#include <filesystem>
#include <vector>

#include <gtest/gtest.h>

#include "data/dataset.h"
#include "data/token_shards.h"

namespace shoal {
namespace {

class TokenWindowsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/shoal-windows-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(TokenWindowsTest, WindowsPredictTheNextTokenAcrossShards) {
  std::vector<int32_t> a = {0, 1, 2, 3, 4}, b = {5, 6, 7, 8, 9, 10};
  ASSERT_TRUE(WriteTokenShard(dir_ + "/train_000000.bin", a).ok());
  ASSERT_TRUE(WriteTokenShard(dir_ + "/train_000001.bin", b).ok());
  auto d = LoadTokenWindows(dir_ + "/train", 3, 16);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  // 11 tokens: (11 - 1) / 3 = 3 windows.
  EXPECT_EQ(d->size, 3);
  EXPECT_EQ(d->dim, 3);
  EXPECT_EQ(d->label_width, 3);
  EXPECT_EQ(d->features, (std::vector<float>{0, 1, 2, 3, 4, 5, 6, 7, 8}));
  EXPECT_EQ(d->labels, (std::vector<int32_t>{1, 2, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_EQ(d->num_classes, 10);
  // One file works too, and a batch gathers every label of its windows.
  auto one = LoadTokenWindows(dir_ + "/train_000001.bin", 2, 16);
  ASSERT_TRUE(one.ok());
  std::vector<float> x(4);
  std::vector<int32_t> y(4);
  GatherBatch(*one, {1, 0}, 0, 2, x.data(), y.data());
  EXPECT_EQ(x, (std::vector<float>{7, 8, 5, 6}));
  EXPECT_EQ(y, (std::vector<int32_t>{8, 9, 6, 7}));
}

TEST_F(TokenWindowsTest, RefusesMissingShortAndOutOfVocabularyData) {
  EXPECT_EQ(LoadTokenWindows(dir_ + "/nothing", 4, 16).status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(WriteTokenShard(dir_ + "/short.bin", std::vector<int32_t>{1, 2, 3}).ok());
  auto short_one = LoadTokenWindows(dir_ + "/short.bin", 3, 16);
  EXPECT_EQ(short_one.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(short_one.status().message().find("fewer than contextLength + 1"), std::string::npos);
  ASSERT_TRUE(WriteTokenShard(dir_ + "/wide.bin", std::vector<int32_t>{1, 2, 300, 4}).ok());
  auto wide = LoadTokenWindows(dir_ + "/wide.bin", 2, 256);
  EXPECT_EQ(wide.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(wide.status().message().find("wide.bin"), std::string::npos) << wide.status().message();
}

}  // namespace
}  // namespace shoal
