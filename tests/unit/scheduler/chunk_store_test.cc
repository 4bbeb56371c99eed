// The registry's chunk store on a real directory: names checked against bytes, writes once,
// ranges, corruption, crash leftovers; and sealed under a data key.
#include "scheduler/registry/chunk_store.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "common/sha256.h"

namespace shoal {
namespace {

class ChunkStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/shoal-chunks-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    Reopen();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void Reopen() {
    store_.reset();
    auto s = ChunkStore::Open(dir_ + "/chunks");
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }
  std::string dir_;
  std::unique_ptr<ChunkStore> store_;
};

TEST_F(ChunkStoreTest, StoresOnceUnderItsHashAndReadsBackWholeOrInPart) {
  const std::string bytes = "the quick brown fox jumps over the lazy dog";
  const std::string id = Sha256Hex(bytes);
  EXPECT_FALSE(store_->Has(id));
  bool added = false;
  ASSERT_TRUE(store_->Put(id, bytes, &added).ok());
  EXPECT_TRUE(added);
  ASSERT_TRUE(store_->Put(id, bytes, &added).ok());  // again: nothing to do
  EXPECT_FALSE(added);
  EXPECT_TRUE(store_->Has(id));
  EXPECT_EQ(store_->chunk_count(), 1);
  EXPECT_EQ(store_->total_bytes(), static_cast<int64_t>(bytes.size()));
  EXPECT_EQ(*store_->Read(id), bytes);
  EXPECT_EQ(*store_->Read(id, 4, 5), "quick");
  EXPECT_EQ(*store_->Read(id, 40), "dog");
  EXPECT_EQ(*store_->Size(id), static_cast<int64_t>(bytes.size()));
  EXPECT_EQ(store_->Read(id, 40, 4).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->Read(id, -1, 2).status().code(), StatusCode::kInvalidArgument);

  const std::string other = Sha256Hex("not stored");
  EXPECT_EQ(store_->Missing({id, other}), std::vector<std::string>{other});
  EXPECT_EQ(store_->Read(other).status().code(), StatusCode::kNotFound);

  ASSERT_TRUE(store_->Remove(id).ok());
  EXPECT_FALSE(store_->Has(id));
  EXPECT_EQ(store_->chunk_count(), 0);
  EXPECT_EQ(store_->total_bytes(), 0);
  EXPECT_TRUE(store_->Remove(id).ok());  // gone already: fine
}

// Sets a stored chunk's file time `age_ms` into the past.
void Age(const std::string& dir, const std::string& id, int64_t age_ms) {
  const auto path = std::filesystem::path(dir) / id.substr(0, 2) / id;
  std::filesystem::last_write_time(
      path, std::filesystem::file_time_type::clock::now() - std::chrono::milliseconds(age_ms));
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Collection: a chunk is stale when it was neither stored nor mentioned by a push (Put of a
// stored chunk, Missing) since the cutoff; RemoveIfStale checks again before it removes.
TEST_F(ChunkStoreTest, StaleChunksAreThoseNeitherStoredNorMentionedSinceTheCutoff) {
  const std::string a = "chunk a", b = "chunk b", c = "chunk c";
  for (const std::string& bytes : {a, b, c}) ASSERT_TRUE(store_->Put(Sha256Hex(bytes), bytes).ok());
  for (const std::string& bytes : {a, b, c}) Age(dir_ + "/chunks", Sha256Hex(bytes), 3600000);
  const int64_t cutoff = NowMs() - 60000;
  std::vector<std::string> stale = store_->StaleChunks(cutoff);
  std::sort(stale.begin(), stale.end());
  std::vector<std::string> all = {Sha256Hex(a), Sha256Hex(b), Sha256Hex(c)};
  std::sort(all.begin(), all.end());
  EXPECT_EQ(stale, all);
  // A push is told b exists, and stores c again: both are fresh now.
  EXPECT_TRUE(store_->Missing({Sha256Hex(b)}).empty());
  ASSERT_TRUE(store_->Put(Sha256Hex(c), c).ok());
  EXPECT_EQ(store_->StaleChunks(cutoff), std::vector<std::string>{Sha256Hex(a)});
  // The sweep listed all three before that: only a goes.
  for (const std::string& id : all) {
    auto removed = store_->RemoveIfStale(id, cutoff);
    ASSERT_TRUE(removed.ok());
    EXPECT_EQ(*removed, id == Sha256Hex(a)) << id;
  }
  EXPECT_FALSE(store_->Has(Sha256Hex(a)));
  EXPECT_TRUE(store_->Has(Sha256Hex(b)) && store_->Has(Sha256Hex(c)));
  EXPECT_EQ(store_->chunk_count(), 2);
  EXPECT_FALSE(*store_->RemoveIfStale(Sha256Hex(a), cutoff));  // gone already
}

TEST_F(ChunkStoreTest, PutsFromManyThreadsAtOnceStoreEachChunkOnce) {
  // 64 distinct chunks, each Put by 3 of 8 threads at once: every Put succeeds, each chunk is
  // added exactly once, and the counters and contents are right.
  constexpr int kChunks = 64;
  constexpr int kThreads = 8;
  std::vector<std::string> chunks;
  int64_t total = 0;
  for (int i = 0; i < kChunks; ++i) {
    chunks.push_back(std::string(1000 + i * 37, static_cast<char>('a' + i % 26)) +
                     std::to_string(i));
    total += static_cast<int64_t>(chunks.back().size());
  }
  std::atomic<int> added_count{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kChunks; ++i) {
        if ((i + t) % kThreads >= 3) continue;  // threads i%8.. i%8+2 (mod 8) put chunk i
        bool added = false;
        if (!store_->Put(Sha256Hex(chunks[i]), chunks[i], &added).ok()) ++failures;
        if (added) ++added_count;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(added_count.load(), kChunks);
  EXPECT_EQ(store_->chunk_count(), kChunks);
  EXPECT_EQ(store_->total_bytes(), total);
  for (const std::string& c : chunks) EXPECT_EQ(*store_->Read(Sha256Hex(c)), c);
  // No temporary left behind, and a reopened store counts the same.
  Reopen();
  EXPECT_EQ(store_->chunk_count(), kChunks);
  EXPECT_EQ(store_->total_bytes(), total);
}

TEST_F(ChunkStoreTest, RefusesBytesThatDoNotMatchTheirNameAndStoresNothing) {
  const std::string id = Sha256Hex("what the client hashed");
  Status st = store_->Put(id, "what arrived");
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("do not hash to its name"), std::string::npos) << st.message();
  EXPECT_FALSE(store_->Has(id));

  EXPECT_EQ(store_->Put("ABC", "x").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->Put(std::string(64, 'A'), "x").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->Put("../" + std::string(61, 'a'), "x").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->Put(Sha256Hex(""), "").code(), StatusCode::kInvalidArgument);
  const std::string big(static_cast<size_t>(ChunkStore::kMaxChunkBytes) + 1, 'x');
  EXPECT_EQ(store_->Put(Sha256Hex(big), big).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->chunk_count(), 0);
  EXPECT_FALSE(store_->Has("../../etc/passwd"));
}

TEST_F(ChunkStoreTest, DetectsAStoredChunkThatRotted) {
  const std::string bytes(1000, 'a');
  const std::string id = Sha256Hex(bytes);
  ASSERT_TRUE(store_->Put(id, bytes).ok());
  {
    std::fstream f(dir_ + "/chunks/" + id.substr(0, 2) + "/" + id,
                   std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(500);
    f.put('b');
  }
  EXPECT_EQ(store_->Read(id).status().code(), StatusCode::kInternal);
}

TEST_F(ChunkStoreTest, ReopeningCountsWhatIsStoredAndDropsInterruptedWrites) {
  const std::string a = "chunk a", b = "chunk bb";
  ASSERT_TRUE(store_->Put(Sha256Hex(a), a).ok());
  ASSERT_TRUE(store_->Put(Sha256Hex(b), b).ok());
  // A crash in the middle of a write leaves its temporary beside the chunks.
  const std::string id = Sha256Hex("half");
  const std::string leftover = dir_ + "/chunks/" + id.substr(0, 2) + "/" + id + ".tmp.123";
  std::filesystem::create_directories(dir_ + "/chunks/" + id.substr(0, 2));
  std::ofstream(leftover) << "ha";
  Reopen();
  EXPECT_EQ(store_->chunk_count(), 2);
  EXPECT_EQ(store_->total_bytes(), static_cast<int64_t>(a.size() + b.size()));
  EXPECT_FALSE(std::filesystem::exists(leftover));
  EXPECT_FALSE(store_->Has(id));
  EXPECT_EQ(*store_->Read(Sha256Hex(b)), b);
}

class SealedChunkStoreTest : public ChunkStoreTest {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/shoal-chunks-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    key_ = *NewDataKey();
    store_ = Open(key_);
  }
  std::unique_ptr<ChunkStore> Open(const DataKey& key) {
    auto s = ChunkStore::Open(dir_ + "/chunks", key);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(s).value() : nullptr;
  }
  std::string FileOf(const std::string& id) const {
    return dir_ + "/chunks/" + id.substr(0, 2) + "/" + id;
  }
  std::string OnDisk(const std::string& id) const {
    std::ifstream in(FileOf(id), std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  DataKey key_{};
};

TEST_F(SealedChunkStoreTest, StoresSealedAndReadsBackWholeOrInPart) {
  const std::string bytes = "the quick brown fox jumps over the lazy dog";
  const std::string id = Sha256Hex(bytes);
  bool added = false;
  ASSERT_TRUE(store_->Put(id, bytes, &added).ok());
  EXPECT_TRUE(added);
  ASSERT_TRUE(store_->Put(id, bytes, &added).ok());
  EXPECT_FALSE(added);
  EXPECT_EQ(store_->Put(id, "other bytes").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(*store_->Read(id), bytes);
  EXPECT_EQ(*store_->Read(id, 4, 5), "quick");
  EXPECT_EQ(*store_->Read(id, 40), "dog");
  EXPECT_EQ(*store_->Read(id, 43), "");
  EXPECT_EQ(store_->Read(id, 40, 4).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(*store_->Size(id), static_cast<int64_t>(bytes.size()));
  // The counters are what the disk holds: the plaintext and the nonce and tag.
  EXPECT_EQ(store_->chunk_count(), 1);
  EXPECT_EQ(store_->total_bytes(), static_cast<int64_t>(bytes.size()) + kSealOverhead);
  store_ = Open(key_);
  EXPECT_EQ(store_->total_bytes(), static_cast<int64_t>(bytes.size()) + kSealOverhead);
  EXPECT_EQ(*store_->Read(id, 10, 5), "brown");
  ASSERT_TRUE(store_->Remove(id).ok());
  EXPECT_EQ(store_->total_bytes(), 0);
}

TEST_F(SealedChunkStoreTest, ThePlaintextNeverReachesTheDisk) {
  std::string bytes;
  for (int i = 0; i < 4096; ++i) bytes += "secret row " + std::to_string(i) + "\n";
  const std::string id = Sha256Hex(bytes);
  ASSERT_TRUE(store_->Put(id, bytes).ok());
  const std::string disk = OnDisk(id);
  EXPECT_EQ(disk.size(), bytes.size() + kSealOverhead);
  EXPECT_EQ(disk.find("secret row"), std::string::npos);
  EXPECT_EQ(disk.find(bytes.substr(1000, 16)), std::string::npos);
  for (const auto& f : std::filesystem::recursive_directory_iterator(dir_)) {
    if (f.is_regular_file()) {
      EXPECT_EQ(f.path().filename().string(), id);  // no temporary or plaintext copy left
    }
  }
  EXPECT_EQ(*store_->Read(id), bytes);
}

TEST_F(SealedChunkStoreTest, DetectsAFlippedByteOnDisk) {
  const std::string bytes(1000, 'a');
  const std::string id = Sha256Hex(bytes);
  ASSERT_TRUE(store_->Put(id, bytes).ok());
  for (int64_t pos : {int64_t{0}, int64_t{500}, int64_t{1000} + kSealOverhead - 1}) {
    std::string disk = OnDisk(id);
    {
      std::fstream f(FileOf(id), std::ios::in | std::ios::out | std::ios::binary);
      f.seekp(pos);
      f.put(static_cast<char>(disk[static_cast<size_t>(pos)] ^ 0x01));
    }
    EXPECT_EQ(store_->Read(id).status().code(), StatusCode::kInternal) << pos;
    EXPECT_EQ(store_->Read(id, 0, 1).status().code(), StatusCode::kInternal) << pos;
    std::ofstream(FileOf(id), std::ios::binary | std::ios::trunc) << disk;  // restore
    EXPECT_EQ(*store_->Read(id), bytes) << pos;
  }
  // Truncated below the nonce and tag.
  std::filesystem::resize_file(FileOf(id), 10);
  EXPECT_EQ(store_->Size(id).status().code(), StatusCode::kInternal);
  EXPECT_EQ(store_->Read(id).status().code(), StatusCode::kInternal);
}

TEST_F(SealedChunkStoreTest, AnotherKeyOrNoKeyCannotReadIt) {
  const std::string bytes = "private chunk";
  const std::string id = Sha256Hex(bytes);
  ASSERT_TRUE(store_->Put(id, bytes).ok());
  auto other = Open(*NewDataKey());
  EXPECT_TRUE(other->Has(id));
  auto read = other->Read(id);
  EXPECT_EQ(read.status().code(), StatusCode::kInternal);
  EXPECT_NE(read.status().message().find("does not authenticate"), std::string::npos);
  EXPECT_EQ(other->Read(id, 2, 3).status().code(), StatusCode::kInternal);
  auto plain = ChunkStore::Open(dir_ + "/chunks");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ((*plain)->Read(id).status().code(), StatusCode::kInternal);  // hash mismatch
  EXPECT_EQ(*store_->Read(id), bytes);
}

}  // namespace
}  // namespace shoal
