#include "worker/train/engines/peak_flops.h"

#include <gtest/gtest.h>

namespace shoal {
namespace {

TEST(PeakFlopsTest, KnownGpusByNameAndPrecision) {
  EXPECT_DOUBLE_EQ(PeakFlopsOf("NVIDIA H200", Precision::kBf16), 989.4e12);
  EXPECT_DOUBLE_EQ(PeakFlopsOf("NVIDIA H100 80GB HBM3", Precision::kTf32), 494.7e12);
  EXPECT_DOUBLE_EQ(PeakFlopsOf("NVIDIA H100 PCIe", Precision::kBf16), 756e12);
  EXPECT_DOUBLE_EQ(PeakFlopsOf("NVIDIA A100-SXM4-80GB", Precision::kFp32), 19.5e12);
  EXPECT_DOUBLE_EQ(PeakFlopsOf("NVIDIA A10", Precision::kBf16), 125e12);
}

TEST(PeakFlopsTest, UnknownOrPartialNamesAreZero) {
  EXPECT_EQ(PeakFlopsOf("NVIDIA GeForce RTX 4090", Precision::kBf16), 0);
  EXPECT_EQ(PeakFlopsOf("", Precision::kFp32), 0);
  EXPECT_EQ(PeakFlopsOf("NVIDIA H1000", Precision::kFp32), 0);  // whole words only
}

}  // namespace
}  // namespace shoal
