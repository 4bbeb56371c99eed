// GPU inventory through the CUDA driver API, loaded at run time with dlopen.
//
// Loading libcuda.so.1 lazily means the worker builds and runs on machines without CUDA; there
// the inventory is simply empty. Thread-safe.
#pragma once

#include <string>
#include <vector>

namespace shoal {

struct GpuDevice {
  int index = 0;
  std::string name;
  long long memory_mib = 0;
  int cc_major = 0;
  int cc_minor = 0;
};

// The usable CUDA devices, or an empty list when there is no driver or no device; *why_none (if
// given) then says why, for the worker's start-up log.
std::vector<GpuDevice> DetectGpus(std::string* why_none = nullptr);

}  // namespace shoal
