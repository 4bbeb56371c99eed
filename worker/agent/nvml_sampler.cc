#include "worker/agent/nvml_sampler.h"

#include <dlfcn.h>

#include <algorithm>
#include <cstdlib>

namespace shoal {

namespace {

// NVML's C types (nvml.h), as far as the sampler uses them: nvmlReturn_t is an int (0 =
// success), nvmlDevice_t an opaque pointer.
using NvmlDevice = void*;
struct NvmlUtilization {
  unsigned int gpu;     // percent of the last sample period a kernel ran
  unsigned int memory;  // percent of it device memory was read or written
};
struct NvmlMemory {
  unsigned long long total, free, used;  // bytes
};

}  // namespace

struct NvmlSampler::Impl {
  void* lib = nullptr;
  int (*shutdown)() = nullptr;
  int (*count)(unsigned int*) = nullptr;
  int (*handle)(unsigned int, NvmlDevice*) = nullptr;
  int (*utilization)(NvmlDevice, NvmlUtilization*) = nullptr;
  int (*memory)(NvmlDevice, NvmlMemory*) = nullptr;
  ~Impl() {
    if (shutdown != nullptr) shutdown();
    // The library stays loaded, as the CUDA driver does (gpu_inventory.cc).
  }
};

NvmlSampler::NvmlSampler() {
  const char* override_path = std::getenv("SHOAL_NVML_LIBRARY");
  const std::string path =
      override_path != nullptr && *override_path != '\0' ? override_path : "libnvidia-ml.so.1";
  void* lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    why_ = "no NVML (" + path + " not loadable)";
    return;
  }
  auto impl = std::make_unique<Impl>();
  impl->lib = lib;
  auto init = reinterpret_cast<int (*)()>(dlsym(lib, "nvmlInit_v2"));
  impl->count = reinterpret_cast<int (*)(unsigned int*)>(dlsym(lib, "nvmlDeviceGetCount_v2"));
  impl->handle = reinterpret_cast<int (*)(unsigned int, NvmlDevice*)>(
      dlsym(lib, "nvmlDeviceGetHandleByIndex_v2"));
  impl->utilization = reinterpret_cast<int (*)(NvmlDevice, NvmlUtilization*)>(
      dlsym(lib, "nvmlDeviceGetUtilizationRates"));
  impl->memory =
      reinterpret_cast<int (*)(NvmlDevice, NvmlMemory*)>(dlsym(lib, "nvmlDeviceGetMemoryInfo"));
  auto shutdown = reinterpret_cast<int (*)()>(dlsym(lib, "nvmlShutdown"));
  if (init == nullptr || impl->count == nullptr || impl->handle == nullptr ||
      impl->utilization == nullptr || impl->memory == nullptr || shutdown == nullptr) {
    why_ = path + " lacks the NVML entry points the sampler needs";
    return;
  }
  if (const int rc = init(); rc != 0) {
    why_ = "nvmlInit failed with nvmlReturn_t " + std::to_string(rc);
    return;
  }
  impl->shutdown = shutdown;
  impl_ = std::move(impl);
}

NvmlSampler::~NvmlSampler() = default;

std::vector<wire::GpuSample> NvmlSampler::Sample() {
  std::vector<wire::GpuSample> out;
  if (impl_ == nullptr) return out;
  unsigned int n = 0;
  if (impl_->count(&n) != 0) return out;
  for (unsigned int i = 0; i < n && out.size() < wire::kMaxGpuSamples; ++i) {
    NvmlDevice device = nullptr;
    NvmlUtilization u{};
    NvmlMemory m{};
    if (impl_->handle(i, &device) != 0 || impl_->utilization(device, &u) != 0 ||
        impl_->memory(device, &m) != 0) {
      continue;
    }
    wire::GpuSample s;
    s.index = static_cast<int>(i);
    s.utilization = std::min(u.gpu, 100u) / 100.0;
    s.memory_used_mib = static_cast<int64_t>(m.used >> 20);
    s.memory_total_mib = static_cast<int64_t>(m.total >> 20);
    out.push_back(s);
  }
  return out;
}

}  // namespace shoal
