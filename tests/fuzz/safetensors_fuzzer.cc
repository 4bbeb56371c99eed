// libFuzzer target: ParseSafetensors on arbitrary bytes (checkpoints are read back from disk and
// may come from other tools). Parsed twice: with the default limits and with tight ones, so that
// every limit check is reachable with small inputs.
//
// Contract checked on success: the header length, the header and the tensors' bytes account for
// the whole input, every tensor holds product(shape) floats, and its bytes are the input's.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "common/safetensors.h"

namespace {

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "safetensors_fuzzer: %s\n", what.c_str());
  std::abort();
}

void Check(std::string_view bytes, const shoal::SafetensorsLimits& limits) {
  auto file = shoal::ParseSafetensors(bytes, limits);
  if (!file.ok()) {
    if (file.status().code() != shoal::StatusCode::kInvalidArgument) {
      Fail("failure is not InvalidArgument: " + file.status().ToString());
    }
    return;
  }
  uint64_t header_len = 0;
  std::memcpy(&header_len, bytes.data(), 8);  // little-endian hosts only (as the parser)
  uint64_t data_bytes = 0;
  if (static_cast<int64_t>(file->tensors.size()) > limits.max_tensors) Fail("too many tensors");
  for (const auto& [name, t] : file->tensors) {
    if (name.empty() || static_cast<int64_t>(name.size()) > limits.max_name_bytes) {
      Fail("bad tensor name accepted");
    }
    if (static_cast<int>(t.shape.size()) > limits.max_dims) Fail("too many dims accepted");
    uint64_t n = 1;
    for (int64_t d : t.shape) {
      if (d < 0) Fail("negative dimension accepted");
      n *= static_cast<uint64_t>(d);
    }
    if (n != t.data.size()) Fail("tensor " + name + " holds the wrong number of values");
    data_bytes += 4 * n;
  }
  if (8 + header_len + data_bytes != bytes.size()) Fail("accepted bytes are not all accounted for");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  Check(bytes, shoal::SafetensorsLimits{});
  shoal::SafetensorsLimits tight;
  tight.max_header_bytes = 256;
  tight.max_tensors = 2;
  tight.max_name_bytes = 8;
  tight.max_dims = 2;
  Check(bytes, tight);
  return 0;
}
