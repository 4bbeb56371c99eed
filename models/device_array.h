// DeviceArray<T> / PinnedArray<T>: owning, move-only handles to cudaMalloc'd device memory and
// cudaMallocHost'd page-locked host memory (RAII), with allocation failures returned as Status
// (kernels/cuda/cuda_check.h) instead of thrown or fatal.
//
// Not thread-safe to mutate concurrently (like any value type). Freeing goes through cudaFree /
// cudaFreeHost, which wait for outstanding device work, so a buffer may be dropped while a stream
// still uses it.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <utility>

#include "common/status.h"
#include "kernels/cuda/cuda_check.h"

namespace shoal {

// Where a CudaArray's memory comes from.
struct DeviceMemory {
  static cudaError_t Allocate(void** p, size_t bytes) { return cudaMalloc(p, bytes); }
  static cudaError_t Free(void* p) { return cudaFree(p); }
};
struct PinnedHostMemory {
  static cudaError_t Allocate(void** p, size_t bytes) { return cudaMallocHost(p, bytes); }
  static cudaError_t Free(void* p) { return cudaFreeHost(p); }
};

template <typename T, typename Memory>
class CudaArray {
 public:
  CudaArray() = default;
  ~CudaArray() { Release(); }
  CudaArray(const CudaArray&) = delete;
  CudaArray& operator=(const CudaArray&) = delete;
  CudaArray(CudaArray&& other) noexcept
      : ptr_(std::exchange(other.ptr_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  CudaArray& operator=(CudaArray&& other) noexcept {
    if (this != &other) {
      Release();
      ptr_ = std::exchange(other.ptr_, nullptr);
      size_ = std::exchange(other.size_, 0);
    }
    return *this;
  }

  // Replaces the contents with n uninitialized elements (the old contents are freed, not kept).
  // n == 0 leaves the array empty (get() == nullptr). On failure the array is empty and the CUDA
  // error is returned (ResourceExhausted for out of memory, Unavailable without a device).
  Status Allocate(size_t n) {
    Release();
    if (n == 0) return Status::Ok();
    void* p = nullptr;
    SHOAL_CUDA_RETURN_IF_ERROR(Memory::Allocate(&p, n * sizeof(T)));
    ptr_ = static_cast<T*>(p);
    size_ = n;
    return Status::Ok();
  }

  T* get() const { return ptr_; }
  size_t size() const { return size_; }

 private:
  void Release() {
    // An error from cudaFree here (e.g. a sticky error from an earlier kernel) has already been or
    // will be reported by the call that hit it; a destructor has no one to report it to.
    if (ptr_ != nullptr) (void)Memory::Free(ptr_);
    ptr_ = nullptr;
    size_ = 0;
  }

  T* ptr_ = nullptr;
  size_t size_ = 0;
};

template <typename T>
using DeviceArray = CudaArray<T, DeviceMemory>;
// Page-locked host memory, so copies to and from the device are truly asynchronous.
template <typename T>
using PinnedArray = CudaArray<T, PinnedHostMemory>;

}  // namespace shoal
