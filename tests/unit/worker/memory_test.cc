// The worker's memory inventory, --memory-limit parsing and the watchdog's RSS reading.
#include "worker/agent/memory.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "common/memory_estimate.h"

namespace shoal {
namespace {

TEST(MemoryLimitFlag, PercentagesAndSizes) {
  EXPECT_EQ(*ParseMemoryLimit("90%", 100 * kGiB), 90 * kGiB);
  EXPECT_EQ(*ParseMemoryLimit("100%", 8 * kGiB), 8 * kGiB);
  EXPECT_EQ(*ParseMemoryLimit("512M", 0), 512 * kMiB);
  EXPECT_EQ(*ParseMemoryLimit("16G", 0), 16 * kGiB);
  EXPECT_EQ(*ParseMemoryLimit("16GiB", 0), 16 * kGiB);
  EXPECT_EQ(*ParseMemoryLimit("2t", 0), 2048 * kGiB);
  EXPECT_EQ(*ParseMemoryLimit("1048576", 0), kMiB);
  EXPECT_EQ(*ParseMemoryLimit("50%", 0), 0);  // a share of an unknown total: unknown
  for (const char* bad : {"", "0%", "101%", "-1G", "1.5G", "G", "16Q", "0", "%"}) {
    auto r = ParseMemoryLimit(bad, 8 * kGiB);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) EXPECT_NE(r.status().message().find("--memory-limit"), std::string::npos);
  }
}

// The size part goes through common's ParseByteSize with the flag's own bound (2^62 bytes).
TEST(MemoryLimitFlag, SizesUpTo4EiB) {
  EXPECT_EQ(*ParseMemoryLimit("4194304T", 0), int64_t{1} << 62);
  EXPECT_EQ(*ParseMemoryLimit("16gib", 0), 16 * kGiB);
  EXPECT_EQ(*ParseMemoryLimit("7b", 0), 7);
  for (const char* bad : {"4194305T", "10MB", "1e3", "0000000000000000001", "1 G"}) {
    EXPECT_FALSE(ParseMemoryLimit(bad, 0).ok()) << bad;
  }
}

TEST(MemoryInventory, ThisMachineHasSomeRam) {
  std::string source;
  const int64_t total = DetectMemoryTotal(&source);
  EXPECT_GT(total, 64 * kMiB) << source;
  EXPECT_FALSE(source.empty());
}

TEST(MemoryInventory, RssGrowsWithTouchedMemory) {
  const int64_t before = ProcessRssBytes(::getpid());
  ASSERT_GT(before, 0);
  std::vector<char> block(static_cast<size_t>(64 * kMiB));
  std::memset(block.data(), 1, block.size());  // resident only once touched
  const int64_t after = ProcessRssBytes(::getpid());
  EXPECT_GE(after - before, 60 * kMiB) << before << " -> " << after;
  EXPECT_EQ(block[12345], 1);
  EXPECT_EQ(ProcessRssBytes(0x7ffffff0), -1);  // no such process
}

}  // namespace
}  // namespace shoal
