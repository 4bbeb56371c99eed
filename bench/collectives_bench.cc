// shoal-collectives-bench: one rank of an in-place float all-reduce sweep through a shoal
// Collective (the same objects shoal-train uses), for bench/run.py --target collectives.
//
//   mpirun -np 2 shoal-collectives-bench --backend mpi
//   shoal-collectives-bench --backend gloo --rank R --world-size 2 --store-dir DIR   (x2)
//
// Rank 0 prints one JSON object per buffer size on stdout (bytes, iterations, mean time per
// all-reduce averaged over ranks, algbw and busbw in GB/s with nccl-tests' definitions). Before
// timing each size, one all-reduce is checked against the exact expected sum. Exit 0 on success,
// 1 on a failed collective or a wrong sum, 2 on bad flags.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gloo/rendezvous/file_store.h>

#include "common/flags.h"
#include "common/version.h"
#include "kernels/collectives/gloo_collective.h"
#ifdef SHOAL_HAVE_MPI
#include "kernels/collectives/mpi_collective.h"
#endif

using namespace shoal;

namespace {

// Same iteration count on every rank (a function of the size only), so the ranks stay in step:
// enough iterations for small sizes to average out noise, at least 3 for the huge ones.
int Iterations(int64_t bytes, int64_t budget) {
  return static_cast<int>(std::clamp<int64_t>(budget / bytes, 3, 200));
}

double Seconds(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// One size: verify, warm up, time. Returns false (after printing why) on any failure.
bool RunSize(Collective& c, const std::string& backend, int64_t bytes, int64_t budget) {
  const int64_t n = bytes / static_cast<int64_t>(sizeof(float));
  const int world = c.size();
  std::vector<float> buf(static_cast<size_t>(n));
  // Small integers are exact in float, so the check is exact whatever order the sum takes.
  for (int64_t i = 0; i < n; ++i) buf[i] = static_cast<float>((c.rank() + 1) * (i % 7 + 1));
  Status st = c.AllReduceSum(buf.data(), n);
  const float ranks_sum = world * (world + 1) / 2.0f;
  for (int64_t i = 0; st.ok() && i < n; ++i) {
    if (buf[i] != ranks_sum * static_cast<float>(i % 7 + 1)) {
      std::fprintf(stderr, "rank %d: wrong sum at %lld for %lld bytes\n", c.rank(),
                   static_cast<long long>(i), static_cast<long long>(bytes));
      return false;
    }
  }
  // Values small enough that `iters` doublings (2 ranks) stay normal and finite, so neither
  // denormals nor infinities distort the timing of the reduction arithmetic.
  std::fill(buf.begin(), buf.end(), 1e-30f);
  const int iters = Iterations(bytes, budget);
  const int warmup = std::min(5, iters);
  for (int i = 0; st.ok() && i < warmup; ++i) st = c.AllReduceSum(buf.data(), n);
  if (st.ok()) st = c.Barrier();
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; st.ok() && i < iters; ++i) st = c.AllReduceSum(buf.data(), n);
  auto t1 = std::chrono::steady_clock::now();
  if (!st.ok()) {
    std::fprintf(stderr, "rank %d: %s\n", c.rank(), st.ToString().c_str());
    return false;
  }
  // Mean over ranks of each rank's time per all-reduce (nccl-tests' default averaging).
  double per_op = Seconds(t0, t1) / iters;
  double sum = per_op;
  st = c.AllReduceSum(&sum, 1);
  if (!st.ok()) return false;
  per_op = sum / world;
  double algbw = static_cast<double>(bytes) / per_op / 1e9;
  double busbw = algbw * 2.0 * (world - 1) / world;
  if (c.rank() == 0) {
    std::printf("{\"backend\":\"%s\",\"ranks\":%d,\"bytes\":%lld,\"iters\":%d,\"timeUs\":%.3f,"
                "\"algbwGBs\":%.4f,\"busbwGBs\":%.4f}\n",
                backend.c_str(), world, static_cast<long long>(bytes), iters, per_op * 1e6, algbw,
                busbw);
    std::fflush(stdout);
  }
  return true;
}

// The flags, parsed and checked; nullopt from ParseFlags means go on.
struct Options {
  std::string backend, store_dir;
  long long rank = 0, world = 1, min_bytes = 1024, max_bytes = 256LL << 20, budget_mb = 1024;
};

std::optional<int> ParseFlags(int argc, char** argv, Options* o) {
  CLI::App app(
      "shoal-collectives-bench: one rank of an in-place float all-reduce sweep (sizes from "
      "--min-bytes to --max-bytes, stepping by x4); rank 0 prints a JSON object per size.");
  flags::Configure(app, "shoal-collectives-bench");
  app.footer(
      flags::Wrap("mpi: mpirun -np 2 shoal-collectives-bench --backend mpi\n"
                  "gloo: shoal-collectives-bench --backend gloo --rank R --world-size 2 "
                  "--store-dir DIR, once per rank\n"
                  "Exit codes: 0 ok, 1 a failed collective or a wrong sum, 2 bad flags.\n\n" +
                  VersionLine("shoal-collectives-bench")));
  app.add_option("--backend", o->backend, "the collective: mpi or gloo")
      ->type_name("mpi|gloo")
      ->required()
      ->check(CLI::IsMember({"mpi", "gloo"}));
  app.add_option("--rank", o->rank, "gloo: this rank, 0 .. world-size - 1")
      ->type_name("R")
      ->check(flags::NonNegative());
  app.add_option("--world-size", o->world, "gloo: the number of ranks")
      ->type_name("N")
      ->check(flags::Positive());
  app.add_option("--store-dir", o->store_dir, "gloo: a FileStore dir shared by the ranks")
      ->type_name("DIR");
  app.add_option("--min-bytes", o->min_bytes, "the smallest buffer (>= 4)")
      ->type_name("B")
      ->check(CLI::Range(4LL, std::numeric_limits<long long>::max()));
  app.add_option("--max-bytes", o->max_bytes, "the largest buffer (>= --min-bytes)")
      ->type_name("B");
  app.add_option("--budget-mb", o->budget_mb,
                 "MiB all-reduced per size and rank in timed iterations (1 .. 1048576)")
      ->type_name("M")
      ->check(CLI::Range(1LL, 1LL << 20));
  if (std::optional<int> code = flags::Parse(app, argc, argv)) return *code;
  if (o->max_bytes < o->min_bytes) {
    return flags::UsageError(app, "--max-bytes is below --min-bytes");
  }
  if (o->backend == "gloo" && (o->store_dir.empty() || o->rank >= o->world)) {
    return flags::UsageError(app, "gloo needs --store-dir and a --rank below --world-size");
  }
  return std::nullopt;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (std::optional<int> code = ParseFlags(argc, argv, &o)) return *code;
  std::unique_ptr<Collective> c;
  if (o.backend == "gloo") {
    gloo::rendezvous::FileStore store(o.store_dir);
    GlooOptions opts;
    opts.timeout = std::chrono::seconds(120);  // a 256 MB ring on a loaded 2-core machine
    auto made =
        MakeGlooCollective(static_cast<int>(o.rank), static_cast<int>(o.world), store, opts);
    if (!made.ok()) {
      std::fprintf(stderr, "%s\n", made.status().ToString().c_str());
      return 1;
    }
    c = std::move(made).value();
  } else {  // mpi
#ifdef SHOAL_HAVE_MPI
    auto made = MakeMpiCollective();
    if (!made.ok()) {
      std::fprintf(stderr, "%s\n", made.status().ToString().c_str());
      AbortMpi(1);
    }
    c = std::move(made).value();
#else
    std::fprintf(stderr, "built without MPI\n");
    return 2;
#endif
  }

  bool ok = true;
  for (long long bytes = o.min_bytes; ok && bytes <= o.max_bytes; bytes *= 4) {
    ok = RunSize(*c, o.backend, bytes, o.budget_mb << 20);
  }
#ifdef SHOAL_HAVE_MPI
  if (o.backend == "mpi") {
    if (!ok) AbortMpi(1);
    c.reset();
    FinalizeMpi();
  }
#endif
  return ok ? 0 : 1;
}
