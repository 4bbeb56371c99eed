// MPI collective (docs/design.md §4 `mpi`): when a rank was started by `mpirun`, MPI provides the
// rank, the world size and the CPU all-reduce, with no scheduler and no rendezvous store.
//
// Built only when CMake finds MPI (target shoal_collectives_mpi, which defines SHOAL_HAVE_MPI=1
// for its users). All collectives run on MPI_COMM_WORLD.
//
// Lifetime: MakeMpiCollective() initializes MPI once per process with MPI_THREAD_SERIALIZED: any
// thread may call the collective, one at a time (the trainer's GradReducer all-reduces from its
// own communication thread, so FUNNELED would not do). Destroy every MpiCollective, then call
// FinalizeMpi() before a successful exit; on a failure that other ranks may not share, call
// AbortMpi() instead so that `mpirun` tears the whole job down rather than waiting on ranks that
// are stuck in a collective.
//
// Failure semantics differ from Gloo: MPI has no per-call timeout, so AllReduceSum() and
// Barrier() block until every rank joins. A rank that dies is noticed by `mpirun`, which kills
// the remaining ranks (they never see an error Status). Errors MPI does report (it is set to
// MPI_ERRORS_RETURN on MPI_COMM_WORLD) come back as Aborted with MPI's error string.
#pragma once

#include <memory>

#include "common/status.h"
#include "kernels/collectives/collective.h"

namespace shoal {

// Initializes MPI if needed (requesting MPI_THREAD_SERIALIZED) and returns a Collective whose
// rank()/size() are those of MPI_COMM_WORLD. Returns Unavailable when MPI was already finalized
// or provides less than MPI_THREAD_SERIALIZED. The returned object is not thread-safe: one
// caller at a time, from any thread.
Result<std::unique_ptr<Collective>> MakeMpiCollective();

// Calls MPI_Finalize if MPI is initialized and not yet finalized; otherwise does nothing.
// Every rank must call it (it synchronizes with the other ranks). Idempotent.
void FinalizeMpi();

// Calls MPI_Abort(MPI_COMM_WORLD, exit_code) when MPI is initialized, which makes `mpirun` kill
// every rank and exit with a non-zero status; otherwise exits the process with `exit_code`.
// Does not return.
[[noreturn]] void AbortMpi(int exit_code);

}  // namespace shoal
