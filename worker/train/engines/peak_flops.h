// The peak dense FLOP/s of a GPU model at a GEMM precision: the denominator of MFU (model FLOPs
// utilisation) in progress reports. Vendor datasheet figures without sparsity, for the GPUs a
// pool is likely to see; the CPU's peak is not known to shoal (its MFU is left out).
#pragma once

#include <string_view>

#include "common/spec/enums.h"

namespace shoal {

// The peak for a CUDA device named `device_name` (cudaDeviceProp::name, e.g. "NVIDIA H200" or
// "NVIDIA H100 80GB HBM3") computing its GEMMs in `precision`; 0 when the model is not in the
// table. Matched by whole words, case-insensitively; PCIe parts are told apart by "PCIe".
double PeakFlopsOf(std::string_view device_name, Precision precision);

}  // namespace shoal
