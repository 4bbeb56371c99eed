// IDX reader (the MNIST family's format, http://yann.lecun.com/exdb/mnist/): a 4-byte magic
// 00 00 <dtype> <ndims>, then ndims big-endian uint32 dimensions, then the values, big-endian,
// row-major. Images and labels live in two files; either may be gzip-compressed.
#include <cctype>
#include <cstdio>
#include <span>
#include <string>
#include <vector>

#include "data/dataset_internal.h"

namespace shoal::dataset_internal {
namespace {

constexpr unsigned char kUint8 = 0x08;
constexpr unsigned char kFloat32 = 0x0D;

struct IdxHeader {
  unsigned char dtype = 0;
  std::vector<int64_t> dims;
  int64_t bytes = 0;  // size of the header itself
};

const char* IdxTypeName(unsigned char dtype) {
  switch (dtype) {
    case 0x08:
      return "uint8";
    case 0x09:
      return "int8";
    case 0x0B:
      return "int16";
    case 0x0C:
      return "int32";
    case 0x0D:
      return "float32";
    case 0x0E:
      return "float64";
    default:
      return "not an IDX type";
  }
}

std::string Hex(unsigned v) {
  char buf[8];
  std::snprintf(buf, sizeof(buf), "0x%02X", v);
  return buf;
}

Result<IdxHeader> ReadIdxHeader(InputFile& file) {
  unsigned char magic[4];
  RETURN_IF_ERROR(file.ReadExact(magic, sizeof(magic), "4-byte IDX magic"));
  if (magic[0] != 0 || magic[1] != 0 || magic[3] == 0) {
    char found[16];
    std::snprintf(found, sizeof(found), "%02x %02x %02x %02x", magic[0], magic[1], magic[2],
                  magic[3]);
    return InvalidArgument(file.path() + ": bad IDX magic " + found +
                           ", expected 00 00 <dtype> <ndims ≥ 1> (not an IDX file?)");
  }
  IdxHeader header;
  header.dtype = magic[2];
  const int ndims = magic[3];
  unsigned char raw[4 * 255];
  RETURN_IF_ERROR(file.ReadExact(raw, 4 * static_cast<size_t>(ndims), "IDX dimension list"));
  for (int i = 0; i < ndims; ++i) header.dims.push_back(LoadBig<uint32_t>(raw + 4 * i));
  header.bytes = 4 + 4 * static_cast<int64_t>(ndims);
  return header;
}

std::string IdxShape(const std::vector<int64_t>& dims) {
  std::string s;
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? " × " : "") + std::to_string(dims[i]);
  return s;
}

struct IdxPaths {
  std::string images;
  std::string labels;
};

std::string FirstExisting(const std::string& prefix, std::span<const char* const> suffixes) {
  for (const char* suffix : suffixes) {
    if (IsFile(prefix + suffix)) return prefix + suffix;
  }
  return "";
}

// The companion of `path` with `from` (plus one digit after it) replaced by `to`, trying with and
// without ".gz" since a directory may compress one file but not the other. Empty if none exists.
std::string Companion(const std::string& path, const std::string& from, const std::string& to) {
  const size_t slash = path.rfind('/');
  const size_t name_start = slash == std::string::npos ? 0 : slash + 1;
  const size_t pos = path.rfind(from);
  if (pos == std::string::npos || pos < name_start) return "";
  size_t end = pos + from.size();
  if (end < path.size() && std::isdigit(static_cast<unsigned char>(path[end]))) ++end;
  std::string other = path.substr(0, pos) + to + path.substr(end);
  if (IsFile(other)) return other;
  const std::string gz = ".gz";
  if (other.size() > gz.size() && other.compare(other.size() - gz.size(), gz.size(), gz) == 0) {
    other.resize(other.size() - gz.size());
  } else {
    other += gz;
  }
  return IsFile(other) ? other : "";
}

// Prefix forms: the original MNIST names and the "images.idx3" spelling some mirrors use.
constexpr const char* kImageSuffixes[] = {"-images-idx3-ubyte", "-images-idx3-ubyte.gz",
                                          "-images.idx3-ubyte", "-images.idx3-ubyte.gz"};
constexpr const char* kLabelSuffixes[] = {"-labels-idx1-ubyte", "-labels-idx1-ubyte.gz",
                                          "-labels.idx1-ubyte", "-labels.idx1-ubyte.gz"};

Result<IdxPaths> ResolveIdx(const std::string& location) {
  IdxPaths paths;
  if (IsFile(location)) {
    // The images file itself (or, forgivingly, the labels file) was named.
    if (std::string labels = Companion(location, "images-idx", "labels-idx1"); !labels.empty()) {
      return IdxPaths{location, labels};
    }
    if (std::string images = Companion(location, "labels-idx", "images-idx3"); !images.empty()) {
      return IdxPaths{images, location};
    }
    return NotFound(location + ": no matching IDX labels file (expected the images file's name " +
                    "with \"images-idx3\" replaced by \"labels-idx1\", next to it)");
  }
  paths.images = FirstExisting(location, kImageSuffixes);
  if (paths.images.empty()) {
    return NotFound(location + "-images-idx3-ubyte[.gz]: no such file (IDX images for the data " +
                    "location " + location + ")");
  }
  paths.labels = FirstExisting(location, kLabelSuffixes);
  if (paths.labels.empty()) {
    return NotFound(location + "-labels-idx1-ubyte[.gz]: no such file (IDX labels for " +
                    paths.images + ")");
  }
  return paths;
}

}  // namespace

