// NcclCommunicator: the cuda backend's gradient all-reduce (docs/design.md §4) over NCCL.
//
// Bootstrap: rank 0 calls ncclGetUniqueId and the 128-byte id reaches every rank through
// Collective::Broadcast of the rank's CPU collective — Gloo, whose pairs were rendezvoused through
// the scheduler's KV, when shoal-worker launched the ranks; MPI_Bcast under mpirun.
//
// Failure handling: the communicator is created non-blocking (ncclConfig_t.blocking = 0), so no
// NCCL call can block the host indefinitely. Initialization and Synchronize() poll
// ncclCommGetAsyncError and cudaStreamQuery; an NCCL error, or no completion within the timeout
// (a dead or stuck peer), aborts the communicator (ncclCommAbort, which also releases the kernels
// waiting on the peer) and returns Aborted / DeadlineExceeded with the reason. After that every
// call returns FailedPrecondition: the attempt is over, the scheduler restarts it.
//
// Built only with CUDA and NCCL (target shoal_collectives_nccl). Not thread-safe: one user thread.
// The CUDA device current when Create() is called must be current for every later call.
#pragma once

#include <cuda_runtime_api.h>
#include <nccl.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "common/status.h"
#include "kernels/collectives/collective.h"

namespace shoal {

struct NcclOptions {
  // Longest wait for init or for a synchronized stream before the peers are declared dead.
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};
};

class NcclCommunicator {
 public:
  // Collective over `bootstrap` (every rank calls it, same order): creates this rank's
  // communicator of bootstrap.size() ranks on the current CUDA device. Each rank must use a
  // different GPU (NCCL does not support two ranks on one device).
  static Result<std::unique_ptr<NcclCommunicator>> Create(Collective& bootstrap,
                                                          const NcclOptions& options);
  ~NcclCommunicator();  // finalizes and destroys (or aborts, when broken or unfinished)
  NcclCommunicator(const NcclCommunicator&) = delete;
  NcclCommunicator& operator=(const NcclCommunicator&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }

  // Enqueues an in-place float sum of each device range across the ranks on `stream` and returns
  // without waiting for it; several ranges are fused into one NCCL group (one launch). Every rank
  // enqueues the same sequence of calls (same sizes).
  struct Range {
    float* d_data;
    int64_t n;
  };
  Status AllReduceSumAsync(std::span<const Range> ranges, cudaStream_t stream);
  Status AllReduceSumAsync(float* d_data, int64_t n, cudaStream_t stream) {
    const Range r{d_data, n};
    return AllReduceSumAsync(std::span<const Range>(&r, 1), stream);
  }

  // Waits for everything enqueued on `stream` (NCCL or not), polling for NCCL errors; aborts the
  // communicator on an error or after the timeout (see above).
  Status Synchronize(cudaStream_t stream);

  // Aborts the communicator now (idempotent): for a rank that fails on its own, so that its peers'
  // NCCL kernels error out instead of waiting for it.
  void Abort();

 private:
  NcclCommunicator(ncclComm_t comm, int rank, int size, const NcclOptions& options)
      : comm_(comm), rank_(rank), size_(size), options_(options) {}
  // Polls ncclCommGetAsyncError until the last call's work is accepted (not ncclInProgress).
  Status WaitIdle(const char* what);
  Status Fail(StatusCode code, const std::string& message);

  ncclComm_t comm_ = nullptr;
  int rank_ = 0;
  int size_ = 1;
  NcclOptions options_;
  bool broken_ = false;
};

}  // namespace shoal
