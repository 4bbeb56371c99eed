// Shared plumbing of the dataset readers (idx_reader.cc, npy_reader.cc, csv_reader.cc); not part
// of the public API.
#pragma once

#include <zlib.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <utility>

#include "common/status.h"
#include "data/dataset.h"

namespace shoal::dataset_internal {

// True when `path` names an existing regular file.
bool IsFile(const std::string& path);

// A file read through zlib, which inflates gzip content and passes any other content through, so
// callers need not care whether a file is compressed. Move-only; closes the file on destruction.
class InputFile {
 public:
  // NotFound if `path` does not exist; InvalidArgument if it is not a readable regular file.
  static Result<InputFile> Open(const std::string& path);

  const std::string& path() const { return path_; }

  // Reads up to `n` bytes into `buf`; fewer only at end of file. InvalidArgument on a read or
  // decompression error (e.g. a corrupt or truncated gzip stream).
  Result<size_t> Read(void* buf, size_t n);

  // Reads exactly `n` bytes into `buf`; InvalidArgument naming `what` if the file ends first.
  Status ReadExact(void* buf, size_t n, const char* what);

  // Appends exactly `n` bytes to `out`, growing it in 16 MiB chunks as data arrives, so a header
  // that claims a huge payload costs at most one chunk more than the file really holds.
  Status ReadPayload(int64_t n, const char* what, std::string* out);

  // InvalidArgument if any byte is left after `expected_total` bytes were consumed: such a file is
  // not what its header says.
  Status ExpectEnd(int64_t expected_total);

  // Reads the rest of the file into `out`; InvalidArgument if it exceeds `max_bytes`.
  Status ReadAll(int64_t max_bytes, std::string* out);

 private:
  struct Closer {
    void operator()(gzFile_s* f) const { gzclose(f); }
  };
  InputFile(std::string path, gzFile f) : path_(std::move(path)), file_(f) {}

  std::string path_;
  std::unique_ptr<gzFile_s, Closer> file_;
  int64_t consumed_ = 0;  // bytes returned so far (after decompression)
};

// *out = a * b for non-negative a, b; false on int64 overflow.
inline bool CheckedMul(int64_t a, int64_t b, int64_t* out) {
  return !__builtin_mul_overflow(a, b, out);
}

// Checks `samples` × `dim` (and `elem_bytes` per value of raw payload) against `limits` and the
// invariants ≥ 1 sample, ≥ 1 feature. On success sets *payload_bytes = samples × dim × elem_bytes.
Status CheckShape(const std::string& path, int64_t samples, int64_t dim, int64_t elem_bytes,
                  const DatasetLimits& limits, int64_t* payload_bytes);

// True when `v` is a valid class index under `limits`. Kept inline and message-free because it runs
// once per sample; LabelError builds the message for the first bad one.
inline bool LabelOk(double v, const DatasetLimits& limits) {
  return v >= 0 && v < static_cast<double>(limits.max_classes) && v == static_cast<int64_t>(v);
}
// InvalidArgument for a label that failed LabelOk; `where` names the file and sample or line.
Status LabelError(const std::string& where, double v, const DatasetLimits& limits);

// An integer as "%lld", anything else as "%.9g" (NaN and inf included).
std::string FormatNumber(double v);

// Sets data->num_classes from the labels and checks that every feature is finite (a NaN would
// silently poison training).
Status FinishDataset(const std::string& features_path, Dataset* data);

// Fixed-width little/big-endian loads from an unaligned buffer (file formats fix their byte
// order; the host's may differ).
template <typename T>
T ByteSwap(T v) {
  unsigned char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));
  std::reverse(b, b + sizeof(T));
  std::memcpy(&v, b, sizeof(T));
  return v;
}
template <typename T>
T LoadLittle(const unsigned char* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  if constexpr (std::endian::native == std::endian::big) v = ByteSwap(v);
  return v;
}
template <typename T>
T LoadBig(const unsigned char* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  if constexpr (std::endian::native == std::endian::little) v = ByteSwap(v);
  return v;
}

Result<Dataset> LoadIdx(const std::string& location, const DatasetLimits& limits);
Result<Dataset> LoadNpy(const std::string& location, const DatasetLimits& limits);
Result<Dataset> LoadCsv(const std::string& location, const DatasetLimits& limits);

// Used by format auto-detection.
bool IdxFilesExist(const std::string& location);
bool NpyFilesExist(const std::string& location);

}  // namespace shoal::dataset_internal
