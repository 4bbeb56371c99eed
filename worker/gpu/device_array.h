// DeviceArray<T>: an owning, move-only handle to cudaMalloc'd device memory (RAII), with
// allocation failures returned as Status (kernels/cuda/cuda_check.h) instead of thrown or fatal.
//
// Not thread-safe to mutate concurrently (like any value type). Freeing goes through cudaFree,
// which waits for outstanding device work, so a buffer may be dropped while a stream still uses it.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <utility>

#include "common/status.h"
#include "kernels/cuda/cuda_check.h"

namespace shoal {

template <typename T>
class DeviceArray {
 public:
  DeviceArray() = default;
  ~DeviceArray() { Release(); }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;
  DeviceArray(DeviceArray&& other) noexcept
      : ptr_(std::exchange(other.ptr_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  DeviceArray& operator=(DeviceArray&& other) noexcept {
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
    SHOAL_CUDA_RETURN_IF_ERROR(cudaMalloc(&p, n * sizeof(T)));
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
    if (ptr_ != nullptr) (void)cudaFree(ptr_);
    ptr_ = nullptr;
    size_ = 0;
  }

  T* ptr_ = nullptr;
  size_t size_ = 0;
};

}  // namespace shoal
