// The dataset registry's API (issue 14, docs/registry.md) against a real scheduler: a push as the
// CLI does it (card, missing chunks, chunks, manifest), reads by range, the refusals of bad input
// (a chunk that does not match its name, a manifest naming chunks never uploaded, bad names),
// private datasets (encrypted on disk, invisible and refused to other accounts, audited, readable
// after a grant), submission checks and pins, deleting a pinned version, the quota, and the read
// capability (forged, or used by a worker that runs no rank of the attempt).
#include <cstdlib>
#include <regex>
#include <random>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "common/file_util.h"
#include "common/registry/manifest.h"
#include "common/sha256.h"
#include "tests/integration/cluster.h"

namespace shoal::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;

// A client with a token (the CLI's role in these tests).
struct As {
  HttpClient http;
  explicit As(const Cluster& c, const std::string& token) : http(c.url(), 30s) {
    http.SetDefaultHeader("Authorization", "Bearer " + token);
  }
  HttpResponse Do(const std::string& method, const std::string& target,
                  const std::string& body = "",
                  const std::map<std::string, std::string>& headers = {}) const {
    auto r = http.Do(method, target, body, "application/json", 0ms, headers);
    EXPECT_TRUE(r.ok()) << method << " " << target << ": " << r.status().ToString();
    return r.ok() ? *r : HttpResponse{};
  }
};

// Files with text that a grep of the scheduler's disk would find if stored in plaintext.
std::string MakeTree(const std::string& root, const std::string& marker, int files) {
  fs::create_directories(root + "/sub");
  for (int i = 0; i < files; ++i) {
    std::ofstream out(root + (i % 2 ? "/sub/f" : "/f") + std::to_string(i) + ".csv");
    for (int line = 0; line < 20000; ++line) out << marker << "," << i << "," << line << "\n";
  }
  return root;
}

// Pushes `dir` as kind/account/name@version the way `shoal data push` does; returns the version
// reply's status and the manifest.
int Push(const As& as, const std::string& path, const std::string& dir,
         const std::string& version, Manifest* out = nullptr, int* uploaded = nullptr) {
  ChunkerParams params;
  params.min = 16 << 10;
  params.avg = 64 << 10;
  params.max = 256 << 10;
  std::map<std::string, std::string> chunks;
  auto manifest = BuildManifest(dir, params, [&](std::string_view bytes, const std::string& sha) {
    chunks[sha] = std::string(bytes);
    return Status::Ok();
  });
  EXPECT_TRUE(manifest.ok()) << manifest.status().ToString();
  json ids = json::array();
  for (const auto& [sha, bytes] : chunks) ids.push_back(sha);
  HttpResponse missing = as.Do("POST", path + "/chunks/missing", json{{"chunks", ids}}.dump());
  EXPECT_EQ(missing.status, 200) << missing.body;
  int sent = 0;
  const json missing_ids = json::parse(missing.body)["missing"];
  for (const auto& sha : missing_ids) {
    HttpResponse put = as.Do("PUT", path + "/chunks/" + sha.get<std::string>(),
                             chunks.at(sha.get<std::string>()), {});
    if (put.status == 507) return 507;  // the quota counts unfinished pushes' chunks too
    EXPECT_EQ(put.status, 201) << put.body;
    ++sent;
  }
  if (uploaded != nullptr) *uploaded = sent;
  if (out != nullptr) *out = *manifest;
  HttpResponse v = as.Do("PUT", path + "/versions/" + version, CanonicalManifestText(*manifest));
  if (v.status >= 300) std::cerr << "PUT " << path << "/versions/" << version << ": " << v.body;
  return v.status;
}

class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    key_file_ = c_.dir() + "/master.key";
    ASSERT_TRUE(WriteFileAtomic(key_file_, std::string(64, 'c') + "\n", 0600).ok());
    c_.StartScheduler({"--registry-master-key-file", key_file_, "--registry-quota", "80MiB"});
    alice_ = c_.CreateToken("alice", "user");
    bob_ = c_.CreateToken("bob", "user");
  }
  Cluster c_;
  std::string key_file_, alice_, bob_;
};

