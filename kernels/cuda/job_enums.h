// Opaque declarations of the job-spec enums the CUDA launchers take, plus their enumerator values.
//
// Why: common/job_spec.h pulls in nlohmann/json, which costs nvcc ~12 s per translation unit and
// architecture. The .cu files include this header instead; job_enums_check.cc (compiled by the
// host compiler) includes both headers and static_asserts that the values below match, so a
// reordered enum breaks the build instead of silently changing behaviour. Public headers
// (gemm.h, bias_activation.h) include common/job_spec.h so callers see the full enums.
#pragma once

namespace shoal {
enum class Precision;   // defined in common/job_spec.h
enum class Activation;  // defined in common/job_spec.h
}  // namespace shoal

namespace shoal::cuda::enums {
inline constexpr int kPrecisionFp32 = 0;
inline constexpr int kPrecisionTf32 = 1;
inline constexpr int kPrecisionBf16 = 2;
inline constexpr int kActivationRelu = 0;
inline constexpr int kActivationGelu = 1;
inline constexpr int kActivationTanh = 2;
}  // namespace shoal::cuda::enums
