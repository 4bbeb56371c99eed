// The safetensors file format (https://huggingface.co/docs/safetensors), for checkpoints that
// other tools can read: an 8-byte little-endian header length N, N bytes of JSON
// {"name": {"dtype", "shape", "data_offsets": [begin, end]}, ..., "__metadata__": {str: str}},
// then the tensors' bytes, back to back, little-endian. shoal writes and reads F32 tensors only.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace shoal {

// A tensor to write: `data` holds product(shape) floats and must outlive the write.
struct TensorView {
  std::string name;
  std::vector<int64_t> shape;
  const float* data = nullptr;
};

struct Tensor {
  std::vector<int64_t> shape;
  std::vector<float> data;
};

struct SafetensorsFile {
  std::map<std::string, Tensor> tensors;
  std::map<std::string, std::string> metadata;
};

// Bounds a reader enforces before allocating anything (hostile files).
struct SafetensorsLimits {
  int64_t max_header_bytes = 16 << 20;
  int64_t max_tensors = 100000;
  int64_t max_name_bytes = 1024;
  int max_dims = 8;
};

// Writes `tensors` and `metadata` to `path` atomically (WriteFileAtomic: temporary, fsync,
// rename). The header is padded with spaces so the data starts 8-byte aligned. InvalidArgument
// for empty or duplicate names, "__metadata__" as a name, or negative dimensions; Unavailable
// on I/O errors.
Status WriteSafetensors(const std::string& path, const std::vector<TensorView>& tensors,
                        const std::map<std::string, std::string>& metadata);

// Where each tensor's bytes are, without copying them: data_begin is the offset in the file of
// the first data byte, each entry's [begin, end) is relative to it.
struct SafetensorsIndex {
  struct Entry {
    std::vector<int64_t> shape;
    uint64_t begin = 0, end = 0;
  };
  std::map<std::string, Entry> entries;
  std::map<std::string, std::string> metadata;
  uint64_t data_begin = 0;
};
// Validates a whole file's bytes exactly as ParseSafetensors does and returns the index.
Result<SafetensorsIndex> IndexSafetensors(std::string_view bytes,
                                          const SafetensorsLimits& limits = {});

// Parses a whole file's bytes. InvalidArgument, naming what is wrong, for anything malformed: a
// short file, a header length beyond the file or the limits, bad JSON, a dtype other than F32,
// shapes that do not match their byte ranges, overlapping ranges, gaps, or bytes left over.
Result<SafetensorsFile> ParseSafetensors(std::string_view bytes,
                                         const SafetensorsLimits& limits = {});

// ReadFileLimited + ParseSafetensors.
Result<SafetensorsFile> ReadSafetensors(const std::string& path, int64_t max_file_bytes,
                                        const SafetensorsLimits& limits = {});

}  // namespace shoal
