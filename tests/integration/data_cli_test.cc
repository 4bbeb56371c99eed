// `shoal data` against a real scheduler (docs/registry.md): the CLI binary pushes a directory,
// resumes a push whose chunks were partly stored, lists, shows and pulls it byte for byte, grants
// another account access to a private dataset and shows the audit of its reads, and deletes a
// version.
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "common/file_util.h"
#include "common/registry/manifest.h"
#include "tests/integration/cluster.h"

namespace shoal::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;
using CliResult = Cluster::CliResult;

Cluster::CliResult Shoal(const Cluster& c, const std::string& token,
                         const std::vector<std::string>& args) {
  return c.RunCli(token, args, std::chrono::seconds(60));
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST(DataCliTest, PushResumePullGrantAuditRemove) {
  Cluster c;
  const std::string key_file = c.dir() + "/master.key";
  ASSERT_TRUE(WriteFileAtomic(key_file, std::string(64, 'c') + "\n", 0600).ok());
  c.StartScheduler({"--registry-master-key-file", key_file});
  const std::string alice = c.CreateToken("alice", "user");
  const std::string bob = c.CreateToken("bob", "user");

  // 12 MB of random bytes (a few chunks) and small files that share one.
  const fs::path src = c.dir() + "/src";
  fs::create_directories(src / "sub");
  std::mt19937_64 rng(11);
  std::string big(12'000'000, '\0');
  for (char& ch : big) ch = static_cast<char>(rng());
  std::ofstream(src / "train.bin", std::ios::binary) << big;
  std::ofstream(src / "sub" / "labels.csv") << "label\n1\n2\n";
  std::ofstream(src / "sub" / "empty");

  // A push killed half-way left some chunks stored: upload the first by hand, as it would have.
  ASSERT_EQ(
      c.client(alice).Do("PUT", "/v1/datasets/alice/tables", R"({"visibility":"private"})")->status,
      201);
  int chunks = 0;
  auto manifest = BuildManifest(
      src.string(), ChunkerParams(), [&](std::string_view bytes, const std::string& sha) {
        if (chunks++ == 0) {
          auto r = c.client(alice).Do("PUT", "/v1/datasets/alice/tables/chunks/" + sha, bytes,
                                      "application/octet-stream");
          EXPECT_TRUE(r.ok() && r->status == 201);
        }
        return Status::Ok();
      });
  ASSERT_TRUE(manifest.ok());
  ASSERT_GE(chunks, 2);

  CliResult push = Shoal(c, alice,
                         {"data", "push", src.string(), "--name", "tables", "--private",
                          "--license", "CC0-1.0", "--description", "random rows"});
  ASSERT_EQ(push.code, 0) << push.output;
  EXPECT_TRUE(
      Contains(push.output, "pushed datasets/alice/tables@1: 3 files, 12.0 MB, digest sha256:" +
                                ManifestDigest(*manifest)))
      << push.output;
  EXPECT_TRUE(Contains(push.output, "chunks (1 chunks already stored)")) << push.output;
  EXPECT_TRUE(Contains(push.output, "(100%)")) << push.output;  // the progress lines

  CliResult ls = Shoal(c, alice, {"data", "ls"});
  ASSERT_EQ(ls.code, 0) << ls.output;
  EXPECT_TRUE(Contains(ls.output, "alice/tables")) << ls.output;
  EXPECT_TRUE(Contains(ls.output, "private")) << ls.output;
  CliResult show = Shoal(c, alice, {"data", "show", "tables"});
  ASSERT_EQ(show.code, 0) << show.output;
  EXPECT_TRUE(Contains(show.output, "CC0-1.0")) << show.output;
  CliResult one = Shoal(c, alice, {"data", "show", "tables@1"});
  ASSERT_EQ(one.code, 0) << one.output;
  EXPECT_TRUE(Contains(one.output, "sub/labels.csv")) << one.output;

  // Bob may not read it until granted; then he pulls it byte for byte, and the owner sees it.
  const fs::path dst = c.dir() + "/dst";
  CliResult refused = Shoal(c, bob, {"data", "pull", "alice/tables", dst.string()});
  EXPECT_EQ(refused.code, 4) << refused.output;
  CliResult grant = Shoal(c, alice, {"data", "grant", "tables", "bob", "--expires", "1d"});
  ASSERT_EQ(grant.code, 0) << grant.output;
  CliResult access = Shoal(c, alice, {"data", "access", "tables"});
  ASSERT_EQ(access.code, 0) << access.output;
  EXPECT_TRUE(Contains(access.output, "bob")) << access.output;
  CliResult pull = Shoal(c, bob, {"data", "pull", "alice/tables@1", dst.string()});
  ASSERT_EQ(pull.code, 0) << pull.output;
  for (const char* f : {"train.bin", "sub/labels.csv", "sub/empty"}) {
    EXPECT_EQ(ReadFile(dst / f), ReadFile(src / f)) << f;
  }
  CliResult audit = Shoal(c, alice, {"data", "audit", "tables"});
  ASSERT_EQ(audit.code, 0) << audit.output;
  EXPECT_TRUE(Contains(audit.output, "bob")) << audit.output;
  EXPECT_TRUE(Contains(audit.output, "refused")) << audit.output;

  // The same tree again names its version; a changed one becomes version 2.
  CliResult same = Shoal(c, alice, {"data", "push", src.string(), "--name", "tables", "--private"});
  ASSERT_EQ(same.code, 0) << same.output;
  EXPECT_TRUE(Contains(same.output, "datasets/alice/tables@1 already holds")) << same.output;
  std::ofstream(src / "sub" / "more.csv") << "label\n3\n";
  CliResult second =
      Shoal(c, alice, {"data", "push", src.string(), "--name", "tables", "--private"});
  ASSERT_EQ(second.code, 0) << second.output;
  EXPECT_TRUE(Contains(second.output, "@2: 4 files")) << second.output;

  CliResult rm = Shoal(c, alice, {"data", "rm", "tables@1"});
  EXPECT_EQ(rm.code, 0) << rm.output;
  CliResult gone = Shoal(c, alice, {"data", "show", "tables@1"});
  EXPECT_EQ(gone.code, 4) << gone.output;
  // A bad PATH is a usage error and sends nothing.
  CliResult bad = Shoal(c, alice, {"data", "push", c.dir() + "/nope", "--name", "t", "--public"});
  EXPECT_EQ(bad.code, 2) << bad.output;
}

// Four files of 16 MB of random bytes under `src`; returns the chunk ids a push sends, in order.
std::vector<std::string> RandomTree(const fs::path& src, uint64_t seed) {
  fs::create_directories(src);
  std::mt19937_64 rng(seed);
  for (int f = 0; f < 4; ++f) {
    std::string bytes(16'000'000, '\0');
    for (char& ch : bytes) ch = static_cast<char>(rng());
    std::ofstream(src / ("part-" + std::to_string(f)), std::ios::binary) << bytes;
  }
  std::vector<std::string> ids;
  Status built =
      BuildManifest(src.string(), ChunkerParams(), [&](std::string_view, const std::string& sha) {
        ids.push_back(sha);
        return Status::Ok();
      }).status();
  EXPECT_TRUE(built.ok()) << built.ToString();
  return ids;
}

// A push killed with SIGKILL half-way resumes when run again: the chunks the scheduler verified
// before the kill are not sent a second time.
TEST(DataCliTest, APushKilledHalfWayResumes) {
  Cluster c;
  c.StartScheduler();
  const std::string alice = c.CreateToken("alice", "user");
  const fs::path src = c.dir() + "/big";
  const std::vector<std::string> ids = RandomTree(src, 5);
  ASSERT_FALSE(ids.empty());
  const json query = {{"chunks", ids}};
  auto stored = [&]() -> size_t {
    auto r = c.client(alice).Do("POST", "/v1/datasets/alice/big/chunks/missing", query.dump());
    if (!r.ok() || r->status != 200) return 0;
    return ids.size() - json::parse(r->body)["missing"].size();
  };

  std::vector<std::string> argv = {SHOAL_CLI_BIN, "--scheduler", c.url(),   "--token",
                                   alice,         "data",        "push",    src.string(),
                                   "--name",      "big",         "--public"};
  Process first(argv, c.dir() + "/cli-killed.log");
  ASSERT_TRUE(first.Start());
  size_t before_kill = 0;
  Cluster::WaitUntil([&] { return (before_kill = stored()) > 0 || !first.running(); }, 60s);
  first.Signal(SIGKILL);
  first.Wait(10s);
  const size_t after_kill = stored();
  if (after_kill == ids.size()) GTEST_SKIP() << "the push finished before it could be killed";
  ASSERT_GT(after_kill, 0u);

  CliResult rerun = Shoal(c, alice, {"data", "push", src.string(), "--name", "big", "--public"});
  ASSERT_EQ(rerun.code, 0) << rerun.output;
  EXPECT_TRUE(Contains(rerun.output, "pushed datasets/alice/big@1: 4 files, 64.0 MB"))
      << rerun.output;
  // Uploads in flight at the kill may still have been stored after it: at least after_kill.
  std::set<std::string> distinct(ids.begin(), ids.end());
  std::smatch m;
  ASSERT_TRUE(std::regex_search(
      rerun.output, m,
      std::regex(R"(sent [0-9.]+ MB in ([0-9]+) chunks \(([0-9]+) chunks already stored\))")))
      << rerun.output;
  const size_t sent = std::stoul(m[1]), already = std::stoul(m[2]);
  EXPECT_GE(already, after_kill) << rerun.output;
  EXPECT_EQ(sent + already, distinct.size()) << rerun.output;
}

// The scheduler killed (-9) in the middle of a push: after its restart the dataset has no
// version (nothing half-visible: chunks are whole files or absent, a version is one transaction),
// every stored chunk reads back whole, and the same push run again completes.
TEST(DataCliTest, ASchedulerKilledDuringAPushShowsNothingHalfDone) {
  Cluster c;
  c.StartScheduler();
  const std::string alice = c.CreateToken("alice", "user");
  const fs::path src = c.dir() + "/big";
  const std::vector<std::string> ids = RandomTree(src, 7);
  ASSERT_FALSE(ids.empty());
  const json query = {{"chunks", ids}};
  auto missing = [&]() -> json {
    auto r = c.client(alice).Do("POST", "/v1/datasets/alice/big/chunks/missing", query.dump());
    return r.ok() && r->status == 200 ? json::parse(r->body)["missing"] : json();
  };
  std::vector<std::string> argv = {SHOAL_CLI_BIN, "--scheduler", c.url(),   "--token",
                                   alice,         "data",        "push",    src.string(),
                                   "--name",      "big",         "--public"};
  Process push(argv, c.dir() + "/cli-push.log");
  ASSERT_TRUE(push.Start());
  Cluster::WaitUntil(
      [&] {
        const json m = missing();
        return (m.is_array() && m.size() < ids.size()) || !push.running();
      },
      60s);
  c.KillScheduler(SIGKILL);
  push.Wait(60s);  // fails (or finished first: then the version is whole, checked below)
  c.StartScheduler();
  auto card = c.client(alice).Do("GET", "/v1/datasets/alice/big");
  ASSERT_TRUE(card.ok());
  ASSERT_EQ(card->status, 200) << card->body;
  const json versions = json::parse(card->body)["versions"];
  std::cout << "after the restart: " << versions.size() << " versions, "
            << ids.size() - missing().size() << " of " << ids.size() << " chunks stored\n";
  if (versions.empty()) {
    // Every chunk the restarted scheduler says it has is whole: it reads back under its name.
    const json left = missing();
    ASSERT_TRUE(left.is_array());
    std::set<std::string> absent(left.begin(), left.end());
    for (const std::string& id : ids) {
      if (absent.count(id) > 0) continue;
      auto r = c.client(alice).Do("GET", "/v1/datasets/alice/big/chunks/" + id);
      // Not yet part of a version: readable only once a manifest names it (404), never corrupt.
      ASSERT_TRUE(r.ok());
      EXPECT_NE(r->status, 500) << id << ": " << r->body;
    }
  } else {
    ASSERT_EQ(versions.size(), 1u) << card->body;  // the push finished before the kill
  }
  CliResult rerun = Shoal(c, alice, {"data", "push", src.string(), "--name", "big", "--public"});
  ASSERT_EQ(rerun.code, 0) << rerun.output;
  auto after = c.client(alice).Do("GET", "/v1/datasets/alice/big");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(json::parse(after->body)["versions"].size(), 1u) << after->body;
  EXPECT_EQ(json::parse(after->body)["bytes"], 64'000'000) << after->body;
  // And the data pulled back is the data pushed.
  const fs::path dst = c.dir() + "/pulled";
  CliResult pull = Shoal(c, alice, {"data", "pull", "big", dst.string()});
  ASSERT_EQ(pull.code, 0) << pull.output;
  for (int f = 0; f < 4; ++f) {
    const std::string name = "part-" + std::to_string(f);
    EXPECT_EQ(ReadFile(dst / name), ReadFile(src / name)) << name;
  }
}

}  // namespace
}  // namespace shoal::testing
