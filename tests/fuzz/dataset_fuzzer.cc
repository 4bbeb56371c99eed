// libFuzzer target: the training data readers (IDX, NPY, CSV) through LoadDataset, on files
// written to a private temporary directory (in /dev/shm when it exists, so no disk I/O).
//
// Input: byte 0 picks the format (% 3: idx, npy, csv). For IDX and NPY the rest is split at the
// first "\n--8<--\n" into the two files (IDX images + labels; NPY P.x.npy + P.y.npy); a missing
// separator makes the second file empty. CSV takes the rest as one file. Either file may be gzip.
//
// On success it checks the Dataset invariants (sizes, labels in [0, num_classes), finite
// features) and runs the normalization and batch gathering the trainer would.
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "data/dataset.h"

namespace {

constexpr std::string_view kSeparator = "\n--8<--\n";

std::string g_dir;  // the private temporary directory

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "dataset_fuzzer: %s\n", what.c_str());
  std::abort();
}

void RemoveDir() {
  std::error_code ec;
  std::filesystem::remove_all(g_dir, ec);
}

void WriteFile(const std::string& path, std::string_view bytes) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr || std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size() ||
      std::fclose(f) != 0) {
    Fail("cannot write " + path);
  }
}

void CheckDataset(const shoal::Dataset& d) {
  if (d.size < 1 || d.dim < 1) Fail("empty dataset accepted");
  if (static_cast<int64_t>(d.features.size()) != d.size * d.dim) Fail("features size mismatch");
  if (static_cast<int64_t>(d.labels.size()) != d.size) Fail("labels size mismatch");
  for (int32_t label : d.labels) {
    if (label < 0 || label >= d.num_classes) Fail("label outside [0, num_classes)");
  }
  for (float f : d.features) {
    if (!std::isfinite(f)) Fail("non-finite feature accepted");
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* base = std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : "/tmp";
  std::string tmpl = std::string(base) + "/shoal-dataset-fuzz-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) Fail("mkdtemp failed");
  g_dir = tmpl;
  std::atexit(RemoveDir);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::string_view first = input, second;
  if (const size_t sep = input.find(kSeparator); sep != std::string_view::npos) {
    first = input.substr(0, sep);
    second = input.substr(sep + kSeparator.size());
  }
  const std::string prefix = g_dir + "/d";
  std::vector<std::string> files;
  std::string location;
  shoal::DataFormat format;
  switch (data[0] % 3) {
    case 0:
      format = shoal::DataFormat::kIdx;
      files = {prefix + "-images-idx3-ubyte", prefix + "-labels-idx1-ubyte"};
      location = prefix;
      break;
    case 1:
      format = shoal::DataFormat::kNpy;
      files = {prefix + ".x.npy", prefix + ".y.npy"};
      location = prefix;
      break;
    default:
      format = shoal::DataFormat::kCsv;
      files = {prefix + ".csv"};
      location = files[0];
      first = input;
      break;
  }
  WriteFile(files[0], first);
  if (files.size() > 1) WriteFile(files[1], second);

  // Small limits keep hostile headers cheap to reject and make every limit reachable.
  shoal::DatasetLimits limits;
  limits.max_samples = 1 << 16;
  limits.max_dim = 1 << 12;
  limits.max_bytes = 1 << 20;  // also bounds CSV's read buffer (ReadAll allocates room + 1)
  limits.max_classes = 1 << 10;
  auto loaded = shoal::LoadDataset(location, format, limits);
  for (const std::string& f : files) std::remove(f.c_str());
  if (!loaded.ok()) {
    const auto code = loaded.status().code();
    if (code != shoal::StatusCode::kInvalidArgument && code != shoal::StatusCode::kNotFound) {
      Fail("unexpected status " + loaded.status().ToString());
    }
    return 0;
  }
  shoal::Dataset& d = *loaded;
  CheckDataset(d);
  const shoal::FeatureStats stats = shoal::ComputeStats(d);
  if (!std::isfinite(stats.mean) || !std::isfinite(stats.std) || stats.std <= 0) {
    Fail("ComputeStats gave a non-finite or non-positive transform");
  }
  shoal::ApplyNormalization(stats, &d);
  const std::vector<int64_t> indices = {d.size - 1, 0};
  std::vector<float> x(2 * static_cast<size_t>(d.dim));
  std::vector<int32_t> y(2);
  shoal::GatherBatch(d, indices, 0, 2, x.data(), y.data());
  if (y[0] != d.labels[d.size - 1] || y[1] != d.labels[0]) Fail("GatherBatch copied wrong labels");
  return 0;
}
