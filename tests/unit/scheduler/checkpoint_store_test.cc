// The scheduler's checkpoint store on a real directory: verification, pruning, crash leftovers.
#include "scheduler/checkpoint_store.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "common/audit/state_digest.h"
#include "common/file_util.h"
#include "common/safetensors.h"
#include "common/sha256.h"

namespace shoal {
namespace {

class CheckpointStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/shoal-ckstore-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    auto s = CheckpointStore::Open(dir_ + "/checkpoints");
    ASSERT_TRUE(s.ok());
    store_ = std::move(s).value();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  // A valid safetensors file holding one tensor of `value`.
  std::string File(float value) {
    const std::string path = dir_ + "/f.safetensors";
    std::vector<float> v(16, value);
    EXPECT_TRUE(WriteSafetensors(path, {{"w", {16}, v.data()}}, {{"format", "test"}}).ok());
    return *ReadFileLimited(path, 1 << 20);
  }
  std::string dir_;
  std::unique_ptr<CheckpointStore> store_;
};

TEST_F(CheckpointStoreTest, VerifiesKeepsTheNewestAndReadsBack) {
  for (int step : {5, 10, 15}) {
    const std::string bytes = File(static_cast<float>(step));
    auto r = store_->Put(7, step < 15 ? 1 : 2, step, bytes, Sha256Hex(bytes), 2, 1000 + step);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->bytes, static_cast<int64_t>(bytes.size()));
  }
  auto list = store_->List(7);
  ASSERT_EQ(list.size(), 2u);  // keep 2: step 5 is gone
  EXPECT_EQ(list[0].step, 10);
  EXPECT_EQ(list[1].step, 15);
  EXPECT_EQ(store_->Latest(7)->step, 15);
  EXPECT_EQ(store_->Latest(7, /*before_attempt=*/2)->step, 10);
  EXPECT_FALSE(store_->Latest(7, 1).has_value());
  EXPECT_FALSE(store_->Latest(8).has_value());
  auto bytes = store_->Read(7, 10);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(*bytes, File(10));
  EXPECT_EQ(store_->Read(7, 5).status().code(), StatusCode::kNotFound);
  // A survives a reopen (it is all on disk).
  auto again = CheckpointStore::Open(dir_ + "/checkpoints");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->List(7).size(), 2u);
}

TEST_F(CheckpointStoreTest, RefusesBadUploadsAndDetectsCorruption) {
  const std::string good = File(1);
  // Wrong checksum, or not a safetensors file: nothing stored.
  EXPECT_EQ(store_->Put(1, 1, 3, good, std::string(64, '0'), 2, 0).status().code(),
            StatusCode::kInvalidArgument);
  const std::string junk = "definitely not safetensors";
  EXPECT_EQ(store_->Put(1, 1, 3, junk, Sha256Hex(junk), 2, 0).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE(store_->List(1).empty());
  // A crash between the data file and its record leaves a data file that is ignored.
  std::filesystem::create_directories(dir_ + "/checkpoints/job-1");
  std::ofstream(dir_ + "/checkpoints/job-1/ckpt-000000000009.safetensors") << good;
  EXPECT_TRUE(store_->List(1).empty());
  ASSERT_TRUE(store_->Put(1, 1, 9, good, Sha256Hex(good), 2, 0).ok());  // and replaced
  EXPECT_EQ(store_->List(1).size(), 1u);
  // Bytes that rot on disk are reported, not served.
  {
    std::fstream f(dir_ + "/checkpoints/job-1/ckpt-000000000009.safetensors",
                   std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-1, std::ios::end);
    f.put('\x7f');
  }
  EXPECT_EQ(store_->Read(1, 9).status().code(), StatusCode::kInternal);
  store_->RemoveJob(1);
  EXPECT_TRUE(store_->List(1).empty());
}

// An audited job's store also keeps the newest checkpoint at or before each rollback point (a
// worker's last clean audit), beyond `keep`, and the quota's prediction agrees.
TEST_F(CheckpointStoreTest, KeepsTheCheckpointsTheRollbackRuleMayNeed) {
  const std::string bytes = File(1);
  const int64_t n = static_cast<int64_t>(bytes.size());
  const CheckpointKeep keep(1, {25});
  for (int64_t step : {10, 20, 30}) {
    ASSERT_TRUE(store_->Put(5, 1, step, bytes, Sha256Hex(bytes), keep, step).ok());
  }
  EXPECT_EQ(store_->BytesAfterPut(5, 40, n, keep), 2 * n);  // 20 and the new 40
  ASSERT_TRUE(store_->Put(5, 1, 40, bytes, Sha256Hex(bytes), keep, 40).ok());
  std::vector<int64_t> left;
  for (const CheckpointRecord& r : store_->List(5)) left.push_back(r.step);
  EXPECT_EQ(left, (std::vector<int64_t>{20, 40}));
  EXPECT_EQ(store_->JobBytes(5), 2 * n);
  // Once the point moves on (a later clean audit), the old one goes at the next upload.
  ASSERT_TRUE(store_->Put(5, 1, 50, bytes, Sha256Hex(bytes), CheckpointKeep(1, {45}), 50).ok());
  left.clear();
  for (const CheckpointRecord& r : store_->List(5)) left.push_back(r.step);
  EXPECT_EQ(left, (std::vector<int64_t>{40, 50}));
}

TEST_F(CheckpointStoreTest, CountsBytesPerJobAndPredictsAPut) {
  const std::string bytes = File(1);
  const int64_t n = static_cast<int64_t>(bytes.size());
  EXPECT_EQ(store_->JobBytes(3), 0);
  ASSERT_TRUE(store_->Put(3, 1, 10, bytes, Sha256Hex(bytes), 2, 1).ok());
  ASSERT_TRUE(store_->Put(3, 1, 20, bytes, Sha256Hex(bytes), 2, 2).ok());
  ASSERT_TRUE(store_->Put(4, 1, 10, bytes, Sha256Hex(bytes), 2, 3).ok());
  EXPECT_EQ(store_->JobBytes(3), 2 * n);
  EXPECT_EQ(store_->BytesByJob(), (std::map<int64_t, int64_t>{{3, 2 * n}, {4, n}}));
  // keep 2: a new step replaces step 10, so job 3 stays at two files of its size.
  EXPECT_EQ(store_->BytesAfterPut(3, 30, 1000, 2), n + 1000);
  EXPECT_EQ(store_->BytesAfterPut(3, 20, 1000, 2), n + 1000);  // the same step again
  EXPECT_EQ(store_->BytesAfterPut(3, 5, 1000, 2), 2 * n);      // older than both: pruned at once
  EXPECT_EQ(store_->BytesAfterPut(3, 30, 1000, 5), 2 * n + 1000);
  // What the store holds is learned again on a reopen; RemoveJob frees it.
  auto again = CheckpointStore::Open(dir_ + "/checkpoints");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->BytesByJob(), store_->BytesByJob());
  (*again)->RemoveJob(3);
  EXPECT_EQ((*again)->JobBytes(3), 0);
  EXPECT_TRUE((*again)->List(3).empty());
  EXPECT_EQ((*again)->JobBytes(4), n);
}

