// Host-side argument checks shared by transformer.cu and transformer_attention.cu (internal to
// kernels/cuda; the messages name the operator and the offending argument).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>

#include "common/status.h"

namespace shoal::cuda::detail {

// InvalidArgument naming the first dimension that is <= 0.
inline Status Positive(const char* op, std::initializer_list<std::pair<const char*, int>> dims) {
  for (const auto& [name, value] : dims) {
    if (value <= 0) {
      return InvalidArgument(std::string(op) + ": non-positive dimension " + name + "=" +
                             std::to_string(value));
    }
  }
  return Status::Ok();
}

// InvalidArgument naming the first null pointer.
inline Status NonNull(const char* op,
                      std::initializer_list<std::pair<const char*, const void*>> ptrs) {
  for (const auto& [name, ptr] : ptrs) {
    if (ptr == nullptr) return InvalidArgument(std::string(op) + ": null " + name);
  }
  return Status::Ok();
}

// InvalidArgument for a negative element count.
inline Status Length(const char* op, int64_t n) {
  if (n < 0) return InvalidArgument(std::string(op) + ": negative length " + std::to_string(n));
  return Status::Ok();
}

}  // namespace shoal::cuda::detail
