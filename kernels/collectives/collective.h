// Collective: the gradient all-reduce between data-parallel ranks, behind one small interface
// (docs/design.md §7 "small virtual seams"). Implementations: Gloo over TCP (CPU), a single-rank
// no-op; MPI under mpirun (mpi_collective.h). The GPU gradient all-reduce is NCCL
// (nccl_communicator.h), bootstrapped through Broadcast() of one of these.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/status.h"

namespace shoal {

class Collective {
 public:
  virtual ~Collective() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // In-place sum of `data[0..n)` across all ranks; every rank must call it with the same n in the
  // same order. Returns Aborted/DeadlineExceeded when a peer fails or goes silent (never hangs
  // past the collective's timeout). Not thread-safe: one caller at a time.
  virtual Status AllReduceSum(float* data, int64_t n) = 0;
  virtual Status AllReduceSum(double* data, int64_t n) = 0;
  virtual Status Barrier() = 0;
  // Copies `bytes` bytes at `data` on rank `root` to `data` on every other rank (e.g. the NCCL
  // unique id: over Gloo it travels on the pairs rendezvoused through the scheduler's KV, under
  // mpirun it is MPI_Bcast). Same ordering, failure and thread-safety rules as AllReduceSum.
  virtual Status Broadcast(void* data, int64_t bytes, int root) = 0;
  // Every rank's `bytes` bytes at `mine`, rank r's at `all + r * bytes` (`all` holds size() *
  // bytes and must not overlap `mine`), exactly as sent. Meant for small payloads (a step's audit
  // tickets and claims): over Gloo it is one round in which every rank sends to every other at
  // once, where an all-reduce takes 2 log2(size) rounds one after another. Same ordering, failure
  // and thread-safety rules as AllReduceSum.
  virtual Status AllGather(const void* mine, void* all, int64_t bytes) = 0;
};

// World of one: every collective is the identity.
std::unique_ptr<Collective> MakeSingleRankCollective();

}  // namespace shoal
