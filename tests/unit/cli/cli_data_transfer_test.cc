// `shoal data` against an in-memory registry that answers like the scheduler's routes
// (scheduler/api/api_registry.cc): push, resume, pull, verification, and the other verbs' output.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>

#include "cli/cli.h"
#include "cli/exit_codes.h"
#include "common/registry/manifest.h"
#include "common/sha256.h"
#include "tests/unit/cli/fake_scheduler.h"

namespace shoal::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::FakeScheduler;
using Reply = FakeScheduler::Reply;
using Request = FakeScheduler::Request;

constexpr int64_t kNow = 1'750'000'000'000;
const std::string kBase = "/v1/datasets/lab-a/mnist";

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

Reply Json(int status, const json& body) { return {status, body.dump()}; }
Reply Error(int status, const std::string& code, const std::string& message) {
  return Json(status, {{"error", {{"code", code}, {"message", message}}}});
}

// One dataset, lab-a/mnist, with the routes' behaviour; the test's knobs change it.
struct FakeRegistry {
  std::map<std::string, std::string> chunks;    // sha → bytes
  std::map<std::string, std::string> versions;  // version → manifest text
  json card;                                    // null until created
  // Knobs.
  int fail_chunk_puts = 0;       // answer this many chunk PUTs 503 first
  bool lose_chunk_once = false;  // drop a stored chunk before the first version PUT
  bool corrupt_chunk = false;    // serve a chunk's bytes altered
  bool wrong_digest = false;     // send a wrong X-Shoal-Digest
  int64_t quota = -1;            // refuse a missing query whose "bytes" pass it (507)
  int chunk_puts = 0;
  std::vector<json> missing_queries;
  std::string last_grant_body;

