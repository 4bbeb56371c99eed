#include "worker/train/launch.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include "kernels/collectives/gloo_collective.h"
#ifdef SHOAL_HAVE_MPI
#include "kernels/collectives/mpi_collective.h"
#endif
#ifdef SHOAL_HAVE_CUDA
#include "worker/train/engines/cuda/cuda_step_engine.h"
#endif

namespace shoal {
namespace {

bool ParseLong(const char* s, long lo, long hi, long* out) {
  char* end = nullptr;
  long v = std::strtol(s, &end, 10);
  if (end == s || *end != '\0' || v < lo || v > hi) return false;
  *out = v;
  return true;
}

}  // namespace

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

Result<std::string> ResolveCollectiveKind(std::string kind, bool explicit_ranks, long world,
                                          const MpiLaunch& launch) {
  if (kind == "auto") kind = launch.found ? "mpi" : (world > 1 ? "gloo" : "single");
  if (kind == "mpi") {
    if (explicit_ranks) {
      return InvalidArgument(
          "--collective mpi takes ranks from mpirun; drop --rank/--world-size/--rendezvous");
    }
    if (!launch.found) {
      return InvalidArgument(
          "--collective mpi needs a launch by mpirun (no OMPI_COMM_WORLD_*, PMI_* or PMIX_RANK "
          "in the environment)");
    }
  } else if (launch.found && launch.size != 1) {
    // Under mpirun without MPI every rank would train alone: N silent copies of one job.
    return InvalidArgument(std::string("launched by an MPI launcher (") + launch.via +
                           ") but --collective " + kind +
                           " has no ranks to join; use --collective mpi or the scheduler");
  }
  if (kind == "gloo" && world == 1) kind = "single";
#ifndef SHOAL_HAVE_MPI
  if (kind == "mpi") {
    if (launch.size != 1) {
      return InvalidArgument(
          std::string("launched by an MPI launcher (") + launch.via + ", world size " +
          (launch.size < 0 ? "unknown" : std::to_string(launch.size)) +
          ") but this shoal-train was built without MPI; install libopenmpi-dev and rebuild, or "
          "submit the job to a shoal-scheduler");
    }
    kind = "single";  // mpirun -np 1: nothing to reduce
  }
#endif
  return kind;
}

Result<JoinedRanks> JoinRanks(const JoinOptions& options, const MpiLaunch& launch) {
  JoinedRanks joined;
  if (options.kind == "single") {
    joined.collective = MakeSingleRankCollective();
  } else if (options.kind == "gloo") {
    const char* token = std::getenv("SHOAL_TOKEN");
    const char* ca_file = std::getenv("SHOAL_CA_FILE");
    joined.store = std::make_unique<HttpKvStore>(
        options.rendezvous, std::chrono::seconds(options.timeout_sec),
        token != nullptr ? token : "", ca_file != nullptr ? ca_file : "");
    GlooOptions gloo;
    gloo.address = options.address;
    gloo.timeout = std::chrono::seconds(options.timeout_sec);
    ASSIGN_OR_RETURN(joined.collective,
                     MakeGlooCollective(static_cast<int>(options.rank),
                                        static_cast<int>(options.world), *joined.store, gloo));
  }
#ifdef SHOAL_HAVE_MPI
  if (options.kind == "mpi") {
    joined.mpi = true;
    auto made = MakeMpiCollective();
    if (!made.ok()) {
      std::fprintf(stderr, "error: %s\n", made.status().message().c_str());
      AbortMpi(kTrainError);
    }
    joined.collective = std::move(made).value();
    if (launch.size > 0 && joined.collective->size() != launch.size) {
      std::fprintf(stderr, "error: MPI reports %d ranks but %s says %ld\n",
                   joined.collective->size(), launch.via, launch.size);
      AbortMpi(kTrainError);
    }
  }
#endif
  return joined;
}

void UseBuiltInEngines(const std::string& kind, long device, TrainerOptions* options) {
#ifdef SHOAL_HAVE_CUDA
  options->make_cuda_engine = MakeCudaEngine;
  options->cuda_usable = [](std::string* why) { return CudaDeviceCount(why) > 0; };
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
  options->device = static_cast<int>(std::max(0L, device));
}

void EndMpi(JoinedRanks& ranks, const Status& result) {
#ifdef SHOAL_HAVE_MPI
  if (!ranks.mpi) return;
  if (!result.ok()) {
    if (ranks.collective->size() > 1) AbortMpi(ExitCodeFor(result));
    FinalizeMpi();
    return;
  }
  ranks.collective.reset();
  FinalizeMpi();
#endif
}

}  // namespace shoal
