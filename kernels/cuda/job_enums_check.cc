// Compile-time proof that kernels/cuda/job_enums.h matches common/job_spec.h (see there for why the
// .cu files do not include job_spec.h). This file has no code at run time.
#include "common/job_spec.h"
#include "kernels/cuda/job_enums.h"

namespace shoal::cuda::enums {
static_assert(static_cast<int>(Precision::kFp32) == kPrecisionFp32);
static_assert(static_cast<int>(Precision::kTf32) == kPrecisionTf32);
static_assert(static_cast<int>(Precision::kBf16) == kPrecisionBf16);
static_assert(static_cast<int>(Activation::kRelu) == kActivationRelu);
static_assert(static_cast<int>(Activation::kGelu) == kActivationGelu);
static_assert(static_cast<int>(Activation::kTanh) == kActivationTanh);
}  // namespace shoal::cuda::enums
