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
#include <memory>
#include <string>
#include <vector>

#include <gloo/rendezvous/file_store.h>

#include "kernels/collectives/gloo_collective.h"
#ifdef SHOAL_HAVE_MPI
#include "kernels/collectives/mpi_collective.h"
#endif

using namespace shoal;

namespace {

const char kUsage[] = R"(usage: shoal-collectives-bench --backend mpi|gloo [flags]
  --rank R --world-size N --store-dir DIR   gloo: this rank and a FileStore dir shared by ranks
  --min-bytes B (default 1024)  --max-bytes B (default 268435456), stepping by x4
  --budget-mb M   bytes all-reduced per size and rank in timed iterations (default 1024)
)";

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

}  // namespace

int main(int argc, char** argv) {
  std::string backend, store_dir;
  long long rank = 0, world = 1, min_bytes = 1024, max_bytes = 256LL << 20, budget_mb = 1024;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "%s needs a value\n%s", arg.c_str(), kUsage);
      return 2;
    }
    std::string v = argv[++i];
    if (arg == "--backend") backend = v;
    else if (arg == "--store-dir") store_dir = v;
    else if (arg == "--rank") rank = std::atoll(v.c_str());
    else if (arg == "--world-size") world = std::atoll(v.c_str());
    else if (arg == "--min-bytes") min_bytes = std::atoll(v.c_str());
    else if (arg == "--max-bytes") max_bytes = std::atoll(v.c_str());
    else if (arg == "--budget-mb") budget_mb = std::atoll(v.c_str());
    else {
      std::fprintf(stderr, "unknown flag %s\n%s", arg.c_str(), kUsage);
      return 2;
    }
  }
  if (min_bytes < 4 || max_bytes < min_bytes || budget_mb < 1) {
    std::fprintf(stderr, "bad sizes\n%s", kUsage);
    return 2;
  }

  std::unique_ptr<Collective> c;
  if (backend == "gloo") {
    if (store_dir.empty() || world < 1 || rank < 0 || rank >= world) {
      std::fprintf(stderr, "gloo needs --rank, --world-size and --store-dir\n");
      return 2;
    }
    gloo::rendezvous::FileStore store(store_dir);
    GlooOptions opts;
    opts.timeout = std::chrono::seconds(120);  // a 256 MB ring on a loaded 2-core machine
    auto made = MakeGlooCollective(static_cast<int>(rank), static_cast<int>(world), store, opts);
    if (!made.ok()) {
      std::fprintf(stderr, "%s\n", made.status().ToString().c_str());
      return 1;
    }
    c = std::move(made).value();
  } else if (backend == "mpi") {
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
  } else {
    std::fprintf(stderr, "--backend must be mpi or gloo\n%s", kUsage);
    return 2;
  }

  bool ok = true;
  for (long long bytes = min_bytes; ok && bytes <= max_bytes; bytes *= 4) {
    ok = RunSize(*c, backend, bytes, budget_mb << 20);
  }
#ifdef SHOAL_HAVE_MPI
  if (backend == "mpi") {
    if (!ok) AbortMpi(1);
    c.reset();
    FinalizeMpi();
  }
#endif
  return ok ? 0 : 1;
}