  Reply Handle(const Request& r) {
    const std::string& t = r.target;
    if (t == "/v1/whoami") return Json(200, {{"account", "lab-a"}, {"role", "user"}});
    if (t.rfind("/v1/datasets?", 0) == 0 || t == "/v1/datasets") {
      return Json(200, {{"items", card.is_null() ? json::array() : json::array({Card()})}});
    }
    if (t == kBase && r.method == "GET") {
      if (card.is_null()) return Error(404, "NotFound", "datasets/lab-a/mnist not found");
      return Json(200, Card());
    }
    if (t == kBase && r.method == "PUT") {
      const bool created = card.is_null();
      card = json::parse(r.body);
      return Json(created ? 201 : 200, Card());
    }
    if (t == kBase + "/chunks/missing") {
      const json query = json::parse(r.body);
      missing_queries.push_back(query);
      if (quota >= 0 && query.contains("bytes") && query["bytes"].get<int64_t>() > quota) {
        return Error(507, "ResourceExhausted", "over the quota");
      }
      json missing = json::array();
      for (const json& c : query["chunks"]) {
        if (chunks.count(c.get<std::string>()) == 0) missing.push_back(c);
      }
      return Json(200, {{"missing", missing}});
    }
    if (t == kBase + "/grants") {
      return Json(200, {{"owner", "lab-a"},
                        {"visibility", "private"},
                        {"grants",
                         {{{"account", "lab-b"},
                           {"grantedBy", "lab-a"},
                           {"granted", kNow - 60'000},
                           {"expires", 0}}}}});
    }
    if (t == kBase + "/grants/lab-b") {
      last_grant_body = r.body;
      if (r.method == "DELETE") return Json(200, {{"revoked", "lab-b"}});
      return Json(200, {{"account", "lab-b"}, {"expires", kNow + 86'400'000}});
    }
    if (t == kBase + "/audit") {
      return Json(200, {{"records",
                         {{{"seq", 1},
                           {"time", kNow - 1000},
                           {"account", "lab-c"},
                           {"job", 0},
                           {"worker", ""},
                           {"action", "manifest"},
                           {"version", "1"},
                           {"allowed", false},
                           {"detail", "no grant"}},
                          {{"seq", 2},
                           {"time", kNow},
                           {"account", "lab-b"},
                           {"job", 12},
                           {"worker", "w-3"},
                           {"action", "chunk"},
                           {"version", "1"},
                           {"allowed", true},
                           {"detail", ""}}}}});
    }
    const std::string chunk_prefix = kBase + "/chunks/";
    if (t.rfind(chunk_prefix, 0) == 0) {
      const std::string sha = t.substr(chunk_prefix.size());
      if (r.method == "PUT") {
        ++chunk_puts;
        if (fail_chunk_puts > 0) {
          --fail_chunk_puts;
          return Error(503, "Unavailable", "busy");
        }
        if (Sha256Hex(r.body) != sha) return Error(400, "InvalidArgument", "bad hash");
        const bool added = chunks.emplace(sha, r.body).second;
        return Json(added ? 201 : 200, {{"chunk", sha}, {"stored", added}});
      }
      auto it = chunks.find(sha);
      if (it == chunks.end()) return Error(404, "NotFound", "no chunk");
      std::string bytes = it->second;
      if (corrupt_chunk) bytes[0] ^= 1;
      return Reply{200, bytes};
    }
    const std::string version_prefix = kBase + "/versions/";
    if (t.rfind(version_prefix, 0) == 0) {
      std::string v = t.substr(version_prefix.size());
      if (r.method == "PUT") {
        auto m = ParseManifest(r.body);
        if (!m.ok()) return Error(400, "InvalidArgument", m.status().message());
        if (lose_chunk_once) {
          lose_chunk_once = false;
          chunks.erase(m->chunks.front().sha256);
        }
        json missing = json::array();
        for (const ManifestChunk& c : m->chunks) {
          if (chunks.count(c.sha256) == 0) missing.push_back(c.sha256);
        }
        if (!missing.empty()) {
          json body = {{"error", {{"code", "FailedPrecondition"}, {"message", "missing"}}},
                       {"missing", missing}};
          return Json(409, body);
        }
        versions[v] = r.body;
        return Json(201, {{"version", v}, {"digest", ManifestDigest(*m)}, {"bytes", 1}});
      }
      if (r.method == "DELETE") {
        return Error(409, "FailedPrecondition",
                     "datasets/lab-a/mnist@" + v + " is read by unfinished jobs 7, 9");
      }
      if (v == "latest") v = versions.rbegin()->first;
      auto it = versions.find(v);
      if (it == versions.end()) return Error(404, "NotFound", "no version");
      const std::string digest =
          wrong_digest ? std::string(64, '0') : ManifestDigest(*ParseManifest(it->second));
      return Reply{200, it->second, {{"X-Shoal-Digest", digest}}};
    }
    return Error(404, "NotFound", "no route " + t);
  }

  json Card() const {
    json c = card;
    c["account"] = "lab-a";
    c["name"] = "mnist";
    c["created"] = kNow - 86'400'000;
    c["updated"] = kNow - 60'000;
    c["bytes"] = 4'200'000;
    json list = json::array();
    for (const auto& [v, text] : versions) {
      list.push_back({{"version", v},
                      {"digest", ManifestDigest(*ParseManifest(text))},
                      {"bytes", 4'200'000},
                      {"files", 3},
                      {"chunks", 2},
                      {"publisher", "lab-a"},
                      {"created", kNow - 3'600'000}});
    }
    c["versions"] = list;
    return c;
  }
};

struct CliRun {
  int code;
  std::string out;
  std::string err;
};

class CliDataTransferTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("shoal-data-test-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_ / "src" / "sub");
    std::mt19937_64 rng(7);
    std::string big(3'000'000, '\0');
    for (char& c : big) c = static_cast<char>(rng());
    Write("src/train.bin", big);
    Write("src/sub/labels.csv", "label\n1\n2\n");
    Write("src/sub/empty", "");
  }
  void TearDown() override { fs::remove_all(root_); }

  void Write(const std::string& relative, const std::string& bytes) {
    std::ofstream(root_ / relative, std::ios::binary) << bytes;
  }
  std::string Read(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  CliRun Run(std::vector<std::string> args) {
    args.push_back("--scheduler");
    args.push_back(fake_.url());
    CliEnv env;
    env.token_env = "tok-lab-a";
    env.now_ms = [] { return kNow; };
    std::ostringstream out, err;
    int code = RunCli(args, out, err, env);
    return {code, out.str(), err.str()};
  }
  CliRun Push(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"data",   "push",  (root_ / "src").string(),
                                     "--name", "mnist", "--private"};
    args.insert(args.end(), extra.begin(), extra.end());
    return Run(args);
  }

