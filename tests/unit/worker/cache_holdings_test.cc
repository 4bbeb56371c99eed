// What the agent's heartbeat says its chunk cache holds (worker/agent/cache_holdings.h): the
// versions it fetched, most recently first, with the bytes still cached, following evictions.
#include "worker/agent/cache_holdings.h"

#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "common/file_util.h"
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

// A restarted worker reports what its cache still holds from its first heartbeat: public
// versions' manifests are kept beside the cache; private ones never are; a version whose chunks
// are all gone is forgotten on disk too; a damaged file is dropped.
TEST_F(CacheHoldingsTest, PublicVersionsSurviveARestart) {
  auto opened = ChunkCache::Open(dir_ + "/cache", 1000);
  ASSERT_TRUE(opened.ok());
  ChunkCache* cache = opened->get();
  auto version = [&](std::vector<ManifestChunk> chunks) {
    Manifest m;
    m.chunks = std::move(chunks);
    m.files.push_back({"data", static_cast<int64_t>(m.chunks.size()) * 100, 0});
    return m;
  };
  const Manifest pub = version({Put(cache, 'a'), Put(cache, 'b')});
  const Manifest priv = version({Put(cache, 'c')});
  ManifestChunk never_stored;  // as if evicted since
  never_stored.sha256 = Sha256Hex(std::string(100, 'z'));
  never_stored.size = 100;
  const Manifest gone = version({never_stored});
  const std::string kept_dir = dir_ + "/cache/versions";
  {
    CacheHoldings holdings(cache, kept_dir);
    holdings.Record(ManifestDigest(gone), gone, 0, 1, /*persist=*/true);
    holdings.Record(ManifestDigest(priv), priv, 0, 1, /*persist=*/false);
    holdings.Record(ManifestDigest(pub), pub, 0, 2, /*persist=*/true);
  }
  ASSERT_TRUE(WriteFileAtomic(kept_dir + "/" + std::string(64, 'e') + ".manifest", "{").ok());
  CacheHoldings restarted(cache, kept_dir);
  const wire::CacheReport r = restarted.Report();
  ASSERT_EQ(r.cached.size(), 1u);
  EXPECT_EQ(r.cached[0], (wire::CachedVersion{ManifestDigest(pub), 200}));
  EXPECT_EQ(r.stats.hits + r.stats.misses, 0);  // counted over this process's fetches
  std::vector<std::string> files;
  for (const auto& f : std::filesystem::directory_iterator(kept_dir)) {
    files.push_back(f.path().filename().string());
  }
  EXPECT_EQ(files, std::vector<std::string>{ManifestDigest(pub) + ".manifest"});
}

}  // namespace
}  // namespace shoal
