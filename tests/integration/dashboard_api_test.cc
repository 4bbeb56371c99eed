// The dashboard's server side (docs/dashboard.md) against a real scheduler: its assets at /ui/
// under a strict Content-Security-Policy, the token-for-cookie login with CSRF protection on
// every mutating call, sessions ending with their token or on logout, and the paging, filtering
// and downsampling the dashboard's views read the API with.
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "tests/integration/cluster.h"

namespace shoal::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr char kTinyJob[] = R"(apiVersion: shoal/v1
kind: TrainingJob
metadata: {name: NAME}
spec:
  resources: {backend: cpu, gpusPerWorker: 0}
  model: {layers: [4, 3]}
  data: {train: /d}
)";

class DashboardApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ui_dir_ = cluster_.dir() + "/ui";
    std::filesystem::create_directories(ui_dir_ + "/vendor");
    std::ofstream(ui_dir_ + "/index.html") << "<!doctype html><script src=\"app.js\"></script>";
    std::ofstream(ui_dir_ + "/app.js") << "console.log('shoal');\n";
    std::ofstream(ui_dir_ + "/vendor/chart.css") << ".u{}\n";
    cluster_.StartScheduler({"--ui-dir", ui_dir_});
  }

  // A request with the given Cookie / X-CSRF-Token headers ("" = none), no Authorization.
  HttpResponse Browser(const std::string& method, const std::string& target,
                       const std::string& cookie, const std::string& csrf = "",
                       const std::string& body = "") {
    HttpClient http(cluster_.url(), 10s);
    std::map<std::string, std::string> headers;
    if (!cookie.empty()) headers["Cookie"] = cookie;
    if (!csrf.empty()) headers["X-CSRF-Token"] = csrf;
    auto r = http.Do(method, target, body, "application/json", 0ms, headers);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : HttpResponse{};
  }

  // Logs in with `token`: the cookie to send back ("shoal_session=...") and the CSRF token.
  std::pair<std::string, std::string> LogIn(const std::string& token) {
    HttpResponse r =
        Browser("POST", "/ui/api/session", "", "", json{{"token", token}}.dump());
    EXPECT_EQ(r.status, 200) << r.body;
    const std::string set_cookie = r.headers["set-cookie"];
    EXPECT_NE(set_cookie.find("HttpOnly"), std::string::npos) << set_cookie;
    EXPECT_NE(set_cookie.find("SameSite=Strict"), std::string::npos) << set_cookie;
    EXPECT_EQ(set_cookie.find("Secure"), std::string::npos) << "plain HTTP: " << set_cookie;
    const auto body = json::parse(r.body, nullptr, false);
    return {set_cookie.substr(0, set_cookie.find(';')), body.value("csrf", "")};
  }

  Cluster cluster_;
  std::string ui_dir_;
};

TEST_F(DashboardApiTest, AssetsComeWithAStrictContentSecurityPolicy) {
  HttpResponse page = Browser("GET", "/ui/", "");
  ASSERT_EQ(page.status, 200);
  EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
  const std::string csp = page.headers["content-security-policy"];
  EXPECT_NE(csp.find("script-src 'self'"), std::string::npos) << csp;
  EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos) << csp;
  EXPECT_EQ(csp.find("unsafe"), std::string::npos) << "no inline script or eval: " << csp;
  EXPECT_EQ(page.headers["x-content-type-options"], "nosniff");
  EXPECT_EQ(Browser("GET", "/ui", "").status, 308);
  HttpResponse js = Browser("GET", "/ui/app.js", "");
  EXPECT_EQ(js.status, 200);
  EXPECT_EQ(js.content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(Browser("GET", "/ui/vendor/chart.css", "").content_type, "text/css; charset=utf-8");
  EXPECT_EQ(Browser("GET", "/ui/missing.js", "").status, 404);
  EXPECT_EQ(Browser("GET", "/ui/%2e%2e/%2e%2e/etc/passwd", "").status, 404);
  EXPECT_EQ(Browser("POST", "/ui/app.js", "").status, 405);
}

