// NumPy .npy reader (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html):
// "\x93NUMPY", major, minor, a little-endian header length (2 bytes in 1.x, 4 bytes in 2.x/3.x),
// then a Python dict literal {'descr': ..., 'fortran_order': ..., 'shape': (...), } padded with
// spaces and ending in '\n', then the raw array data.
#include <cctype>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "data/dataset_internal.h"

namespace shoal::dataset_internal {
namespace {

// numpy itself refuses headers over 10 000 bytes by default; 64 KiB leaves room for odd writers
// while stopping a 4 GiB "header" before it is read.
constexpr uint32_t kMaxHeaderBytes = 64 << 10;

enum class Kind { kU8, kI32, kI64, kF32, kF64 };

struct DType {
  std::string_view descr;
  Kind kind;
  int64_t size;
};

// Only little-endian multi-byte types: that is what numpy writes on every common host.
constexpr DType kDTypes[] = {
    {"|u1", Kind::kU8, 1},  {"<u1", Kind::kU8, 1},  {"<i4", Kind::kI32, 4},
    {"<i8", Kind::kI64, 8}, {"<f4", Kind::kF32, 4}, {"<f8", Kind::kF64, 8},
};

struct NpyHeader {
  DType dtype;
  bool fortran_order = false;
  std::vector<int64_t> shape;
  int64_t bytes = 0;  // magic + version + length field + dict
};

// Parses the header dict: just enough of Python's literal syntax for what numpy writes.
class DictParser {
 public:
  DictParser(const std::string& path, std::string_view text) : path_(path), text_(text) {}

  Status Parse(NpyHeader* out) {
    bool have_descr = false, have_fortran = false, have_shape = false;
    RETURN_IF_ERROR(Expect('{'));
    while (Peek() != '}') {
      std::string key;
      RETURN_IF_ERROR(ParseString(&key));
      RETURN_IF_ERROR(Expect(':'));
      if (key == "descr") {
        if (Peek() == '[') return Error("a structured dtype (list descr)", "'<f4'-style descr");
        std::string descr;
        RETURN_IF_ERROR(ParseString(&descr));
        bool found = false;
        for (const DType& t : kDTypes) {
          if (t.descr != descr) continue;
          out->dtype = t;
          found = true;
        }
        if (!found) {
          return InvalidArgument(path_ + ": unsupported .npy dtype '" + descr +
                                 "', expected one of |u1 <f4 <f8 <i4 <i8");
        }
        have_descr = true;
      } else if (key == "fortran_order") {
        RETURN_IF_ERROR(ParseBool(&out->fortran_order));
        have_fortran = true;
      } else if (key == "shape") {
        RETURN_IF_ERROR(ParseShape(&out->shape));
        have_shape = true;
      } else {
        return InvalidArgument(path_ + ": unexpected key '" + key +
                               "' in .npy header, expected only descr, fortran_order, shape");
      }
      if (Peek() == ',') ++pos_;
    }
    ++pos_;
    if (!have_descr || !have_fortran || !have_shape) {
      return InvalidArgument(path_ + ": .npy header lacks " +
                             (!have_descr     ? "'descr'"
                              : !have_fortran ? "'fortran_order'"
                                              : "'shape'") +
                             " (header: " + Excerpt() + ")");
    }
    return Status::Ok();
  }

 private:
  char Peek() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
    return pos_ < text_.size() ? text_[pos_] : '\0';
  }

  std::string Excerpt() const {
    std::string s(text_.substr(0, 200));
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
    return s + (text_.size() > 200 ? "..." : "");
  }

  Status Error(const std::string& found, const std::string& expected) const {
    return InvalidArgument(path_ + ": malformed .npy header at character " + std::to_string(pos_) +
                           ": found " + found + ", expected " + expected +
                           " (header: " + Excerpt() + ")");
  }

  std::string Found() {
    const char c = Peek();
    return c == '\0' ? std::string("the end") : "'" + std::string(1, c) + "'";
  }

  Status Expect(char c) {
    if (Peek() != c) return Error(Found(), "'" + std::string(1, c) + "'");
    ++pos_;
    return Status::Ok();
  }