TEST_F(RegistryTest, PushReadAndRefuseBadInput) {
  As alice(c_, alice_), bob(c_, bob_);
  const std::string path = "/v1/datasets/alice/tables";
  ASSERT_EQ(alice.Do("PUT", path, R"({"visibility":"public","license":"CC0-1.0"})").status, 201);
  // Nobody publishes under another account.
  EXPECT_EQ(bob.Do("PUT", path, R"({"visibility":"public"})").status, 403);
  EXPECT_EQ(bob.Do("PUT", path + "/chunks/" + std::string(64, 'a'), "x").status, 403);
  EXPECT_EQ(alice.Do("PUT", "/v1/datasets/alice/Bad_Name", "{}").status, 400);

  Manifest m;
  int sent = 0;
  const std::string tree = MakeTree(c_.dir() + "/tree", "public-row", 4);
  ASSERT_EQ(Push(alice, path, tree, "1", &m, &sent), 201);
  EXPECT_GT(sent, 4);
  // The same push again sends nothing and is answered 200 (a retried push).
  ASSERT_EQ(Push(alice, path, tree, "1", nullptr, &sent), 200);
  EXPECT_EQ(sent, 0);
  // Another version name with the same digest is refused, naming the first.
  EXPECT_EQ(alice.Do("PUT", path + "/versions/2", CanonicalManifestText(m)).status, 409);

  // A chunk whose bytes do not match its name: 400, nothing stored.
  const std::string fake = std::string(64, 'e');
  EXPECT_EQ(alice.Do("PUT", path + "/chunks/" + fake, "not these bytes").status, 400);
  HttpResponse still = alice.Do("POST", path + "/chunks/missing", json{{"chunks", {fake}}}.dump());
  EXPECT_EQ(json::parse(still.body)["missing"].size(), 1u);
  // A manifest naming a chunk never uploaded: 409 with the list.
  Manifest bad = m;
  bad.chunks.back().sha256 = fake;
  HttpResponse refused = alice.Do("PUT", path + "/versions/3", CanonicalManifestText(bad));
  EXPECT_EQ(refused.status, 409) << refused.body;
  EXPECT_EQ(json::parse(refused.body)["missing"], json::array({fake}));
  // A manifest climbing out of its root: 400.
  json climbing = ToJson(m);
  climbing["files"][0]["path"] = "../etc/passwd";
  EXPECT_EQ(alice.Do("PUT", path + "/versions/4", climbing.dump()).status, 400);
  EXPECT_EQ(alice.Do("PUT", path + "/versions/latest", CanonicalManifestText(m)).status, 400);

  // Anyone reads a public dataset: the card, the manifest by name, latest and digest, ranges.
  HttpResponse card = bob.Do("GET", path);
  ASSERT_EQ(card.status, 200);
  EXPECT_EQ(json::parse(card.body)["versions"][0]["digest"], ManifestDigest(m));
  for (const std::string& ref : std::vector<std::string>{"1", "latest", "sha256:" + ManifestDigest(m)}) {
    HttpResponse got = bob.Do("GET", path + "/versions/" + ref);
    ASSERT_EQ(got.status, 200) << ref;
    EXPECT_EQ(got.body, CanonicalManifestText(m));
  }
  const std::string first = m.chunks[0].sha256;
  HttpResponse range = bob.Do("GET", path + "/chunks/" + first, "", {{"Range", "bytes=10-19"}});
  EXPECT_EQ(range.status, 206);
  EXPECT_EQ(range.body.size(), 10u);
  EXPECT_EQ(bob.Do("GET", path + "/chunks/" + first, "", {{"Range", "bytes=99999999-"}}).status, 416);
  EXPECT_EQ(bob.Do("GET", path + "/chunks/" + fake).status, 404);
}

