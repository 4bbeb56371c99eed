// The worker's chunk cache on a real directory: verified entries, LRU eviction that never takes a
// pinned chunk, corruption, and what a restart finds.
#include "worker/agent/chunk_cache.h"

#include <unistd.h>
#include <utime.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "common/sha256.h"

namespace shoal {
namespace {

class ChunkCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/shoal-cache-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::unique_ptr<ChunkCache> Open(int64_t max_bytes) {
    auto c = ChunkCache::Open(dir_ + "/cache", max_bytes);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? std::move(c).value() : nullptr;
  }
  // A 100-byte chunk of `fill` and its name.
  static std::pair<std::string, std::string> Chunk(char fill) {
    std::string bytes(100, fill);
    return {Sha256Hex(bytes), bytes};
  }
  std::string PathOf(const std::string& id) {
    return dir_ + "/cache/" + id.substr(0, 2) + "/" + id;
  }
  std::string dir_;
};

TEST_F(ChunkCacheTest, StoresVerifiedChunksAndReadsThemBack) {
  auto cache = Open(1000);
  const auto [id, bytes] = Chunk('a');
  EXPECT_EQ(cache->Get(id).status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(cache->Put(id, bytes).ok());
  ASSERT_TRUE(cache->Put(id, bytes).ok());  // already there
  EXPECT_TRUE(cache->Has(id));
  EXPECT_EQ(*cache->Get(id), bytes);
  EXPECT_EQ(cache->Put(id, "other bytes").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(cache->Put("../x", "x").code(), StatusCode::kInvalidArgument);
  const ChunkCache::Stats s = cache->stats();
  EXPECT_EQ(s.chunks, 1);
  EXPECT_EQ(s.bytes, 100);
  EXPECT_EQ(s.hits, 1);
  EXPECT_EQ(s.misses, 1);
}

TEST_F(ChunkCacheTest, EvictsTheLeastRecentlyUsedChunk) {
  auto cache = Open(300);  // three chunks
  const auto a = Chunk('a'), b = Chunk('b'), c = Chunk('c'), d = Chunk('d');
  ASSERT_TRUE(cache->Put(a.first, a.second).ok());
  ASSERT_TRUE(cache->Put(b.first, b.second).ok());
  ASSERT_TRUE(cache->Put(c.first, c.second).ok());
  ASSERT_TRUE(cache->Get(a.first).ok());  // a is now the most recently used: b is the oldest
  ASSERT_TRUE(cache->Put(d.first, d.second).ok());
  EXPECT_TRUE(cache->Has(a.first));
  EXPECT_FALSE(cache->Has(b.first));
  EXPECT_TRUE(cache->Has(c.first));
  EXPECT_TRUE(cache->Has(d.first));
  EXPECT_FALSE(std::filesystem::exists(PathOf(b.first)));
  EXPECT_EQ(cache->stats().evicted, 1);
  EXPECT_EQ(cache->stats().bytes, 300);
}

TEST_F(ChunkCacheTest, NeverEvictsAPinnedChunk) {
  auto cache = Open(300);
  const auto a = Chunk('a'), b = Chunk('b'), c = Chunk('c'), d = Chunk('d'), e = Chunk('e');
  cache->Pin({a.first, b.first, c.first});  // an attempt reads all three
  ASSERT_TRUE(cache->Put(a.first, a.second).ok());
  ASSERT_TRUE(cache->Put(b.first, b.second).ok());
  ASSERT_TRUE(cache->Put(c.first, c.second).ok());
  Status st = cache->Put(d.first, d.second);
  EXPECT_EQ(st.code(), StatusCode::kResourceExhausted) << st.ToString();
  EXPECT_TRUE(cache->Has(a.first) && cache->Has(b.first) && cache->Has(c.first));
  EXPECT_FALSE(cache->Has(d.first));

  // Pins are counted: a second attempt on b keeps it after the first lets go.
  cache->Pin({b.first});
  cache->Unpin({a.first, b.first, c.first});
  ASSERT_TRUE(cache->Put(d.first, d.second).ok());  // evicts a, the oldest unpinned
  ASSERT_TRUE(cache->Put(e.first, e.second).ok());  // b is pinned still: evicts c
  EXPECT_FALSE(cache->Has(a.first));
  EXPECT_TRUE(cache->Has(b.first));
  EXPECT_FALSE(cache->Has(c.first));
  EXPECT_TRUE(cache->Has(d.first) && cache->Has(e.first));
}

TEST_F(ChunkCacheTest, ACorruptedChunkIsDroppedAndReportedMissing) {
  auto cache = Open(1000);
  const auto [id, bytes] = Chunk('a');
  ASSERT_TRUE(cache->Put(id, bytes).ok());
  {
    std::fstream f(PathOf(id), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(10);
    f.put('x');
  }
  EXPECT_EQ(cache->Get(id).status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(cache->Has(id));
  EXPECT_FALSE(std::filesystem::exists(PathOf(id)));
  ASSERT_TRUE(cache->Put(id, bytes).ok());  // fetched again
  EXPECT_EQ(*cache->Get(id), bytes);
}

TEST_F(ChunkCacheTest, ARestartKeepsTheChunksInTheirOrderAndAppliesANewBudget) {
  const auto a = Chunk('a'), b = Chunk('b'), c = Chunk('c');
  {
    auto cache = Open(1000);
    for (const auto& [id, bytes] : {a, b, c}) ASSERT_TRUE(cache->Put(id, bytes).ok());
  }
  // Last used: b long ago, then c, then a (what Get's touches leave behind).
  const time_t now = ::time(nullptr);
  const std::pair<std::string, time_t> ages[] = {
      {b.first, now - 300}, {c.first, now - 200}, {a.first, now - 100}};
  for (const auto& [id, t] : ages) {
    struct utimbuf times {
      t, t
    };
    ASSERT_EQ(::utime(PathOf(id).c_str(), &times), 0);
  }
  // A crash left a temporary behind.
  std::ofstream(PathOf(a.first) + ".tmp.42") << "partial";
  auto cache = Open(200);  // room for two: b, the oldest, goes
  EXPECT_FALSE(cache->Has(b.first));
  EXPECT_TRUE(cache->Has(c.first));
  EXPECT_TRUE(cache->Has(a.first));
  EXPECT_FALSE(std::filesystem::exists(PathOf(a.first) + ".tmp.42"));
  EXPECT_EQ(cache->stats().bytes, 200);
  EXPECT_EQ(*cache->Get(c.first), c.second);
}

}  // namespace
}  // namespace shoal
