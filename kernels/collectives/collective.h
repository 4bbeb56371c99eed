// Collective: the gradient all-reduce between data-parallel ranks, behind one small interface
// (DESIGN.md §7 "small virtual seams"). Implementations: Gloo over TCP (CPU), a single-rank no-op;
// NCCL and MPI arrive with the cuda backend.
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
};

// World of one: every collective is the identity.
std::unique_ptr<Collective> MakeSingleRankCollective();

}  // namespace shoal