TEST_F(RegistryTest, PrivateDatasetsAreEncryptedHiddenAuditedAndGranted) {
  As alice(c_, alice_), bob(c_, bob_);
  const std::string path = "/v1/datasets/alice/secret";
  ASSERT_EQ(alice.Do("PUT", path, R"({"visibility":"private"})").status, 201);
  Manifest m;
  ASSERT_EQ(Push(alice, path, MakeTree(c_.dir() + "/secret", "zebra-secret-row", 2), "1", &m), 201);
  // On the scheduler's disk the rows appear nowhere in plaintext.
  for (const auto& f : fs::recursive_directory_iterator(c_.dir() + "/state/registry/chunks")) {
    if (!f.is_regular_file()) continue;
    auto bytes = ReadFileLimited(f.path().string(), 64 << 20);
    ASSERT_TRUE(bytes.ok());
    EXPECT_EQ(bytes->find("zebra-secret-row"), std::string::npos) << f.path();
  }
  // Bob does not see it, cannot read it (403, audited) and cannot submit a job on it.
  EXPECT_EQ(bob.Do("GET", path).status, 404);
  HttpResponse list = bob.Do("GET", "/v1/datasets");
  EXPECT_EQ(json::parse(list.body)["items"].size(), 0u);
  EXPECT_EQ(bob.Do("GET", path + "/chunks/" + m.chunks[0].sha256).status, 403);
  const std::string spec =
      "apiVersion: shoal/v1\nkind: TrainingJob\nmetadata: {name: on-secret}\nspec:\n"
      "  workers: {min: 1, max: 1}\n  resources: {backend: cpu, gpusPerWorker: 0}\n"
      "  model: {kind: mlp, layers: [2, 4, 2]}\n"
      "  data: {train: shoal://datasets/alice/secret/f0.csv, format: csv}\n";
  HttpResponse submit = bob.Do("POST", "/v1/jobs", spec);
  EXPECT_EQ(submit.status, 403) << submit.body;
  EXPECT_NE(submit.body.find("datasets/alice/secret"), std::string::npos) << submit.body;
  EXPECT_EQ(json::parse(bob.Do("GET", "/v1/jobs").body)["jobs"].size(), 0u);
  HttpResponse audit = alice.Do("GET", path + "/audit");
  ASSERT_EQ(audit.status, 200);
  int refusals = 0;
  const json records = json::parse(audit.body)["records"];
  for (const auto& r : records) {
    if (r["account"] == "bob" && !r["allowed"].get<bool>()) ++refusals;
  }
  EXPECT_EQ(refusals, 2) << audit.body;  // the chunk read and the submission
  EXPECT_EQ(bob.Do("GET", path + "/audit").status, 404);

  // A grant to an unknown account is refused; to bob it lets him read and submit.
  EXPECT_EQ(alice.Do("PUT", path + "/grants/nobody", "{}").status, 404);
  ASSERT_EQ(alice.Do("PUT", path + "/grants/bob", "{}").status, 200);
  HttpResponse chunk = bob.Do("GET", path + "/chunks/" + m.chunks[0].sha256);
  ASSERT_EQ(chunk.status, 200);
  EXPECT_NE(chunk.body.find("zebra-secret-row"), std::string::npos);
  submit = bob.Do("POST", "/v1/jobs", spec);
  ASSERT_EQ(submit.status, 201) << submit.body;
  const int64_t job = json::parse(submit.body)["id"];
  json detail = c_.Job(job);
  ASSERT_EQ(detail["pins"].size(), 1u) << detail.dump();
  EXPECT_EQ(detail["pins"][0]["digest"], ManifestDigest(m));
  EXPECT_EQ(detail["pins"][0]["version"], "1");
  // The pinned version cannot be deleted while the job waits; the message names the job.
  HttpResponse rm = alice.Do("DELETE", path + "/versions/1");
  EXPECT_EQ(rm.status, 409);
  EXPECT_NE(rm.body.find(std::to_string(job)), std::string::npos) << rm.body;
  ASSERT_EQ(bob.Do("DELETE", "/v1/jobs/" + std::to_string(job)).status, 200);
  EXPECT_EQ(alice.Do("DELETE", path + "/versions/1").status, 200);
  // Revoked: refused again.
  ASSERT_EQ(alice.Do("DELETE", path + "/grants/bob").status, 200);
  EXPECT_EQ(bob.Do("GET", path).status, 404);
}

TEST_F(RegistryTest, QuotaStatesUsageAndLimit) {
  As alice(c_, alice_);
  const std::string path = "/v1/datasets/alice/big";
  ASSERT_EQ(alice.Do("PUT", path, R"({"visibility":"public"})").status, 201);
  // 3 files of ~0.5 MB each fit; 80 MiB of quota does not hold 150 such files.
  ASSERT_EQ(Push(alice, path, MakeTree(c_.dir() + "/small", "row", 3), "1"), 201);
  const std::string large = MakeTree(c_.dir() + "/large", "a-longer-row-of-text", 150);
  int status = Push(alice, path, large, "2");
  EXPECT_EQ(status, 507);
  // Saying the size up front (as the CLI does) is refused before any chunk is sent.
  int64_t bytes = 0;
  for (const auto& f : fs::recursive_directory_iterator(large)) {
    if (f.is_regular_file()) bytes += static_cast<int64_t>(f.file_size());
  }
  HttpResponse early = alice.Do("POST", path + "/chunks/missing",
                                json{{"chunks", json::array()}, {"bytes", bytes}}.dump());
  EXPECT_EQ(early.status, 507);
  EXPECT_NE(early.body.find("quota of 80.0 MiB"), std::string::npos) << early.body;
  HttpResponse card = alice.Do("GET", path);
  EXPECT_EQ(json::parse(card.body)["versions"].size(), 1u);
}

