// shoal-train's launch choices (docs/design.md §3): how this process was started (by shoal-worker,
// by mpirun or by hand), which collective joins its ranks, which CUDA device it uses and which
// engines the build has. Compiled into the shoal-train executable only (with main.cc): the one
// place that knows whether the build has MPI and CUDA, so the trainer and engines below it never
// need an #ifdef.
#pragma once

#include <memory>
#include <string>

#include "common/status.h"
#include "kernels/collectives/collective.h"
#include "kernels/collectives/kv_store.h"
#include "worker/train/trainer.h"

namespace shoal {

// How an MPI launcher started this process, read from the environment it sets for every rank
// (Open MPI: OMPI_COMM_WORLD_*; MPICH/Hydra and Slurm's PMI: PMI_*; PMIx launchers: PMIX_RANK,
// which carries no world size). Reading the environment needs no MPI library, so a build without
// MPI can still refuse an mpirun launch instead of training N independent copies.
struct MpiLaunch {
  bool found = false;
  long rank = -1;
  long size = -1;  // -1: the launcher does not say (PMIx); MPI will
  const char* via = "";
};
MpiLaunch DetectMpiLaunch();

// Resolves --collective (auto, mpi or gloo) to "single", "gloo" or "mpi" given whether
// --rank/--world-size/--rendezvous were given, the world size and the MPI launch. A combination
// that cannot work (mpi without mpirun, mpirun without mpi, mpi in a build without MPI) is
// InvalidArgument with the message for the user.
Result<std::string> ResolveCollectiveKind(std::string kind, bool explicit_ranks, long world,
                                          const MpiLaunch& launch);

// The ranks, joined: the collective and, for gloo, the rendezvous store it needs (which must
// outlive it). `mpi` says whether MPI must be finalized or aborted at the end (EndMpi).
struct JoinedRanks {
  std::unique_ptr<HttpKvStore> store;
  std::unique_ptr<Collective> collective;
  bool mpi = false;
};

// What JoinRanks needs from the command line.
struct JoinOptions {
  std::string kind;  // from ResolveCollectiveKind
  long rank = 0, world = 1;
  std::string rendezvous;  // gloo: the scheduler's KV for this attempt (must not be empty)
  std::string address;     // gloo: the address peers reach this rank on
  long timeout_sec = 60;
};

// Joins the ranks. The worker hands its token and CA to the rendezvous in $SHOAL_TOKEN and
// $SHOAL_CA_FILE (the environment, which `ps` does not show). A gloo failure comes back as its
// Status; an MPI failure aborts the whole MPI job (AbortMpi) after printing it.
Result<JoinedRanks> JoinRanks(const JoinOptions& options, const MpiLaunch& launch);

// Hands the cuda engine to the trainer when the build has CUDA, and picks the device: `device`
// when >= 0, else under mpirun the launcher's local rank modulo the devices, else 0.
void UseBuiltInEngines(const std::string& kind, long device, TrainerOptions* options);

// Ends MPI after Train: on a failure with peers, aborts the job (a peer may be blocked in an
// all-reduce this rank will never join, and MPI has no timeout); otherwise finalizes it. Releases
// the collective first. Does nothing for other collectives.
void EndMpi(JoinedRanks& ranks, const Status& result);

}  // namespace shoal
