#include "kernels/cpu/reduce.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

namespace shoal::cpu {
namespace {

TEST(ReduceTest, ScaleInPlace) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> dist(-5.0f, 5.0f);
  std::vector<float> x(1031);
  for (float& v : x) v = dist(rng);
  const std::vector<float> before = x;
  ScaleInPlace(x.data(), static_cast<int64_t>(x.size()), 0.25f);
  for (size_t i = 0; i < x.size(); ++i) EXPECT_EQ(x[i], before[i] * 0.25f);
  ScaleInPlace(x.data(), 0, 100.0f);  // n = 0 leaves the buffer alone
  for (size_t i = 0; i < x.size(); ++i) EXPECT_EQ(x[i], before[i] * 0.25f);
}

TEST(ReduceTest, AllFiniteFindsEveryKindAnywhere) {
  std::vector<float> x(37, 1.5f);
  EXPECT_TRUE(AllFinite(x.data(), 37));
  EXPECT_TRUE(AllFinite(nullptr, 0));
  x[5] = std::numeric_limits<float>::max();
  x[6] = std::numeric_limits<float>::denorm_min();
  x[7] = -0.0f;
  EXPECT_TRUE(AllFinite(x.data(), 37));
  const float bad[] = {std::numeric_limits<float>::quiet_NaN(),
                       std::numeric_limits<float>::infinity(),
                       -std::numeric_limits<float>::infinity(), -std::nanf("")};
  // First, middle and last position (the last is in any vectorized loop's tail).
  for (const float b : bad) {
    for (const size_t pos : {size_t{0}, size_t{18}, size_t{36}}) {
      std::vector<float> y = x;
      y[pos] = b;
      EXPECT_FALSE(AllFinite(y.data(), 37)) << b << " at " << pos;
      // Outside the first n elements it does not count.
      if (pos == 36) {
        EXPECT_TRUE(AllFinite(y.data(), 36));
      }
    }
  }
}

TEST(ReduceTest, SumOfSquares) {
  const std::vector<float> x = {3.0f, -4.0f, 0.5f};
  EXPECT_DOUBLE_EQ(SumOfSquares(x.data(), 3), 25.25);
  EXPECT_EQ(SumOfSquares(x.data(), 0), 0.0);
}

TEST(ReduceTest, Fnv1aKnownVectors) {
  EXPECT_EQ(Fnv1aChecksum(nullptr, 0), "cbf29ce484222325");  // the offset basis
  // The four bytes "abcd" read as one float; FNV-1a 64 of "abcd" is fc179f83ee0724dd.
  float abcd;
  std::memcpy(&abcd, "abcd", 4);
  EXPECT_EQ(Fnv1aChecksum(&abcd, 1), "fc179f83ee0724dd");
  const std::vector<float> x = {1.0f, -2.5f, 3.25f};
  EXPECT_EQ(Fnv1aChecksum(x.data(), 3), "01970969efc013e8");  // leading zero kept, lowercase
}

TEST(ReduceTest, Fnv1aDetectsAnySingleChange) {
  std::mt19937 rng(8);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> x(513);
  for (float& v : x) v = dist(rng);
  const std::string base = Fnv1aChecksum(x.data(), 513);
  ASSERT_EQ(base.size(), 16u);
  for (char ch : base) EXPECT_TRUE((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')) << base;
  EXPECT_EQ(Fnv1aChecksum(x.data(), 513), base);  // deterministic
  for (const size_t pos : {size_t{0}, size_t{256}, size_t{512}}) {
    std::vector<float> y = x;
    y[pos] = std::nextafter(y[pos], 2.0f);  // one ulp
    EXPECT_NE(Fnv1aChecksum(y.data(), 513), base) << pos;
  }
  // Bitwise: 0.0 and -0.0 compare equal but are different bytes.
  const float pz = 0.0f, nz = -0.0f;
  EXPECT_NE(Fnv1aChecksum(&pz, 1), Fnv1aChecksum(&nz, 1));
}

}  // namespace
}  // namespace shoal::cpu