TEST_F(RegistryTest, ReadCapabilitiesAreCheckedAndPrivateStoresSurviveARestart) {
  As alice(c_, alice_);
  const std::string path = "/v1/datasets/alice/cap";
  ASSERT_EQ(alice.Do("PUT", path, R"({"visibility":"private"})").status, 201);
  Manifest m;
  ASSERT_EQ(Push(alice, path, MakeTree(c_.dir() + "/cap", "cap-row", 1), "1", &m), 201);
  // A contributor with a forged or someone else's capability reads nothing.
  As worker(c_, c_.CreateToken("pool", "contributor"));
  for (const std::string& cap :
       std::vector<std::string>{"shoalcap_1_1_" + std::string(64, '0'), "garbage"}) {
    EXPECT_EQ(worker.Do("GET", path + "/chunks/" + m.chunks[0].sha256, "",
                        {{"X-Shoal-Capability", cap}})
                  .status,
              403);
  }
  // Restarted, the scheduler still decrypts (the wrapped key and master key are what it needs).
  c_.KillScheduler(SIGKILL);
  c_.StartScheduler({"--registry-master-key-file", key_file_});
  As again(c_, alice_);
  HttpResponse chunk = again.Do("GET", path + "/chunks/" + m.chunks[0].sha256);
  ASSERT_EQ(chunk.status, 200);
  EXPECT_NE(chunk.body.find("cap-row"), std::string::npos);
  // Without the master key, private datasets are refused, public ones still work.
  c_.KillScheduler(SIGTERM);
  c_.StartScheduler();
  As keyless(c_, alice_);
  EXPECT_EQ(keyless.Do("GET", path + "/chunks/" + m.chunks[0].sha256).status, 503);
  EXPECT_EQ(keyless.Do("PUT", "/v1/datasets/alice/other", R"({"visibility":"private"})").status,
            409);
}

// The demo job reading its data from the registry (as alice), one epoch, on `workers` ranks.
std::string RegistryJob(const std::string& dataset, int workers) {
  std::string yaml = Cluster::ReadRepoFile("configs/jobs/fashion-mnist-mlp.yaml");
  yaml = Replace(yaml, "epochs: 5", "epochs: 1");
  yaml = Replace(yaml, "workers: {min: 2, max: 2}",
                 "workers: {min: " + std::to_string(workers) + ", max: " +
                     std::to_string(workers) + "}");
  yaml = Replace(yaml, "/usr/share/datasets/fashion-mnist/train", dataset + "/train");
  return Replace(yaml, "/usr/share/datasets/fashion-mnist/t10k", dataset + "/t10k");
}

std::vector<std::string> LogLines(const Cluster& c, const std::string& token, int64_t job) {
  As as(c, token);
  HttpResponse r = as.Do("GET", "/v1/jobs/" + std::to_string(job) + "/logs?limit=10000");
  std::vector<std::string> lines;
  const json body = json::parse(r.body, nullptr, false);
  if (!body.is_object()) return lines;
  for (const auto& l : body["lines"]) lines.push_back(l["line"].get<std::string>());
  return lines;
}

// Downloads file `name` of version `ref` of `path` (datasets/... or models/...) to `out`.
void PullFile(const As& as, const std::string& path, const std::string& ref,
              const std::string& name, const std::string& out) {
  HttpResponse text = as.Do("GET", path + "/versions/" + ref);
  ASSERT_EQ(text.status, 200) << text.body;
  auto m = ParseManifest(text.body);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  std::string bytes;
  for (size_t f = 0; f < m->files.size(); ++f) {
    if (m->files[f].path != name) continue;
    for (const ChunkSlice& s : SlicesOf(*m, f)) {
      HttpResponse chunk = as.Do("GET", path + "/chunks/" + m->chunks[s.chunk_index].sha256);
      ASSERT_EQ(chunk.status, 200);
      bytes += chunk.body.substr(static_cast<size_t>(s.offset), static_cast<size_t>(s.length));
    }
  }
  ASSERT_FALSE(bytes.empty()) << name << " is not in " << path << "@" << ref;
  ASSERT_TRUE(WriteFileAtomic(out, bytes).ok());
}

