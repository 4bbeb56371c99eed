// The dashboard's server-side pieces: sessions, cookies, static assets, chart downsampling.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "scheduler/api/api_internal.h"
#include "scheduler/api/views.h"
#include "scheduler/web/static_files.h"
#include "scheduler/web/web_sessions.h"

namespace shoal {
namespace {

TEST(WebSessionsTest, SessionsEndAfterTheirLifetimeAndOnRemoval) {
  int64_t now = 1000;
  WebSessions sessions([&] { return now; }, /*lifetime_ms=*/100, /*max_sessions=*/10);
  const std::string id = sessions.Create("shoal_tok");
  ASSERT_EQ(id.size(), 64u);
  const WebSession* s = sessions.Find(id);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->token, "shoal_tok");
  EXPECT_EQ(s->csrf.size(), 64u);
  EXPECT_NE(s->csrf, id);
  EXPECT_EQ(sessions.Find("nope"), nullptr);
  now += 99;
  EXPECT_NE(sessions.Find(id), nullptr);
  now += 1;
  EXPECT_EQ(sessions.Find(id), nullptr);
  EXPECT_EQ(sessions.size(), 0u);
  const std::string other = sessions.Create("t2");
  sessions.Remove(other);
  EXPECT_EQ(sessions.Find(other), nullptr);
}

TEST(WebSessionsTest, AtTheCapTheSessionEndingSoonestGoes) {
  int64_t now = 0;
  WebSessions sessions([&] { return now; }, 1000, 3);
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    ids.push_back(sessions.Create("t" + std::to_string(i)));
    now += 10;
  }
  const std::string fourth = sessions.Create("t3");
  EXPECT_EQ(sessions.size(), 3u);
  EXPECT_EQ(sessions.Find(ids[0]), nullptr);
  EXPECT_NE(sessions.Find(ids[1]), nullptr);
  EXPECT_NE(sessions.Find(fourth), nullptr);
}

TEST(WebSessionsTest, CookieValueFindsTheNamedCookie) {
  EXPECT_EQ(CookieValue("shoal_session=abc", "shoal_session"), "abc");
  EXPECT_EQ(CookieValue("a=1; shoal_session=abc; b=2", "shoal_session"), "abc");
  EXPECT_EQ(CookieValue("xshoal_session=abc", "shoal_session"), "");
  EXPECT_EQ(CookieValue("", "shoal_session"), "");
  EXPECT_EQ(CookieValue("shoal_session", "shoal_session"), "");
  EXPECT_NE(RandomHex256(), RandomHex256());
}

TEST(StaticFilesTest, LoadsADirectoryAndFindsOnlyWhatIsThere) {
  const std::string dir = ::testing::TempDir() + "/static_files_test";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir + "/vendor");
  std::ofstream(dir + "/index.html") << "<html>";
  std::ofstream(dir + "/vendor/uPlot.esm.js") << "export default 1;";
  auto files = StaticFiles::Load(dir);
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  EXPECT_EQ(files->size(), 2u);
  ASSERT_NE(files->Find(""), nullptr);
  EXPECT_EQ(files->Find("")->body, "<html>");
  EXPECT_EQ(files->Find("vendor/uPlot.esm.js")->content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(files->Find("../index.html"), nullptr);
  EXPECT_EQ(files->Find("vendor/../index.html"), nullptr);
  EXPECT_EQ(files->Find("/etc/passwd"), nullptr);
  EXPECT_EQ(StaticFiles::Load(dir + "/nope").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(StaticFiles::Load(dir, 3).status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(ContentTypeFor("a.svg"), "image/svg+xml");
  EXPECT_EQ(ContentTypeFor("README"), "application/octet-stream");
  std::filesystem::remove_all(dir);
}

TEST(DownsamplePointsTest, BoundsAChartKeepingEndsAndEvaluations) {
  std::vector<nlohmann::json> points;
  for (int step = 1; step <= 1000000; ++step) {
    nlohmann::json p{{"step", step}, {"loss", 1.0 / step}};
    if (step % 100000 == 0) p["testLoss"] = 2.0;
    points.push_back(std::move(p));
  }
  const nlohmann::json out = api_internal::DownsamplePoints(points, 500);
  ASSERT_LE(out.size(), 500u);
  EXPECT_GE(out.size(), 490u);
  EXPECT_EQ(out.front()["step"], 1);
  EXPECT_EQ(out.back()["step"], 1000000);
  int evaluations = 0;
  int64_t last = 0;
  for (const auto& p : out) {
    EXPECT_GT(p["step"].get<int64_t>(), last);
    last = p["step"];
    evaluations += p.contains("testLoss");
  }
  EXPECT_EQ(evaluations, 10);
  EXPECT_LT(out.dump().size(), size_t{200} << 10) << "a 1M-step history under 200 KB";
  EXPECT_EQ(api_internal::DownsamplePoints({nlohmann::json{{"step", 1}}}, 500).size(), 1u);
}

// The workers view: a GPU's latest NVML sample is shown with it; a GPU without one has no
// utilisation (unknown), never a made-up 0.
TEST(WorkerViewTest, GpusCarryTheirLatestNvmlSample) {
  Worker w;
  w.id = "w1";
  w.gpus = {GpuInfo{"NVIDIA H200", 143771, "9.0"}, GpuInfo{"NVIDIA H200", 143771, "9.0"}};
  w.gpu_samples = {wire::GpuSample{0, 0.37, 5120, 143771}};
  const nlohmann::json j = ToJson(w);
  ASSERT_EQ(j["gpus"].size(), 2u);
  EXPECT_DOUBLE_EQ(j["gpus"][0]["utilization"].get<double>(), 0.37);
  EXPECT_EQ(j["gpus"][0]["memoryUsedMiB"], 5120);
  EXPECT_FALSE(j["gpus"][1].contains("utilization"));
  EXPECT_FALSE(j["gpus"][1].contains("memoryUsedMiB"));
  auto view = wire::WorkerViewFromJson(j);
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->gpus[0].utilization, 0.37);
  EXPECT_FALSE(view->gpus[1].utilization.has_value());
}

}  // namespace
}  // namespace shoal
