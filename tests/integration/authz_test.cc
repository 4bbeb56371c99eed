// The authorization matrix (issue 5, 6c, 8) against a real scheduler and real workers: requests
// without a token, with a malformed, revoked or expired one, with the wrong role, on another
// user's job, and as a worker acting on another worker's assignment are all refused (401/403, and
// 404 for a job the caller may not see), and none of them changes anything: the job keeps running
// on the same attempt, the workers, accounts and tokens are as before. Then the rightful callers
// are let through, and what each caller sees of the others' workers and of /metrics is checked
// under the default (private) visibility and under a public one.
#include <chrono>
#include <map>
#include <string>
#include <thread>
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
  // Every request that authenticates moves its token's lastUsedMs: not a change a refusal made.
  if (tokens.ok()) {
    for (auto& t : (*tokens)["tokens"]) t.erase("lastUsedMs");
  }
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
  // A token that expires in a second: refused (401, "expired") by the time the probes run.
  json short_body = {
      {"account", "alice"}, {"role", "user"}, {"label", "short"}, {"expiresIn", "1s"}};
  auto expiring = c.client().DoJson("POST", "/v1/tokens", &short_body);
  ASSERT_TRUE(expiring.ok()) << expiring.status().ToString();
  const std::string alice_short = (*expiring)["token"];
  const int64_t short_expiry = (*expiring)["expiresMs"];
  EXPECT_NEAR(short_expiry - (*expiring)["createdMs"].get<int64_t>(), 1000, 5);
  // A bad expiry is a 400 naming the field, and makes no token.
  for (const json& bad :
       {json{{"expiresIn", "30x"}}, json{{"expiresIn", "0s"}}, json{{"expiresIn", 30}},
        json{{"expiresAtMs", 1000}}, json{{"expiresIn", "1d"}, {"expiresAtMs", 4102444800000}}}) {
    json body = bad;
    body.update(json{{"account", "alice"}, {"role", "user"}});
    auto r = c.client().Do("POST", "/v1/tokens", body.dump());
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status, 400) << bad.dump() << " -> " << r->body;
  }

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
      {"expired token", alice_short, "GET", job, "", 401},
      {"expired token", alice_short, "GET", "/v1/jobs", "", 401},
      {"expired token", alice_short, "POST", "/v1/jobs", spec, 401},
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
      {"user creates a token", alice, "POST", "/v1/tokens", R"({"account":"alice","role":"admin"})",
       403},
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
      // Another user's job: 404, exactly as a job that does not exist (visibility.jobs: owner).
      {"bob reads alice's job", bob, "GET", job, "", 404},
      {"bob cancels alice's job", bob, "DELETE", job, "", 404},
      {"bob reads alice's logs", bob, "GET", job + "/logs", "", 404},
      {"bob reads alice's metrics", bob, "GET", job + "/metrics", "", 404},
      {"bob lists alice's checkpoints", bob, "GET", job + "/checkpoints", "", 404},
      {"bob lists alice's jobs", bob, "GET", "/v1/jobs?owner=alice", "", 403},
      {"bob revokes alice's token", bob, "DELETE", "/v1/tokens/" + std::to_string(old_id - 1), "",
       403},
      {"bob lists alice's tokens", bob, "GET", "/v1/tokens?account=alice", "", 403},
      // A worker acting on another worker's assignment.
      {"other contributor heartbeats the runner", other_token, "POST",
       "/v1/workers/" + runner + "/heartbeat", R"({"running":[]})", 403},
      {"other contributor fails the rank", other_token, "POST", "/v1/workers/" + runner + "/events",
       exit_event.dump(), 403},
      {"other contributor uploads a checkpoint", other_token, "PUT", ckpt, "x", 404, true},
      {"other contributor uploads as its own worker", other_token, "PUT",
       job + "/checkpoints/5?attempt=1&worker=" + other_worker, "x", 404, true},
      {"other contributor writes the kv", other_token, "PUT", kv, "addr", 404},
      {"other contributor reads the kv", other_token, "GET", kv, "", 404},
      {"other contributor reads checkpoints", other_token, "GET", job + "/checkpoints", "", 404},
      // Its own worker, with a malformed cache report: 400, before anything of it is applied.
      {"runner reports a bad cached digest", runner_token, "POST",
       "/v1/workers/" + runner + "/heartbeat",
       R"({"running":[],"cached":[{"digest":"nothex","bytes":1}]})", 400},
      {"runner reports negative cache stats", runner_token, "POST",
       "/v1/workers/" + runner + "/heartbeat", R"({"running":[],"cache":{"hits":-1}})", 400},
      {"other contributor takes the runner's name", other_token, "POST", "/v1/workers/register",
       json{{"name", runner_name}, {"slots", 1}}.dump(), 403},
      {"contributor registers for another account", other_token, "POST", "/v1/workers/register",
       json{{"name", "fresh"}, {"slots", 1}, {"account", "alice"}}.dump(), 403},
  };
  // The expiring token has expired (its probes are 401 for that reason, not another).
  while (std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
             .count() <= short_expiry) {
    std::this_thread::sleep_for(50ms);
  }
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

  // An expired token is told so, without the token echoed; the listing shows the expiry.
  auto expired = Send(c, {"expired", alice_short, "GET", job, "", 401});
  EXPECT_NE(expired.body.find("expired"), std::string::npos) << expired.body;
  EXPECT_EQ(expired.body.find(alice_short.substr(6)), std::string::npos) << expired.body;
  auto listed = c.client(alice).DoJson("GET", "/v1/tokens");
  ASSERT_TRUE(listed.ok());
  int expired_listed = 0;
  for (const auto& t : (*listed)["tokens"]) {
    if (t.value("label", "") != "short") continue;
    ++expired_listed;
    EXPECT_EQ(t["state"], "expired") << t.dump();
    EXPECT_EQ(t["expiresMs"], short_expiry) << t.dump();
    EXPECT_FALSE(t.contains("lastUsedMs")) << "refused requests do not count as use: " << t.dump();
  }
  EXPECT_EQ(expired_listed, 1) << listed->dump();
  // alice's token was just used: its lastUsedMs is about now.
  for (const auto& t : (*listed)["tokens"]) {
    if (t.value("state", "") == "valid") {
      EXPECT_GT(t.value("lastUsedMs", int64_t{0}), short_expiry) << t.dump();
    }
  }

  // 404 for another account's job is the 404 of a job that does not exist: same code, same
  // message shape, so the answer tells bob nothing about which ids exist.
  auto hidden = Send(c, {"bob", bob, "GET", job, "", 404});
  auto missing = Send(c, {"bob", bob, "GET", "/v1/jobs/987654", "", 404});
  EXPECT_EQ(Replace(hidden.body, std::to_string(id), "N"), Replace(missing.body, "987654", "N"));

  // GET /v1/workers (visibility.workers: owner): each caller sees its own account's workers in
  // full and the others without name, host or account, with only the caller's own ranks.
  auto workers_as = [&](const std::string& token) {
    std::map<std::string, json> by_id;
    auto r = c.client(token).DoJson("GET", "/v1/workers");
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (r.ok()) {
      for (const auto& w : (*r)["workers"]) by_id[w["id"]] = w;
    }
    return by_id;
  };
  const std::string runner_account = runner_token == lab_a ? "lab-a" : "lab-b";
  for (const auto& [who, token] :
       std::vector<std::pair<std::string, std::string>>{{"alice", alice}, {"bob", bob}}) {
    auto seen = workers_as(token);
    ASSERT_EQ(seen.size(), 2u) << who;
    for (const auto& [wid, w] : seen) {
      EXPECT_FALSE(w.contains("name") || w.contains("host") || w.contains("account"))
          << who << ": " << w.dump();
      EXPECT_EQ(w.value("anonymous", false), true) << who << ": " << w.dump();
      EXPECT_TRUE(w.contains("slots") && w.contains("gpus") && w.contains("state")) << w.dump();
      // alice sees where her own job runs; bob sees no job there, but the slot it takes.
      const size_t ranks = w["ranks"].size();
      EXPECT_EQ(ranks, who == "alice" && wid == runner ? 1u : 0u) << who << ": " << w.dump();
      EXPECT_EQ(w["usedSlots"], wid == runner ? 1 : 0) << who << ": " << w.dump();
    }
  }
  auto as_runner = workers_as(runner_token);
  ASSERT_EQ(as_runner.size(), 2u);
  EXPECT_EQ(as_runner[runner].value("account", ""), runner_account) << as_runner[runner].dump();
  EXPECT_EQ(as_runner[runner]["ranks"].size(), 1u);
  EXPECT_FALSE(as_runner[other_worker].contains("host")) << as_runner[other_worker].dump();
  auto one = c.client(bob).DoJson("GET", "/v1/workers/" + runner);
  ASSERT_TRUE(one.ok());
  EXPECT_FALSE(one->contains("name") || one->contains("host")) << one->dump();
  for (const auto& [wid, w] : workers_as(c.admin_token())) {
    EXPECT_TRUE(w.contains("host") && w.contains("account")) << w.dump();
  }

  // GET /v1/accounts (visibility.accounts: owner): bob's own row only, and how many others there
  // are; the admin sees every account.
  auto bobs_ledger = c.client(bob).DoJson("GET", "/v1/accounts");
  ASSERT_TRUE(bobs_ledger.ok()) << bobs_ledger.status().ToString();
  ASSERT_EQ((*bobs_ledger)["accounts"].size(), 1u) << bobs_ledger->dump();
  EXPECT_EQ((*bobs_ledger)["accounts"][0]["name"], "bob");
  EXPECT_EQ((*bobs_ledger)["otherAccounts"], 4) << "admin, alice, lab-a, lab-b";
  auto admins_ledger = c.client().DoJson("GET", "/v1/accounts");
  ASSERT_TRUE(admins_ledger.ok());
  EXPECT_EQ((*admins_ledger)["accounts"].size(), 5u) << admins_ledger->dump();
  EXPECT_FALSE(admins_ledger->contains("otherAccounts"));

  // /metrics without a token names no account and no job (visibility.metricsNames: false); an
  // admin's scrape does.
  ASSERT_TRUE(Cluster::WaitUntil(
      [&] {
        auto m = c.client().Do("GET", "/metrics");
        return m.ok() && m->body.find("account=\"" + runner_account + "\"") != std::string::npos;
      },
      15s))
      << "the admin's scrape never named the contributing account";
  auto open_scrape = HttpClient(c.url(), 10s).Do("GET", "/metrics");
  ASSERT_TRUE(open_scrape.ok() && open_scrape->status == 200);
  for (const std::string needle : {"account=", "name=", "alice", "lab-a", "lab-b"}) {
    EXPECT_EQ(open_scrape->body.find(needle), std::string::npos) << needle;
  }
  EXPECT_NE(open_scrape->body.find("\nshoal_account_contributed_gpu_seconds "), std::string::npos);
  auto user_scrape = c.client(alice).Do("GET", "/metrics");
  ASSERT_TRUE(user_scrape.ok());
  EXPECT_EQ(user_scrape->body.find("account="), std::string::npos) << "a user's scrape";

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