TEST_F(RegistryTest, TrainsFromTheRegistryAndASecondJobFetchesNothing) {
  if (!Cluster::HaveFashionMnist()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  As alice(c_, alice_);
  const std::string path = "/v1/datasets/alice/fashion-mnist";
  ASSERT_EQ(alice.Do("PUT", path, R"({"visibility":"public","format":"idx"})").status, 201);
  ASSERT_EQ(Push(alice, path, "/usr/share/datasets/fashion-mnist", "1"), 201);
  c_.StartWorker("w1");
  c_.StartWorker("w2");
  const std::string uri = "shoal://datasets/alice/fashion-mnist";
  const int64_t first = c_.SubmitAs(alice_, RegistryJob(uri, 2));
  ASSERT_TRUE(c_.WaitForState(first, "SUCCEEDED", 240s)) << c_.Job(first).dump(2);
  EXPECT_GE(c_.Job(first)["result"]["testAccuracy"].get<double>(), 0.75);
  int fetched_lines = 0;
  for (const std::string& l : LogLines(c_, alice_, first)) {
    if (l.find("fetched ") != std::string::npos && l.find("datasets/alice/fashion-mnist@1") !=
                                                       std::string::npos) {
      ++fetched_lines;
    }
  }
  EXPECT_GE(fetched_lines, 2);  // each rank says what it fetched
  // Published, the model carries a card and reproduces the job's accuracy outside shoal (numpy
  // reading the safetensors by its public specification).
  HttpResponse published = alice.Do("POST", "/v1/jobs/" + std::to_string(first) + "/publish",
                                    R"({"name":"fashion-mlp","license":"MIT"})");
  ASSERT_EQ(published.status, 201) << published.body;
  HttpResponse model = As(c_, bob_).Do("GET", "/v1/models/alice/fashion-mlp");
  ASSERT_EQ(model.status, 200) << model.body;
  const json card = json::parse(model.body);
  EXPECT_EQ(card["card"]["job"], first);
  EXPECT_EQ(card["card"]["datasets"][0]["name"], "fashion-mnist");
  EXPECT_EQ(card["card"]["architecture"]["layers"], json::array({784, 256, 128, 10}));
  EXPECT_EQ(card["license"], "MIT");
  EXPECT_EQ(card["versions"][0]["version"], "1");
  const std::string weights = c_.dir() + "/model.safetensors";
  PullFile(As(c_, bob_), "/v1/models/alice/fashion-mlp", "1", "model.safetensors", weights);
  if (fs::exists("/usr/bin/python3")) {
    const std::string cmd = "/usr/bin/python3 " + std::string(SHOAL_SOURCE_DIR) +
                            "/tests/integration/model_accuracy.py " + weights +
                            " /usr/share/datasets/fashion-mnist > " + c_.dir() + "/acc.txt 2>&1";
    const int rc = std::system(cmd.c_str());
    auto acc = ReadFileLimited(c_.dir() + "/acc.txt", 4096);
    ASSERT_TRUE(acc.ok());
    if (rc == 0) {
      std::cout << "numpy accuracy " << *acc << "job accuracy "
                << c_.Job(first)["result"]["testAccuracy"] << "\n";
      EXPECT_NEAR(std::stod(*acc), c_.Job(first)["result"]["testAccuracy"].get<double>(), 0.001);
    } else {
      ADD_FAILURE() << "model_accuracy.py failed (python3-numpy installed?): " << *acc;
    }
  }
  // Fine-tuning is one spec: start from the published model (pinned like the data).
  std::string tune = RegistryJob(uri, 1);
  tune = Replace(tune, "    layers: [784, 256, 128, 10]\n",
                 "    layers: [784, 256, 128, 10]\n    init: shoal://models/alice/fashion-mlp@1\n");
  tune = Replace(tune, "name: fashion-mlp\n", "name: fashion-tune\n");
  // ...and publishes its result itself when it succeeds (spec.output.model).
  const int64_t tuned = c_.SubmitAs(
      alice_, tune + "  output: {model: fashion-tuned, version: v1, license: MIT}\n");
  ASSERT_TRUE(c_.WaitForState(tuned, "SUCCEEDED", 240s)) << c_.Job(tuned).dump(2);
  ASSERT_TRUE(Cluster::WaitUntil(
      [&] { return c_.Job(tuned)["output"].value("published", "") == "v1"; }, 30s))
      << c_.Job(tuned).dump(2);
  EXPECT_EQ(c_.Job(tuned)["output"]["model"], "models/alice/fashion-tuned");
  {
    HttpResponse tuned_model = alice.Do("GET", "/v1/models/alice/fashion-tuned");
    ASSERT_EQ(tuned_model.status, 200) << tuned_model.body;
    const json tuned_card = json::parse(tuned_model.body);
    EXPECT_EQ(tuned_card["card"]["job"], tuned);
    EXPECT_EQ(tuned_card["visibility"], "public");  // it read only public data
    EXPECT_EQ(tuned_card["license"], "MIT");
    EXPECT_EQ(tuned_card["card"]["datasets"].size(), 2u) << tuned_model.body;  // data and init
    EXPECT_EQ(tuned_card["versions"].size(), 1u);
  }
  // A version that exists already is refused at submission, before anything trains.
  HttpResponse taken = alice.Do("POST", "/v1/jobs",
                                tune + "  output: {model: fashion-tuned, version: v1}\n");
  EXPECT_EQ(taken.status, 409) << taken.body;
  EXPECT_NE(taken.body.find("fashion-tuned@v1 already exists"), std::string::npos) << taken.body;
  bool initialized = false;
  for (const std::string& l : LogLines(c_, alice_, tuned)) {
    initialized |= l.find("initialized from ") != std::string::npos;
  }
  EXPECT_TRUE(initialized);
  EXPECT_EQ(c_.Job(tuned)["pins"].size(), 2u) << c_.Job(tuned).dump(2);
  // Shapes that do not match the model: the rank fails naming the first mismatching tensor.
  std::string wrong = Replace(tune, "[784, 256, 128, 10]", "[784, 64, 10]");
  wrong = Replace(wrong, "name: fashion-tune\n", "name: fashion-wrong\n");
  const int64_t mismatched = c_.SubmitAs(alice_, wrong);
  ASSERT_TRUE(c_.WaitForState(mismatched, "FAILED", 240s)) << c_.Job(mismatched).dump(2);
  bool named = false;
  for (const std::string& l : LogLines(c_, alice_, mismatched)) {
    named |= l.find("tensor layers.0.weight") != std::string::npos;
  }
  EXPECT_TRUE(named) << c_.Job(mismatched).dump(2);
  // A dataset where a model belongs is refused at submission.
  HttpResponse bad = alice.Do("POST", "/v1/jobs",
                              Replace(tune, "shoal://models/alice/fashion-mlp@1",
                                      "shoal://datasets/alice/fashion-mnist"));
  EXPECT_EQ(bad.status, 400) << bad.body;
  // The same data again: both workers have every chunk, so nothing is fetched.
  const int64_t second = c_.SubmitAs(alice_, RegistryJob(uri + "@1", 2));
  ASSERT_TRUE(c_.WaitForState(second, "SUCCEEDED", 240s)) << c_.Job(second).dump(2);
  int zero = 0;
  for (const std::string& l : LogLines(c_, alice_, second)) {
    if (l.find("fetched 0 of ") != std::string::npos) ++zero;
  }
  EXPECT_EQ(zero, 2);
  // GET /v1/jobs/{id} says what each rank fetched (shoal status's FETCHED): the first job's ranks
  // downloaded the data, the second's found it all in their workers' caches.
  const json first_view = c_.Job(first), second_view = c_.Job(second);
  int64_t first_fetched = 0;
  for (const json& r : first_view["attemptHistory"].back()["ranks"]) {
    first_fetched += r.value("fetchedBytes", int64_t{0});
  }
  EXPECT_GT(first_fetched, 0) << first_view.dump(2);
  ASSERT_EQ(second_view["attemptHistory"].back()["ranks"].size(), 2u);
  for (const json& r : second_view["attemptHistory"].back()["ranks"]) {
    EXPECT_EQ(r.value("fetchedBytes", int64_t{-1}), 0) << r.dump();
  }
  // A scheduler killed and restarted publishes nothing twice: the library records the job each
  // version was published from.
  c_.KillScheduler(SIGKILL);
  c_.StartScheduler({"--registry-master-key-file", key_file_, "--registry-quota", "80MiB"});
  std::this_thread::sleep_for(3s);  // PublishOutputs runs every second
  EXPECT_EQ(json::parse(As(c_, alice_).Do("GET", "/v1/models/alice/fashion-tuned").body)["versions"]
                .size(),
            1u);
  EXPECT_EQ(c_.Job(tuned)["output"].value("published", ""), "v1");
  // Nothing of the data is left in the workers' rank directories once the attempts ended.
  for (const auto& f : fs::recursive_directory_iterator(c_.dir())) {
    EXPECT_FALSE(f.is_regular_file() && f.path().filename() == "train-images-idx3-ubyte.gz" &&
                 f.path().string().find("/data/") != std::string::npos)
        << f.path();
  }
}

TEST_F(RegistryTest, PrivateDataRunsOnlyOnTrustedWorkers) {
  if (!Cluster::HaveFashionMnist()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  As alice(c_, alice_);
  const std::string path = "/v1/datasets/alice/fm-private";
  ASSERT_EQ(alice.Do("PUT", path, R"({"visibility":"private","trustedWorkers":["trusted"]})")
                .status,
            201);
  ASSERT_EQ(Push(alice, path, "/usr/share/datasets/fashion-mnist", "1"), 201);
  c_.StartWorker("stranger");  // account "pool"
  // Its model, published on success with visibility auto, is private: trained on private data.
  const int64_t job =
      c_.SubmitAs(alice_, RegistryJob("shoal://datasets/alice/fm-private", 1) +
                              "  output: {model: fm-private-mlp}\n");
  // Only a stranger's worker: the job waits, and says why.
  ASSERT_TRUE(Cluster::WaitUntil(
      [&] { return c_.Job(job).value("reason", "") == "Constraint"; }, 20s))
      << c_.Job(job).dump(2);
  EXPECT_NE(c_.Job(job).value("reasonMessage", "").find("trusted"), std::string::npos)
      << c_.Job(job).dump(2);
  c_.StartWorker("trusted-1", {"--account", "trusted"});
  ASSERT_TRUE(c_.WaitForState(job, "SUCCEEDED", 240s)) << c_.Job(job).dump(2);
  json done = c_.Job(job);
  ASSERT_EQ(done["placement"].size(), 1u);
  const std::string worker = done["placement"][0];
  for (const auto& w : c_.Workers()) {
    if (w["id"] == worker) {
      EXPECT_EQ(w["name"], "trusted-1") << w.dump();
    }
  }
  // No plaintext chunk of the private dataset stays in the worker's cache once the attempt ended.
  for (const auto& f : fs::recursive_directory_iterator(c_.dir())) {
    EXPECT_FALSE(f.is_regular_file() && IsChunkId(f.path().filename().string()) &&
                 f.path().string().find("/state/") == std::string::npos)
        << "a chunk outside the scheduler: " << f.path();
  }
  ASSERT_TRUE(Cluster::WaitUntil(
      [&] { return c_.Job(job)["output"].value("published", "") == "1"; }, 30s))
      << c_.Job(job).dump(2);
  EXPECT_EQ(alice.Do("GET", "/v1/models/alice/fm-private-mlp").status, 200);
  EXPECT_EQ(As(c_, bob_).Do("GET", "/v1/models/alice/fm-private-mlp").status, 404);
  // The owner's audit log has the worker's reads, with the job.
  HttpResponse audit = alice.Do("GET", path + "/audit");
  const json records = json::parse(audit.body)["records"];
  int reads = 0;
  for (const auto& r : records) {
    if (r["job"] == job && r["allowed"].get<bool>() && r["account"] == "trusted") ++reads;
  }
  EXPECT_GE(reads, 1) << audit.body;
}

// A worker killed (-9) while it fetches a job's data: restarted, it takes the retried attempt and
// resumes from what its cache already holds (the chunks it verified, and the .part of the one it
// was downloading), so the attempt that trains fetches less than the whole version.
TEST_F(RegistryTest, AWorkerKilledMidFetchResumesInTheRetriedAttempt) {
  if (!Cluster::HaveFashionMnist()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  c_.KillScheduler(SIGTERM);  // again, with room for 430 MB
  c_.StartScheduler({"--registry-master-key-file", key_file_, "--registry-quota", "2GiB"});
  const fs::path src = c_.dir() + "/fm-big";
  fs::create_directories(src);
  for (const auto& f : fs::directory_iterator("/usr/share/datasets/fashion-mnist")) {
    fs::copy_file(f.path(), src / f.path().filename());
  }
  {
    // Incompressible filler, so that the fetch takes long enough to be cut.
    std::mt19937_64 rng(11);
    std::string bytes(400'000'000, '\0');
    for (size_t i = 0; i + 8 <= bytes.size(); i += 8) {
      const uint64_t v = rng();
      std::memcpy(&bytes[i], &v, 8);
    }
    std::ofstream(src / "zz-filler.bin", std::ios::binary) << bytes;
  }
  Cluster::CliResult push =
      c_.RunCli(alice_, {"data", "push", src.string(), "--name", "fm-big", "--public"});
  ASSERT_EQ(push.code, 0) << push.output;
  c_.StartWorker("w1");
  const int64_t job = c_.SubmitAs(alice_, RegistryJob("shoal://datasets/alice/fm-big", 1));
  const fs::path cache = c_.dir() + "/w1/cache";
  auto cached_chunks = [&] {
    int n = 0;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(cache, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      n += it->is_regular_file() && IsChunkId(it->path().filename().string());
    }
    return n;
  };
  ASSERT_TRUE(Cluster::WaitUntil([&] { return cached_chunks() >= 20; }, 120s));
  c_.worker("w1")->Signal(SIGKILL);
  c_.worker("w1")->Wait(10s);
  const int before = cached_chunks();
  // Its name is free once it has been silent for the worker timeout (3 s here).
  std::this_thread::sleep_for(4s);
  c_.StartWorker("w1");
  ASSERT_TRUE(c_.WaitForState(job, "SUCCEEDED", 240s)) << c_.Job(job).dump(2);
  EXPECT_GE(c_.Job(job)["attempts"].get<int>(), 2) << c_.Job(job).dump(2);
  // The attempt that trained fetched only what the first did not leave in the cache.
  std::smatch m;
  bool resumed = false;
  for (const std::string& l : LogLines(c_, alice_, job)) {
    if (std::regex_search(l, m, std::regex(R"(fetched ([0-9]+) of ([0-9]+) bytes)"))) {
      const int64_t fetched = std::stoll(m[1]), total = std::stoll(m[2]);
      std::cout << l << " (" << before << " chunks cached at the kill)\n";
      resumed |= fetched < total;
    }
  }
  EXPECT_TRUE(resumed);
}

// Chunks of pushes that never finish: they count against the quota while they wait (so that
// uploads alone cannot fill the scheduler's disk), and the sweep removes them once
// registryUploadGrace passed; chunks a version references stay.
TEST_F(RegistryTest, ChunksOfAbandonedPushesCountAgainstTheQuotaAndAreCollected) {
  c_.KillScheduler(SIGTERM);
  c_.StartScheduler({"--registry-master-key-file", key_file_, "--registry-quota", "4MiB",
                     "--registry-upload-grace", "3s"});
  As alice(c_, alice_);
  const std::string path = "/v1/datasets/alice/abandoned";
  ASSERT_EQ(alice.Do("PUT", path, R"({"visibility":"public"})").status, 201);
  ASSERT_EQ(Push(alice, path, MakeTree(c_.dir() + "/kept", "kept", 1), "1"), 201);
  // 1 MiB chunks of random bytes, never followed by a version: the fourth passes the quota.
  std::mt19937_64 rng(5);
  std::vector<std::string> ids;
  int refused = 0;
  for (int i = 0; i < 5; ++i) {
    std::string bytes(1 << 20, '\0');
    for (char& ch : bytes) ch = static_cast<char>(rng());
    const std::string id = Sha256Hex(bytes);
    HttpResponse put = alice.Do("PUT", path + "/chunks/" + id, bytes);
    if (put.status == 507) {
      ++refused;
      EXPECT_NE(put.body.find("of pushes not finished yet"), std::string::npos) << put.body;
    } else {
      EXPECT_EQ(put.status, 201) << put.body;
      ids.push_back(id);
    }
  }
  EXPECT_EQ(ids.size(), 3u);
  EXPECT_EQ(refused, 2);
  const std::string store = c_.dir() + "/state/registry/chunks/public/";
  for (const std::string& id : ids) EXPECT_TRUE(fs::exists(store + id.substr(0, 2) + "/" + id));
  // Past the grace the sweep removes them, and the quota has room again; version 1 is intact.
  ASSERT_TRUE(Cluster::WaitUntil(
      [&] {
        for (const std::string& id : ids) {
          if (fs::exists(store + id.substr(0, 2) + "/" + id)) return false;
        }
        return true;
      },
      20s));
  std::string again(1 << 20, 'x');
  EXPECT_EQ(alice.Do("PUT", path + "/chunks/" + Sha256Hex(again), again).status, 201);
  const std::string kept = c_.dir() + "/kept.out";
  PullFile(alice, path, "1", "f0.csv", kept);
  EXPECT_EQ(*ReadFileLimited(kept, 1 << 30), *ReadFileLimited(c_.dir() + "/kept/f0.csv", 1 << 30));
  HttpResponse metrics = alice.Do("GET", "/metrics");
  EXPECT_NE(metrics.body.find("shoal_registry_chunks_swept_total 3"), std::string::npos)
      << metrics.body;
}

}  // namespace
}  // namespace shoal::testing