  fs::path root_;
  FakeRegistry registry_;
  FakeScheduler fake_{[this](const Request& r) { return registry_.Handle(r); }};
};

TEST_F(CliDataTransferTest, PushesThenPullsTheSameFiles) {
  CliRun push = Push({"--description", "digits", "--license", "MIT"});
  ASSERT_EQ(push.code, kExitOk) << push.err;
  EXPECT_TRUE(Contains(push.out, "pushed datasets/lab-a/mnist@1: 3 files, 3.0 MB, digest sha256:"))
      << push.out;
  EXPECT_TRUE(Contains(push.out, "(0 chunks already stored)")) << push.out;
  EXPECT_TRUE(Contains(push.err, "push: 3.0 of 3.0 MB (100%)")) << push.err;
  EXPECT_EQ(registry_.card["visibility"], "private");
  EXPECT_EQ(registry_.card["description"], "digits");
  ASSERT_EQ(registry_.versions.size(), 1u);

  // The same tree again: the version that holds it is named, nothing is sent, the card's fields
  // are kept.
  CliRun same = Push();
  ASSERT_EQ(same.code, kExitOk) << same.err;
  EXPECT_TRUE(Contains(same.out, "datasets/lab-a/mnist@1 already holds")) << same.out;
  EXPECT_EQ(registry_.versions.size(), 1u);
  EXPECT_EQ(registry_.card["description"], "digits");
  // One file more: version 2, only its chunk sent.
  Write("src/sub/more.csv", "label\n3\n");
  CliRun again = Push();
  ASSERT_EQ(again.code, kExitOk) << again.err;
  EXPECT_TRUE(Contains(again.out, "@2: 4 files")) << again.out;
  EXPECT_TRUE(Contains(again.out, " in 1 chunks (1 chunks already stored)")) << again.out;
  EXPECT_EQ(registry_.versions.size(), 2u);

  CliRun pull = Run({"data", "pull", "mnist@1", (root_ / "dst").string()});
  ASSERT_EQ(pull.code, kExitOk) << pull.err;
  EXPECT_TRUE(Contains(pull.out, "pulled datasets/lab-a/mnist@1 into")) << pull.out;
  for (const char* f : {"train.bin", "sub/labels.csv", "sub/empty"}) {
    EXPECT_EQ(Read(root_ / "dst" / f), Read(root_ / "src" / f)) << f;
  }
  EXPECT_TRUE(fs::exists(root_ / "dst" / "sub" / "empty"));
  EXPECT_FALSE(fs::exists(root_ / "dst" / "sub" / "more.csv"));
  CliRun latest = Run({"data", "pull", "mnist", (root_ / "dst2").string(), "-o", "json"});
  ASSERT_EQ(latest.code, kExitOk) << latest.err;
  EXPECT_EQ(json::parse(latest.out)["files"], 4);
  EXPECT_EQ(json::parse(latest.out)["version"], "2");
  EXPECT_EQ(Read(root_ / "dst2" / "sub" / "more.csv"), "label\n3\n");
}

TEST_F(CliDataTransferTest, ARerunSendsOnlyWhatIsMissing) {
  // A push killed after some chunks were stored: they are not sent again.
  auto manifest = BuildManifest((root_ / "src").string(), ChunkerParams(),
                                [&](std::string_view chunk, const std::string& sha) {
                                  if (registry_.chunks.empty()) registry_.chunks[sha] = chunk;
                                  return Status::Ok();
                                });
  ASSERT_TRUE(manifest.ok());
  ASSERT_GT(manifest->chunks.size(), 1u);
  CliRun push = Push({"--version", "v1", "-o", "json"});
  ASSERT_EQ(push.code, kExitOk) << push.err;
  json reply = json::parse(push.out);
  EXPECT_EQ(reply["version"], "v1");
  EXPECT_EQ(reply["storedChunks"], 1);
  EXPECT_EQ(reply["sentChunks"], static_cast<int>(manifest->chunks.size()) - 1);
  EXPECT_EQ(registry_.chunk_puts, static_cast<int>(manifest->chunks.size()) - 1);
}

