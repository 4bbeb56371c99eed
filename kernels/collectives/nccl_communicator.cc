#include "kernels/collectives/nccl_communicator.h"

#include <climits>
#include <cstring>
#include <thread>

namespace shoal {
namespace {

using Clock = std::chrono::steady_clock;

std::string NcclError(ncclComm_t comm, ncclResult_t r) {
  std::string s = ncclGetErrorString(r);
  const char* last = ncclGetLastError(comm);
  if (last != nullptr && *last != '\0') s += std::string(": ") + last;
  return s;
}

// Back-off for polling loops: short at first (the common case finishes in microseconds), then
// 1 ms so that a long wait does not burn a core.
void Pause(int iteration) {
  if (iteration < 100) {
    std::this_thread::yield();
  } else {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

}  // namespace

Result<std::unique_ptr<NcclCommunicator>> NcclCommunicator::Create(Collective& bootstrap,
                                                                   const NcclOptions& options) {
  const int rank = bootstrap.rank(), size = bootstrap.size();
  ncclUniqueId id;
  std::memset(&id, 0, sizeof(id));
  if (rank == 0) {
    ncclResult_t r = ncclGetUniqueId(&id);
    if (r != ncclSuccess) {
      // The other ranks are waiting in the broadcast; send them the zero id so they fail too
      // (init with an all-zero id fails fast) rather than time out.
      (void)bootstrap.Broadcast(&id, sizeof(id), 0);
      return Unavailable(std::string("ncclGetUniqueId failed: ") + ncclGetErrorString(r));
    }
  }
  RETURN_IF_ERROR(bootstrap.Broadcast(&id, sizeof(id), 0).WithContext("NCCL id broadcast"));

  ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
  config.blocking = 0;
  ncclComm_t comm = nullptr;
  ncclResult_t r = ncclCommInitRankConfig(&comm, size, id, rank, &config);
  if (r != ncclSuccess && r != ncclInProgress) {
    if (comm != nullptr) ncclCommAbort(comm);
    return Unavailable("ncclCommInitRankConfig (rank " + std::to_string(rank) + " of " +
                       std::to_string(size) + ") failed: " + NcclError(comm, r));
  }
  std::unique_ptr<NcclCommunicator> c(new NcclCommunicator(comm, rank, size, options));
  RETURN_IF_ERROR(c->WaitIdle("NCCL communicator init"));
  return c;
}

NcclCommunicator::~NcclCommunicator() {
  if (comm_ == nullptr) return;
  // Finalize flushes outstanding work; non-blocking, so bounded by the timeout like the rest.
  ncclResult_t r = ncclCommFinalize(comm_);
  if ((r == ncclSuccess || r == ncclInProgress) && WaitIdle("NCCL finalize").ok()) {
    ncclCommDestroy(comm_);
    return;
  }
  Abort();  // no-op when WaitIdle already aborted
}

void NcclCommunicator::Abort() {
  if (comm_ == nullptr || broken_) return;
  broken_ = true;
  ncclCommAbort(comm_);
  comm_ = nullptr;
}

Status NcclCommunicator::Fail(StatusCode code, const std::string& message) {
  Abort();
  return Status(code, message);
}

Status NcclCommunicator::WaitIdle(const char* what) {
  if (broken_) return FailedPrecondition(std::string(what) + ": the NCCL communicator was aborted");
  const auto deadline = Clock::now() + options_.timeout;
  for (int i = 0;; ++i) {
    ncclResult_t state = ncclSuccess;
    ncclResult_t r = ncclCommGetAsyncError(comm_, &state);
    if (r != ncclSuccess) return Fail(StatusCode::kAborted, std::string(what) + ": " + NcclError(comm_, r));
    if (state == ncclSuccess) return Status::Ok();
    if (state != ncclInProgress) {
      return Fail(StatusCode::kAborted, std::string(what) + " failed (a peer rank died or is "
                                        "unreachable?): " + NcclError(comm_, state));
    }
    if (Clock::now() > deadline) {
      return Fail(StatusCode::kDeadlineExceeded,
                  std::string(what) + " did not finish within " +
                      std::to_string(options_.timeout.count()) + " ms (a peer rank is gone?)");
    }
    Pause(i);
  }
}

Status NcclCommunicator::AllReduceSumAsync(std::span<const Range> ranges, cudaStream_t stream) {
  if (broken_) return FailedPrecondition("all-reduce on an aborted NCCL communicator");
  for (const Range& r : ranges) {
    if (r.n < 0 || (r.n > 0 && r.d_data == nullptr)) {
      return InvalidArgument("bad NCCL all-reduce of " + std::to_string(r.n) + " floats");
    }
  }
  const bool group = ranges.size() > 1;
  if (group) {
    if (ncclResult_t r = ncclGroupStart(); r != ncclSuccess) {
      return Fail(StatusCode::kAborted, "ncclGroupStart: " + NcclError(comm_, r));
    }
  }
  for (const Range& range : ranges) {
    if (range.n == 0) continue;
    ncclResult_t r = ncclAllReduce(range.d_data, range.d_data, static_cast<size_t>(range.n),
                                   ncclFloat, ncclSum, comm_, stream);
    if (r != ncclSuccess && r != ncclInProgress) {
      if (group) (void)ncclGroupEnd();
      return Fail(StatusCode::kAborted, "ncclAllReduce: " + NcclError(comm_, r));
    }
  }
  ncclResult_t r = group ? ncclGroupEnd() : ncclSuccess;
  if (r != ncclSuccess && r != ncclInProgress) {
    return Fail(StatusCode::kAborted, "ncclGroupEnd: " + NcclError(comm_, r));
  }
  // Non-blocking communicators may still be accepting the work: wait until they have, so that the
  // next call on the communicator (or the stream) is well ordered.
  return WaitIdle("NCCL all-reduce enqueue");
}

Status NcclCommunicator::Synchronize(cudaStream_t stream) {
  if (broken_) return FailedPrecondition("synchronize on an aborted NCCL communicator");
  const auto deadline = Clock::now() + options_.timeout;
  for (int i = 0;; ++i) {
    cudaError_t e = cudaStreamQuery(stream);
    if (e == cudaSuccess) return Status::Ok();
    if (e != cudaErrorNotReady) {
      return Fail(StatusCode::kInternal,
                  std::string("CUDA error while waiting for the step: ") + cudaGetErrorString(e));
    }
    ncclResult_t state = ncclSuccess;
    ncclResult_t r = ncclCommGetAsyncError(comm_, &state);
    if (r != ncclSuccess || (state != ncclSuccess && state != ncclInProgress)) {
      return Fail(StatusCode::kAborted, "NCCL all-reduce failed (a peer rank died?): " +
                                            NcclError(comm_, r != ncclSuccess ? r : state));
    }
    if (Clock::now() > deadline) {
      return Fail(StatusCode::kDeadlineExceeded,
                  "the gradient all-reduce did not finish within " +
                      std::to_string(options_.timeout.count()) +
                      " ms: a peer rank is dead or stuck; NCCL communicator aborted");
    }
    Pause(i);
  }
}

}  // namespace shoal
