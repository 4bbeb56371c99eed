// GPU discovery through the CUDA driver, loaded at run time.
#include "worker/agent/gpu_inventory.h"

#include <gtest/gtest.h>

namespace shoal {
namespace {

TEST(GpuInventoryTest, ReportsDevicesOrSaysWhyNone) {
  std::string why;
  std::vector<GpuDevice> gpus = DetectGpus(&why);
  if (gpus.empty()) {
    EXPECT_FALSE(why.empty()) << "an empty inventory must say why";
    return;
  }
  for (const auto& g : gpus) {
    EXPECT_FALSE(g.name.empty());
    EXPECT_GT(g.memory_mib, 0);
    EXPECT_GE(g.cc_major, 3);
  }
}

}  // namespace
}  // namespace shoal
