// GET /metrics of a real scheduler while a real 2-rank job trains (issue 6): every series the
// chart's ServiceMonitor scrapes exists, in valid exposition format, with values that match what
// the cluster is doing.
#include <cmath>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "tests/integration/cluster.h"

namespace shoal::testing {
namespace {

using namespace std::chrono_literals;

struct Exposition {
  std::map<std::string, double> samples;    // "name{labels}" -> value
  std::map<std::string, std::string> types;  // family -> counter | gauge | histogram
  std::string error;                         // the first malformed line, if any
};

Exposition Parse(const std::string& text) {
  // Label values may hold any character, '}' included ("/v1/jobs/{id}"), escaped '"' too.
  static const std::regex kSample(
      R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (\S+)$)");
  static const std::regex kType(R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram)$)");
  Exposition e;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (line.rfind("# HELP ", 0) == 0) continue;
    if (std::regex_match(line, m, kType)) {
      e.types[m[1]] = m[2];
    } else if (std::regex_match(line, m, kSample)) {
      // Every sample belongs to a family announced before it.
      std::string family = m[1];
      for (const char* suffix : {"_bucket", "_sum", "_count"}) {
        const std::string s = suffix;
        if (!e.types.count(family) && family.size() > s.size() &&
            family.compare(family.size() - s.size(), s.size(), s) == 0) {
          family = family.substr(0, family.size() - s.size());
        }
      }
      if (!e.types.count(family) && e.error.empty()) e.error = "no TYPE before: " + line;
      const std::string v = m[3];
      e.samples[std::string(m[1]) + std::string(m[2])] =
          v == "+Inf" ? INFINITY : v == "NaN" ? NAN : std::stod(v);
    } else if (e.error.empty()) {
      e.error = "malformed line: " + line;
    }
  }
  return e;
}

// No token (as Prometheus scrapes by default), or an admin's: the same series, with names.
Exposition Scrape(const Cluster& c, bool as_admin = false) {
  auto r = (as_admin ? c.client() : HttpClient(c.url(), 10s)).Do("GET", "/metrics");
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (!r.ok()) return {};
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_NE(r->content_type.find("text/plain; version=0.0.4"), std::string::npos);
  Exposition e = Parse(r->body);
  EXPECT_EQ(e.error, "") << r->body;
  return e;
}

double Get(const Exposition& e, const std::string& key) {
  auto it = e.samples.find(key);
  EXPECT_NE(it, e.samples.end()) << "missing series " << key;
  return it == e.samples.end() ? NAN : it->second;
}

// The one series of `name` whose labels contain `fragment`.
double Find(const Exposition& e, const std::string& name, const std::string& fragment) {
  for (const auto& [key, v] : e.samples) {
    if (key.rfind(name + "{", 0) == 0 && key.find(fragment) != std::string::npos) return v;
  }
  ADD_FAILURE() << "no " << name << " with " << fragment;
  return NAN;
}