TEST_F(DashboardApiTest, ATokenBecomesASessionAndMutationsNeedItsCsrfToken) {
  const std::string token = cluster_.CreateToken("alice", "user");
  EXPECT_EQ(Browser("POST", "/ui/api/session", "", "", R"({"token": "shoal_nope"})").status, 401);
  EXPECT_EQ(Browser("POST", "/ui/api/session", "", "", "not json").status, 400);
  EXPECT_EQ(Browser("GET", "/ui/api/session", "").status, 401);
  auto [cookie, csrf] = LogIn(token);
  ASSERT_EQ(csrf.size(), 64u);

  HttpResponse who = Browser("GET", "/v1/whoami", cookie);
  ASSERT_EQ(who.status, 200) << who.body;
  EXPECT_EQ(json::parse(who.body)["account"], "alice");
  HttpResponse again = Browser("GET", "/ui/api/session", cookie);
  ASSERT_EQ(again.status, 200);
  EXPECT_EQ(json::parse(again.body)["csrf"], csrf);

  // A mutation without the CSRF token, or with another one, is refused and changes nothing.
  const std::string spec = std::string(kTinyJob).replace(std::string(kTinyJob).find("NAME"), 4, "x");
  EXPECT_EQ(Browser("POST", "/v1/jobs", cookie, "", spec).status, 403);
  EXPECT_EQ(Browser("POST", "/v1/jobs", cookie, std::string(64, 'a'), spec).status, 403);
  EXPECT_EQ(json::parse(Browser("GET", "/v1/jobs", cookie).body)["jobs"].size(), 0u);
  HttpResponse submitted = Browser("POST", "/v1/jobs", cookie, csrf, spec);
  ASSERT_EQ(submitted.status, 201) << submitted.body;
  const int64_t id = json::parse(submitted.body)["id"];
  // Cancel is the same: the owner's session with its token only.
  EXPECT_EQ(Browser("DELETE", "/v1/jobs/" + std::to_string(id), cookie).status, 403);
  EXPECT_EQ(Browser("DELETE", "/v1/jobs/" + std::to_string(id), cookie, csrf).status, 200);

  // Another account's session cannot see the job (404, as if it did not exist).
  auto [bob_cookie, bob_csrf] = LogIn(cluster_.CreateToken("bob", "user"));
  EXPECT_EQ(Browser("GET", "/v1/jobs/" + std::to_string(id), bob_cookie).status, 404);
  // Nor can a forged cookie.
  EXPECT_EQ(Browser("GET", "/v1/whoami", "shoal_session=" + std::string(64, '0')).status, 401);

  // Logging out needs the CSRF token, then the cookie is dead.
  EXPECT_EQ(Browser("DELETE", "/ui/api/session", cookie).status, 403);
  HttpResponse out = Browser("DELETE", "/ui/api/session", cookie, csrf);
  EXPECT_EQ(out.status, 200);
  EXPECT_NE(out.headers["set-cookie"].find("Max-Age=0"), std::string::npos);
  EXPECT_EQ(Browser("GET", "/v1/whoami", cookie).status, 401);
}

TEST_F(DashboardApiTest, RevokingTheTokenEndsItsSessions) {
  const std::string token = cluster_.CreateToken("carol", "user");
  auto [cookie, csrf] = LogIn(token);
  ASSERT_EQ(Browser("GET", "/v1/whoami", cookie).status, 200);
  auto tokens = cluster_.client().DoJson("GET", "/v1/tokens");
  ASSERT_TRUE(tokens.ok());
  int64_t token_id = 0;
  for (const auto& t : (*tokens)["tokens"]) {
    if (t["account"] == "carol") token_id = t["id"];
  }
  ASSERT_GT(token_id, 0);
  ASSERT_TRUE(cluster_.client().Do("DELETE", "/v1/tokens/" + std::to_string(token_id)).ok());
  EXPECT_EQ(Browser("GET", "/v1/whoami", cookie).status, 401);
  EXPECT_EQ(Browser("GET", "/ui/api/session", cookie).status, 401);
}

TEST_F(DashboardApiTest, JobsPageNewestFirstWithFiltersAndMetricsBounds) {
  for (int i = 0; i < 25; ++i) {
    std::string spec = kTinyJob;
    spec.replace(spec.find("NAME"), 4, (i % 5 == 0 ? "train-" : "eval-") + std::to_string(i));
    cluster_.Submit(spec);
  }
  HttpClient admin = cluster_.client();
  std::set<int64_t> seen;
  std::string target = "/v1/jobs?limit=10";
  int64_t last = std::numeric_limits<int64_t>::max();
  for (int page = 0; page < 3; ++page) {
    auto r = admin.DoJson("GET", target);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ((*r)["total"], 25);
    EXPECT_LE((*r)["jobs"].size(), 10u);
    for (const auto& j : (*r)["jobs"]) {
      EXPECT_LT(j["id"].get<int64_t>(), last) << "newest first";
      last = j["id"];
      seen.insert(last);
    }
    if (page < 2) {
      ASSERT_TRUE(r->contains("next")) << r->dump();
      target = "/v1/jobs?limit=10&before=" + std::to_string((*r)["next"].get<int64_t>());
    } else {
      EXPECT_FALSE(r->contains("next"));
    }
  }
  EXPECT_EQ(seen.size(), 25u);
  auto train = admin.DoJson("GET", "/v1/jobs?limit=100&q=train-");
  ASSERT_TRUE(train.ok());
  EXPECT_EQ((*train)["total"], 5);
  auto queued = admin.DoJson("GET", "/v1/jobs?limit=100&state=PENDING,RUNNING,RESTARTING");
  ASSERT_TRUE(queued.ok());
  EXPECT_EQ((*queued)["total"], 25);
  for (const char* bad : {"limit=0", "limit=1001", "before=x", "state=PENDING,NAPPING"}) {
    auto r = admin.Do("GET", std::string("/v1/jobs?") + bad);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status, 400) << bad;
  }
  const std::string metrics = "/v1/jobs/" + std::to_string(*seen.begin()) + "/metrics";
  EXPECT_EQ(admin.Do("GET", metrics + "?maxPoints=500")->status, 200);
  EXPECT_EQ(admin.Do("GET", metrics + "?maxPoints=0")->status, 400);
}

}  // namespace
}  // namespace shoal::testing
