// shoal-cache-placement-bench: registry bytes fetched with and without placement's preference
// for workers that cache a job's data (docs/registry.md, "Placement by cached chunks").
//
// A simulated pool of --workers workers (--slots each) with an LRU chunk cache of --cache-gib
// each runs a stream of --jobs jobs through the real policy (Decide(), fifo+backfill), every 30
// simulated seconds. Each job reads one of --datasets registry versions (10-60 GiB, popularity
// Zipf-like: a few are read by most jobs), has 1, 2 or 4 ranks (70/15/15 %) and runs 10-60
// minutes; arrivals keep the pool about 80 % busy. A worker fetches what its cache lacks of a
// job's version once per job (ranks on one worker share the fetch, as the agent's do), then
// caches the whole version, evicting the least recently used versions no running rank there
// reads. "without" runs the same stream with the jobs' data hidden from the policy (its snapshot
// jobs carry no digests), which is placement as it was before the preference. Prints a Markdown
// table (median over --seeds seeds per cache size).
#include <algorithm>
#include <cstdio>
#include <list>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "common/flags.h"
#include "scheduler/policy/policy.h"

using namespace shoal;

namespace {

constexpr int64_t kGiB = int64_t{1} << 30;
constexpr int64_t kStepMs = 30'000;

struct Params {
  int workers = 16;
  int slots = 4;
  int datasets = 12;
  int jobs = 600;
  double cache_gib = 100;
};

struct SimJob {
  int64_t id = 0;
  int64_t arrive_ms = 0;
  int64_t runtime_ms = 0;
  int ranks = 1;
  int dataset = 0;
};

struct Outcome {
  int64_t read_bytes = 0;     // what the jobs' workers needed (one version per worker per job)
  int64_t fetched_bytes = 0;  // of which the caches lacked
  double mean_wait_s = 0;
  double makespan_h = 0;
};

// One worker's cache of whole versions, least recently used first.
struct WorkerCache {
  std::list<int> lru;  // dataset indices
  int64_t bytes = 0;
};

Outcome Simulate(const Params& p, const std::vector<int64_t>& sizes,
                 const std::vector<SimJob>& stream, bool prefer_cached) {
  const PolicyOptions policy = *ParsePolicyName("fifo+backfill");
  const int64_t capacity = static_cast<int64_t>(p.cache_gib * static_cast<double>(kGiB));
  std::vector<WorkerCache> caches(p.workers);
  std::vector<int> free_slots(p.workers, p.slots);
  struct Running {
    int64_t id;
    int64_t end_ms;
    int dataset;
    std::vector<int> workers;  // one entry per rank
  };
  std::vector<Running> running;
  std::vector<const SimJob*> queue;
  Outcome out;
  double wait_sum_s = 0;
  size_t next = 0, started = 0;
  auto digest = [](int d) { return "d" + std::to_string(d); };
  int64_t now = 0;
  for (; started < stream.size(); now += kStepMs) {
    // Ranks that ended give back their slots.
    for (auto it = running.begin(); it != running.end();) {
      if (it->end_ms > now) {
        ++it;
        continue;
      }
      for (int w : it->workers) ++free_slots[w];
      it = running.erase(it);
    }
    while (next < stream.size() && stream[next].arrive_ms <= now) queue.push_back(&stream[next++]);
    if (queue.empty()) continue;
    Snapshot s;
    s.now_ms = now;
    for (int w = 0; w < p.workers; ++w) {
      SnapshotWorker sw;
      sw.id = "w" + std::string(w < 10 ? "0" : "") + std::to_string(w);
      sw.node = sw.id;
      sw.total_slots = p.slots;
      sw.free_slots = free_slots[w];
      for (int d : caches[w].lru) {
        SnapshotData c;
        c.digest = digest(d);
        c.bytes = sizes[d];
        sw.cached.push_back(std::move(c));
      }
      s.workers.push_back(std::move(sw));
    }
    for (const SimJob* j : queue) {
      SnapshotJob sj;
      sj.id = j->id;
      sj.account = "a";
      sj.submit_ms = j->arrive_ms;
      sj.min_ranks = sj.max_ranks = j->ranks;
      sj.max_runtime_ms = j->runtime_ms;
      if (prefer_cached) {
        SnapshotData d;
        d.digest = digest(j->dataset);
        d.bytes = sizes[j->dataset];
        sj.data.push_back(std::move(d));
      }
      s.queue.push_back(std::move(sj));
    }
    for (const Running& r : running) {
      SnapshotRunning sr;
      sr.id = r.id;
      sr.account = "a";
      sr.max_runtime_ms = r.end_ms;  // only the reservation reads it, relative to start_ms = 0
      for (int w : r.workers) sr.rank_workers.push_back(s.workers[w].id);
      s.running.push_back(std::move(sr));
    }
    const Decisions d = Decide(s, policy);
    for (const StartDecision& start : d.starts) {
      auto qit = std::find_if(queue.begin(), queue.end(),
                              [&](const SimJob* j) { return j->id == start.job_id; });
      const SimJob& job = **qit;
      Running r;
      r.id = job.id;
      r.end_ms = now + job.runtime_ms;
      r.dataset = job.dataset;
      std::vector<int> distinct;
      for (const std::string& id : start.rank_workers) {
        const int w = std::stoi(id.substr(1));
        r.workers.push_back(w);
        --free_slots[w];
        if (std::find(distinct.begin(), distinct.end(), w) == distinct.end()) distinct.push_back(w);
      }
      const int64_t size = sizes[job.dataset];
      for (int w : distinct) {
        WorkerCache& c = caches[w];
        out.read_bytes += size;
        auto hit = std::find(c.lru.begin(), c.lru.end(), job.dataset);
        if (hit != c.lru.end()) {
          c.lru.erase(hit);
        } else {
          out.fetched_bytes += size;
          c.bytes += size;
        }
        c.lru.push_back(job.dataset);
        // Evict the least recently used versions no running rank on this worker reads.
        for (auto it = c.lru.begin(); c.bytes > capacity && it != c.lru.end();) {
          const int ds = *it;
          const bool in_use =
              ds == job.dataset ||
              std::any_of(running.begin(), running.end(), [&](const Running& x) {
                return x.dataset == ds &&
                       std::find(x.workers.begin(), x.workers.end(), w) != x.workers.end();
              });
          if (in_use) {
            ++it;
            continue;
          }
          c.bytes -= sizes[ds];
          it = c.lru.erase(it);
        }
      }
      running.push_back(std::move(r));
      wait_sum_s += static_cast<double>(now - job.arrive_ms) / 1000.0;
      ++started;
      queue.erase(qit);
    }
  }
  int64_t end = now;
  for (const Running& r : running) end = std::max(end, r.end_ms);
  out.mean_wait_s = wait_sum_s / static_cast<double>(stream.size());
  out.makespan_h = static_cast<double>(end) / 3.6e6;
  return out;
}

std::vector<SimJob> MakeStream(const Params& p, uint64_t seed, std::vector<int64_t>* sizes) {
  std::mt19937_64 rng(seed);
  sizes->clear();
  std::vector<double> weights;
  for (int d = 0; d < p.datasets; ++d) {
    sizes->push_back((10 + static_cast<int64_t>(rng() % 51)) * kGiB);
    weights.push_back(1.0 / (d + 1));  // Zipf, s = 1
  }
  std::discrete_distribution<int> dataset_of(weights.begin(), weights.end());
  std::discrete_distribution<int> ranks_of({0, 70, 15, 0, 15});
  // ~80 % load: mean ranks 1.6, mean runtime 35 min.
  const double mean_gap_ms = 1.6 * 35 * 60'000 / (0.8 * p.workers * p.slots);
  std::exponential_distribution<double> gap(1.0 / mean_gap_ms);
  std::vector<SimJob> out;
  double t = 0;
  for (int i = 0; i < p.jobs; ++i) {
    SimJob j;
    j.id = i + 1;
    t += gap(rng);
    j.arrive_ms = static_cast<int64_t>(t);
    j.runtime_ms = (10 + static_cast<int64_t>(rng() % 51)) * 60'000;
    j.ranks = std::min(ranks_of(rng), p.workers * p.slots);  // never a gang the pool cannot hold
    j.dataset = dataset_of(rng);
    out.push_back(j);
  }
  return out;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  Params p;
  int seeds = 3;
  std::vector<double> cache_sizes = {50, 100, 200};
  CLI::App app(
      "shoal-cache-placement-bench: registry bytes fetched on a simulated pool with and without "
      "placement's preference for workers that cache a job's data; a Markdown table on stdout.");
  flags::Configure(app, "shoal-cache-placement-bench");
  app.add_option("--workers", p.workers, "workers in the pool")->check(flags::Positive(99));
  app.add_option("--slots", p.slots, "slots per worker")->check(flags::Positive(64));
  app.add_option("--datasets", p.datasets, "registry versions jobs read")->check(flags::Positive());
  app.add_option("--jobs", p.jobs, "jobs in the stream")->check(flags::Positive());
  app.add_option("--seeds", seeds, "streams per cache size (the median reported)")
      ->check(flags::Positive());
  app.add_option("--cache-gib", cache_sizes, "each worker's cache budget(s) in GiB")
      ->check(flags::Positive());
  if (std::optional<int> code = flags::Parse(app, argc, argv)) return *code;
  std::printf(
      "%d workers x %d slots, %d datasets, %d jobs, fifo+backfill, median of %d seeds\n\n"
      "| cache/worker | read (GiB) | fetched without (GiB) | fetched with (GiB) | saved | "
      "mean wait without (s) | mean wait with (s) |\n|---:|---:|---:|---:|---:|---:|---:|\n",
      p.workers, p.slots, p.datasets, p.jobs, seeds);
  for (double gib : cache_sizes) {
    p.cache_gib = gib;
    std::vector<double> read, without, with, wait_without, wait_with;
    for (int seed = 1; seed <= seeds; ++seed) {
      std::vector<int64_t> sizes;
      const std::vector<SimJob> stream = MakeStream(p, static_cast<uint64_t>(seed), &sizes);
      const Outcome a = Simulate(p, sizes, stream, /*prefer_cached=*/false);
      const Outcome b = Simulate(p, sizes, stream, /*prefer_cached=*/true);
      read.push_back(static_cast<double>(a.read_bytes) / kGiB);
      without.push_back(static_cast<double>(a.fetched_bytes) / kGiB);
      with.push_back(static_cast<double>(b.fetched_bytes) / kGiB);
      wait_without.push_back(a.mean_wait_s);
      wait_with.push_back(b.mean_wait_s);
    }
    const double w0 = Median(without), w1 = Median(with);
    std::printf("| %.0f GiB | %.0f | %.0f | %.0f | %.0f %% | %.0f | %.0f |\n", gib, Median(read),
                w0, w1, w0 > 0 ? 100.0 * (w0 - w1) / w0 : 0.0, Median(wait_without),
                Median(wait_with));
  }
  return 0;
}
