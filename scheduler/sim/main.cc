// shoal-sim: replays a job trace on a described cluster through the scheduler's own policies, in
// virtual time, and reports JCT, queueing delay, makespan, utilisation and fairness per policy.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/flags.h"
#include "common/version.h"
#include "scheduler/sim/simulator.h"

using namespace shoal;
using namespace shoal::sim;

namespace {

// An account's p99 JCT is reported (and compared with fifo's) only over this many jobs.
constexpr int64_t kMinJobsForVcP99 = 20;

nlohmann::json MetricsJson(const SimMetrics& m) {
  return {{"jobs", m.jobs},
          {"finished", m.finished},
          {"unschedulable", m.unschedulable},
          {"avgJctSec", m.avg_jct_s},
          {"p50JctSec", m.p50_jct_s},
          {"p95JctSec", m.p95_jct_s},
          {"p99JctSec", m.p99_jct_s},
          {"avgQueueSec", m.avg_queue_s},
          {"p50QueueSec", m.p50_queue_s},
          {"p99QueueSec", m.p99_queue_s},
          {"noWaitAvgJctSec", m.no_wait_avg_jct_s},
          {"noWaitP99JctSec", m.no_wait_p99_jct_s},
          {"makespanSec", m.makespan_s},
          {"gpuUtilization", m.gpu_utilization},
          {"jainFairness", m.jain_fairness},
          {"preemptions", m.preemptions},
          {"resizes", m.resizes},
          {"timedOut", m.timed_out},
          {"guardedJobs", m.guarded_jobs},
          {"failures", m.failures},
          {"goodput", m.goodput},
          {"normalizedThroughput", m.normalized_throughput},
          {"gpuSecondsLost", m.gpu_seconds_lost},
          {"cycles", m.cycles},
          {"wallSec", m.wall_s}};
}

}  // namespace

