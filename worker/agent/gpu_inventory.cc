#include "worker/agent/gpu_inventory.h"

#include <dlfcn.h>

namespace shoal {

std::vector<GpuDevice> DetectGpus(std::string* why_none) {
  std::vector<GpuDevice> out;
  auto fail = [&](const std::string& why) {
    if (why_none != nullptr) *why_none = why;
    return std::vector<GpuDevice>{};
  };
  void* lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) return fail("no CUDA driver (libcuda.so.1 not loadable)");
  // Driver API signatures (cuda.h); CUresult is an int, CUdevice an int.
  using InitFn = int (*)(unsigned);
  using CountFn = int (*)(int*);
  using GetFn = int (*)(int*, int);
  using NameFn = int (*)(char*, int, int);
  using MemFn = int (*)(size_t*, int);
  using AttrFn = int (*)(int*, int, int);
  auto init = reinterpret_cast<InitFn>(dlsym(lib, "cuInit"));
  auto count = reinterpret_cast<CountFn>(dlsym(lib, "cuDeviceGetCount"));
  auto get = reinterpret_cast<GetFn>(dlsym(lib, "cuDeviceGet"));
  auto name = reinterpret_cast<NameFn>(dlsym(lib, "cuDeviceGetName"));
  auto mem = reinterpret_cast<MemFn>(dlsym(lib, "cuDeviceTotalMem_v2"));
  auto attr = reinterpret_cast<AttrFn>(dlsym(lib, "cuDeviceGetAttribute"));
  if (!init || !count || !get || !name || !mem || !attr) {
    return fail("CUDA driver lacks the device-query entry points");
  }
  if (int rc = init(0); rc != 0) return fail("cuInit failed with CUresult " + std::to_string(rc));
  int n = 0;
  if (count(&n) != 0 || n == 0) return fail("the CUDA driver reports no devices");
  constexpr int kCcMajor = 75, kCcMinor = 76;  // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_*
  for (int i = 0; i < n; ++i) {
    int dev = 0;
    if (get(&dev, i) != 0) continue;
    GpuDevice d;
    d.index = i;
    char buf[256] = {0};
    if (name(buf, sizeof(buf) - 1, dev) == 0) d.name = buf;
    size_t bytes = 0;
    if (mem(&bytes, dev) == 0) d.memory_mib = static_cast<long long>(bytes >> 20);
    attr(&d.cc_major, kCcMajor, dev);
    attr(&d.cc_minor, kCcMinor, dev);
    out.push_back(d);
  }
  // The library stays loaded: unloading a CUDA driver mid-process is not safe.
  return out;
}

}  // namespace shoal