TEST_F(CheckpointStoreTest, PutFileMovesAVerifiedSpooledUploadIntoPlace) {
  const std::string bytes = File(3);
  auto spool = [&](const std::string& content) {
    const std::string path = store_->spool_dir() + "/upload-test";
    EXPECT_TRUE(WriteFileAtomic(path, content).ok());
    return path;
  };
  const std::string sha = Sha256Hex(bytes);
  const int64_t n = static_cast<int64_t>(bytes.size());
  // A claimed hash that is not the file's: refused, the file stays the caller's.
  std::string path = spool(bytes);
  auto bad = store_->PutFile(9, 1, 4, &path, n, sha, std::string(64, 'f'), 2, 1);
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("checksum mismatch"), std::string::npos);
  EXPECT_FALSE(path.empty());
  EXPECT_TRUE(std::filesystem::exists(path));
  // Not a safetensors file.
  std::string junk = spool("not a checkpoint at all");
  auto invalid = store_->PutFile(9, 1, 4, &junk, 23, Sha256Hex("not a checkpoint at all"),
                                 Sha256Hex("not a checkpoint at all"), 2, 1);
  EXPECT_EQ(invalid.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(store_->List(9).empty());
  // A good one: moved in (the path is cleared), recorded, counted, read back verified.
  path = spool(bytes);
  auto good = store_->PutFile(9, 1, 4, &path, n, sha, sha, 2, 1);
  ASSERT_TRUE(good.ok()) << good.status().ToString();
  EXPECT_TRUE(path.empty());
  EXPECT_EQ(good->bytes, n);
  EXPECT_EQ(store_->JobBytes(9), n);
  EXPECT_EQ(*store_->Read(9, 4), bytes);
  // Leftovers of an interrupted upload are cleared when the store opens.
  spool("half an upload");
  auto again = CheckpointStore::Open(dir_ + "/checkpoints");
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(std::filesystem::is_empty((*again)->spool_dir()));
  EXPECT_EQ((*again)->JobBytes(9), n);
}

// Both ways in record the digest of the state the file holds (what ranks attest, docs/audits.md
// "Checkpoints"), and it is read back with the record.
TEST_F(CheckpointStoreTest, RecordsTheStateDigestTheRanksAttest) {
  std::vector<float> v(16, 3.f);
  const std::string digest = audit::StateDigest({{"w", {16}, v.data()}}, {{"format", "test"}});
  const std::string bytes = File(3);
  auto put = store_->Put(5, 1, 1, bytes, Sha256Hex(bytes), 4, 1);
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  EXPECT_EQ(put->digest, digest);
  std::string path = store_->spool_dir() + "/upload-test";
  ASSERT_TRUE(WriteFileAtomic(path, bytes).ok());
  auto spooled = store_->PutFile(5, 1, 2, &path, static_cast<int64_t>(bytes.size()),
                                 Sha256Hex(bytes), Sha256Hex(bytes), 4, 2);
  ASSERT_TRUE(spooled.ok()) << spooled.status().ToString();
  EXPECT_EQ(spooled->digest, digest);
  EXPECT_NE(store_->Put(5, 1, 3, File(4), Sha256Hex(File(4)), 4, 3)->digest, digest);
  auto again = CheckpointStore::Open(dir_ + "/checkpoints");
  ASSERT_TRUE(again.ok());
  const auto list = (*again)->List(5);
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0].digest, digest);
  EXPECT_EQ(list[1].digest, digest);
  EXPECT_EQ(ToJson(list[0]).at("digest"), digest);
}

}  // namespace
}  // namespace shoal