// Visibility made public by configuration: /metrics names accounts without a token, every token
// sees every worker and every account's ledger in full, and another account's job is 403 (its id
// is confirmed) instead of 404. No training needed: the job cannot be placed and waits.
TEST(AuthzTest, PublicVisibilityIsAnExplicitConfiguration) {
  Cluster c;
  c.StartScheduler({"--visibility-metrics-names=true", "--visibility-workers=all",
                    "--visibility-jobs=exists", "--visibility-accounts=all"});
  c.StartWorker("wa", {"--account", "lab-a"});
  ASSERT_TRUE(Cluster::WaitUntil([&] { return c.Workers().size() == 1; }, 15s));
  const std::string alice = c.CreateToken("alice", "user");
  const std::string bob = c.CreateToken("bob", "user");
  std::string yaml = Replace(Cluster::ReadRepoFile("configs/jobs/tiny-mlp.yaml"),
                             "workers: {min: 1, max: 1}", "workers: {min: 3, max: 3}");
  auto submitted = c.client(alice).Do("POST", "/v1/jobs", yaml, "application/yaml");
  ASSERT_TRUE(submitted.ok() && submitted->status == 201)
      << (submitted.ok() ? submitted->body : submitted.status().ToString());
  const std::string job = "/v1/jobs/" + json::parse(submitted->body)["id"].dump();
  for (const std::string target : {job, job + "/logs", job + "/checkpoints"}) {
    auto r = c.client(bob).Do("GET", target);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status, 403) << target << ": " << r->body;
  }
  auto workers = c.client(bob).DoJson("GET", "/v1/workers");
  ASSERT_TRUE(workers.ok());
  ASSERT_EQ((*workers)["workers"].size(), 1u);
  EXPECT_EQ((*workers)["workers"][0].value("account", ""), "lab-a") << workers->dump();
  EXPECT_TRUE((*workers)["workers"][0].contains("host")) << workers->dump();
  auto ledger = c.client(bob).DoJson("GET", "/v1/accounts");
  ASSERT_TRUE(ledger.ok());
  EXPECT_GE((*ledger)["accounts"].size(), 3u) << ledger->dump();  // lab-a, alice, bob (+ admin)
  EXPECT_FALSE(ledger->contains("otherAccounts")) << ledger->dump();
  // The ledger per account, to a scrape without a token, once the worker has earned something.
  EXPECT_TRUE(Cluster::WaitUntil(
      [&] {
        auto m = HttpClient(c.url(), 10s).Do("GET", "/metrics");
        return m.ok() && m->status == 200 &&
               m->body.find("shoal_account_contributed_gpu_seconds{account=\"lab-a\"}") !=
                   std::string::npos;
      },
      15s));
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
