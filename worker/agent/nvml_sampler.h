// NvmlSampler: the worker's GPUs' utilisation and memory in use, read through NVML (the NVIDIA
// driver's libnvidia-ml.so.1, loaded at run time with dlopen) and sent with every heartbeat
// (common/wire/gpu_samples.h) for the dashboard's workers view.
//
// Without the library (no NVIDIA driver, a CPU worker) or when nvmlInit fails, the sampler is
// unavailable and samples nothing: the dashboard then shows the GPUs' utilisation as unknown.
// $SHOAL_NVML_LIBRARY names another library file (an unusual driver install; the tests' fake).
// NVML numbers devices in PCI bus order; the worker sets CUDA_DEVICE_ORDER=PCI_BUS_ID so that
// CUDA's (and its ranks') device i is NVML's device i. Not thread-safe: the heartbeat loop's.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/wire/gpu_samples.h"

namespace shoal {

class NvmlSampler {
 public:
  // Loads and initialises NVML; never fails (see available()).
  NvmlSampler();
  ~NvmlSampler();
  NvmlSampler(const NvmlSampler&) = delete;
  NvmlSampler& operator=(const NvmlSampler&) = delete;

  bool available() const { return impl_ != nullptr; }
  // Why it is not available (for the start-up log); "" when it is.
  const std::string& why_unavailable() const { return why_; }
  // One sample of every device NVML sees (those it cannot read are left out); empty when
  // unavailable.
  std::vector<wire::GpuSample> Sample();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string why_;
};

}  // namespace shoal
