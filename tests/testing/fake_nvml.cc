// A stand-in for the NVIDIA driver's libnvidia-ml.so.1 for tests on machines without one: two
// GPUs, the first 37 % busy with 5 of 80 GiB in use, the second idle; nvmlInit fails when
// $SHOAL_FAKE_NVML_FAIL is set. Loaded by worker/agent/nvml_sampler.cc through
// $SHOAL_NVML_LIBRARY, it checks the sampler's loading and reading, not NVIDIA's library.
#include <cstdlib>

extern "C" {

struct FakeUtilization {
  unsigned int gpu, memory;
};
struct FakeMemory {
  unsigned long long total, free, used;
};

int nvmlInit_v2() { return std::getenv("SHOAL_FAKE_NVML_FAIL") != nullptr ? 9 : 0; }
int nvmlShutdown() { return 0; }
int nvmlDeviceGetCount_v2(unsigned int* count) {
  *count = 2;
  return 0;
}
int nvmlDeviceGetHandleByIndex_v2(unsigned int index, void** device) {
  if (index > 1) return 2;
  *device = reinterpret_cast<void*>(static_cast<unsigned long>(index) + 1);
  return 0;
}
int nvmlDeviceGetUtilizationRates(void* device, FakeUtilization* u) {
  const bool first = reinterpret_cast<unsigned long>(device) == 1;
  *u = {first ? 37u : 0u, first ? 12u : 0u};
  return 0;
}
int nvmlDeviceGetMemoryInfo(void* device, FakeMemory* m) {
  const unsigned long long gib = 1ull << 30;
  const bool first = reinterpret_cast<unsigned long>(device) == 1;
  m->total = 80 * gib;
  m->used = first ? 5 * gib : 0;
  m->free = m->total - m->used;
  return 0;
}
}
