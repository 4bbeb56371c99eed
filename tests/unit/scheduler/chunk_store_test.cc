// The registry's chunk store on a real directory: names checked against bytes, writes once,
// ranges, corruption, crash leftovers.
#include "scheduler/registry/chunk_store.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

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

}  // namespace
}  // namespace shoal
