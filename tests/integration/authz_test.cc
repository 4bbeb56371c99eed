// The authorization matrix (issue 5, 6c) against a real scheduler and real workers: requests
// without a token, with a malformed or revoked one, with the wrong role, on another user's job,
// and as a worker acting on another worker's assignment are all refused (401/403), and none of
// them changes anything: the job keeps running on the same attempt, the workers, accounts and
// tokens are as before. Then the rightful callers are let through.
#include <chrono>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/sha256.h"
#include "tests/integration/cluster.h"

namespace shoal::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

struct Probe {
  std::string who;  // for the failure message
  std::string token;  // "" = no Authorization header; "raw:X" = the header value X
  std::string method, target, body;
  int status;
  bool checksum = false;  // send X-Shoal-Sha256 of the body (a well-formed checkpoint upload)
};

HttpResponse Send(const Cluster& c, const Probe& p) {
  HttpClient http(c.url(), 10s);
  if (p.token.rfind("raw:", 0) == 0) {
    http.SetDefaultHeader("Authorization", p.token.substr(4));
  } else if (!p.token.empty()) {
    http.SetDefaultHeader("Authorization", "Bearer " + p.token);
  }
  std::map<std::string, std::string> headers;
  if (p.checksum) headers["X-Shoal-Sha256"] = Sha256Hex(p.body);
  auto r = http.Do(p.method, p.target, p.body, "application/octet-stream", 0ms, headers);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : HttpResponse{};
}

// What a refused request must not have changed.
json Observable(Cluster& c, int64_t job) {
  json j = c.Job(job);
  json workers = json::array();
  for (const auto& w : c.Workers()) {
    workers.push_back({w["id"], w["name"], w["account"], w["state"]});
  }
  auto tokens = c.client().DoJson("GET", "/v1/tokens");
  auto accounts = c.client().DoJson("GET", "/v1/accounts");
  json names = json::array();
  if (accounts.ok()) {
    for (const auto& a : (*accounts)["accounts"]) names.push_back(a["name"]);
  }
  auto jobs = c.client().DoJson("GET", "/v1/jobs");
  return {{"state", j["state"]},
          {"attempts", j["attempts"]},
          {"jobs", jobs.ok() ? (*jobs)["jobs"].size() : 0},
          {"workers", workers},
          {"tokens", tokens.ok() ? (*tokens)["tokens"] : json()},
          {"accounts", names}};
}

