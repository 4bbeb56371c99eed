// shoal-sim: replays a job trace on a described cluster through the scheduler's own policies, in
// virtual time, and reports JCT, queueing delay, makespan, utilisation and fairness per policy.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "scheduler/sim/simulator.h"

using namespace shoal;
using namespace shoal::sim;

namespace {

const char kUsage[] = R"(usage: shoal-sim (--trace FILE.csv | --synthetic N) (--cluster SPEC | --cluster-file FILE)
                 [flags]

  --trace FILE         a trace CSV (job_id,submit_time_s,num_gpus,duration_s,vc,status,...),
                       e.g. ../shared/traces/philly.csv
  --synthetic N        instead, N synthetic Philly-like jobs (see --load, --vcs)
  --load L             synthetic arrival rate as a fraction of cluster capacity (default 0.9)
  --vcs K              synthetic accounts (default 10)
  --cluster SPEC       NODESxGPUS[:TYPE][,...], e.g. 64x8:H100
  --cluster-file FILE  YAML: nodeGroups: [{count, gpusPerNode, gpuType, gpuMemoryGiB}]
  --policy P           fifo | priority | fairshare, optionally +backfill and +elastic,
                       fairshare also +preempt; or "all" (default all)
  --checkpoint-interval-s S  work a preempted or resized job loses: half of S on average
                       (default 0)
  --elastic F          jobs of g >= 2 GPUs may run on ceil(g x F)..g ranks (0..1; default 0 =
                       rigid gangs); "all" then adds the +elastic policies
  --misestimate F      limits.maxRuntime = duration x F (default 2.0)
  --misestimate-sigma S  log-normal noise on that factor (default 0)
  --half-life-hours H  fair-share usage half-life (default 168 = 7 days)
  --seed N             seed for the noise and the synthetic trace (default 1)
  --max-jobs N         replay only the first N jobs of the trace
  --out FILE           also write the results as JSON
  -o json              print JSON instead of the table
Exit codes: 0 ok, 2 bad flags or input.
)";

bool ParseDouble(const char* s, double* out) {
  char* end = nullptr;
  *out = std::strtod(s, &end);
  return end != s && *end == '\0';
}

bool ParseInt(const char* s, long long* out) {
  char* end = nullptr;
  *out = std::strtoll(s, &end, 10);
  return end != s && *end == '\0';
}

nlohmann::json MetricsJson(const SimMetrics& m) {
  return {{"jobs", m.jobs},           {"finished", m.finished},
          {"unschedulable", m.unschedulable},
          {"avgJctSec", m.avg_jct_s}, {"p50JctSec", m.p50_jct_s},
          {"p95JctSec", m.p95_jct_s}, {"p99JctSec", m.p99_jct_s},
          {"avgQueueSec", m.avg_queue_s}, {"p50QueueSec", m.p50_queue_s},
          {"p99QueueSec", m.p99_queue_s}, {"makespanSec", m.makespan_s},
          {"gpuUtilization", m.gpu_utilization}, {"jainFairness", m.jain_fairness},
          {"preemptions", m.preemptions}, {"resizes", m.resizes},
          {"cycles", m.cycles},       {"wallSec", m.wall_s}};
}

}  // namespace

