#include "kernels/collectives/mpi_collective.h"

#include <mpi.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <string>

namespace shoal {
namespace {

std::string MpiErrorString(int code) {
  char buf[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(code, buf, &len) != MPI_SUCCESS) return "MPI error " + std::to_string(code);
  return std::string(buf, static_cast<size_t>(len));
}

template <typename T>
MPI_Datatype MpiType();
template <>
MPI_Datatype MpiType<float>() { return MPI_FLOAT; }
template <>
MPI_Datatype MpiType<double>() { return MPI_DOUBLE; }

class MpiCollective final : public Collective {
 public:
  MpiCollective(int rank, int size) : rank_(rank), size_(size) {}

  int rank() const override { return rank_; }
  int size() const override { return size_; }

  Status AllReduceSum(float* data, int64_t n) override { return Reduce(data, n); }
  Status AllReduceSum(double* data, int64_t n) override { return Reduce(data, n); }

  Status Barrier() override {
    int rc = MPI_Barrier(MPI_COMM_WORLD);
    if (rc != MPI_SUCCESS) return Aborted("MPI_Barrier failed: " + MpiErrorString(rc));
    return Status::Ok();
  }

  Status Broadcast(void* data, int64_t bytes, int root) override {
    if (bytes < 0 || bytes > INT_MAX || root < 0 || root >= size_) {
      return InvalidArgument("bad broadcast of " + std::to_string(bytes) + " bytes from rank " +
                             std::to_string(root));
    }
    if (bytes == 0 || size_ == 1) return Status::Ok();
    int rc = MPI_Bcast(data, static_cast<int>(bytes), MPI_BYTE, root, MPI_COMM_WORLD);
    if (rc != MPI_SUCCESS) return Aborted("MPI_Bcast failed: " + MpiErrorString(rc));
    return Status::Ok();
  }

  Status AllGather(const void* mine, void* all, int64_t bytes) override {
    if (bytes < 0 || bytes > INT_MAX) {
      return InvalidArgument("bad all-gather of " + std::to_string(bytes) + " bytes per rank");
    }
    if (bytes == 0) return Status::Ok();
    int rc = MPI_Allgather(mine, static_cast<int>(bytes), MPI_BYTE, all, static_cast<int>(bytes),
                           MPI_BYTE, MPI_COMM_WORLD);
    if (rc != MPI_SUCCESS) return Aborted("MPI_Allgather failed: " + MpiErrorString(rc));
    return Status::Ok();
  }

 private:
  template <typename T>
  Status Reduce(T* data, int64_t n) {
    if (n < 0) return InvalidArgument("negative all-reduce count " + std::to_string(n));
    if (size_ == 1) return Status::Ok();
    // MPI counts are int: larger buffers go in chunks. Every rank has the same n, so every rank
    // issues the same sequence of calls.
    for (int64_t off = 0; off < n;) {
      int count = static_cast<int>(std::min<int64_t>(n - off, INT_MAX));
      int rc = MPI_Allreduce(MPI_IN_PLACE, data + off, count, MpiType<T>(), MPI_SUM,
                             MPI_COMM_WORLD);
      if (rc != MPI_SUCCESS) return Aborted("MPI_Allreduce failed: " + MpiErrorString(rc));
      off += count;
    }
    return Status::Ok();
  }

  int rank_;
  int size_;
};

}  // namespace

Result<std::unique_ptr<Collective>> MakeMpiCollective() {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (finalized) return Unavailable("MPI was already finalized in this process");
  if (!initialized) {
    // MPI_Init_thread's own failures are fatal under the default handler: nothing to return.
    int granted = 0;
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &granted);
  }
  // Asked again rather than trusted from the call above: MPI may have been initialized elsewhere.
  int provided = MPI_THREAD_SINGLE;
  MPI_Query_thread(&provided);
  if (provided < MPI_THREAD_SERIALIZED) {
    return Unavailable("MPI provides thread level " + std::to_string(provided) +
                       ", below MPI_THREAD_SERIALIZED (collectives may run on a helper thread)");
  }
  // Errors become Status values; the default handler would abort the process without a message
  // the worker or the user could act on.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  int rank = 0, size = 1;
  int rc = MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (rc == MPI_SUCCESS) rc = MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (rc != MPI_SUCCESS) return Unavailable("MPI_Comm_rank/size failed: " + MpiErrorString(rc));
  return std::unique_ptr<Collective>(new MpiCollective(rank, size));
}

void FinalizeMpi() {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (initialized && !finalized) MPI_Finalize();
}

void AbortMpi(int exit_code) {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (initialized && !finalized) MPI_Abort(MPI_COMM_WORLD, exit_code);
  std::exit(exit_code);
}

}  // namespace shoal