TEST(MetricsTest, SeriesExistWithSaneValuesWhileAJobTrains) {
  if (!Cluster::HaveFashionMnist()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  Cluster c;
  c.StartScheduler();
  c.StartWorker("w1");
  c.StartWorker("w2");
  ASSERT_TRUE(Cluster::WaitUntil([&] { return c.Workers().size() == 2; }, 15s));
  std::string yaml = Replace(Cluster::ReadRepoFile("configs/jobs/fashion-mnist-mlp.yaml"),
                             "epochs: 5", "epochs: 30");
  const int64_t id = c.Submit(yaml);
  // A gang that can never fit: pending with reason Constraint.
  const int64_t big = c.Submit(Replace(Replace(yaml, "min: 2", "min: 3"), "max: 2", "max: 3"));
  ASSERT_TRUE(Cluster::WaitUntil(
      [&] { return c.Job(id)["progress"].contains("samplesPerSec"); }, 60s))
      << c.Job(id).dump();

  Exposition e = Scrape(c);
  for (const char* family :
       {"shoal_jobs", "shoal_jobs_pending", "shoal_workers", "shoal_gpus", "shoal_slots",
        "shoal_account_contributed_gpu_seconds", "shoal_account_used_gpu_seconds",
        "shoal_job_samples_per_second", "shoal_job_loss", "shoal_job_step_seconds",
        "shoal_job_allreduce_seconds", "shoal_scheduling_cycle_duration_seconds",
        "shoal_job_admission_wait_seconds", "shoal_api_request_duration_seconds",
        "shoal_api_requests_total", "shoal_jobs_submitted_total"}) {
    EXPECT_TRUE(e.types.count(family)) << family;
  }
  EXPECT_EQ(e.types["shoal_scheduling_cycle_duration_seconds"], "histogram");
  EXPECT_EQ(e.types["shoal_jobs_submitted_total"], "counter");
  EXPECT_EQ(Get(e, R"(shoal_jobs{state="RUNNING"})"), 1);
  EXPECT_EQ(Get(e, R"(shoal_jobs{state="PENDING"})"), 1);
  EXPECT_EQ(Get(e, R"(shoal_jobs_pending{reason="Constraint"})"), 1);
  EXPECT_EQ(Get(e, R"(shoal_workers{state="alive"})"), 2);
  EXPECT_EQ(Get(e, R"(shoal_slots{state="used"})"), 2);
  EXPECT_EQ(Get(e, R"(shoal_slots{state="free"})"), 0);
  EXPECT_EQ(Get(e, "shoal_jobs_submitted_total"), 2);
  const std::string job = "job=\"" + std::to_string(id) + "\"";
  const double sps = Find(e, "shoal_job_samples_per_second", job);
  EXPECT_GT(sps, 1000);  // tens of thousands on this VM
  EXPECT_LT(sps, 1e7);
  const double loss = Find(e, "shoal_job_loss", job);
  EXPECT_GT(loss, 0);
  EXPECT_LT(loss, 3);  // below ln(10) = 2.3 once it learns anything
  const double step = Find(e, "shoal_job_step_seconds", job);
  EXPECT_GT(step, 0);
  EXPECT_LT(step, 1);
  const double reduce = Find(e, "shoal_job_allreduce_seconds", job);
  EXPECT_GE(reduce, 0);
  EXPECT_LE(reduce, step);
  // Without a token no account or job name (visibility.metricsNames: false): the ledger is one
  // pool-wide total, and a job is its id. Credit comes when an attempt completes, not while it
  // runs (nor for idle slots): none yet.
  EXPECT_EQ(Get(e, "shoal_account_contributed_gpu_seconds"), 0);
  for (const auto& [key, v] : e.samples) {
    EXPECT_EQ(key.find("account="), std::string::npos) << key;
    EXPECT_EQ(key.find("name="), std::string::npos) << key;
  }
  {
    // An admin's scrape names them.
    Exposition named = Scrape(c, /*as_admin=*/true);
    EXPECT_EQ(Get(named, R"(shoal_account_contributed_gpu_seconds{account="pool"})"), 0);
    EXPECT_GT(Find(named, "shoal_job_loss", job + R"(,name="fashion-mlp",account="admin")"), 0);
  }
  EXPECT_EQ(Get(e, "shoal_job_admission_wait_seconds_count"), 1);  // only the running one
  EXPECT_LT(Get(e, "shoal_job_admission_wait_seconds_sum"), 60);
  EXPECT_GT(Get(e, "shoal_scheduling_cycle_duration_seconds_count"), 0);
  EXPECT_LT(Get(e, "shoal_scheduling_cycle_duration_seconds_sum") /
                Get(e, "shoal_scheduling_cycle_duration_seconds_count"),
            0.1);
  // Buckets are cumulative and end at the count.
  double last = 0;
  for (const char* le : {"0.0005", "0.001", "0.01", "0.1", "1", "10", "+Inf"}) {
    const double v =
        Get(e, std::string(R"(shoal_scheduling_cycle_duration_seconds_bucket{le=")") + le + "\"}");
    EXPECT_GE(v, last) << le;
    last = v;
  }
  EXPECT_EQ(last, Get(e, "shoal_scheduling_cycle_duration_seconds_count"));
  EXPECT_GT(Get(e, R"(shoal_api_request_duration_seconds_count{method="POST",route="/v1/workers/{id}/heartbeat"})"),
            0);
  EXPECT_EQ(Get(e, R"(shoal_api_requests_total{route="/v1/jobs",code="201"})"), 2);

  // The rest of the run: the job's account is charged, and finished jobs are counted.
  auto cancel = c.client().Do("DELETE", "/v1/jobs/" + std::to_string(big));
  ASSERT_TRUE(cancel.ok() && cancel->status == 200);
  auto stop = c.client().Do("DELETE", "/v1/jobs/" + std::to_string(id));
  ASSERT_TRUE(stop.ok() && stop->status == 200);
  ASSERT_TRUE(c.WaitForState(id, "CANCELLED", 20s));
  std::this_thread::sleep_for(1500ms);  // a cycle: the ledger accrues
  e = Scrape(c);
  EXPECT_EQ(Get(e, R"(shoal_jobs{state="CANCELLED"})"), 2);
  EXPECT_EQ(Get(e, R"(shoal_jobs{state="RUNNING"})"), 0);
  EXPECT_GT(Get(e, "shoal_account_used_gpu_seconds"), 0);
  EXPECT_GT(Get(Scrape(c, true), R"(shoal_account_used_gpu_seconds{account="admin"})"), 0);
  EXPECT_EQ(e.samples.count(R"(shoal_job_loss{)" + job), 0u);  // only running jobs
}

}  // namespace
}  // namespace shoal::testing
