// LoadDataset's dispatch and format detection, the file plumbing the readers share, normalization
// and batch gathering. The format parsers live in idx_reader.cc, npy_reader.cc and csv_reader.cc.
#include "data/dataset.h"

#include <sys/stat.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string_view>

#include "data/dataset_internal.h"

namespace shoal {
namespace dataset_internal {
namespace {

// Reads are chunked so buffers track the bytes really present (see ReadPayload).
constexpr int64_t kChunkBytes = 16 << 20;

}  // namespace

bool IsFile(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

Result<InputFile> InputFile::Open(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return NotFound(path + ": no such file");
    return InvalidArgument(path + ": cannot access: " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) return InvalidArgument(path + ": not a regular file");
  gzFile f = gzopen(path.c_str(), "rb");
  if (f == nullptr) {
    return InvalidArgument(
        path + ": cannot open: " + (errno != 0 ? std::strerror(errno) : "out of memory"));
  }
  // A larger buffer than zlib's 8 KiB default cuts syscalls on multi-megabyte files.
  gzbuffer(f, 256 << 10);
  return InputFile(path, f);
}

Result<size_t> InputFile::Read(void* buf, size_t n) {
  size_t total = 0;
  auto* dst = static_cast<unsigned char*>(buf);
  while (total < n) {
    // gzread takes an unsigned int length.
    const unsigned want = static_cast<unsigned>(std::min<size_t>(n - total, 1u << 30));
    const int got = gzread(file_.get(), dst + total, want);
    if (got < 0) {
      int errnum = 0;
      std::string detail = gzerror(file_.get(), &errnum);
      if (detail.rfind(path_ + ": ", 0) == 0) detail.erase(0, path_.size() + 2);
      return InvalidArgument(path_ + ": corrupt gzip data or read error after " +
                             std::to_string(consumed_ + static_cast<int64_t>(total)) +
                             " bytes (zlib: " + detail + ")");
    }
    total += static_cast<size_t>(got);
    if (static_cast<unsigned>(got) < want) {
      // zlib reports a gzip stream cut short (Z_BUF_ERROR) only through gzerror, not gzread's
      // return value, so a short read must be checked here or truncation would pass silently.
      int errnum = Z_OK;
      const char* msg = gzerror(file_.get(), &errnum);
      if (errnum != Z_OK) {
        std::string detail = msg != nullptr ? msg : "?";
        if (detail.rfind(path_ + ": ", 0) == 0) detail.erase(0, path_.size() + 2);  // zlib adds it
        return InvalidArgument(path_ + ": corrupt or truncated gzip data after " +
                               std::to_string(consumed_ + static_cast<int64_t>(total)) +
                               " decompressed bytes (zlib: " + detail + ")");
      }
      break;  // end of file
    }
  }
  consumed_ += static_cast<int64_t>(total);
  return total;
}

Status InputFile::ReadExact(void* buf, size_t n, const char* what) {
  const int64_t start = consumed_;
  ASSIGN_OR_RETURN(size_t got, Read(buf, n));
  if (got < n) {
    return InvalidArgument(path_ + ": truncated: the file ends inside the " + what + " (expected " +
                           std::to_string(n) + " bytes at offset " + std::to_string(start) +
                           ", found " + std::to_string(got) + ")");
  }
  return Status::Ok();
}

Status InputFile::ReadPayload(int64_t n, const char* what, std::string* out) {
  const int64_t start = consumed_;
  int64_t left = n;
  while (left > 0) {
    const int64_t chunk = std::min(left, kChunkBytes);
    const size_t old = out->size();
    out->resize(old + static_cast<size_t>(chunk));  // libstdc++ grows capacity geometrically
    ASSIGN_OR_RETURN(size_t got, Read(out->data() + old, static_cast<size_t>(chunk)));
    left -= static_cast<int64_t>(got);
    if (static_cast<int64_t>(got) < chunk) {
      out->resize(old + got);
      return InvalidArgument(path_ + ": truncated: the header promises " + std::to_string(n) +
                             " bytes of " + what + " after offset " + std::to_string(start) +
                             ", the file holds only " + std::to_string(n - left));
    }
  }
  return Status::Ok();
}

Status InputFile::ExpectEnd(int64_t expected_total) {
  unsigned char extra;
  ASSIGN_OR_RETURN(size_t got, Read(&extra, 1));
  if (got != 0) {
    return InvalidArgument(path_ + ": the file is longer than its header says: expected " +
                           std::to_string(expected_total) +
                           " bytes in all, found more (corrupt header or wrong file?)");
  }
  return Status::Ok();
}

Status InputFile::ReadAll(int64_t max_bytes, std::string* out) {
  while (true) {
    const size_t old = out->size();
    const int64_t room = max_bytes - static_cast<int64_t>(old);
    if (room < 0) {
      return InvalidArgument(path_ + ": larger than the limit of " + std::to_string(max_bytes) +
                             " bytes (DatasetLimits::max_bytes)");
    }
    // One byte past the limit tells "exactly at the limit" from "over it" (room + 1 cannot
    // overflow in the second branch since room < kChunkBytes there).
    const int64_t chunk = room >= kChunkBytes ? kChunkBytes : room + 1;
    out->resize(old + static_cast<size_t>(chunk));
    ASSIGN_OR_RETURN(size_t got, Read(out->data() + old, static_cast<size_t>(chunk)));
    out->resize(old + got);
    if (static_cast<int64_t>(got) < chunk) return Status::Ok();
  }
}

Status CheckShape(const std::string& path, int64_t samples, int64_t dim, int64_t elem_bytes,
                  const DatasetLimits& limits, int64_t* payload_bytes) {
  if (samples <= 0) return InvalidArgument(path + ": holds no samples (expected at least 1)");
  if (dim <= 0) {
    return InvalidArgument(path + ": samples have 0 features (expected at least 1 per sample)");
  }
  if (samples > limits.max_samples) {
    return InvalidArgument(path + ": " + std::to_string(samples) + " samples exceed the limit of " +
                           std::to_string(limits.max_samples) + " (DatasetLimits::max_samples)");
  }
  if (dim > limits.max_dim) {
    return InvalidArgument(path + ": " + std::to_string(dim) +
                           " features per sample exceed the limit of " +
                           std::to_string(limits.max_dim) + " (DatasetLimits::max_dim)");
  }
  const std::string shape = std::to_string(samples) + " × " + std::to_string(dim);
  int64_t values = 0, feature_bytes = 0, raw_bytes = 0;
  if (!CheckedMul(samples, dim, &values) ||
      !CheckedMul(values, static_cast<int64_t>(sizeof(float)), &feature_bytes) ||
      !CheckedMul(values, elem_bytes, &raw_bytes)) {
    return InvalidArgument(path + ": a shape of " + shape + " values overflows a 64-bit size");
  }
  const int64_t bytes = std::max(feature_bytes, raw_bytes);
  if (bytes > limits.max_bytes) {
    return InvalidArgument(path + ": a shape of " + shape + " values needs " +
                           std::to_string(bytes) + " bytes, over the limit of " +
                           std::to_string(limits.max_bytes) + " (DatasetLimits::max_bytes)");
  }
  *payload_bytes = raw_bytes;
  return Status::Ok();
}

std::string FormatNumber(double v) {
  char buf[64];
  if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 1e18) {
    std::snprintf(buf, sizeof(buf), "%lld", static_cast<long long>(v));
  } else {
    std::snprintf(buf, sizeof(buf), "%.9g", v);
  }
  return buf;
}

Status LabelError(const std::string& where, double v, const DatasetLimits& limits) {
  if (!std::isfinite(v) || v != std::floor(v)) {
    return InvalidArgument(where + ": label is " + FormatNumber(v) +
                           ", expected a non-negative integer class index");
  }
  if (v < 0) {
    return InvalidArgument(where + ": label is negative (" + FormatNumber(v) +
                           "), expected a class index ≥ 0");
  }
  return InvalidArgument(where + ": label " + FormatNumber(v) + " is not below the limit of " +
                         std::to_string(limits.max_classes) +
                         " classes (DatasetLimits::max_classes)");
}

Status FinishDataset(const std::string& features_path, Dataset* data) {
  int32_t max_label = -1;
  for (int32_t label : data->labels) max_label = std::max(max_label, label);
  data->num_classes = max_label + 1;
  if (data->integer_features) return Status::Ok();  // converted from uint8: always finite
  const int64_t n = static_cast<int64_t>(data->features.size());
  for (int64_t i = 0; i < n; ++i) {
    if (!std::isfinite(data->features[i])) {
      // One NaN would silently turn every weight into NaN after the first step.
      return InvalidArgument(features_path + ": feature " + std::to_string(i % data->dim) +
                             " of sample " + std::to_string(i / data->dim) + " is " +
                             FormatNumber(data->features[i]) + ", expected a finite number");
    }
  }
  return Status::Ok();
}

}  // namespace dataset_internal

namespace {

using dataset_internal::IsFile;

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

Result<DataFormat> DetectFormat(const std::string& location) {
  if (EndsWith(location, ".csv") || EndsWith(location, ".csv.gz")) return DataFormat::kCsv;
  if (EndsWith(location, ".npy") || dataset_internal::NpyFilesExist(location)) {
    return DataFormat::kNpy;
  }
  const size_t slash = location.rfind('/');
  const std::string name = slash == std::string::npos ? location : location.substr(slash + 1);
  if (dataset_internal::IdxFilesExist(location) || name.find("idx") != std::string::npos) {
    return DataFormat::kIdx;
  }
  const std::string expected =
      "expected a .csv file, P.x.npy + P.y.npy, or P-images-idx3-ubyte[.gz] + "
      "P-labels-idx1-ubyte[.gz] for the prefix P";
  if (!IsFile(location)) return NotFound(location + ": no dataset found: " + expected);
  return InvalidArgument(location + ": cannot tell the data format from the name (" + expected +
                         "); set data.format to idx, npy or csv");
}

}  // namespace

Result<Dataset> LoadDataset(const std::string& location, DataFormat format,
                            const DatasetLimits& limits) {
  if (location.empty()) return InvalidArgument("empty data location");
  if (format == DataFormat::kAuto) {
    ASSIGN_OR_RETURN(format, DetectFormat(location));
  }
  switch (format) {
    case DataFormat::kIdx:
      return dataset_internal::LoadIdx(location, limits);
    case DataFormat::kNpy:
      return dataset_internal::LoadNpy(location, limits);
    case DataFormat::kCsv:
      return dataset_internal::LoadCsv(location, limits);
    case DataFormat::kTokens:
      return InvalidArgument(location +
                             ": token shards are read as windows of a gpt's context "
                             "(LoadTokenWindows), not as feature rows");
    case DataFormat::kAuto:
      break;
  }
  return InvalidArgument(location + ": unknown data format " +
                         std::to_string(static_cast<int>(format)));
}

FeatureStats ComputeStats(const Dataset& train) {
  FeatureStats stats;
  stats.scale_255 = train.integer_features;
  const size_t n = train.features.size();
  if (n == 0) return stats;
  const double scale = stats.scale_255 ? 1.0 / 255.0 : 1.0;
  // Two passes in double: the one-pass sum-of-squares formula cancels badly when |mean| ≫ std.
  double sum = 0;
  for (float v : train.features) sum += v * scale;
  const double mean = sum / static_cast<double>(n);
  double sq = 0;
  for (float v : train.features) {
    const double d = v * scale - mean;
    sq += d * d;
  }
  const double std = std::sqrt(sq / static_cast<double>(n));
  stats.mean = mean;
  stats.std = (std > 0 && std::isfinite(std)) ? std : 1.0;
  return stats;
}

void ApplyNormalization(const FeatureStats& stats, Dataset* data) {
  const double scale = stats.scale_255 ? 1.0 / 255.0 : 1.0;
  const double std = stats.std > 0 ? stats.std : 1.0;
  // x → (x·scale − mean)/std folded into one multiply-add per value.
  const float a = static_cast<float>(scale / std);
  const float b = static_cast<float>(-stats.mean / std);
  for (float& v : data->features) v = v * a + b;
  data->integer_features = false;
}

void GatherBatch(const Dataset& data, const std::vector<int64_t>& indices, int64_t begin,
                 int64_t end, float* x, int32_t* y) {
  assert(0 <= begin && begin <= end && end <= static_cast<int64_t>(indices.size()));
  const size_t row_bytes = static_cast<size_t>(data.dim) * sizeof(float);
  for (int64_t i = begin; i < end; ++i) {
    const int64_t s = indices[i];
    assert(0 <= s && s < data.size);
    std::memcpy(x + (i - begin) * data.dim, data.features.data() + s * data.dim, row_bytes);
    const int64_t w = data.label_width;
    std::memcpy(y + (i - begin) * w, data.labels.data() + s * w, static_cast<size_t>(w) * 4);
  }
}

}  // namespace shoal