  Status ParseString(std::string* out) {
    const char quote = Peek();
    if (quote != '\'' && quote != '"') return Error(Found(), "a quoted string");
    const size_t end = text_.find(quote, pos_ + 1);
    if (end == std::string_view::npos) return Error("an unterminated string", "a closing quote");
    *out = std::string(text_.substr(pos_ + 1, end - pos_ - 1));
    pos_ = end + 1;
    return Status::Ok();
  }

  Status ParseBool(bool* out) {
    Peek();
    for (const auto& [word, value] : {std::pair{"True", true}, std::pair{"False", false}}) {
      const size_t n = std::strlen(word);
      if (text_.substr(pos_, n) == word) {
        pos_ += n;
        *out = value;
        return Status::Ok();
      }
    }
    return Error(Found(), "True or False");
  }

  Status ParseShape(std::vector<int64_t>* shape) {
    RETURN_IF_ERROR(Expect('('));
    while (Peek() != ')') {
      if (!std::isdigit(static_cast<unsigned char>(Peek()))) {
        return Error(Found(), "a non-negative integer dimension");
      }
      int64_t v = 0;
      while (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_]))) {
        if (!CheckedMul(v, 10, &v) || __builtin_add_overflow(v, text_[pos_] - '0', &v)) {
          return InvalidArgument(path_ + ": .npy shape dimension overflows a 64-bit size" +
                                 " (header: " + Excerpt() + ")");
        }
        ++pos_;
      }
      if (pos_ < text_.size() && text_[pos_] == 'L') ++pos_;  // Python 2 long suffix
      shape->push_back(v);
      if (Peek() == ',') {
        ++pos_;
      } else if (Peek() != ')') {
        return Error(Found(), "',' or ')' in the shape tuple");
      }
    }
    ++pos_;
    return Status::Ok();
  }

  const std::string& path_;
  std::string_view text_;
  size_t pos_ = 0;
};

Result<NpyHeader> ReadNpyHeader(InputFile& file) {
  unsigned char preamble[8];
  RETURN_IF_ERROR(file.ReadExact(preamble, sizeof(preamble), ".npy magic and version"));
  if (std::memcmp(preamble, "\x93NUMPY", 6) != 0) {
    return InvalidArgument(file.path() + ": bad magic: not a .npy file (expected the bytes " +
                           "\\x93NUMPY at the start)");
  }
  const int major = preamble[6], minor = preamble[7];
  if (major < 1 || major > 3) {
    return InvalidArgument(file.path() + ": unsupported .npy format version " +
                           std::to_string(major) + "." + std::to_string(minor) +
                           ", expected 1.0, 2.0 or 3.0");
  }
  unsigned char len_bytes[4];
  const int len_size = major == 1 ? 2 : 4;
  RETURN_IF_ERROR(file.ReadExact(len_bytes, len_size, ".npy header length"));
  const uint32_t len =
      major == 1 ? LoadLittle<uint16_t>(len_bytes) : LoadLittle<uint32_t>(len_bytes);
  if (len > kMaxHeaderBytes) {
    return InvalidArgument(file.path() + ": .npy header is " + std::to_string(len) +
                           " bytes long, over the limit of " + std::to_string(kMaxHeaderBytes) +
                           " (corrupt file?)");
  }
  std::string text(len, '\0');
  RETURN_IF_ERROR(file.ReadExact(text.data(), len, ".npy header"));
  NpyHeader header;
  RETURN_IF_ERROR(DictParser(file.path(), text).Parse(&header));
  header.bytes = 8 + len_size + len;
  return header;
}

std::string NpyShape(const std::vector<int64_t>& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + (shape.size() == 1 ? ",)" : ")");
}

double ValueAt(Kind kind, const unsigned char* p, int64_t i) {
  switch (kind) {
    case Kind::kU8:
      return p[i];
    case Kind::kI32:
      return LoadLittle<int32_t>(p + 4 * i);
    case Kind::kI64:
      return static_cast<double>(LoadLittle<int64_t>(p + 8 * i));
    case Kind::kF32:
      return LoadLittle<float>(p + 4 * i);
    case Kind::kF64:
      return LoadLittle<double>(p + 8 * i);
  }
  return 0;
}

std::string Prefix(const std::string& location) {
  for (const char* suffix : {".x.npy", ".y.npy", ".npy"}) {
    const size_t n = std::strlen(suffix);
    if (location.size() > n && location.compare(location.size() - n, n, suffix) == 0) {
      return location.substr(0, location.size() - n);
    }
  }
  return location;
}

}  // namespace