TEST_F(CliDataTransferTest, RetriesTransientFailuresAndReuploadsLostChunks) {
  registry_.fail_chunk_puts = 2;
  registry_.lose_chunk_once = true;
  CliRun push = Push();
  ASSERT_EQ(push.code, kExitOk) << push.err;
  EXPECT_EQ(registry_.versions.size(), 1u);
}

TEST_F(CliDataTransferTest, AsksInBatchesWhileItScansAndChecksTheQuotaFirst) {
  // ~100 MB: more than one batch of missing queries (32 chunks or 64 MiB).
  std::mt19937_64 rng(11);
  std::string big(100'000'000, '\0');
  for (size_t i = 0; i + 8 <= big.size(); i += 8) {
    const uint64_t r = rng();
    std::memcpy(&big[i], &r, 8);
  }
  Write("src/big.bin", big);
  const int64_t total = 100'000'000 + 3'000'000 + 10;

  // Over the quota: refused at the first query, before any chunk is sent.
  registry_.quota = total - 1;
  CliRun refused = Push();
  EXPECT_NE(refused.code, kExitOk);
  EXPECT_TRUE(Contains(refused.err, "over the quota")) << refused.err;
  EXPECT_EQ(registry_.chunk_puts, 0);
  EXPECT_TRUE(registry_.versions.empty());

  registry_.quota = -1;
  registry_.missing_queries.clear();
  CliRun push = Push({"-o", "json"});
  ASSERT_EQ(push.code, kExitOk) << push.err;
  const json reply = json::parse(push.out);
  ASSERT_GE(registry_.missing_queries.size(), 2u);
  EXPECT_EQ(registry_.missing_queries[0]["bytes"], total);  // the listed size, up front
  for (size_t i = 1; i < registry_.missing_queries.size(); ++i) {
    EXPECT_FALSE(registry_.missing_queries[i].contains("bytes"));
    EXPECT_LE(registry_.missing_queries[i]["chunks"].size(), 32u);
  }
  EXPECT_EQ(reply["sentChunks"], reply["chunks"]);
  EXPECT_EQ(reply["sentBytes"], total);
  EXPECT_EQ(registry_.chunk_puts, reply["chunks"].get<int>());
  ASSERT_EQ(registry_.versions.size(), 1u);
  auto manifest = ParseManifest(registry_.versions.begin()->second);
  ASSERT_TRUE(manifest.ok());
  for (const ManifestChunk& c : manifest->chunks) EXPECT_EQ(registry_.chunks.count(c.sha256), 1u);
}

TEST_F(CliDataTransferTest, BadPathSendsNothing) {
  fs::create_symlink(root_ / "src" / "train.bin", root_ / "src" / "link");
  CliRun push = Push();
  EXPECT_EQ(push.code, kExitUsage);
  EXPECT_TRUE(Contains(push.err, "link")) << push.err;
  CliRun missing = Run({"data", "push", (root_ / "nope").string(), "--name", "m", "--public"});
  EXPECT_EQ(missing.code, kExitUsage);
  EXPECT_TRUE(Contains(missing.err, "nope")) << missing.err;
  EXPECT_TRUE(fake_.requests().empty());
}

TEST_F(CliDataTransferTest, PullVerifiesWhatArrives) {
  ASSERT_EQ(Push().code, kExitOk);
  registry_.corrupt_chunk = true;
  CliRun corrupt = Run({"data", "pull", "mnist", (root_ / "a").string()});
  EXPECT_EQ(corrupt.code, kExitUnavailable);
  EXPECT_TRUE(Contains(corrupt.err, "arrived corrupted")) << corrupt.err;
  registry_.corrupt_chunk = false;
  registry_.wrong_digest = true;
  CliRun digest = Run({"data", "pull", "mnist@latest", (root_ / "b").string()});
  EXPECT_EQ(digest.code, kExitUnavailable);
  EXPECT_TRUE(Contains(digest.err, "the scheduler says sha256:000")) << digest.err;
  EXPECT_FALSE(fs::exists(root_ / "b" / "train.bin"));
  registry_.wrong_digest = false;
  // A symbolic link inside DIR is not written through.
  fs::create_directories(root_ / "c");
  fs::create_directory_symlink(root_ / "elsewhere", root_ / "c" / "sub");
  CliRun link = Run({"data", "pull", "mnist", (root_ / "c").string()});
  EXPECT_EQ(link.code, kExitUsage);
  EXPECT_TRUE(Contains(link.err, "refusing to write through it")) << link.err;
  EXPECT_FALSE(fs::exists(root_ / "elsewhere"));
}