bool IdxFilesExist(const std::string& location) {
  return !FirstExisting(location, kImageSuffixes).empty();
}

Result<Dataset> LoadIdx(const std::string& location, const DatasetLimits& limits) {
  ASSIGN_OR_RETURN(IdxPaths paths, ResolveIdx(location));
  ASSIGN_OR_RETURN(InputFile images, InputFile::Open(paths.images));
  ASSIGN_OR_RETURN(InputFile labels, InputFile::Open(paths.labels));

  // Both headers are validated before either payload is read, so a mismatch costs nothing.
  ASSIGN_OR_RETURN(IdxHeader ih, ReadIdxHeader(images));
  if (ih.dtype != kUint8 && ih.dtype != kFloat32) {
    return InvalidArgument(paths.images + ": IDX images have dtype " + Hex(ih.dtype) + " (" +
                           IdxTypeName(ih.dtype) + "), expected 0x08 (uint8) or 0x0D (float32)");
  }
  if (ih.dims.size() < 2) {
    return InvalidArgument(paths.images + ": IDX images have shape (" + IdxShape(ih.dims) +
                           "), expected at least 2 dimensions (samples × features...); is this " +
                           "a labels file?");
  }
  int64_t dim = 1;
  for (size_t i = 1; i < ih.dims.size(); ++i) {
    if (!CheckedMul(dim, ih.dims[i], &dim)) {
      return InvalidArgument(paths.images + ": IDX header dims " + IdxShape(ih.dims) +
                             " overflow a 64-bit size");
    }
  }
  const int64_t samples = ih.dims[0];
  const int64_t elem_bytes = ih.dtype == kUint8 ? 1 : 4;
  int64_t image_bytes = 0;
  RETURN_IF_ERROR(CheckShape(paths.images, samples, dim, elem_bytes, limits, &image_bytes));

  ASSIGN_OR_RETURN(IdxHeader lh, ReadIdxHeader(labels));
  if (lh.dtype != kUint8 || lh.dims.size() != 1) {
    return InvalidArgument(paths.labels + ": IDX labels have dtype " + Hex(lh.dtype) + " (" +
                           IdxTypeName(lh.dtype) + ") and shape (" + IdxShape(lh.dims) +
                           "), expected 0x08 (uint8) and 1 dimension");
  }
  if (lh.dims[0] != samples) {
    return InvalidArgument(paths.labels + ": holds " + std::to_string(lh.dims[0]) + " labels but " +
                           paths.images + " holds " + std::to_string(samples) +
                           " images; expected one label per image");
  }

  std::string raw;
  RETURN_IF_ERROR(images.ReadPayload(image_bytes, "image data", &raw));
  RETURN_IF_ERROR(images.ExpectEnd(ih.bytes + image_bytes));
  Dataset data;
  data.size = samples;
  data.dim = dim;
  data.features.resize(static_cast<size_t>(samples * dim));
  const auto* bytes = reinterpret_cast<const unsigned char*>(raw.data());
  if (ih.dtype == kUint8) {
    for (size_t i = 0; i < data.features.size(); ++i) data.features[i] = bytes[i];
    data.integer_features = true;
  } else {
    for (size_t i = 0; i < data.features.size(); ++i) {
      data.features[i] = LoadBig<float>(bytes + 4 * i);
    }
  }
  std::string().swap(raw);  // release before reading labels

  RETURN_IF_ERROR(labels.ReadPayload(samples, "label data", &raw));
  RETURN_IF_ERROR(labels.ExpectEnd(lh.bytes + samples));
  data.labels.resize(static_cast<size_t>(samples));
  for (int64_t i = 0; i < samples; ++i) {
    const auto v = static_cast<unsigned char>(raw[i]);
    if (!LabelOk(v, limits)) {
      return LabelError(paths.labels + ": sample " + std::to_string(i), v, limits);
    }
    data.labels[i] = v;
  }
  RETURN_IF_ERROR(FinishDataset(paths.images, &data));
  return data;
}

}  // namespace shoal::dataset_internal