bool NpyFilesExist(const std::string& location) { return IsFile(location + ".x.npy"); }

Result<Dataset> LoadNpy(const std::string& location, const DatasetLimits& limits) {
  const std::string prefix = Prefix(location);
  const std::string x_path = prefix + ".x.npy", y_path = prefix + ".y.npy";
  ASSIGN_OR_RETURN(InputFile x_file, InputFile::Open(x_path));
  ASSIGN_OR_RETURN(InputFile y_file, InputFile::Open(y_path));

  ASSIGN_OR_RETURN(NpyHeader xh, ReadNpyHeader(x_file));
  if (xh.fortran_order) {
    return InvalidArgument(x_path + ": fortran_order is True (column-major data), expected C " +
                           "order; save np.ascontiguousarray(x) instead");
  }
  if (xh.shape.size() < 2) {
    return InvalidArgument(x_path + ": features have shape " + NpyShape(xh.shape) +
                           ", expected at least 2 dimensions (samples, features...)");
  }
  int64_t dim = 1;
  for (size_t i = 1; i < xh.shape.size(); ++i) {
    if (!CheckedMul(dim, xh.shape[i], &dim)) {
      return InvalidArgument(x_path + ": shape " + NpyShape(xh.shape) + " overflows a 64-bit size");
    }
  }
  const int64_t samples = xh.shape[0];
  int64_t x_bytes = 0;
  RETURN_IF_ERROR(CheckShape(x_path, samples, dim, xh.dtype.size, limits, &x_bytes));

  ASSIGN_OR_RETURN(NpyHeader yh, ReadNpyHeader(y_file));
  // A (N,) or (N, 1) array is laid out the same in C and Fortran order, so fortran_order is moot.
  const bool column = yh.shape.size() == 2 && yh.shape[1] == 1;
  if (yh.shape.size() != 1 && !column) {
    return InvalidArgument(y_path + ": labels have shape " + NpyShape(yh.shape) +
                           ", expected (N,) or (N, 1)");
  }
  if (yh.shape[0] != samples) {
    return InvalidArgument(y_path + ": holds " + std::to_string(yh.shape[0]) + " labels but " +
                           x_path + " holds " + std::to_string(samples) +
                           " samples; expected one label per sample");
  }
  int64_t y_bytes = 0;
  RETURN_IF_ERROR(CheckShape(y_path, samples, 1, yh.dtype.size, limits, &y_bytes));

  std::string raw;
  RETURN_IF_ERROR(x_file.ReadPayload(x_bytes, "array data", &raw));
  RETURN_IF_ERROR(x_file.ExpectEnd(xh.bytes + x_bytes));
  Dataset data;
  data.size = samples;
  data.dim = dim;
  data.integer_features = xh.dtype.kind == Kind::kU8;
  data.features.resize(static_cast<size_t>(samples * dim));
  const auto* bytes = reinterpret_cast<const unsigned char*>(raw.data());
  const int64_t n = samples * dim;
  if (xh.dtype.kind == Kind::kF32) {
    // The common case; skip the per-value switch.
    for (int64_t i = 0; i < n; ++i) data.features[i] = LoadLittle<float>(bytes + 4 * i);
  } else {
    for (int64_t i = 0; i < n; ++i) {
      data.features[i] = static_cast<float>(ValueAt(xh.dtype.kind, bytes, i));
    }
  }
  std::string().swap(raw);

  RETURN_IF_ERROR(y_file.ReadPayload(y_bytes, "array data", &raw));
  RETURN_IF_ERROR(y_file.ExpectEnd(yh.bytes + y_bytes));
  bytes = reinterpret_cast<const unsigned char*>(raw.data());
  data.labels.resize(static_cast<size_t>(samples));
  for (int64_t i = 0; i < samples; ++i) {
    const double v = ValueAt(yh.dtype.kind, bytes, i);
    if (!LabelOk(v, limits)) return LabelError(y_path + ": sample " + std::to_string(i), v, limits);
    data.labels[i] = static_cast<int32_t>(v);
  }
  RETURN_IF_ERROR(FinishDataset(x_path, &data));
  return data;
}

}  // namespace shoal::dataset_internal
