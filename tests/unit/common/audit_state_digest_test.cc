// The checkpoint state digest (common/audit/state_digest.h): the same from the tensors a rank is
// about to write as from the file, whatever the order of the tensors; blind to the metadata a
// resume does not read; changed by any weight or resume position.
#include "common/audit/state_digest.h"

#include <unistd.h>

#include <cmath>
#include <filesystem>

#include <gtest/gtest.h>

#include "common/file_util.h"
#include "common/safetensors.h"

namespace shoal::audit {
namespace {

class StateDigestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/shoal-digest-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  // The digest of the file `tensors` and `meta` are written to.
  std::string OfFile(const std::vector<TensorView>& tensors,
                     const std::map<std::string, std::string>& meta) {
    const std::string path = dir_ + "/f.safetensors";
    EXPECT_TRUE(WriteSafetensors(path, tensors, meta).ok());
    auto bytes = ReadFileLimited(path, 1 << 20);
    EXPECT_TRUE(bytes.ok());
    auto index = IndexSafetensors(*bytes);
    EXPECT_TRUE(index.ok());
    return StateDigest(*bytes, *index);
  }
  std::string dir_;
};

TEST_F(StateDigestTest, TheTensorsAndTheirFileGiveOneDigest) {
  std::vector<float> w(12), b(3, 0.5f);
  for (size_t i = 0; i < w.size(); ++i) w[i] = 0.25f * static_cast<float>(i) - 1;
  const std::map<std::string, std::string> meta = {
      {"format", "shoal-checkpoint/1"}, {"step", "40"}, {"epoch", "2"}, {"epochLoss", "1.5"}};
  const std::vector<TensorView> tensors = {{"layers.0.weight", {3, 4}, w.data()},
                                           {"layers.0.bias", {3}, b.data()}};
  const std::string d = StateDigest(tensors, meta);
  EXPECT_EQ(d.size(), 64u);
  EXPECT_EQ(OfFile(tensors, meta), d);
  // The writing order does not matter (the file's header sorts them anyway).
  EXPECT_EQ(StateDigest({tensors[1], tensors[0]}, meta), d);
  // Metadata a resume does not read (loss and time sums differ between ranks) does not count...
  auto reporting = meta;
  reporting["epochLoss"] = "7.25";
  reporting["trainTimeSec"] = "12";
  EXPECT_EQ(StateDigest(tensors, reporting), d);
  EXPECT_EQ(OfFile(tensors, reporting), d);
  // ...where the position does.
  auto moved = meta;
  moved["step"] = "41";
  EXPECT_NE(StateDigest(tensors, moved), d);
  // An absent key reads as "".
  auto without = meta;
  without.erase("epoch");
  auto empty = meta;
  empty["epoch"] = "";
  EXPECT_EQ(StateDigest(tensors, without), StateDigest(tensors, empty));
  EXPECT_NE(StateDigest(tensors, without), d);
  // One weight's last bit.
  std::vector<float> w2 = w;
  w2[5] = std::nextafter(w2[5], 10.f);
  EXPECT_NE(StateDigest({{"layers.0.weight", {3, 4}, w2.data()}, tensors[1]}, meta), d);
  // The same bytes under another shape or name.
  EXPECT_NE(StateDigest({{"layers.0.weight", {4, 3}, w.data()}, tensors[1]}, meta), d);
  EXPECT_NE(StateDigest({{"layers.0.weights", {3, 4}, w.data()}, tensors[1]}, meta), d);
  // Two same-shaped tensors swapped (a header that maps names to each other's bytes).
  std::vector<float> a(3, 1.f), c(3, 2.f);
  EXPECT_NE(StateDigest({{"x", {3}, a.data()}, {"y", {3}, c.data()}}, meta),
            StateDigest({{"x", {3}, c.data()}, {"y", {3}, a.data()}}, meta));
}

}  // namespace
}  // namespace shoal::audit
