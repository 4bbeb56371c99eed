#include "worker/agent/dataset_fetch.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <random>
#include <set>

#include "common/file_util.h"
#include "common/registry/manifest.h"
#include "common/sha256.h"
#include "tests/unit/cli/fake_scheduler.h"

namespace shoal {
namespace {

namespace fs = std::filesystem;

// The registry in memory, with faults to order.
class MemorySource : public ChunkSource {
 public:
  Result<std::string> Manifest(const wire::Pin& pin) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = manifests_.find(pin.digest);
    if (it == manifests_.end()) return NotFound("no manifest " + pin.digest);
    return it->second;
  }
  Result<std::string> ChunkRange(const wire::Pin&, const std::string& sha, int64_t offset,
                                 int64_t length) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = chunks_.find(sha);
    if (it == chunks_.end()) return NotFound("no chunk " + sha);
    if (offset > 0 && fail_mid_chunk_.erase(sha) > 0) {
      return Unavailable("connection reset");  // the first piece arrived, then the link broke
    }
    requested_ += length;
    std::string bytes = it->second.substr(offset, length);
    if (corrupt_once_.erase(sha) > 0) bytes[0] ^= 0x5a;
    return bytes;
  }

  std::mutex mu_;
  std::map<std::string, std::string> manifests_;  // digest -> text
  std::map<std::string, std::string> chunks_;     // sha -> bytes
  std::set<std::string> corrupt_once_;
  std::set<std::string> fail_mid_chunk_;
  int64_t requested_ = 0;
};

class DatasetFetchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("shoal-fetch-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_ / "src/sub");
    std::mt19937 rng(7);
    auto random_bytes = [&](size_t n) {
      std::string s(n, '\0');
      for (auto& c : s) c = static_cast<char>(rng());
      return s;
    };
    files_ = {{"sub/readme.txt", "hello\n"},
              {"t10k-images-idx3-ubyte", random_bytes(3000)},
              {"train-images-idx3-ubyte", random_bytes(9000)},
              {"train-labels-idx1-ubyte", random_bytes(700)}};
    for (const auto& [path, bytes] : files_) {
      std::ofstream(root_ / "src" / path, std::ios::binary) << bytes;
    }
    ChunkerParams params;
    params.min = 64;
    params.avg = 256;
    params.max = 1024;
    auto m = BuildManifest((root_ / "src").string(), params,
                           [&](std::string_view chunk, const std::string& sha) {
                             source_.chunks_[sha] = std::string(chunk);
                             return Status::Ok();
                           });
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    manifest_ = *m;
    ASSERT_GT(manifest_.chunks.size(), 8u);
    pin_.kind = "datasets";
    pin_.account = "alice";
    pin_.name = "mnist";
    pin_.version = "v1";
    pin_.digest = ManifestDigest(manifest_);
    pin_.bytes = 9000 + 3000 + 700 + 6;
    source_.manifests_[pin_.digest] = CanonicalManifestText(manifest_);
    auto cache = ChunkCache::Open((root_ / "cache").string(), 1 << 20);
    ASSERT_TRUE(cache.ok());
    cache_ = std::move(cache).value();
  }
  void TearDown() override { fs::remove_all(root_); }

  FetchOptions Options() {
    FetchOptions o;
    o.partial_dir = (root_ / "cache/partial").string();
    o.piece_bytes = 128;
    return o;
  }
  std::string Read(const fs::path& p) {
    auto r = ReadFileLimited(p.string(), 1 << 20);
    return r.ok() ? *r : "<" + r.status().ToString() + ">";
  }

  fs::path root_;
  std::map<std::string, std::string> files_;
  MemorySource source_;
  Manifest manifest_;
  wire::Pin pin_;
  std::unique_ptr<ChunkCache> cache_;
};

TEST_F(DatasetFetchTest, FetchesAndMaterializesByteExact) {
  DatasetFetcher fetcher(cache_.get(), &source_, Options());
  auto v = fetcher.Fetch(pin_);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->bytes_fetched, pin_.bytes);
  EXPECT_EQ(v->chunks_cached, 0);
  EXPECT_EQ(v->bytes_cached, 0);
  const fs::path out = root_ / "out";
  ASSERT_TRUE(fetcher.Materialize(*v, "", out.string()).ok());
  for (const auto& [path, bytes] : files_) EXPECT_EQ(Read(out / path), bytes) << path;
}

