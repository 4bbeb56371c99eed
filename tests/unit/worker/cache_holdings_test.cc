// What the agent's heartbeat says its chunk cache holds (worker/agent/cache_holdings.h): the
// versions it fetched, most recently first, with the bytes still cached, following evictions.
#include "worker/agent/cache_holdings.h"

#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "common/sha256.h"

namespace shoal {
namespace {

class CacheHoldingsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/shoal-holdings-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  // Stores a 100-byte chunk of `fill` and returns its manifest entry.
  static ManifestChunk Put(ChunkCache* cache, char fill) {
    const std::string bytes(100, fill);
    ManifestChunk c;
    c.sha256 = Sha256Hex(bytes);
    c.size = 100;
    EXPECT_TRUE(cache->Put(c.sha256, bytes).ok());
    return c;
  }
  std::string dir_;
};

TEST_F(CacheHoldingsTest, ReportsFetchedVersionsMostRecentFirstAndFollowsEvictions) {
  auto opened = ChunkCache::Open(dir_ + "/cache", 300);
  ASSERT_TRUE(opened.ok());
  ChunkCache* cache = opened->get();
  CacheHoldings holdings(cache);
  EXPECT_TRUE(holdings.Report().cached.empty());

  Manifest v1, v2;
  v1.chunks = {Put(cache, 'a'), Put(cache, 'b'), Put(cache, 'a')};  // a repeated chunk counts once
  holdings.Record("11", v1, /*chunks_cached=*/0, /*chunks=*/2);
  v2.chunks = {Put(cache, 'b'), Put(cache, 'c')};
  holdings.Record("22", v2, 1, 2);
  wire::CacheReport r = holdings.Report();
  ASSERT_EQ(r.cached.size(), 2u);
  EXPECT_EQ(r.cached[0], (wire::CachedVersion{"22", 200}));
  EXPECT_EQ(r.cached[1], (wire::CachedVersion{"11", 200}));
  EXPECT_TRUE(r.has_stats);
  EXPECT_EQ(r.stats.hits, 1);
  EXPECT_EQ(r.stats.misses, 3);
  EXPECT_EQ(r.stats.bytes, 300);
  EXPECT_EQ(r.stats.max_bytes, 300);

  // Storing d evicts the least recently used chunk (a): v1 is now partly cached.
  Put(cache, 'd');
  r = holdings.Report();
  ASSERT_EQ(r.cached.size(), 2u);
  EXPECT_EQ(r.cached[1], (wire::CachedVersion{"11", 100}));
  // Fetching v1 again makes it the most recent.
  holdings.Record("11", v1, 1, 2);
  EXPECT_EQ(holdings.Report().cached[0].digest, "11");
  // A version none of whose chunks is left is forgotten.
  Put(cache, 'e');
  Put(cache, 'f');
  Put(cache, 'g');
  r = holdings.Report();
  EXPECT_TRUE(r.cached.empty());
}

TEST_F(CacheHoldingsTest, KeepsAtMostTheWireBound) {
  auto opened = ChunkCache::Open(dir_ + "/cache", 1000);
  ASSERT_TRUE(opened.ok());
  CacheHoldings holdings(opened->get());
  Manifest m;
  m.chunks = {Put(opened->get(), 'a')};
  for (size_t i = 0; i < wire::kMaxCachedVersions + 10; ++i) {
    holdings.Record(std::to_string(i), m, 1, 1);
  }
  const wire::CacheReport r = holdings.Report();
  ASSERT_EQ(r.cached.size(), wire::kMaxCachedVersions);
  EXPECT_EQ(r.cached[0].digest, std::to_string(wire::kMaxCachedVersions + 9));
}

}  // namespace
}  // namespace shoal