int main(int argc, char** argv) {
  std::string trace_path, cluster_spec, cluster_file, policy_arg = "all", out_path, format = "table";
  long long synthetic = 0, seed = 1, max_jobs = 0, vcs = 10;
  double load = 0.9, misestimate = 2.0, sigma = 0.0, half_life_h = 168, checkpoint_s = 0;
  double elastic = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "shoal-sim: %s needs a value (see --help)\n", arg.c_str());
      return 2;
    }
    const char* v = argv[++i];
    bool ok = true;
    if (arg == "--trace") trace_path = v;
    else if (arg == "--synthetic") ok = ParseInt(v, &synthetic) && synthetic > 0 && synthetic <= 100000000;
    else if (arg == "--load") ok = ParseDouble(v, &load) && load > 0 && load <= 10;
    else if (arg == "--vcs") ok = ParseInt(v, &vcs) && vcs >= 1 && vcs <= 100000;
    else if (arg == "--cluster") cluster_spec = v;
    else if (arg == "--cluster-file") cluster_file = v;
    else if (arg == "--policy") policy_arg = v;
    else if (arg == "--misestimate") ok = ParseDouble(v, &misestimate) && misestimate > 0 && misestimate <= 1000;
    else if (arg == "--misestimate-sigma") ok = ParseDouble(v, &sigma) && sigma >= 0 && sigma <= 10;
    else if (arg == "--half-life-hours") ok = ParseDouble(v, &half_life_h) && half_life_h > 0;
    else if (arg == "--checkpoint-interval-s") ok = ParseDouble(v, &checkpoint_s) && checkpoint_s >= 0;
    else if (arg == "--elastic") ok = ParseDouble(v, &elastic) && elastic >= 0 && elastic <= 1;
    else if (arg == "--seed") ok = ParseInt(v, &seed);
    else if (arg == "--max-jobs") ok = ParseInt(v, &max_jobs) && max_jobs >= 0;
    else if (arg == "--out") out_path = v;
    else if (arg == "-o") {
      format = v;
      ok = format == "table" || format == "json";
    } else {
      std::fprintf(stderr, "shoal-sim: unknown flag %s (see --help)\n", arg.c_str());
      return 2;
    }
    if (!ok) {
      std::fprintf(stderr, "shoal-sim: bad value \"%s\" for %s\n", v, arg.c_str());
      return 2;
    }
  }
  if (trace_path.empty() == (synthetic == 0)) {
    std::fprintf(stderr, "shoal-sim: give exactly one of --trace and --synthetic\n");
    return 2;
  }
  if (cluster_spec.empty() == cluster_file.empty()) {
    std::fprintf(stderr, "shoal-sim: give exactly one of --cluster and --cluster-file\n");
    return 2;
  }
  Result<Cluster> cluster =
      cluster_spec.empty() ? LoadClusterFile(cluster_file) : ParseClusterSpec(cluster_spec);
  if (!cluster.ok()) {
    std::fprintf(stderr, "shoal-sim: %s\n", cluster.status().message().c_str());
    return 2;
  }
  std::vector<PolicyOptions> policies;
  if (policy_arg == "all") {
    for (const char* p : {"fifo", "fifo+backfill", "priority", "priority+backfill", "fairshare",
                          "fairshare+backfill", "fairshare+preempt", "fairshare+backfill+preempt"}) {
      policies.push_back(*ParsePolicyName(p));
    }
    if (elastic > 0) {
      for (const char* p : {"fifo+backfill+elastic", "fairshare+backfill+preempt+elastic"}) {
        policies.push_back(*ParsePolicyName(p));
      }
    }
  } else {
    auto p = ParsePolicyName(policy_arg);
    if (!p.ok()) {
      std::fprintf(stderr, "shoal-sim: --policy: %s\n", p.status().message().c_str());
      return 2;
    }
    policies.push_back(*p);
  }
  Trace trace;
  if (synthetic > 0) {
    trace = SyntheticTrace(synthetic, cluster->total_gpus(), load, static_cast<int>(vcs),
                           static_cast<uint64_t>(seed));
  } else {
    auto t = ReadTraceCsv(trace_path, max_jobs);
    if (!t.ok()) {
      std::fprintf(stderr, "shoal-sim: %s\n", t.status().message().c_str());
      return 2;
    }
    trace = std::move(*t);
  }

  nlohmann::json out = {{"trace", synthetic > 0 ? "synthetic:" + std::to_string(synthetic)
                                                : trace_path},
                        {"cluster", cluster_spec.empty() ? cluster_file : cluster_spec},
                        {"gpus", cluster->total_gpus()},
                        {"jobs", trace.jobs.size()},
                        {"skippedNeverRan", trace.skipped_never_ran},
                        {"skippedNoGpu", trace.skipped_no_gpu},
                        {"misestimate", misestimate},
                        {"misestimateSigma", sigma},
                        {"seed", seed},
                        {"elasticMinFraction", elastic},
                        {"results", nlohmann::json::array()}};
  double fifo_avg = 0;
  for (const PolicyOptions& p : policies) {
    SimOptions options;
    options.policy = p;
    options.misestimate = misestimate;
    options.misestimate_sigma = sigma;
    options.seed = static_cast<uint64_t>(seed);
    options.half_life_s = half_life_h * 3600;
    options.checkpoint_interval_s = checkpoint_s;
    options.elastic_min_fraction = elastic;
    auto r = Simulate(trace, *cluster, options);
    if (!r.ok()) {
      std::fprintf(stderr, "shoal-sim: %s\n", r.status().message().c_str());
      return 2;
    }
    nlohmann::json row = MetricsJson(r->metrics);
    row["policy"] = PolicyName(p);
    if (PolicyName(p) == "fifo") fifo_avg = r->metrics.avg_jct_s;
    out["results"].push_back(row);
  }
  for (auto& row : out["results"]) {
    if (fifo_avg > 0) row["avgJctVsFifo"] = row["avgJctSec"].get<double>() / fifo_avg;
  }
  if (!out_path.empty()) {
    std::ofstream f(out_path);
    f << out.dump(2) << "\n";
    if (!f) {
      std::fprintf(stderr, "shoal-sim: cannot write %s\n", out_path.c_str());
      return 2;
    }
  }
  if (format == "json") {
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  std::printf("%s on %s (%d GPUs): %zu jobs (skipped: %lld never ran, %lld without GPUs), "
              "maxRuntime = duration x %.2g%s\n\n",
              out["trace"].get<std::string>().c_str(), out["cluster"].get<std::string>().c_str(),
              cluster->total_gpus(), trace.jobs.size(),
              static_cast<long long>(trace.skipped_never_ran),
              static_cast<long long>(trace.skipped_no_gpu), misestimate,
              sigma > 0 ? (" (sigma " + std::to_string(sigma) + ")").c_str() : "");
  std::printf("| policy | avg JCT (h) | vs fifo | p50 | p95 | p99 JCT (h) | avg queue (h) | p99 queue (h) "
              "| makespan (d) | GPU util | Jain | unschedulable | sim wall (s) |\n");
  std::printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  for (const auto& row : out["results"]) {
    auto h = [&](const char* k) { return row[k].get<double>() / 3600.0; };
    std::printf("| %s | %.2f | %s | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.1f%% | %.3f | %lld | %.2f |\n",
                row["policy"].get<std::string>().c_str(), h("avgJctSec"),
                row.contains("avgJctVsFifo")
                    ? (std::to_string(row["avgJctVsFifo"].get<double>()).substr(0, 4) + "x").c_str()
                    : "-",
                h("p50JctSec"), h("p95JctSec"), h("p99JctSec"), h("avgQueueSec"),
                h("p99QueueSec"), row["makespanSec"].get<double>() / 86400.0,
                100 * row["gpuUtilization"].get<double>(), row["jainFairness"].get<double>(),
                static_cast<long long>(row["unschedulable"].get<int64_t>()),
                row["wallSec"].get<double>());
  }
  return 0;
}