TEST_F(CliDataTransferTest, ListShowAndRemove) {
  ASSERT_EQ(Push({"--format", "idx"}).code, kExitOk);
  CliRun ls = Run({"data", "ls"});
  ASSERT_EQ(ls.code, kExitOk) << ls.err;
  EXPECT_TRUE(Contains(ls.out, "NAME          VISIBILITY   VERSIONS   SIZE      LATEST   UPDATED"))
      << ls.out;
  EXPECT_TRUE(Contains(ls.out, "lab-a/mnist   private      1          4.0 MiB   1        1m"))
      << ls.out;
  CliRun show = Run({"data", "show", "lab-a/mnist"});
  ASSERT_EQ(show.code, kExitOk) << show.err;
  EXPECT_TRUE(Contains(show.out, "format:         idx")) << show.out;
  EXPECT_TRUE(Contains(show.out, "size:           4.0 MiB in 1 version\n")) << show.out;
  EXPECT_TRUE(Contains(show.out, "versions:\n  VERSION   DIGEST")) << show.out;
  CliRun one = Run({"data", "show", "mnist@1"});
  ASSERT_EQ(one.code, kExitOk) << one.err;
  EXPECT_TRUE(Contains(one.out, "sub/labels.csv")) << one.out;
  EXPECT_TRUE(Contains(one.out, "3 files")) << one.out;
  CliRun none = Run({"data", "show", "mnist@9"});
  EXPECT_EQ(none.code, kExitNotFound);
  CliRun rm = Run({"data", "rm", "mnist@1"});
  EXPECT_EQ(rm.code, kExitJobFailed);
  EXPECT_TRUE(Contains(rm.err, "unfinished jobs 7, 9")) << rm.err;
}

TEST_F(CliDataTransferTest, GrantsAccessAndAudit) {
  CliRun grant = Run({"data", "grant", "mnist", "lab-b", "--expires", "1d"});
  ASSERT_EQ(grant.code, kExitOk) << grant.err;
  EXPECT_EQ(json::parse(registry_.last_grant_body)["expiresMs"], kNow + 86'400'000);
  EXPECT_TRUE(Contains(grant.out, "granted lab-b read access to datasets/lab-a/mnist until"))
      << grant.out;
  CliRun access = Run({"data", "access", "mnist"});
  ASSERT_EQ(access.code, kExitOk) << access.err;
  EXPECT_TRUE(Contains(access.out, "visibility: private")) << access.out;
  EXPECT_TRUE(Contains(access.out, "ACCOUNT   GRANTED BY   GRANTED")) << access.out;
  EXPECT_TRUE(Contains(access.out, "never")) << access.out;
  CliRun audit = Run({"data", "audit", "lab-a/mnist"});
  ASSERT_EQ(audit.code, kExitOk) << audit.err;
  EXPECT_TRUE(Contains(audit.out, "refused: no grant")) << audit.out;
  EXPECT_TRUE(Contains(audit.out, "w-3")) << audit.out;
  CliRun revoke = Run({"data", "revoke", "mnist", "lab-b"});
  ASSERT_EQ(revoke.code, kExitOk) << revoke.err;
  EXPECT_TRUE(Contains(revoke.out, "revoked the grant of lab-b")) << revoke.out;
  CliRun unknown = Run({"data", "access", "other"});
  EXPECT_EQ(unknown.code, kExitNotFound);
  EXPECT_TRUE(Contains(unknown.err, "datasets/lab-a/other not found")) << unknown.err;
}

}  // namespace
}  // namespace shoal::cli