int main(int argc, char** argv) {
  std::string trace_path, cluster_spec, cluster_file, policy_arg = "all", out_path,
                                                      format = "table";
  std::string jobs_out, throughput_arg, hetero = "both";
  double restart_delay_s = 60;
  long long synthetic = 0, seed = 1, max_jobs = 0, vcs = 10;
  double load = 0.9, misestimate = 2.0, sigma = 0.0, half_life_h = 168, checkpoint_s = 0;
  double elastic = 0, heavy_share = 0, spread_slowdown = 0, diurnal = 0;
  int preempt_max_per_job = 5;  // the daemon's default (preemptMaxPerJob)
  double preempt_max_unsaved_s = 0;  // the daemon's default (preemptMaxUnsaved)
  double preempt_min_runtime_s = 600;  // the daemon's default (preemptMinRuntime)
  // +las: the policy's defaults (PolicyOptions), in GPU-hours.
  std::vector<double> las_levels_gpu_h = {1, 10, 100};
  double las_starve_factor = 2;
  double node_mtbf_h = 0, node_repair_h = 1, checkpoint_cost_s = 0;
  bool young_daly = false, normalized_share = false;
  CLI::App app(
      "shoal-sim: replays a job trace on a described cluster through the scheduler's own "
      "policies, in virtual time, and reports JCT, queueing delay, makespan, utilisation and "
      "fairness per policy.");
  flags::Configure(app, "shoal-sim");
  app.footer(
      flags::Wrap("Give exactly one of --trace and --synthetic, and exactly one of "
                  "--cluster and --cluster-file. Exit codes: 0 ok, 2 bad flags or input."
                  "\n\n" +
                  VersionLine("shoal-sim")));
  app.add_option("--trace", trace_path,
                 "a trace CSV (job_id,submit_time_s,num_gpus,duration_s,vc,status,...), e.g. "
                 "bench/traces/philly.csv")
      ->type_name("FILE.csv");
  app.add_option("--synthetic", synthetic,
                 "instead, N synthetic Philly-like jobs (see --load, --vcs)")
      ->type_name("N")
      ->default_str("")
      ->check(CLI::Range(1LL, 100000000LL));
  app.add_option("--load", load,
                 "synthetic arrival rate as a fraction of cluster capacity (0 < L <= 10)")
      ->type_name("L")
      ->check(flags::Positive(10));
  app.add_option("--heavy-share", heavy_share,
                 "synthetic: a further account \"heavy\" submits 8-GPU jobs making up this "
                 "fraction of the GPU-seconds (0..0.95)")
      ->type_name("F")
      ->check(flags::NonNegative(0.95));
  app.add_option("--diurnal", diurnal,
                 "synthetic: arrivals follow a day, (1 + A sin(2 pi t / 24 h)) x the mean rate, "
                 "at the same mean load (0..0.95; 0 = a constant rate)")
      ->type_name("A")
      ->check(flags::NonNegative(0.95));
  app.add_option("--vcs", vcs, "synthetic accounts")
      ->type_name("K")
      ->check(CLI::Range(1LL, 100000LL));
  app.add_option("--cluster", cluster_spec, "NODESxGPUS[:TYPE][,...], e.g. 64x8:H100")
      ->type_name("SPEC");
  app.add_option("--cluster-file", cluster_file,
                 "YAML: nodeGroups: [{count, gpusPerNode, gpuType, gpuMemoryGiB}]")
      ->type_name("FILE");
  app.add_option("--policy", policy_arg,
                 "fifo | priority | fairshare, optionally +backfill, +elastic and +las, fairshare "
                 "also +preempt; or \"all\"")
      ->type_name("P");
  app.add_option("--checkpoint-interval-s", checkpoint_s,
                 "an attempt checkpoints after every S seconds of progress; a stopped job redoes "
                 "the work since its last one (0 = it checkpoints as it stops, losing nothing)")
      ->type_name("S")
      ->check(flags::NonNegative());
  app.add_option("--elastic", elastic,
                 "jobs of g >= 2 GPUs may run on ceil(g x F)..g ranks (0..1; 0 = rigid gangs); "
                 "\"all\" then adds the +elastic policies")
      ->type_name("F")
      ->check(flags::NonNegative(1));
  app.add_option("--restart-delay-s", restart_delay_s,
                 "each start, restart and resize holds its GPUs S seconds before progress "
                 "(0..86400)")
      ->type_name("S")
      ->check(flags::NonNegative(86400));
  app.add_option("--preempt-max-per-job", preempt_max_per_job,
                 "+preempt's tail guard: a job preempted N times is not preempted again (0 = no "
                 "bound)")
      ->type_name("N")
      ->check(CLI::Range(0, 1000000));
  app.add_option("--preempt-max-unsaved-s", preempt_max_unsaved_s,
                 "+preempt's cost guard: a job with more than S seconds of work since its last "
                 "checkpoint is not preempted (0 = no bound)")
      ->type_name("S")
      ->check(flags::NonNegative(86400 * 365));
  app.add_option("--preempt-min-runtime-s", preempt_min_runtime_s,
                 "+preempt never stops a job that has run less than S seconds (the daemon's "
                 "preemptMinRuntime)")
      ->type_name("S")
      ->check(flags::NonNegative(86400 * 365));
  app.add_option("--las-levels", las_levels_gpu_h,
                 "+las: the attained service, in GPU-hours, at which a job moves down a level "
                 "(ascending, comma-separated)")
      ->type_name("H,...")
      ->delimiter(',')
      ->check(flags::Positive());
  app.add_option("--las-starve-factor", las_starve_factor,
                 "+las: a job that has waited F x the time it has run goes back to the first level")
      ->type_name("F")
      ->check(flags::Positive());
  app.add_option("--node-mtbf-h", node_mtbf_h,
                 "volatile pool: each node fails after H hours on average (exponential; 0 = never)")
      ->type_name("H")
      ->check(flags::NonNegative(1e6));
  app.add_option("--node-repair-h", node_repair_h, "a failed node is back after H hours")
      ->type_name("H")
      ->check(flags::Positive(1e6));
  app.add_option("--checkpoint-cost-s", checkpoint_cost_s,
                 "writing a checkpoint stalls a job S seconds (with an interval I, it progresses "
                 "at I / (I + S))")
      ->type_name("S")
      ->check(flags::NonNegative(86400));
  app.add_flag("--young-daly", young_daly,
               "set each job's checkpoint interval by Young/Daly, sqrt(2 x cost x MTBF of its "
               "gang), instead of --checkpoint-interval-s (needs --node-mtbf-h and "
               "--checkpoint-cost-s)");
  app.add_option("--throughput", throughput_arg,
                 "heterogeneous pool: job speeds by GPU type from a YAML matrix, or 'default' for "
                 "the built-in table (docs/simulator.md); needs typed node groups in the cluster")
      ->type_name("FILE|default");
  app.add_option("--hetero", hetero,
                 "with --throughput: type-blind placement and fair share, heterogeneity-aware "
                 "ones, or both side by side")
      ->check(CLI::IsMember({"blind", "aware", "both"}));
  app.add_flag("--normalized-share", normalized_share,
               "with --throughput: type-aware runs charge fair share in normalised work "
               "(GPU-seconds x speed) instead of GPU-seconds");
  app.add_option("--spread-slowdown", spread_slowdown,
                 "a gang placed over more than one node runs 1 + F times as long (0..100)")
      ->type_name("F")
      ->check(flags::NonNegative(100));
  app.add_option("--misestimate", misestimate,
                 "limits.maxRuntime = duration x F (0 < F <= 1000) for rows without a limit_s "
                 "column's value; a job still running then is killed and counted as timed out, "
                 "as the daemon does")
      ->type_name("F")
      ->check(flags::Positive(1000));
  app.add_option("--misestimate-sigma", sigma, "log-normal noise on that factor (0..10)")
      ->type_name("S")
      ->check(flags::NonNegative(10));
  app.add_option("--half-life-hours", half_life_h, "fair-share usage half-life (168 = 7 days)")
      ->type_name("H")
      ->check(flags::Positive());
  app.add_option("--seed", seed, "seed for the noise and the synthetic trace")->type_name("N");
  app.add_option("--max-jobs", max_jobs, "replay only the first N jobs of the trace; 0 = all")
      ->type_name("N")
      ->check(flags::NonNegative());
  app.add_option("--out", out_path, "also write the results as JSON")->type_name("FILE");
  app.add_option("--jobs-out", jobs_out,
                 "also write every job's outcome per policy as CSV (policy,job,vc,submit_s,"
                 "start_s,end_s,gpus,duration_s,limit_s,starts,nodes,preemptions,resizes,timed_out,"
                 "held_gpu_s,lost_gpu_s,type_speed); with --hetero both the policy names end in "
                 "(type-blind) or (type-aware)")
      ->type_name("FILE.csv");
  app.add_option("-o,--output", format, "print a table or JSON")
      ->type_name("FORMAT")
      ->check(CLI::IsMember({"table", "json"}));
  if (std::optional<int> code = flags::Parse(app, argc, argv)) return *code;
  if (trace_path.empty() == (synthetic == 0)) {
    return flags::UsageError(app, "give exactly one of --trace and --synthetic");
  }
  if (cluster_spec.empty() == cluster_file.empty()) {
    return flags::UsageError(app, "give exactly one of --cluster and --cluster-file");
  }
  if (las_levels_gpu_h.empty() ||
      !std::is_sorted(las_levels_gpu_h.begin(), las_levels_gpu_h.end(), std::less_equal<>())) {
    return flags::UsageError(app, "--las-levels: give one or more GPU-hour levels, ascending");
  }
  std::vector<double> las_thresholds_gpu_s;
  for (const double h : las_levels_gpu_h) las_thresholds_gpu_s.push_back(h * 3600);
  Result<Cluster> cluster =
      cluster_spec.empty() ? LoadClusterFile(cluster_file) : ParseClusterSpec(cluster_spec);
  if (!cluster.ok()) {
    std::fprintf(stderr, "shoal-sim: %s\n", cluster.status().message().c_str());
    return 2;
  }
  std::vector<PolicyOptions> policies;
  if (policy_arg == "all") {
    for (const char* p :
         {"fifo", "fifo+backfill", "priority", "priority+backfill", "fairshare",
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
                           static_cast<uint64_t>(seed), heavy_share, diurnal);
  } else {
    auto t = ReadTraceCsv(trace_path, max_jobs);
    if (!t.ok()) {
      std::fprintf(stderr, "shoal-sim: %s\n", t.status().message().c_str());
      return 2;
    }
    trace = std::move(*t);
  }

  nlohmann::json out = {
      {"trace", synthetic > 0 ? "synthetic:" + std::to_string(synthetic) : trace_path},
      {"cluster", cluster_spec.empty() ? cluster_file : cluster_spec},
      {"gpus", cluster->total_gpus()},
      {"jobs", trace.jobs.size()},
      {"skippedNeverRan", trace.skipped_never_ran},
      {"skippedNoGpu", trace.skipped_no_gpu},
      {"misestimate", misestimate},
      {"misestimateSigma", sigma},
      {"seed", seed},
      {"elasticMinFraction", elastic},
      {"restartDelaySec", restart_delay_s},
      {"preemptMinRuntimeSec", preempt_min_runtime_s},
      {"lasLevelsGpuHours", las_levels_gpu_h},
      {"lasStarveFactor", las_starve_factor},
      {"spreadSlowdown", spread_slowdown},
      {"nodeMtbfHours", node_mtbf_h},
      {"nodeRepairHours", node_repair_h},
      {"checkpointCostSec", checkpoint_cost_s},
      {"checkpointIntervalSec", checkpoint_s},
      {"youngDaly", young_daly},
      {"heavyShare", heavy_share},
      {"diurnal", diurnal},
      {"results", nlohmann::json::array()}};
  std::ofstream jobs_file;
  if (!jobs_out.empty()) {
    jobs_file.open(jobs_out);
    if (!jobs_file) {
      std::fprintf(stderr, "shoal-sim: cannot write %s\n", jobs_out.c_str());
      return 2;
    }
  }
  ThroughputMatrix matrix;
  if (throughput_arg == "default") {
    matrix = DefaultThroughputMatrix();
  } else if (!throughput_arg.empty()) {
    auto m = LoadThroughputMatrix(throughput_arg);
    if (!m.ok()) {
      std::fprintf(stderr, "shoal-sim: --throughput: %s\n", m.status().message().c_str());
      return 2;
    }
    matrix = std::move(*m);
  }
  std::vector<bool> aware_modes = {false};
  if (!throughput_arg.empty()) {
    aware_modes = hetero == "both"    ? std::vector<bool>{false, true}
                  : hetero == "aware" ? std::vector<bool>{true}
                                      : std::vector<bool>{false};
  }
  out["throughput"] = throughput_arg;
  out["normalizedShare"] = normalized_share;
  std::vector<std::pair<PolicyOptions, bool>> runs;  // each policy, type-blind and/or aware
  for (const PolicyOptions& p : policies) {
    for (const bool aware : aware_modes) runs.emplace_back(p, aware);
  }
  bool jobs_header = true;
  for (const auto& [p, aware] : runs) {
    SimOptions options;
    options.throughput = matrix;
    options.hetero_aware = aware;
    options.normalized_share = aware && normalized_share;
    options.policy = p;
    options.policy.preempt_max_per_job = preempt_max_per_job;
    options.policy.preempt_max_unsaved_ms = std::llround(preempt_max_unsaved_s * 1000);
    options.policy.preempt_min_runtime_ms = std::llround(preempt_min_runtime_s * 1000);
    options.policy.las_thresholds_gpu_s = las_thresholds_gpu_s;
    options.policy.las_starve_factor = las_starve_factor;
    options.misestimate = misestimate;
    options.misestimate_sigma = sigma;
    options.seed = static_cast<uint64_t>(seed);
    options.half_life_s = half_life_h * 3600;
    options.checkpoint_interval_s = checkpoint_s;
    options.elastic_min_fraction = elastic;
    options.restart_delay_s = restart_delay_s;
    options.spread_slowdown = spread_slowdown;
    options.failures.mtbf_s = node_mtbf_h * 3600;
    options.failures.repair_s = node_repair_h * 3600;
    options.failures.seed = static_cast<uint64_t>(seed);
    options.checkpoint_cost_s = checkpoint_cost_s;
    options.young_daly = young_daly;
    auto r = Simulate(trace, *cluster, options);
    if (!r.ok()) {
      std::fprintf(stderr, "shoal-sim: %s\n", r.status().message().c_str());
      return 2;
    }
    if (jobs_file.is_open()) {
      // One CSV for every policy: the policy column first, one header.
      WriteJobsCsv(trace, *r, jobs_file,
                   PolicyName(p) + (throughput_arg.empty() ? ""
                                    : aware                ? " (type-aware)"
                                                           : " (type-blind)"),
                   jobs_header);
      jobs_header = false;
      if (!jobs_file) {
        std::fprintf(stderr, "shoal-sim: cannot write %s\n", jobs_out.c_str());
        return 2;
      }
    }
    nlohmann::json row = MetricsJson(r->metrics);
    row["policy"] = PolicyName(p);
    if (!throughput_arg.empty()) row["hetero"] = aware ? "aware" : "blind";
    // Each account's p99 JCT, for accounts with enough jobs that a p99 means something.
    nlohmann::json vc_p99 = nlohmann::json::object();
    for (size_t v = 0; v < r->vcs.size(); ++v) {
      if (r->metrics.vc_jobs[v] >= kMinJobsForVcP99) vc_p99[r->vcs[v]] = r->metrics.vc_p99_jct_s[v];
    }
    row["vcP99JctSec"] = vc_p99;
    out["results"].push_back(row);
  }
  // Against fifo (when it ran): the average, the p99, and the account whose p99 got worst.
  // With --hetero both, fifo of the same mode.
  for (auto& row : out["results"]) {
    const nlohmann::json* fifo_row = nullptr;
    for (const auto& f : out["results"]) {
      if (f["policy"] == "fifo" && f.value("hetero", "") == row.value("hetero", "")) fifo_row = &f;
    }
    if (fifo_row == nullptr) continue;
    // row[key] / fifo's row[fifo_key] as row[out], when fifo's is above 0.
    auto vs_fifo = [&](const char* out, const char* key, const char* fifo_key) {
      const double base = (*fifo_row)[fifo_key].get<double>();
      if (base > 0) row[out] = row[key].get<double>() / base;
    };
    vs_fifo("avgJctVsFifo", "avgJctSec", "avgJctSec");
    vs_fifo("p99JctVsFifo", "p99JctSec", "p99JctSec");
    // The floors no policy beats, in the same terms: how far below fifo any policy could go.
    vs_fifo("noWaitAvgVsFifo", "noWaitAvgJctSec", "avgJctSec");
    vs_fifo("noWaitP99VsFifo", "noWaitP99JctSec", "p99JctSec");
    double worst = 0;
    std::string worst_vc;
    for (const auto& [vc, p99] : row["vcP99JctSec"].items()) {
      const auto& base = (*fifo_row)["vcP99JctSec"];
      if (!base.contains(vc) || base[vc].get<double>() <= 0) continue;
      const double ratio = p99.get<double>() / base[vc].get<double>();
      if (ratio > worst) {
        worst = ratio;
        worst_vc = vc;
      }
    }
    if (!worst_vc.empty()) {
      row["worstVcP99VsFifo"] = worst;
      row["worstVc"] = worst_vc;
    }
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
  const auto with_limit = std::count_if(trace.jobs.begin(), trace.jobs.end(),
                                        [](const sim::TraceJob& j) { return j.limit_s > 0; });
  const std::string limits =
      with_limit == 0 ? ""
                      : "the trace's limit_s for " + std::to_string(with_limit) + " jobs, else ";
  std::printf(
      "%s on %s (%d GPUs): %zu jobs (skipped: %lld never ran, %lld without GPUs), "
      "maxRuntime = %sduration x %.2g%s, restart delay %.0f s\n\n",
      out["trace"].get<std::string>().c_str(), out["cluster"].get<std::string>().c_str(),
      cluster->total_gpus(), trace.jobs.size(), static_cast<long long>(trace.skipped_never_ran),
      static_cast<long long>(trace.skipped_no_gpu), limits.c_str(), misestimate,
      sigma > 0 ? (" (sigma " + std::to_string(sigma) + ")").c_str() : "", restart_delay_s);
  std::printf(
      "| policy | avg JCT (h) | vs fifo | p50 | p95 | p99 JCT (h) | p99 vs fifo "
      "| worst account's p99 vs fifo | avg queue (h) | p99 queue (h) | makespan (d) | GPU util "
      "| lost GPU-h | timed out | Jain | unschedulable | norm. throughput | sim wall (s) |\n");
  std::printf(
      "|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
      "\n");
  for (const auto& row : out["results"]) {
    auto h = [&](const char* k) { return row[k].get<double>() / 3600.0; };
    auto ratio = [&](const char* k) {
      if (!row.contains(k)) return std::string("-");
      char buf[32];
      std::snprintf(buf, sizeof(buf), "%.2fx", row[k].get<double>());
      return std::string(buf);
    };
    const std::string worst = row.contains("worstVc") ? ratio("worstVcP99VsFifo") + " (" +
                                                            row["worstVc"].get<std::string>() + ")"
                                                      : "-";
    std::printf(
        "| %s | %.2f | %s | %.2f | %.2f | %.2f | %s | %s | %.2f | %.2f | %.2f | %.1f%% | %.0f "
        "| %lld | %.3f | %lld | %.3f | %.2f |\n",
        (row["policy"].get<std::string>() +
         (row.contains("hetero") ? " (type-" + row["hetero"].get<std::string>() + ")" : ""))
            .c_str(),
        h("avgJctSec"), ratio("avgJctVsFifo").c_str(), h("p50JctSec"), h("p95JctSec"),
        h("p99JctSec"), ratio("p99JctVsFifo").c_str(), worst.c_str(), h("avgQueueSec"),
        h("p99QueueSec"), row["makespanSec"].get<double>() / 86400.0,
        100 * row["gpuUtilization"].get<double>(), row["gpuSecondsLost"].get<double>() / 3600.0,
        static_cast<long long>(row["timedOut"].get<int64_t>()), row["jainFairness"].get<double>(),
        static_cast<long long>(row["unschedulable"].get<int64_t>()),
        row["normalizedThroughput"].get<double>(), row["wallSec"].get<double>());
  }
  // The floors are the same for every policy (the same jobs, limits and GPU types).
  if (!out["results"].empty()) {
    const auto& row = out["results"][0];
    auto vs = [&](const char* k) {
      if (!row.contains(k)) return std::string();
      char buf[48];
      std::snprintf(buf, sizeof(buf), " (%.2fx fifo)", row[k].get<double>());
      return std::string(buf);
    };
    std::printf("\nNo policy goes below (every job started at submission, never stopped): ");
    std::printf("avg JCT %.2f h%s, p99 %.2f h%s\n", row["noWaitAvgJctSec"].get<double>() / 3600.0,
                vs("noWaitAvgVsFifo").c_str(), row["noWaitP99JctSec"].get<double>() / 3600.0,
                vs("noWaitP99VsFifo").c_str());
  }
  return 0;
}