TEST_F(DatasetFetchTest, ASecondFetchFindsEverythingInTheCache) {
  {
    DatasetFetcher fetcher(cache_.get(), &source_, Options());
    ASSERT_TRUE(fetcher.Fetch(pin_).ok());
  }
  const int64_t before = source_.requested_;
  DatasetFetcher again(cache_.get(), &source_, Options());
  auto v = again.Fetch(pin_);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->bytes_fetched, 0);
  EXPECT_EQ(v->chunks_cached, v->chunks);
  EXPECT_EQ(v->bytes_cached, pin_.bytes);  // no chunk repeats in random data
  EXPECT_EQ(source_.requested_, before);
  EXPECT_EQ(again.bytes_requested(), 0);
}

TEST_F(DatasetFetchTest, ACorruptedChunkIsFetchedAgain) {
  const std::string sha = manifest_.chunks[2].sha256;
  source_.corrupt_once_.insert(sha);
  DatasetFetcher fetcher(cache_.get(), &source_, Options());
  auto v = fetcher.Fetch(pin_);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_TRUE(source_.corrupt_once_.empty());
  EXPECT_TRUE(cache_->Has(sha));
  EXPECT_EQ(fetcher.bytes_requested(), pin_.bytes + manifest_.chunks[2].size);
  ASSERT_TRUE(fetcher.Materialize(*v, "", (root_ / "out").string()).ok());
  for (const auto& [path, bytes] : files_) EXPECT_EQ(Read(root_ / "out" / path), bytes);
}

TEST_F(DatasetFetchTest, AChunkThatKeepsArrivingCorruptedFailsNamingIt) {
  struct Bad : MemorySource {
    Result<std::string> ChunkRange(const wire::Pin& p, const std::string& sha, int64_t offset,
                                   int64_t length) override {
      {
        // The fetcher's threads call this at once; the base class locks only its own body.
        std::lock_guard<std::mutex> lock(mu_);
        corrupt_once_.insert(sha);
      }
      return MemorySource::ChunkRange(p, sha, offset, length);
    }
  } bad;
  bad.manifests_ = source_.manifests_;
  bad.chunks_ = source_.chunks_;
  DatasetFetcher fetcher(cache_.get(), &bad, Options());
  auto v = fetcher.Fetch(pin_);
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.status().message().find("arrived corrupted"), std::string::npos)
      << v.status().message();
  EXPECT_NE(v.status().message().find("datasets/alice/mnist@v1"), std::string::npos);
}

TEST_F(DatasetFetchTest, AnInterruptedChunkResumesFromItsPartFile) {
  // The largest chunk, so that it takes several pieces.
  const ManifestChunk* big = &manifest_.chunks[0];
  for (const auto& c : manifest_.chunks) {
    if (c.size > big->size) big = &c;
  }
  ASSERT_GT(big->size, 128);
  // Only that chunk is missing from the cache.
  for (const auto& c : manifest_.chunks) {
    if (c.sha256 != big->sha256) {
      ASSERT_TRUE(cache_->Put(c.sha256, source_.chunks_[c.sha256]).ok());
    }
  }
  source_.fail_mid_chunk_.insert(big->sha256);
  FetchOptions once = Options();
  once.max_tries = 1;
  {
    DatasetFetcher fetcher(cache_.get(), &source_, once);
    auto v = fetcher.Fetch(pin_);
    ASSERT_FALSE(v.ok());
    EXPECT_NE(v.status().message().find(big->sha256), std::string::npos) << v.status().message();
    EXPECT_EQ(fs::file_size(root_ / "cache/partial" / (big->sha256 + ".part")), 128u);
  }
  // As after a kill -9: the cache is opened anew, and the partial download survives it.
  cache_.reset();
  cache_ = std::move(ChunkCache::Open((root_ / "cache").string(), 1 << 20)).value();
  ASSERT_TRUE(fs::exists(root_ / "cache/partial" / (big->sha256 + ".part")));
  DatasetFetcher fetcher(cache_.get(), &source_, once);
  auto v = fetcher.Fetch(pin_);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(source_.requested_, big->size);  // 128 bytes before the break, the rest after
  EXPECT_EQ(v->bytes_fetched, big->size - 128);
  EXPECT_FALSE(fs::exists(root_ / "cache/partial" / (big->sha256 + ".part")));
  ASSERT_TRUE(fetcher.Materialize(*v, "", (root_ / "out").string()).ok());
  for (const auto& [path, bytes] : files_) EXPECT_EQ(Read(root_ / "out" / path), bytes);
}

