// Converting CUDA runtime errors to shoal::Status at the edge (after NCCL's src/include/checks.h):
// every CUDA call and every kernel launch in kernels/cuda/ goes through one of these macros, so a
// failure becomes an error value the caller can report. Nothing here aborts or calls exit().
//
// Usable from .cu files (nvcc) and from plain C++ (g++): only the runtime API header is needed.
#pragma once

#include <cuda_runtime_api.h>

#include <string>

#include "common/status.h"

namespace shoal::cuda {

// Maps a CUDA error to a StatusCode: allocation failures are ResourceExhausted, a missing device or
// driver is Unavailable, invalid arguments (a bug in the caller of the runtime) are
// InvalidArgument, anything else (launch failures, illegal addresses, ...) is Internal.
inline StatusCode CudaErrorCode(cudaError_t err) {
  switch (err) {
    case cudaSuccess:
      return StatusCode::kOk;
    case cudaErrorMemoryAllocation:
      return StatusCode::kResourceExhausted;
    case cudaErrorNoDevice:
    case cudaErrorInsufficientDriver:
    case cudaErrorDevicesUnavailable:
      return StatusCode::kUnavailable;
    case cudaErrorInvalidValue:
    case cudaErrorInvalidConfiguration:
    case cudaErrorInvalidDevicePointer:
      return StatusCode::kInvalidArgument;
    default:
      return StatusCode::kInternal;
  }
}

// OK for cudaSuccess, else "<what> at <file>:<line>: <cudaErrorName>: <description>".
inline Status CudaStatus(cudaError_t err, const char* what, const char* file, int line) {
  if (err == cudaSuccess) return Status::Ok();
  return Status(CudaErrorCode(err), std::string(what) + " at " + file + ":" +
                                        std::to_string(line) + ": " + cudaGetErrorName(err) +
                                        ": " + cudaGetErrorString(err));
}

}  // namespace shoal::cuda

// Returns a non-OK Status from the enclosing function when the CUDA call `expr` fails.
#define SHOAL_CUDA_RETURN_IF_ERROR(expr)                                                   \
  do {                                                                                     \
    const cudaError_t _shoal_cuda_err = (expr);                                            \
    if (_shoal_cuda_err != cudaSuccess) {                                                  \
      return ::shoal::cuda::CudaStatus(_shoal_cuda_err, #expr, __FILE__, __LINE__);        \
    }                                                                                      \
  } while (0)

// After a <<<...>>> launch: reports a bad launch configuration (or an earlier asynchronous error
// surfacing here) as a Status. It does not synchronize, so errors inside the kernel show up at the
// next synchronizing call on the stream, as with any CUDA work.
#define SHOAL_CUDA_CHECK_LAUNCH(kernel_name)                                                \
  do {                                                                                      \
    const cudaError_t _shoal_cuda_err = cudaGetLastError();                                 \
    if (_shoal_cuda_err != cudaSuccess) {                                                   \
      return ::shoal::cuda::CudaStatus(_shoal_cuda_err, "launch of " kernel_name, __FILE__, \
                                       __LINE__);                                           \
    }                                                                                       \
  } while (0)
