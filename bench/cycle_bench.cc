// shoal-cycle-bench: one scheduling cycle (policy Decide() as the daemon calls it, with every
// waiting job's reason explained) against the number of pending jobs and workers.
//
// Snapshots: W workers of 8 slots, 90 % (--held-percent) of the slots held by running jobs (1-8
// ranks, random remaining runtimes, 0-6 earlier preemptions, up to 200 GPU-hours of earlier
// service, a last checkpoint up to an hour old), P pending jobs of 1-8 ranks (mostly 1, as in the
// Philly trace) from 20 accounts, a tenth of them requeued with earlier service. Each cell is the
// median of
// --repeat Decide() calls on the same snapshot, with the daemon's default guards (a job preempted
// 5 times is not preempted again). Prints a Markdown table per policy and writes JSON (--out,
// default bench/out/cycle.json).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/flags.h"
#include "scheduler/policy/policy.h"

using namespace shoal;

namespace {

const char* const kTypes[] = {"NVIDIA H100", "NVIDIA A100", "NVIDIA RTX 4090", "Tesla V100"};

Snapshot MakeSnapshot(int pending, int workers, int held_percent, bool hetero, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Snapshot s;
  s.now_ms = 1'000'000'000;
  std::discrete_distribution<int> ranks_of({0, 90, 4, 0, 3, 0, 0, 0, 3});  // 1, 2, 4, 8 ranks
  int64_t id = 1;
  for (int w = 0; w < workers; ++w) {
    SnapshotWorker sw;
    sw.id = "w" + std::to_string(w);
    sw.node = sw.id;
    sw.total_slots = sw.free_slots = sw.gpus = 8;
    sw.gpu_type = hetero ? kTypes[w % 4] : "NVIDIA H100";
    sw.gpu_memory_gib = 80;
    s.workers.push_back(sw);
  }
  // Fill held_percent of the slots with running jobs.
  const int64_t target = static_cast<int64_t>(workers) * 8 * held_percent / 100;
  int64_t held = 0;
  size_t w = 0;
  while (held < target) {
    SnapshotWorker& sw = s.workers[w % s.workers.size()];
    ++w;
    if (sw.free_slots == 0) continue;
    const int ranks = std::min(sw.free_slots, 1 + static_cast<int>(rng() % 8));
    SnapshotRunning r;
    r.id = id++;
    r.account = "a" + std::to_string(rng() % 20);
    r.start_ms = s.now_ms - static_cast<int64_t>(rng() % 3'600'000);
    r.max_runtime_ms = 3'600'000 + static_cast<int64_t>(rng() % 36'000'000);
    r.preemptions = static_cast<int>(rng() % 7);
    r.attained_gpu_s = static_cast<double>(rng() % 720'000);
    r.last_checkpoint_ms = std::max(r.start_ms, s.now_ms - static_cast<int64_t>(rng() % 3'600'000));
    r.submit_ms = r.start_ms - static_cast<int64_t>(rng() % 36'000'000);
    r.rank_workers.assign(ranks, sw.id);
    r.gpus_per_rank = 1;
    r.backend = Backend::kCuda;
    if (ranks >= 2 && rng() % 2 == 0) {  // elastic: may shrink to half (+elastic)
      r.min_ranks = ranks / 2;
      r.max_ranks = ranks;
    }
    sw.free_slots -= ranks;
    held += ranks;
    s.running.push_back(std::move(r));
  }
  for (int a = 0; a < 20; ++a) {
    s.accounts.push_back({"a" + std::to_string(a), 1e6 * (1 + a % 3), 1e5 * (1 + rng() % 10)});
  }
  for (int p = 0; p < pending; ++p) {
    SnapshotJob j;
    j.id = id++;
    j.account = "a" + std::to_string(rng() % 20);
    j.priority = 250 * (1 + static_cast<int>(rng() % 3));
    j.submit_ms = s.now_ms - (pending - p) * 1000;
    j.min_ranks = j.max_ranks = ranks_of(rng);
    j.backend = Backend::kCuda;
    j.gpus_per_rank = 1;
    j.max_runtime_ms = 600'000 + static_cast<int64_t>(rng() % 36'000'000);
    if (hetero) {  // heterogeneity-aware placement: the two types this job's class gains most on
      const int first = static_cast<int>(rng() % 4);
      j.preferred_gpu_types = {kTypes[first], kTypes[(first + 1 + rng() % 3) % 4]};
    }
    if (rng() % 10 == 0) {  // requeued after a preemption or a failure
      j.attained_gpu_s = static_cast<double>(rng() % 720'000);
      j.queued_ms = j.submit_ms + static_cast<int64_t>(rng() % 1000);
    }
    s.queue.push_back(std::move(j));
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  std::string out_path = "bench/out/cycle.json";
  int repeat = 5;
  std::vector<int> pendings = {1000, 10000, 100000};
  std::vector<int> workers_list = {100, 1000, 2000, 10000};
  bool quick = false;
  int held_percent = 90;
  bool hetero = false;
  std::vector<std::string> policies = {"fifo",
                                       "fifo+backfill",
                                       "fairshare+backfill",
                                       "fairshare+backfill+preempt",
                                       "fairshare+backfill+preempt+las",
                                       "fairshare+backfill+preempt+elastic"};
  CLI::App app(
      "shoal-cycle-bench: one scheduling cycle per policy against pending jobs x workers; "
      "Markdown tables on stdout, JSON at --out.");
  flags::Configure(app, "shoal-cycle-bench");
  app.add_option("--out", out_path, "the JSON results")->type_name("PATH");
  // As before the shared flags, a count below 1 means 1 (scripts may pass 0).
  app.add_option("--repeat", repeat, "Decide() calls per cell, the median reported (< 1 means 1)")
      ->type_name("N");
  app.add_option("--policies", policies, "the policies to time (configs/scheduler.yaml names)")
      ->type_name("NAME...");
  app.add_option("--held-percent", held_percent, "the share of slots running jobs hold (100: full)")
      ->check(CLI::Range(0, 100))
      ->type_name("PCT");
  app.add_flag("--hetero", hetero,
               "workers of four GPU types and pending jobs that prefer two of them "
               "(heterogeneity-aware placement)");
  app.add_flag("--quick", quick, "only 1000 and 10000 pending jobs x 100 and 1000 workers");
  if (std::optional<int> code = flags::Parse(app, argc, argv)) return *code;
  repeat = std::max(1, repeat);
  if (quick) {
    pendings = {1000, 10000};
    workers_list = {100, 1000};
  }
  nlohmann::json rows = nlohmann::json::array();
  for (const std::string& name : policies) {
    Result<PolicyOptions> parsed = ParsePolicyName(name);
    if (!parsed.ok()) {
      std::fprintf(stderr, "shoal-cycle-bench: %s\n", parsed.status().message().c_str());
      return 2;
    }
    PolicyOptions policy = *parsed;
    policy.preempt_max_per_job = 5;  // the daemon's default (preemptMaxPerJob)
    std::printf("\n### %s: one cycle (ms), median of %d\n\n| pending \\ workers |", name.c_str(),
                repeat);
    for (int w : workers_list) std::printf(" %d |", w);
    std::printf("\n|---:|");
    for (size_t i = 0; i < workers_list.size(); ++i) std::printf("---:|");
    std::printf("\n");
    for (int p : pendings) {
      std::printf("| %d |", p);
      for (int w : workers_list) {
        const Snapshot s = MakeSnapshot(p, w, held_percent, hetero, 42);
        std::vector<double> ms;
        size_t starts = 0, preemptions = 0;
        for (int r = 0; r < repeat; ++r) {
          const auto t0 = std::chrono::steady_clock::now();
          Decisions d = Decide(s, policy);
          ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                           .count());
          starts = d.starts.size();
          preemptions = d.preempts.size();
        }
        std::sort(ms.begin(), ms.end());
        const double median = ms[ms.size() / 2];
        std::printf(" %.2f |", median);
        std::fflush(stdout);
        rows.push_back({{"policy", name},
                        {"pending", p},
                        {"workers", w},
                        {"ms", median},
                        {"starts", starts},
                        {"preemptions", preemptions}});
      }
      std::printf("\n");
    }
  }
  std::filesystem::path path(out_path);
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  std::ofstream(path) << nlohmann::json{{"repeat", repeat},
                                        {"heldPercent", held_percent},
                                        {"hetero", hetero},
                                        {"rows", rows}}
                             .dump(2)
                      << "\n";
  std::printf("\nwrote %s\n", out_path.c_str());
  return 0;
}
