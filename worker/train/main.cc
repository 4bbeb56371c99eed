// shoal-train: one rank of a training job. Started by shoal-worker (rank, world size and the
// rendezvous URL on the command line), by `mpirun -np N shoal-train job.yaml` (ranks and the
// all-reduce from MPI, no scheduler), or by hand for a single rank: `shoal-train job.yaml`.
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <new>
#include <optional>
#include <string>

#include "common/flags.h"
#include "common/spec/job_spec.h"
#include "common/version.h"
#include "kernels/collectives/gloo_collective.h"
#include "kernels/collectives/kv_store.h"
#include "worker/train/blas_setup.h"
#include "worker/train/trainer.h"
#ifdef SHOAL_HAVE_MPI
#include "kernels/collectives/mpi_collective.h"
#endif
#ifdef SHOAL_HAVE_CUDA
#include "worker/gpu/cuda_step_engine.h"
#endif

using namespace shoal;

namespace {

bool ParseLong(const char* s, long lo, long hi, long* out) {
  char* end = nullptr;
  long v = std::strtol(s, &end, 10);
  if (end == s || *end != '\0' || v < lo || v > hi) return false;
  *out = v;
  return true;
}

// How this process was launched by an MPI launcher, read from the environment the launcher sets
// for every rank (Open MPI: OMPI_COMM_WORLD_*; MPICH/Hydra and Slurm's PMI: PMI_*; PMIx
// launchers: PMIX_RANK, which carries no world size). Reading the environment needs no MPI
// library, so a build without MPI can still refuse an mpirun launch instead of training N
// independent copies.
struct MpiLaunch {
  bool found = false;
  long rank = -1;
  long size = -1;    // -1: the launcher does not say (PMIx); MPI will
  const char* via = "";
};

MpiLaunch DetectMpiLaunch() {
  auto get = [](const char* name, long* out) {
    const char* v = std::getenv(name);
    return v != nullptr && ParseLong(v, 0, 1 << 20, out);
  };
  MpiLaunch l;
  if (get("OMPI_COMM_WORLD_SIZE", &l.size) && get("OMPI_COMM_WORLD_RANK", &l.rank)) {
    l.via = "OMPI_COMM_WORLD_SIZE/RANK";
  } else if (get("PMI_SIZE", &l.size) && get("PMI_RANK", &l.rank)) {
    l.via = "PMI_SIZE/PMI_RANK";
  } else if (get("PMIX_RANK", &l.rank)) {
    l.size = -1;
    l.via = "PMIX_RANK";
  } else {
    return MpiLaunch{};
  }
  l.found = l.size != 0;
  return l;
}

// Set by SIGTERM/SIGINT; the trainer stops at its next step boundary (TrainerOptions).
std::atomic<bool> g_stop{false};
static_assert(std::atomic<bool>::is_always_lock_free);

void OnStopSignal(int) { g_stop.store(true); }

}  // namespace