TEST_F(DatasetFetchTest, AManifestThatDoesNotMatchThePinIsRefused) {
  wire::Pin other = pin_;
  other.digest = std::string(64, 'a');
  source_.manifests_[other.digest] = CanonicalManifestText(manifest_);
  DatasetFetcher fetcher(cache_.get(), &source_, Options());
  auto v = fetcher.Fetch(other);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(v.status().message().find("not the pinned"), std::string::npos);
  EXPECT_EQ(source_.requested_, 0);
  EXPECT_EQ(cache_->stats().chunks, 0);
}

TEST_F(DatasetFetchTest, MaterializesOnlyTheFilesUnderThePrefix) {
  DatasetFetcher fetcher(cache_.get(), &source_, Options());
  auto v = fetcher.Fetch(pin_);
  ASSERT_TRUE(v.ok());
  const fs::path out = root_ / "out";
  ASSERT_TRUE(fetcher.Materialize(*v, "train", out.string()).ok());
  EXPECT_EQ(Read(out / "train-images-idx3-ubyte"), files_["train-images-idx3-ubyte"]);
  EXPECT_EQ(Read(out / "train-labels-idx1-ubyte"), files_["train-labels-idx1-ubyte"]);
  EXPECT_FALSE(fs::exists(out / "t10k-images-idx3-ubyte"));
  EXPECT_FALSE(fs::exists(out / "sub"));
  EXPECT_EQ(fetcher.Materialize(*v, "nothing", out.string()).code(), StatusCode::kInvalidArgument);
}

TEST_F(DatasetFetchTest, ReleaseUnpinsTheChunks) {
  auto small = std::move(ChunkCache::Open((root_ / "small").string(), pin_.bytes)).value();
  {
    DatasetFetcher fetcher(small.get(), &source_, Options());
    ASSERT_TRUE(fetcher.Fetch(pin_).ok());
    // Pinned: nothing of it may be evicted for another chunk.
    EXPECT_EQ(small->Put(Sha256Hex("x"), "x").code(), StatusCode::kResourceExhausted);
  }
  EXPECT_TRUE(small->Put(Sha256Hex("x"), "x").ok());
}

TEST_F(DatasetFetchTest, PreparesTheSpecInAPrivateDirectoryAndRemovesItOnRelease) {
  JobSpec spec;
  spec.metadata.name = "j";
  spec.data.train = "shoal://datasets/alice/mnist@v1/train";
  spec.data.test = "shoal://datasets/alice/mnist/t10k";
  const std::string data_dir = (root_ / "work/job-1/attempt-0/rank-0/data").string();
  auto src = std::make_unique<MemorySource>();  // the attempt owns its source
  src->manifests_ = source_.manifests_;
  src->chunks_ = source_.chunks_;
  MemorySource* fresh = src.get();
  auto data = std::make_unique<AttemptData>(cache_.get(), std::move(src), Options(), data_dir);
  std::vector<std::string> log;
  auto out = data->Prepare(spec, {pin_}, &log);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->data.train, data_dir + "/datasets/alice/mnist/train");
  EXPECT_EQ(out->data.test, data_dir + "/datasets/alice/mnist/t10k");
  EXPECT_EQ(Read(out->data.train + "-images-idx3-ubyte"), files_["train-images-idx3-ubyte"]);
  EXPECT_EQ(Read(out->data.test + "-images-idx3-ubyte"), files_["t10k-images-idx3-ubyte"]);
  JobSpec rest = *out;
  rest.data = spec.data;
  EXPECT_EQ(rest, spec);      // nothing else changed
  ASSERT_EQ(log.size(), 1u);  // one version, fetched once for both
  EXPECT_EQ(
      log[0].rfind("fetched " + std::to_string(pin_.bytes) + " of " + std::to_string(pin_.bytes) +
                       " bytes for datasets/alice/mnist@v1 (0 of",
                   0),
      0u)
      << log[0];
  EXPECT_EQ(fresh->requested_, pin_.bytes);
  struct stat st {};
  ASSERT_EQ(::stat(data_dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700);

  // A URI without a pin is refused.
  JobSpec unpinned = spec;
  unpinned.data.test = "shoal://datasets/bob/other";
  EXPECT_EQ(data->Prepare(unpinned, {pin_}, nullptr).status().code(), StatusCode::kInvalidArgument);

  data->Release();
  EXPECT_FALSE(fs::exists(data_dir));
  EXPECT_TRUE(fs::exists(root_ / "work/job-1/attempt-0/rank-0"));
}