TEST(AuthzTest, EveryUnauthorizedRequestIsRefusedAndChangesNothing) {
  if (!Cluster::HaveFashionMnist()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  Cluster c;
  c.StartScheduler();
  c.StartWorker("wa", {"--account", "lab-a"});
  c.StartWorker("wb", {"--account", "lab-b"});
  ASSERT_TRUE(Cluster::WaitUntil([&] { return c.Workers().size() == 2; }, 15s));
  const std::string alice = c.CreateToken("alice", "user");
  const std::string alice_old = c.CreateToken("alice", "user");
  const std::string bob = c.CreateToken("bob", "user");
  const std::string lab_a = c.CreateToken("lab-a", "contributor");
  const std::string lab_b = c.CreateToken("lab-b", "contributor");

  // alice's job: long enough to be running throughout the matrix.
  std::string yaml = Replace(Cluster::ReadRepoFile("configs/jobs/tiny-mlp.yaml"), "epochs: 1",
                             "epochs: 200");
  auto submitted = c.client(alice).Do("POST", "/v1/jobs", yaml, "application/yaml");
  ASSERT_TRUE(submitted.ok() && submitted->status == 201)
      << (submitted.ok() ? submitted->body : submitted.status().ToString());
  const int64_t id = json::parse(submitted->body)["id"].get<int64_t>();
  const std::string job = "/v1/jobs/" + std::to_string(id);
  ASSERT_TRUE(c.WaitForState(id, "RUNNING", 30s)) << c.Job(id).dump();
  // The worker running it, and the other one (whose contributor must not act for it).
  const std::string runner = c.Job(id)["placement"][0];
  std::string runner_token = lab_a, other_token = lab_b, other_worker;
  for (const auto& w : c.Workers()) {
    if (w["id"] != runner) other_worker = w["id"];
    if (w["id"] == runner && w["account"] == "lab-b") std::swap(runner_token, other_token);
  }
  ASSERT_FALSE(other_worker.empty());
  const std::string runner_name = runner_token == lab_a ? "wa" : "wb";

  // Revoke one of alice's tokens (by alice herself: an account may revoke its own tokens).
  auto mine = c.client(alice).DoJson("GET", "/v1/tokens");
  ASSERT_TRUE(mine.ok()) << mine.status().ToString();
  ASSERT_EQ((*mine)["tokens"].size(), 2u) << mine->dump();  // only alice's own
  const int64_t old_id = (*mine)["tokens"][1]["id"];
  auto revoked = c.client(alice).Do("DELETE", "/v1/tokens/" + std::to_string(old_id));
  ASSERT_TRUE(revoked.ok() && revoked->status == 200) << (revoked.ok() ? revoked->body : "");

  const json exit_event = {
      {"events", json::array({{{"type", "exit"}, {"job", id}, {"attempt", 1}, {"rank", 0},
                               {"exitCode", 1}}})}};
  const std::string kv = job + "/attempts/1/kv/gloo-rank0";
  const std::string ckpt = job + "/checkpoints/5?attempt=1&worker=" + runner;
  const std::string spec = Cluster::ReadRepoFile("configs/jobs/tiny-mlp.yaml");
  const std::vector<Probe> probes = {
      // No token, or not a valid one.
      {"no token", "", "GET", "/v1/jobs", "", 401},
      {"no token", "", "POST", "/v1/jobs", spec, 401},
      {"no token", "", "DELETE", job, "", 401},
      {"no token", "", "GET", "/v1/workers", "", 401},
      {"no token", "", "POST", "/v1/workers/register", R"({"name":"x","slots":1})", 401},
      {"no token", "", "POST", "/v1/workers/" + runner + "/heartbeat", R"({"running":[]})", 401},
      {"no token", "", "PUT", kv, "addr", 401},
      {"no token", "", "GET", "/v1/accounts", "", 401},
      {"no token", "", "POST", "/v1/tokens", R"({"account":"alice","role":"admin"})", 401},
      {"unknown token", "shoal_0000000000000000000000000000000000000000", "GET", job, "", 401},
      {"basic auth", "raw:Basic YWxpY2U6cHc=", "GET", job, "", 401},
      {"empty bearer", "raw:Bearer ", "GET", job, "", 401},
      {"revoked token", alice_old, "GET", job, "", 401},
      {"revoked token", alice_old, "DELETE", job, "", 401},
      {"revoked token", alice_old, "POST", "/v1/jobs", spec, 401},
      // The wrong role.
      {"user registers a worker", bob, "POST", "/v1/workers/register",
       R"({"name":"sneaky","slots":4})", 403},
      {"user heartbeats a worker", alice, "POST", "/v1/workers/" + runner + "/heartbeat",
       R"({"running":[]})", 403},
      {"user posts worker events", alice, "POST", "/v1/workers/" + runner + "/events",
       exit_event.dump(), 403},
      {"user writes the kv", alice, "PUT", kv, "addr", 403},
      {"user uploads a checkpoint", alice, "PUT", ckpt, "x", 403, true},
      {"user creates an account", alice, "POST", "/v1/accounts", R"({"name":"mallory"})", 403},
      {"user creates a token", alice, "POST", "/v1/tokens",
       R"({"account":"alice","role":"admin"})", 403},
      {"contributor submits", lab_a, "POST", "/v1/jobs", spec, 403},
      {"contributor lists jobs", lab_a, "GET", "/v1/jobs", "", 403},
      {"contributor cancels", runner_token, "DELETE", job, "", 403},
      {"contributor reads logs", runner_token, "GET", job + "/logs", "", 403},
      {"contributor creates a token", lab_a, "POST", "/v1/tokens",
       R"({"account":"lab-a","role":"admin"})", 403},
      // A worker's credential sits on a contributor's machine: it manages no tokens.
      {"contributor lists its account's tokens", lab_a, "GET", "/v1/tokens", "", 403},
      {"contributor revokes a user's token", lab_a, "DELETE",
       "/v1/tokens/" + std::to_string(old_id - 1), "", 403},
      // Another user's job.
      {"bob reads alice's job", bob, "GET", job, "", 403},
      {"bob cancels alice's job", bob, "DELETE", job, "", 403},
      {"bob reads alice's logs", bob, "GET", job + "/logs", "", 403},
      {"bob reads alice's metrics", bob, "GET", job + "/metrics", "", 403},
      {"bob lists alice's checkpoints", bob, "GET", job + "/checkpoints", "", 403},
      {"bob lists alice's jobs", bob, "GET", "/v1/jobs?owner=alice", "", 403},
      {"bob revokes alice's token", bob, "DELETE", "/v1/tokens/" + std::to_string(old_id - 1), "",
       403},
      {"bob lists alice's tokens", bob, "GET", "/v1/tokens?account=alice", "", 403},
      // A worker acting on another worker's assignment.
      {"other contributor heartbeats the runner", other_token, "POST",
       "/v1/workers/" + runner + "/heartbeat", R"({"running":[]})", 403},
      {"other contributor fails the rank", other_token, "POST",
       "/v1/workers/" + runner + "/events", exit_event.dump(), 403},
      {"other contributor uploads a checkpoint", other_token, "PUT", ckpt, "x", 403, true},
      {"other contributor uploads as its own worker", other_token, "PUT",
       job + "/checkpoints/5?attempt=1&worker=" + other_worker, "x", 403, true},
      {"other contributor writes the kv", other_token, "PUT", kv, "addr", 403},
      {"other contributor reads the kv", other_token, "GET", kv, "", 403},
      {"other contributor reads checkpoints", other_token, "GET", job + "/checkpoints", "", 403},
      {"other contributor takes the runner's name", other_token, "POST", "/v1/workers/register",
       json{{"name", runner_name}, {"slots", 1}}.dump(), 403},
      {"contributor registers for another account", other_token, "POST", "/v1/workers/register",
       json{{"name", "fresh"}, {"slots", 1}, {"account", "alice"}}.dump(), 403},
  };
  const json before = Observable(c, id);
  ASSERT_EQ(before["state"], "RUNNING");
  for (const Probe& p : probes) {
    HttpResponse r = Send(c, p);
    EXPECT_EQ(r.status, p.status) << p.who << ": " << p.method << " " << p.target << " -> "
                                  << r.body;
    auto body = json::parse(r.body, nullptr, false);
    EXPECT_TRUE(body.is_object() && body.contains("error")) << p.who << ": " << r.body;
  }
  const json after = Observable(c, id);
  EXPECT_EQ(after, before) << "before: " << before.dump(1) << "\nafter: " << after.dump(1);
  std::printf("[authz] %zu unauthorized requests refused, nothing changed\n", probes.size());

  // bob's list is his own (empty); alice sees hers; the admin sees everything.
  auto bobs = c.client(bob).DoJson("GET", "/v1/jobs");
  ASSERT_TRUE(bobs.ok());
  EXPECT_TRUE((*bobs)["jobs"].empty()) << bobs->dump();
  auto alices = c.client(alice).DoJson("GET", "/v1/jobs");
  ASSERT_TRUE(alices.ok());
  ASSERT_EQ((*alices)["jobs"].size(), 1u);
  EXPECT_EQ((*alices)["jobs"][0]["owner"], "alice");
  // The rightful callers get through: the runner's contributor reads the job's checkpoints (as
  // its worker does to resume), and alice cancels her job.
  auto runner_reads = c.client(runner_token).Do("GET", job + "/checkpoints");
  ASSERT_TRUE(runner_reads.ok());
  EXPECT_EQ(runner_reads->status, 200) << runner_reads->body;
  auto cancel = c.client(alice).Do("DELETE", job);
  ASSERT_TRUE(cancel.ok());
  EXPECT_EQ(cancel->status, 200) << cancel->body;
  EXPECT_TRUE(c.WaitForState(id, "CANCELLED", 10s));
}

// Revoking a worker's contributor token stops it acting for the pool: its next heartbeat is
// refused and the worker process exits (2) instead of retrying forever.
TEST(AuthzTest, WorkerWithARevokedTokenLeaves) {
  Cluster c;
  c.StartScheduler();
  const std::string token = c.CreateToken("lab-c", "contributor");
  Process* w = c.StartWorker("wc", {"--token", token});
  ASSERT_TRUE(Cluster::WaitUntil([&] { return c.Workers().size() == 1; }, 15s));
  auto tokens = c.client().DoJson("GET", "/v1/tokens?account=lab-c");
  ASSERT_TRUE(tokens.ok());
  const int64_t token_id = (*tokens)["tokens"].back()["id"];
  auto revoked = c.client().Do("DELETE", "/v1/tokens/" + std::to_string(token_id));
  ASSERT_TRUE(revoked.ok() && revoked->status == 200);
  EXPECT_EQ(w->Wait(15s), 2) << "the worker should exit with 2 once its token is refused";
}

}  // namespace
}  // namespace shoal::testing