int main(int argc, char** argv) {
  ReexecWithBestBlasKernels(argv);
  std::string spec_path, rendezvous, address = "127.0.0.1", kind = "auto";
  std::string checkpoint_dir, resume_from;
  long rank = 0, world = 1, threads = 1, max_steps = 0, timeout_sec = 60, bucket_kb = 0;
  long device = -1;  // -1: pick (local rank under mpirun, else 0)
  bool progress_json = false;
  CLI::App app("shoal-train: one rank of a training job.");
  flags::Configure(app, "shoal-train");
  app.footer(flags::Wrap(
      "Started by shoal-worker (rank, world size and rendezvous given), by `mpirun -np N "
      "shoal-train JOB.yaml` (rank and world size from MPI), or by hand for a single rank: "
      "`shoal-train JOB.yaml`.\nExit codes: 0 ok, 1 error, 2 bad spec/data/flags or divergence, "
      "3 a peer rank failed, 4 out of memory, 143 stopped by SIGTERM/SIGINT (after rank 0's "
      "checkpoint).\n\n" +
      VersionLine("shoal-train")));
  app.add_option("job", spec_path, "the job spec (YAML)")->type_name("JOB.yaml");
  CLI::Option* rank_flag =
      app.add_option("--rank", rank, "this rank")->type_name("R")->check(CLI::Range(0L, 1L << 20));
  CLI::Option* world_flag = app.add_option("--world-size", world, "number of ranks")
                                ->type_name("N")
                                ->check(CLI::Range(1L, 1L << 20));
  CLI::Option* rendezvous_flag =
      app.add_option("--rendezvous", rendezvous,
                     "the scheduler's KV for this attempt (needed when N > 1); the worker passes "
                     "its token in $SHOAL_TOKEN (and a CA in $SHOAL_CA_FILE)")
          ->type_name("URL");
  app.add_option("--address", address, "address peers reach this rank on")->type_name("ADDR");
  app.add_option("--threads", threads, "compute threads")
      ->type_name("N")
      ->check(CLI::Range(1L, 1024L));
  app.add_option("--max-steps", max_steps, "stop after N steps (benchmarks); 0 = the spec's epochs")
      ->type_name("N")
      ->check(CLI::Range(0L, 1L << 40));
  app.add_option("--bucket-kb", bucket_kb,
                 "all-reduce gradients in buckets of N KiB while backward runs; 0 = one "
                 "all-reduce after backward, faster on CPU ranks that share cores")
      ->type_name("N")
      ->check(CLI::Range(0L, 1L << 22));
  app.add_option("--timeout-sec", timeout_sec, "collective/rendezvous timeout (Gloo and NCCL)")
      ->type_name("S")
      ->check(CLI::Range(1L, 86400L));
  app.add_option("--device", device,
                 "CUDA device for the cuda backend (default: the launcher's local rank under "
                 "mpirun, else 0; shoal-worker gives each rank one GPU through "
                 "CUDA_VISIBLE_DEVICES, so 0 is that GPU)")
      ->type_name("N")
      ->default_str("")
      ->check(CLI::Range(0L, 1023L));
  app.add_option("--checkpoint-dir", checkpoint_dir,
                 "rank 0 writes checkpoints (safetensors) here, on the job's checkpoint schedule "
                 "and when stopped by SIGTERM/SIGINT (default: none)")
      ->type_name("DIR");
  app.add_option("--resume", resume_from,
                 "start from this checkpoint (every rank; default: from the start)")
      ->type_name("FILE");
  app.add_option("--collective", kind,
                 "auto, mpi or gloo. auto: mpi when started by mpirun and none of "
                 "--rank/--world-size/--rendezvous is given, gloo when --world-size > 1, else a "
                 "single rank")
      ->type_name("KIND")
      ->check(CLI::IsMember({"auto", "mpi", "gloo"}));
  app.add_flag("--progress-json", progress_json,
               "write progress, checkpoint and result reports as \"@shoal {json}\" lines on "
               "stdout, for shoal-worker (default: only human-readable lines)");
  if (std::optional<int> code = flags::Parse(app, argc, argv)) return *code;
  if (spec_path.empty()) return flags::UsageError(app, "a job file (JOB.yaml) is required");
  // --rank/--world-size/--rendezvous given: the scheduler's launch.
  const bool explicit_ranks =
      rank_flag->count() > 0 || world_flag->count() > 0 || rendezvous_flag->count() > 0;
  if (rank >= world) {
    std::fprintf(stderr, "shoal-train: --rank %ld must be below --world-size %ld\n", rank, world);
    return 2;
  }

  // Explicit ranks win: shoal-worker always passes them, and a worker that was itself started
  // under mpirun hands its OMPI_* environment down to the trainers it spawns.
  MpiLaunch launch = explicit_ranks ? MpiLaunch{} : DetectMpiLaunch();
  if (kind == "auto") kind = launch.found ? "mpi" : (world > 1 ? "gloo" : "single");
  if (kind == "mpi") {
    if (explicit_ranks) {
      std::fprintf(stderr, "shoal-train: --collective mpi takes ranks from mpirun; drop "
                           "--rank/--world-size/--rendezvous\n");
      return 2;
    }
    if (!launch.found) {
      std::fprintf(stderr, "shoal-train: --collective mpi needs a launch by mpirun (no "
                           "OMPI_COMM_WORLD_*, PMI_* or PMIX_RANK in the environment)\n");
      return 2;
    }
  } else if (launch.found && launch.size != 1) {
    // Under mpirun without MPI every rank would train alone: N silent copies of one job.
    std::fprintf(stderr, "shoal-train: launched by an MPI launcher (%s) but --collective %s has "
                         "no ranks to join; use --collective mpi or the scheduler\n",
                 launch.via, kind.c_str());
    return 2;
  }
  if (kind == "gloo" && world == 1) kind = "single";
#ifndef SHOAL_HAVE_MPI
  if (kind == "mpi") {
    if (launch.size != 1) {
      std::fprintf(stderr, "shoal-train: launched by an MPI launcher (%s, world size %s) but "
                           "this shoal-train was built without MPI; install libopenmpi-dev and "
                           "rebuild, or submit the job to a shoal-scheduler\n",
                   launch.via, launch.size < 0 ? "unknown" : std::to_string(launch.size).c_str());
      return 2;
    }
    kind = "single";  // mpirun -np 1: nothing to reduce
  }
#endif

  // The spec is checked before MPI starts, so a bad spec fails every rank alike and fast.
  auto spec = LoadJobSpecFile(spec_path);
  if (!spec.ok()) {
    std::fprintf(stderr, "error: %s\n", spec.status().message().c_str());
    return 2;
  }

  std::unique_ptr<Collective> collective;
  std::unique_ptr<HttpKvStore> store;
  if (kind == "single") {
    collective = MakeSingleRankCollective();
  } else if (kind == "gloo") {
    if (rendezvous.empty()) {
      std::fprintf(stderr, "shoal-train: --rendezvous is required when --world-size > 1\n");
      return 2;
    }
    // The worker hands its token (and CA) over in the environment, which `ps` does not show.
    const char* token = std::getenv("SHOAL_TOKEN");
    const char* ca_file = std::getenv("SHOAL_CA_FILE");
    store = std::make_unique<HttpKvStore>(rendezvous, std::chrono::seconds(timeout_sec),
                                          token != nullptr ? token : "",
                                          ca_file != nullptr ? ca_file : "");
    GlooOptions gloo;
    gloo.address = address;
    gloo.timeout = std::chrono::seconds(timeout_sec);
    auto made = MakeGlooCollective(static_cast<int>(rank), static_cast<int>(world), *store, gloo);
    if (!made.ok()) {
      std::fprintf(stderr, "error: %s\n", made.status().message().c_str());
      return ExitCodeFor(made.status());
    }
    collective = std::move(made).value();
  }
#ifdef SHOAL_HAVE_MPI
  const bool mpi = kind == "mpi";
  if (mpi) {
    auto made = MakeMpiCollective();
    if (!made.ok()) {
      std::fprintf(stderr, "error: %s\n", made.status().message().c_str());
      AbortMpi(kTrainError);
    }
    collective = std::move(made).value();
    if (launch.size > 0 && collective->size() != launch.size) {
      std::fprintf(stderr, "error: MPI reports %d ranks but %s says %ld\n", collective->size(),
                   launch.via, launch.size);
      AbortMpi(kTrainError);
    }
  }
#endif

  TrainerOptions options;
  options.threads = static_cast<int>(threads);
  options.max_steps = max_steps;
  options.bucket_bytes = static_cast<int64_t>(bucket_kb) * 1024;
  options.timeout_sec = static_cast<double>(timeout_sec);
#ifdef SHOAL_HAVE_CUDA
  options.make_cuda_engine = MakeCudaEngine;
  options.cuda_usable = [](std::string* why) { return CudaDeviceCount(why) > 0; };
  if (device < 0) {
    // mpirun starts one rank per GPU of a node: local rank i takes device i (mod the count).
    long local = 0;
    const char* l = std::getenv("OMPI_COMM_WORLD_LOCAL_RANK");
    if (l == nullptr) l = std::getenv("MPI_LOCALRANKID");
    if (l == nullptr) l = std::getenv("SLURM_LOCALID");
    if (kind == "mpi" && l != nullptr && ParseLong(l, 0, 1 << 20, &local)) {
      std::string why;
      const int count = CudaDeviceCount(&why);
      device = count > 0 ? local % count : 0;
    } else {
      device = 0;
    }
  }
#endif
  options.device = static_cast<int>(std::max(0L, device));
  options.checkpoint_dir = checkpoint_dir;
  options.resume_from = resume_from;
  options.stop_requested = &g_stop;
  options.progress_json = progress_json;
  struct sigaction sa {};
  sa.sa_handler = OnStopSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  // An allocation that fails (a model or data set larger than the memory this process may use:
  // RLIMIT_AS, a cgroup without swap, no overcommit) is the job's fault, told apart by its exit
  // code so that the scheduler does not retry it elsewhere.
  Result<TrainResult> result = Internal("not run");
  try {
    result = Train(*spec, *collective, options, std::cout);
  } catch (const std::bad_alloc&) {
    std::cout.flush();
    std::fprintf(stderr,
                 "error: out of memory: an allocation failed (the job's model, batch or "
                 "data set needs more memory than this rank may use)\n");
    return kTrainOutOfMemory;
  }
  std::cout.flush();
  if (!result.ok()) {
    std::fprintf(stderr, "error: %s\n", result.status().message().c_str());
#ifdef SHOAL_HAVE_MPI
    // A peer may be blocked in an all-reduce this rank will never join: MPI has no timeout, so
    // only MPI_Abort (mpirun kills every rank) guarantees the job ends.
    if (mpi && collective->size() > 1) AbortMpi(ExitCodeFor(result.status()));
    if (mpi) FinalizeMpi();
#endif
    return ExitCodeFor(result.status());
  }
#ifdef SHOAL_HAVE_MPI
  collective.reset();
  if (mpi) FinalizeMpi();
#endif
  return result->stopped ? kTrainStopped : kTrainOk;
}