TEST_F(DatasetFetchTest, APrivateVersionNeverEntersTheSharedCache) {
  JobSpec spec;
  spec.metadata.name = "j";
  spec.data.train = "shoal://datasets/alice/mnist/train";
  wire::Pin pin = pin_;
  pin.is_private = true;
  const std::string data_dir = (root_ / "work/job-2/attempt-1/rank-0/data").string();
  auto src = std::make_unique<MemorySource>();
  src->manifests_ = source_.manifests_;
  src->chunks_ = source_.chunks_;
  auto data = std::make_unique<AttemptData>(cache_.get(), std::move(src), Options(), data_dir);
  auto out = data->Prepare(spec, {pin}, nullptr);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(Read(out->data.train + "-images-idx3-ubyte"), files_["train-images-idx3-ubyte"]);
  EXPECT_EQ(cache_->stats().chunks, 0);  // nothing of it in the shared cache
  data->Release();
  EXPECT_FALSE(fs::exists(data_dir));  // its chunks went with the data directory
}

// model.init is fetched like data: a models/ version, its model.safetensors unless the URI names
// another file, next to the data of the same attempt.
TEST_F(DatasetFetchTest, PreparesModelInitFromAPinnedModelVersion) {
  fs::create_directories(root_ / "model");
  const std::string weights = "fake safetensors bytes";
  std::ofstream(root_ / "model/model.safetensors", std::ios::binary) << weights;
  std::ofstream(root_ / "model/model-card.json", std::ios::binary) << "{}";
  ChunkerParams params;
  params.min = 64;
  params.avg = 256;
  params.max = 1024;
  auto m = BuildManifest((root_ / "model").string(), params,
                         [&](std::string_view chunk, const std::string& sha) {
                           source_.chunks_[sha] = std::string(chunk);
                           return Status::Ok();
                         });
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  wire::Pin model_pin;
  model_pin.kind = "models";
  model_pin.account = "alice";
  model_pin.name = "mlp";
  model_pin.version = "v3";
  model_pin.digest = ManifestDigest(*m);
  model_pin.bytes = static_cast<int64_t>(weights.size()) + 2;
  source_.manifests_[model_pin.digest] = CanonicalManifestText(*m);

  JobSpec spec;
  spec.metadata.name = "j";
  spec.data.train = "shoal://datasets/alice/mnist@v1/train";
  spec.model.init = "shoal://models/alice/mlp@v3";
  EXPECT_TRUE(NamesRegistryData(spec));
  const std::string data_dir = (root_ / "work/job-2/attempt-0/rank-0/data").string();
  auto src = std::make_unique<MemorySource>();
  src->manifests_ = source_.manifests_;
  src->chunks_ = source_.chunks_;
  AttemptData data(cache_.get(), std::move(src), Options(), data_dir);
  std::vector<std::string> log;
  auto out = data.Prepare(spec, {pin_, model_pin}, &log);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->model.init, data_dir + "/models/alice/mlp/model.safetensors");
  EXPECT_EQ(Read(out->model.init), weights);
  EXPECT_EQ(out->data.train, data_dir + "/datasets/alice/mnist/train");
  ASSERT_EQ(log.size(), 2u);  // the dataset and the model
  EXPECT_NE(log[1].find("models/alice/mlp@v3"), std::string::npos) << log[1];

  // A path names another file of the version.
  spec.model.init = "shoal://models/alice/mlp@v3/model-card.json";
  out = data.Prepare(spec, {pin_, model_pin}, nullptr);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->model.init, data_dir + "/models/alice/mlp/model-card.json");
  EXPECT_EQ(Read(out->model.init), "{}");

  // Only a model may initialize one, only a pinned one, and a local path stays as written.
  spec.model.init = "shoal://datasets/alice/mnist@v1/train";
  auto refused = data.Prepare(spec, {pin_, model_pin}, nullptr);
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("not a model"), std::string::npos)
      << refused.status().ToString();
  spec.model.init = "shoal://models/alice/mlp@v4";
  EXPECT_EQ(data.Prepare(spec, {pin_, model_pin}, nullptr).status().code(),
            StatusCode::kInvalidArgument);
  spec.model.init = "/usr/share/datasets/models/mlp.safetensors";
  out = data.Prepare(spec, {pin_}, nullptr);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->model.init, spec.model.init);
  spec.data.train = "/usr/share/datasets/mnist/train";
  EXPECT_FALSE(NamesRegistryData(spec));
}

TEST_F(DatasetFetchTest, FindPinMatchesKindAccountNameAndAVersionThatAgrees) {
  auto uri = [](const char* s) { return std::move(ParseRegistryUri(s)).value(); };
  std::vector<wire::Pin> pins = {pin_};
  EXPECT_EQ(FindPin(pins, uri("shoal://datasets/alice/mnist")), &pins[0]);
  EXPECT_EQ(FindPin(pins, uri("shoal://datasets/alice/mnist@v1/train")), &pins[0]);
  EXPECT_EQ(FindPin(pins, uri(("shoal://datasets/alice/mnist@sha256:" + pin_.digest).c_str())),
            &pins[0]);
  EXPECT_EQ(FindPin(pins, uri("shoal://datasets/alice/mnist@v2")), nullptr);
  EXPECT_EQ(FindPin(pins, uri("shoal://models/alice/mnist")), nullptr);
  EXPECT_EQ(FindPin(pins, uri("shoal://datasets/bob/mnist")), nullptr);
}

TEST_F(DatasetFetchTest, RemovesLeftoverAttemptDataAtStart) {
  const fs::path work = root_ / "work";
  fs::create_directories(work / "job-3/attempt-1/rank-0/data/datasets/a/n");
  std::ofstream(work / "job-3/attempt-1/rank-0/data/datasets/a/n/f") << "secret";
  fs::create_directories(work / "job-3/attempt-1/rank-0/checkpoints");
  fs::create_directories(work / "job-4/attempt-0/rank-2");
  EXPECT_EQ(RemoveLeftoverAttemptData(work.string()), 1);
  EXPECT_FALSE(fs::exists(work / "job-3/attempt-1/rank-0/data"));
  EXPECT_TRUE(fs::exists(work / "job-3/attempt-1/rank-0/checkpoints"));
}

TEST_F(DatasetFetchTest, TwoFetchersOfOneVersionDownloadEachChunkOnce) {
  DatasetFetcher a(cache_.get(), &source_, Options());
  DatasetFetcher b(cache_.get(), &source_, Options());
  auto fa = std::async(std::launch::async, [&] { return a.Fetch(pin_); });
  auto fb = std::async(std::launch::async, [&] { return b.Fetch(pin_); });
  auto va = fa.get();
  auto vb = fb.get();
  ASSERT_TRUE(va.ok()) << va.status().ToString();
  ASSERT_TRUE(vb.ok()) << vb.status().ToString();
  EXPECT_EQ(source_.requested_, pin_.bytes);
  EXPECT_EQ(va->bytes_fetched + vb->bytes_fetched, pin_.bytes);
}

TEST_F(DatasetFetchTest, ACancelledFetchStops) {
  FetchOptions o = Options();
  o.cancelled = [] { return true; };
  DatasetFetcher fetcher(cache_.get(), &source_, o);
  auto v = fetcher.Fetch(pin_);
  EXPECT_EQ(v.status().code(), StatusCode::kAborted);
  EXPECT_EQ(source_.requested_, 0);
}

TEST_F(DatasetFetchTest, TheHttpSourceTakesAWholeChunkFromAServerThatIgnoresRange) {
  const std::string sha = manifest_.chunks[0].sha256;
  const std::string& bytes = source_.chunks_[sha];
  cli::testing::FakeScheduler fake([&](const cli::testing::FakeScheduler::Request& r) {
    if (r.target == "/v1/datasets/alice/mnist/chunks/" + sha) {
      return cli::testing::FakeScheduler::Reply{200, bytes};
    }
    if (r.target == "/v1/datasets/alice/mnist/versions/sha256:" + pin_.digest) {
      return cli::testing::FakeScheduler::Reply{200, source_.manifests_[pin_.digest]};
    }
    return cli::testing::FakeScheduler::Reply{
        404, R"({"error":{"code":"NotFound","message":"no such chunk"}})"};
  });
  HttpClient client(fake.url());
  HttpChunkSource http(client, "shoalcap_1_0_ff", "w-1");
  auto piece = http.ChunkRange(pin_, sha, 10, 20);
  ASSERT_TRUE(piece.ok()) << piece.status().ToString();
  EXPECT_EQ(*piece, bytes.substr(10, 20));
  const auto requests = fake.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].headers.at("range"), "bytes=10-29");
  EXPECT_EQ(requests[0].headers.at("x-shoal-capability"), "shoalcap_1_0_ff");
  EXPECT_EQ(requests[0].headers.at("x-shoal-worker"), "w-1");
  auto manifest = http.Manifest(pin_);
  ASSERT_TRUE(manifest.ok());
  EXPECT_EQ(*manifest, source_.manifests_[pin_.digest]);
  EXPECT_EQ(http.ChunkRange(pin_, std::string(64, 'b'), 0, 5).status().code(),
            StatusCode::kNotFound);
}

}  // namespace
}  // namespace shoal
