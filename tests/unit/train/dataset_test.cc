// Tests for the dataset readers (IDX, .npy, CSV), normalization and batch gathering. Every test
// writes its files into a fresh temporary directory; hostile inputs must give a clear Status naming
// the file and the problem, never a crash or a huge allocation.
#include "data/dataset.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <zlib.h>

#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace shoal {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

std::string Gzip(const std::string& bytes) {
  // gzopen/gzwrite through a temp file keeps this the same code path users' tools produce.
  char tmpl[] = "/tmp/shoal_gz_XXXXXX";
  const int fd = mkstemp(tmpl);
  EXPECT_GE(fd, 0);
  gzFile gz = gzdopen(fd, "wb");
  EXPECT_NE(gz, nullptr);
  EXPECT_EQ(gzwrite(gz, bytes.data(), static_cast<unsigned>(bytes.size())),
            static_cast<int>(bytes.size()));
  EXPECT_EQ(gzclose(gz), Z_OK);
  std::ifstream in(tmpl, std::ios::binary);
  std::string out((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  fs::remove(tmpl);
  return out;
}

std::string BigU32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

std::string Idx(uint8_t dtype, const std::vector<uint32_t>& dims, const std::string& payload) {
  std::string s = {0, 0, static_cast<char>(dtype), static_cast<char>(dims.size())};
  for (uint32_t d : dims) s += BigU32(d);
  return s + payload;
}

std::string BigF32(const std::vector<float>& values) {
  std::string s;
  for (float f : values) s += BigU32(std::bit_cast<uint32_t>(f));
  return s;
}

// Raw little-endian bytes of `values` (the test host is little-endian, as numpy's '<' assumes).
template <typename T>
std::string Raw(const std::vector<T>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
}

std::string NpyHeaderDict(const std::string& descr, bool fortran, const std::string& shape) {
  return "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") +
         ", 'shape': " + shape + ", }";
}

// A .npy file as numpy writes it: magic, version, header length, the dict padded with spaces so
// the data starts at a multiple of 64, and '\n'.
std::string Npy(const std::string& dict, const std::string& payload, int major = 1) {
  const size_t prefix = 6 + 2 + (major == 1 ? 2 : 4);
  std::string header = dict;
  while ((prefix + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string s = "\x93NUMPY";
  s += static_cast<char>(major);
  s += '\0';
  const auto len = static_cast<uint32_t>(header.size());
  for (int i = 0; i < (major == 1 ? 2 : 4); ++i) s += static_cast<char>((len >> (8 * i)) & 0xFF);
  return s + header + payload;
}

std::string Npy(const std::string& descr, const std::string& shape, const std::string& payload) {
  return Npy(NpyHeaderDict(descr, false, shape), payload);
}

// Asserts `r` failed with `code` and a message containing every one of `parts`.
template <typename T>
void ExpectError(const Result<T>& r, StatusCode code, std::initializer_list<std::string> parts) {
  ASSERT_FALSE(r.ok()) << "expected an error containing " << *parts.begin();
  EXPECT_EQ(r.status().code(), code) << r.status().ToString();
  for (const std::string& p : parts) EXPECT_THAT(r.status().message(), HasSubstr(p));
}

// Asserts that loading `location` fails with InvalidArgument naming every one of `parts`.
void ExpectInvalid(const std::string& location, DataFormat format,
                   std::initializer_list<std::string> parts, const DatasetLimits& limits = {}) {
  ExpectError(LoadDataset(location, format, limits), StatusCode::kInvalidArgument, parts);
}

class DatasetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/shoal_dataset_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }
  // ExpectInvalid for the file or prefix `name` in this test's directory.
  void Invalid(const std::string& name, DataFormat format, std::initializer_list<std::string> parts,
               const DatasetLimits& limits = {}) {
    ExpectInvalid(Path(name), format, parts, limits);
  }
  void Missing(const std::string& name, DataFormat format,
               std::initializer_list<std::string> parts) {
    ExpectError(LoadDataset(Path(name), format), StatusCode::kNotFound, parts);
  }

  // A 3-sample, 2×2 uint8 IDX pair under prefix `name`.
  std::string WriteSmallIdx(const std::string& name, bool gz) {
    const char pixels[] = "\x00\x01\x02\x03\x10\x20\x30\x40\xfd\xfe\xff\x80";
    const std::string images = Idx(0x08, {3, 2, 2}, std::string(pixels, 12));
    const std::string labels = Idx(0x08, {3}, std::string("\x00\x02\x01", 3));
    const std::string ext = gz ? ".gz" : "";
    WriteFile(Path(name + "-images-idx3-ubyte" + ext), gz ? Gzip(images) : images);
    WriteFile(Path(name + "-labels-idx1-ubyte" + ext), gz ? Gzip(labels) : labels);
    return Path(name);
  }

  // Writes images/labels IDX files with the given raw contents; returns the prefix.
  std::string WriteIdxPair(const std::string& images, const std::string& labels) {
    WriteFile(Path("d-images-idx3-ubyte"), images);
    WriteFile(Path("d-labels-idx1-ubyte"), labels);
    return Path("d");
  }

  std::string dir_;
};

void ExpectSmallIdx(const Dataset& d) {
  EXPECT_EQ(d.size, 3);
  EXPECT_EQ(d.dim, 4);
  EXPECT_EQ(d.features, (std::vector<float>{0, 1, 2, 3, 16, 32, 48, 64, 253, 254, 255, 128}));
  EXPECT_EQ(d.labels, (std::vector<int32_t>{0, 2, 1}));
  EXPECT_EQ(d.num_classes, 3);
  EXPECT_TRUE(d.integer_features);
}

// Loads into `var` (a Result<Dataset>) and stops the test if that failed.
#define ASSERT_LOADS(var, ...)                    \
  Result<Dataset> var = LoadDataset(__VA_ARGS__); \
  ASSERT_TRUE(var.ok()) << var.status().ToString()

// ---- IDX ----

TEST_F(DatasetTest, IdxPlainRoundTripsExactly) {
  const std::string prefix = WriteSmallIdx("train", false);
  for (DataFormat f : {DataFormat::kIdx, DataFormat::kAuto}) {
    ASSERT_LOADS(d, prefix, f);
    ExpectSmallIdx(*d);
  }
}

TEST_F(DatasetTest, IdxGzipRoundTripsExactlyByPrefixAndByImagesPath) {
  const std::string prefix = WriteSmallIdx("train", true);
  ASSERT_LOADS(d, prefix, DataFormat::kAuto);
  ExpectSmallIdx(*d);
  ASSERT_LOADS(d1, prefix + "-images-idx3-ubyte.gz", DataFormat::kAuto);
  ExpectSmallIdx(*d1);
}

TEST_F(DatasetTest, IdxMixedCompressionAndDotSpelling) {
  const std::string images = Idx(0x08, {1, 2}, std::string("\x07\x09", 2));
  WriteFile(Path("m-images.idx3-ubyte.gz"), Gzip(images));
  WriteFile(Path("m-labels.idx1-ubyte"), Idx(0x08, {1}, std::string("\x04", 1)));
  ASSERT_LOADS(d, Path("m"), DataFormat::kIdx);
  EXPECT_EQ(d->features, (std::vector<float>{7, 9}));
  EXPECT_EQ(d->labels, (std::vector<int32_t>{4}));
  EXPECT_EQ(d->num_classes, 5);
}

TEST_F(DatasetTest, IdxFloat32ImagesAreBigEndianAndFlattened) {
  const std::vector<float> values = {1.5f, -2.25f, 0.f, 3e-3f, 1e6f, -7.f, 0.5f, 8.f};
  const std::string prefix = WriteIdxPair(Idx(0x0D, {2, 2, 2}, BigF32(values)),
                                          Idx(0x08, {2}, std::string("\x01\x00", 2)));
  ASSERT_LOADS(d, prefix, DataFormat::kIdx);
  EXPECT_EQ(d->size, 2);
  EXPECT_EQ(d->dim, 4);
  EXPECT_EQ(d->features, values);
  EXPECT_FALSE(d->integer_features);
  EXPECT_EQ(d->num_classes, 2);
}

void ExpectFashionMnist(const std::string& location, int64_t n, int per_class) {
  ASSERT_LOADS(d, location, DataFormat::kAuto);
  EXPECT_EQ(d->size, n);
  EXPECT_EQ(d->dim, 784);
  EXPECT_EQ(d->num_classes, 10);
  EXPECT_TRUE(d->integer_features);
  ASSERT_EQ(static_cast<int64_t>(d->features.size()), n * 784);
  std::array<int, 10> histogram{};
  for (int32_t label : d->labels) {
    ASSERT_TRUE(label >= 0 && label < 10);
    ++histogram[label];
  }
  for (int c = 0; c < 10; ++c) EXPECT_EQ(histogram[c], per_class) << "class " << c;
  float lo = 255, hi = 0;
  for (float v : d->features) lo = std::min(lo, v), hi = std::max(hi, v);
  EXPECT_EQ(lo, 0);
  EXPECT_EQ(hi, 255);
}

TEST(FashionMnistTest, RealTrainAndTestSetsLoad) {
  const std::string dir = "/usr/share/datasets/fashion-mnist";
  if (!fs::exists(dir + "/train-images-idx3-ubyte.gz")) {
    GTEST_SKIP() << dir << " is absent (Debian package dataset-fashion-mnist)";
  }
  ExpectFashionMnist(dir + "/train", 60000, 6000);
  ExpectFashionMnist(dir + "/t10k-images-idx3-ubyte.gz", 10000, 1000);
}

TEST_F(DatasetTest, IdxTruncatedFilesNameTheFile) {
  const std::string prefix =
      WriteIdxPair(Idx(0x08, {3, 2, 2}, std::string(5, '\1')), Idx(0x08, {3}, std::string(3, 0)));
  ExpectInvalid(prefix, DataFormat::kIdx, {Path("d-images-idx3-ubyte"), "truncated", "12"});
  WriteIdxPair(std::string("\0\0\x08\x03\0\0", 6), Idx(0x08, {1}, std::string(1, 0)));
  Invalid("d", DataFormat::kIdx, {"d-images-idx3-ubyte", "truncated", "dimension"});

  std::string gz = Gzip(Idx(0x08, {100, 10}, std::string(1000, '\5')));
  gz.resize(gz.size() / 2);
  WriteFile(Path("g-images-idx3-ubyte.gz"), gz);
  WriteFile(Path("g-labels-idx1-ubyte"), Idx(0x08, {100}, std::string(100, 0)));
  Result<Dataset> d = LoadDataset(Path("g"), DataFormat::kIdx);
  ExpectError(d, StatusCode::kInvalidArgument, {"g-images-idx3-ubyte.gz", "truncated"});

  // A flipped bit inside the deflate stream (the CRC check at the end catches what inflate misses).
  gz = Gzip(Idx(0x08, {100, 10}, std::string(1000, '\5')));
  gz[gz.size() / 2] ^= 0x5A;
  WriteFile(Path("g-images-idx3-ubyte.gz"), gz);
  Invalid("g", DataFormat::kIdx, {"g-images-idx3-ubyte.gz", "gzip"});
}

TEST_F(DatasetTest, IdxWrongMagicAndWrongDtype) {
  WriteIdxPair("\x01\x02\x08\x03garbagegarbage", Idx(0x08, {1}, std::string(1, 0)));
  Invalid("d", DataFormat::kIdx, {"d-images-idx3-ubyte", "bad IDX magic", "01 02 08 03"});
  WriteIdxPair(Idx(0x0C, {1, 1}, std::string(4, 0)), Idx(0x08, {1}, std::string(1, 0)));
  Invalid("d", DataFormat::kIdx,
          {"d-images-idx3-ubyte", "0x0C", "int32", "expected 0x08 (uint8) or 0x0D"});
  WriteIdxPair(Idx(0x08, {1, 1}, std::string(1, 0)), Idx(0x0D, {1}, std::string(4, 0)));
  Invalid("d", DataFormat::kIdx, {"d-labels-idx1-ubyte", "labels have dtype 0x0D"});
}

TEST_F(DatasetTest, IdxHostileHeaderIsRejectedBeforeAllocating) {
  const std::string labels = Idx(0x08, {1}, std::string(1, 0));
  // 2^31 images of 2^31 × 2^31 pixels: far over the default limits.
  WriteIdxPair(Idx(0x08, {1u << 31, 1u << 31, 1u << 31}, "xyz"), labels);
  Invalid("d", DataFormat::kIdx,
          {"d-images-idx3-ubyte", "2147483648 samples exceed the limit of 100000000"});
  // Dimensions whose product overflows 64 bits.
  WriteIdxPair(Idx(0x08, {1, 1u << 31, 1u << 31, 1u << 31}, "xyz"), labels);
  Invalid("d", DataFormat::kIdx, {"d-images-idx3-ubyte", "overflow"});
  WriteIdxPair(Idx(0x08, {1, 1u << 31}, "xyz"), labels);
  Invalid("d", DataFormat::kIdx, {"features per sample exceed the limit"});

  // With the limits lifted the header is plausible (2^60 bytes) but the file holds 3 bytes: the
  // reader must report truncation after reading what is there, not try to allocate 2^62 bytes.
  DatasetLimits unlimited;
  unlimited.max_samples = unlimited.max_dim = unlimited.max_bytes =
      std::numeric_limits<int64_t>::max();
  WriteIdxPair(Idx(0x08, {1u << 31, 1u << 29, 1}, "xyz"), Idx(0x08, {1u << 31}, std::string(1, 0)));
  Invalid("d", DataFormat::kIdx, {"d-images-idx3-ubyte", "truncated", "holds only 3"}, unlimited);
}

TEST_F(DatasetTest, IdxLabelCountMismatchAndTrailingBytes) {
  WriteIdxPair(Idx(0x08, {3, 1}, std::string(3, 0)), Idx(0x08, {2}, std::string(2, 0)));
  Invalid("d", DataFormat::kIdx,
          {"d-labels-idx1-ubyte: holds 2 labels", "d-images-idx3-ubyte holds 3 images"});
  WriteIdxPair(Idx(0x08, {2, 1}, std::string(3, 0)), Idx(0x08, {2}, std::string(2, 0)));
  Invalid("d", DataFormat::kIdx, {"d-images-idx3-ubyte", "longer than its header says"});
}

TEST_F(DatasetTest, IdxLabelAtOrOverLimit) {
  WriteIdxPair(Idx(0x08, {3, 1}, std::string(3, 0)),
               Idx(0x08, {3}, std::string("\x01\x07\x02", 3)));
  DatasetLimits limits;
  limits.max_classes = 5;
  Invalid("d", DataFormat::kIdx, {"d-labels-idx1-ubyte: sample 1", "label 7", "5 classes"}, limits);
  limits.max_classes = 8;
  EXPECT_TRUE(LoadDataset(Path("d"), DataFormat::kIdx, limits).ok());
}

TEST_F(DatasetTest, MissingFilesAreNotFound) {
  Missing("nothing", DataFormat::kIdx, {Path("nothing") + "-images-idx3-ubyte"});
  Missing("nothing", DataFormat::kAuto, {Path("nothing"), "no dataset found"});
  Missing("nothing.csv", DataFormat::kAuto, {Path("nothing.csv"), "no such file"});
  Missing("nothing.npy", DataFormat::kAuto, {Path("nothing.x.npy"), "no such file"});
  WriteFile(Path("half-images-idx3-ubyte"), Idx(0x08, {1, 1}, std::string(1, 0)));
  Missing("half", DataFormat::kAuto, {Path("half") + "-labels-idx1-ubyte"});
  WriteFile(Path("only.x.npy"), Npy("<f4", "(1, 1)", Raw<float>({1})));
  Missing("only", DataFormat::kAuto, {Path("only.y.npy")});
}

// ---- npy ----

TEST_F(DatasetTest, NpyFloat32RoundTripsExactlyInEveryLocationForm) {
  std::vector<float> x(12);
  for (int i = 0; i < 12; ++i) x[i] = 0.25f * i - 1.0f;
  WriteFile(Path("a.x.npy"), Npy("<f4", "(3, 4)", Raw(x)));
  WriteFile(Path("a.y.npy"), Npy("<i8", "(3,)", Raw<int64_t>({2, 0, 1})));
  for (const std::string& loc : {Path("a"), Path("a.npy"), Path("a.x.npy"), Path("a.y.npy")}) {
    for (DataFormat f : {DataFormat::kNpy, DataFormat::kAuto}) {
      Result<Dataset> d = LoadDataset(loc, f);
      ASSERT_TRUE(d.ok()) << loc << ": " << d.status().ToString();
      EXPECT_EQ(d->size, 3);
      EXPECT_EQ(d->dim, 4);
      EXPECT_EQ(d->features, x);
      EXPECT_EQ(d->labels, (std::vector<int32_t>{2, 0, 1}));
      EXPECT_EQ(d->num_classes, 3);
      EXPECT_FALSE(d->integer_features);
    }
  }
}

TEST_F(DatasetTest, NpyOtherDtypesAndShapes) {
  // uint8 pixels, 3-D (flattened), with uint8 labels; format version 2.0.
  WriteFile(Path("u.x.npy"),
            Npy(NpyHeaderDict("|u1", false, "(2, 2, 3)"),
                std::string("\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\xfe\xff", 12), 2));
  WriteFile(Path("u.y.npy"), Npy("|u1", "(2,)", std::string("\x05\x03", 2)));
  ASSERT_LOADS(d, Path("u"), DataFormat::kNpy);
  EXPECT_EQ(d->dim, 6);
  EXPECT_EQ(d->features, (std::vector<float>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 254, 255}));
  EXPECT_EQ(d->labels, (std::vector<int32_t>{5, 3}));
  EXPECT_EQ(d->num_classes, 6);
  EXPECT_TRUE(d->integer_features);

  // float64 features, int32 labels of shape (N, 1).
  WriteFile(Path("f8.x.npy"), Npy("<f8", "(2, 2)", Raw<double>({0.5, -1e10, 3.25, 7})));
  WriteFile(Path("f8.y.npy"), Npy("<i4", "(2, 1)", Raw<int32_t>({1, 0})));
  ASSERT_LOADS(d2, Path("f8"), DataFormat::kNpy);
  EXPECT_EQ(d2->features, (std::vector<float>{0.5f, -1e10f, 3.25f, 7.f}));
  EXPECT_EQ(d2->labels, (std::vector<int32_t>{1, 0}));

  // int32 and int64 features; float labels holding integral values.
  WriteFile(Path("i4.x.npy"), Npy("<i4", "(2, 1)", Raw<int32_t>({-5, 123456})));
  WriteFile(Path("i4.y.npy"), Npy("<f4", "(2,)", Raw<float>({3.f, 0.f})));
  ASSERT_LOADS(d3, Path("i4"), DataFormat::kNpy);
  EXPECT_EQ(d3->features, (std::vector<float>{-5, 123456}));
  EXPECT_EQ(d3->labels, (std::vector<int32_t>{3, 0}));
  EXPECT_FALSE(d3->integer_features);
  WriteFile(Path("i8.x.npy"), Npy("<i8", "(1, 2)", Raw<int64_t>({-1, 1LL << 40})));
  WriteFile(Path("i8.y.npy"), Npy("<f8", "(1,)", Raw<double>({9})));
  ASSERT_LOADS(d4, Path("i8"), DataFormat::kNpy);
  EXPECT_EQ(d4->features, (std::vector<float>{-1.f, static_cast<float>(1LL << 40)}));
  EXPECT_EQ(d4->num_classes, 10);
}

TEST_F(DatasetTest, NpyNonIntegralAndNegativeLabels) {
  WriteFile(Path("n.x.npy"), Npy("<f4", "(2, 1)", Raw<float>({1, 2})));
  WriteFile(Path("n.y.npy"), Npy("<f4", "(2,)", Raw<float>({1, 1.5f})));
  Invalid("n", DataFormat::kNpy, {"n.y.npy: sample 1", "1.5", "integer"});
  WriteFile(Path("n.y.npy"), Npy("<i4", "(2,)", Raw<int32_t>({-3, 1})));
  Invalid("n", DataFormat::kNpy, {"n.y.npy: sample 0", "negative", "-3"});
}

TEST_F(DatasetTest, NpyNonFiniteFeature) {
  WriteFile(Path("n.x.npy"), Npy("<f4", "(2, 2)", Raw<float>({1, 2, 3, NAN})));
  WriteFile(Path("n.y.npy"), Npy("|u1", "(2,)", std::string(2, 0)));
  Invalid("n", DataFormat::kNpy, {"n.x.npy", "feature 1 of sample 1", "nan"});
}

TEST_F(DatasetTest, NpyMalformedHeaders) {
  WriteFile(Path("h.y.npy"), Npy("|u1", "(3,)", std::string(3, 0)));
  const std::string x = Path("h.x.npy");
  const std::string payload = Raw<float>(std::vector<float>(12, 1.f));

  WriteFile(x, Npy(NpyHeaderDict("<f4", true, "(3, 4)"), payload));
  Invalid("h", DataFormat::kNpy, {x, "fortran_order is True", "C order"});

  WriteFile(x, Npy("<c8", "(3, 4)", payload));
  Invalid("h", DataFormat::kNpy, {x, "unsupported .npy dtype '<c8'", "|u1 <f4 <f8 <i4 <i8"});
  WriteFile(x, Npy(">f4", "(3, 4)", payload));
  Invalid("h", DataFormat::kNpy, {x, "unsupported .npy dtype '>f4'"});

  // Version 2.0 allows a 4-byte header length; 70 000 bytes is over the 64 KiB cap.
  WriteFile(x, Npy(NpyHeaderDict("<f4", false, "(3, 4)") + std::string(70000, ' '), payload, 2));
  Invalid("h", DataFormat::kNpy, {x, "header is 70068 bytes long", "limit of 65536"});
  // A header length that points past the end of the file.
  WriteFile(x, std::string("\x93NUMPY\x02\x00\x00\xF0\x00\x00{", 13));
  Invalid("h", DataFormat::kNpy, {x, "truncated", ".npy header"});

  WriteFile(x, Npy("<f4", "(4294967296, 4294967296, 4294967296)", payload));
  Invalid("h", DataFormat::kNpy, {x, "overflows"});
  WriteFile(x, Npy("<f4", "(3, 99999999999999999999999)", payload));
  Invalid("h", DataFormat::kNpy, {x, "overflows"});

  WriteFile(x, Npy("{'descr': '<f4', 'fortran_order': False, }", payload));
  Invalid("h", DataFormat::kNpy, {x, "lacks 'shape'"});
  WriteFile(x, Npy("{'descr': '<f4', 'fortran_order': maybe, 'shape': (3, 4), }", payload));
  Invalid("h", DataFormat::kNpy, {x, "malformed .npy header", "True or False"});
  WriteFile(x, "PK\x03\x04 this is a zip file");
  Invalid("h", DataFormat::kNpy, {x, "bad magic", "not a .npy file"});
  WriteFile(x, Npy("<f4", "(12,)", payload));
  Invalid("h", DataFormat::kNpy, {x, "(12,)", "at least 2 dimensions"});
}

TEST_F(DatasetTest, NpyCountMismatchAndTruncation) {
  WriteFile(Path("c.x.npy"), Npy("<f4", "(3, 2)", Raw<float>(std::vector<float>(6, 1.f))));
  WriteFile(Path("c.y.npy"), Npy("|u1", "(4,)", std::string(4, 0)));
  Invalid("c", DataFormat::kNpy, {"c.y.npy: holds 4 labels", "c.x.npy holds 3 samples"});
  WriteFile(Path("c.x.npy"), Npy("<f4", "(4, 2)", Raw<float>(std::vector<float>(6, 1.f))));
  Invalid("c", DataFormat::kNpy, {"c.x.npy", "truncated", "32 bytes", "holds only 24"});
}

// ---- CSV ----

TEST_F(DatasetTest, CsvWithoutHeader) {
  WriteFile(Path("a.csv"), "1,0.5,2\n0,1.5e2,-3\n2, 7 ,+4\n");
  ASSERT_LOADS(d, Path("a.csv"), DataFormat::kAuto);
  EXPECT_EQ(d->size, 3);
  EXPECT_EQ(d->dim, 2);
  EXPECT_EQ(d->features, (std::vector<float>{0.5f, 2, 150, -3, 7, 4}));
  EXPECT_EQ(d->labels, (std::vector<int32_t>{1, 0, 2}));
  EXPECT_EQ(d->num_classes, 3);
  EXPECT_FALSE(d->integer_features);
}

TEST_F(DatasetTest, CsvWithHeaderCrlfAndBlankTrailingLines) {
  WriteFile(Path("b.csv"), "label,x1,x2,x3\r\n3,1,2,3\r\n0.0,4,5,6\r\n\r\n\n  \n");
  ASSERT_LOADS(d, Path("b.csv"), DataFormat::kCsv);
  EXPECT_EQ(d->size, 2);
  EXPECT_EQ(d->dim, 3);
  EXPECT_EQ(d->features, (std::vector<float>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(d->labels, (std::vector<int32_t>{3, 0}));
  EXPECT_EQ(d->num_classes, 4);

  WriteFile(Path("c.csv.gz"), Gzip("\"label\",\"v\"\n1,2\n"));
  ASSERT_LOADS(d5, Path("c.csv.gz"), DataFormat::kAuto);
  EXPECT_EQ(d5->features, (std::vector<float>{2}));
}

TEST_F(DatasetTest, CsvRaggedRowNamesTheLine) {
  WriteFile(Path("r.csv"), "y,a,b\n1,2,3\n1,2\n");
  Invalid("r.csv", DataFormat::kCsv,
          {Path("r.csv") + ": line 3", "found 2 columns, expected 3 as on line 1"});
  WriteFile(Path("r.csv"), "1,2,3\n1,2,3,4\n");
  Invalid("r.csv", DataFormat::kCsv, {"line 2", "found 4 columns, expected 3"});
  WriteFile(Path("r.csv"), "1\n2\n");
  Invalid("r.csv", DataFormat::kCsv, {"line 1", "found 1 column"});
}

TEST_F(DatasetTest, CsvNonNumericFieldNamesLineAndColumn) {
  WriteFile(Path("n.csv"), "1,2,3\n\n1,2,abc\n");
  Invalid("n.csv", DataFormat::kCsv,
          {Path("n.csv") + ": line 3, column 3", "found 'abc', expected a number"});
  WriteFile(Path("n.csv"), "1,2,3\n1,,3\n");
  Invalid("n.csv", DataFormat::kCsv, {"line 2, column 2", "found an empty field"});
  WriteFile(Path("n.csv"), "1,2,3\ncat,2,3\n");
  Invalid("n.csv", DataFormat::kCsv, {"line 2, column 1 (label)", "'cat'"});
  WriteFile(Path("n.csv"), "1,2,3\n1,2,1e999\n");
  Invalid("n.csv", DataFormat::kCsv, {"line 2, column 3"});
}

TEST_F(DatasetTest, CsvBadLabels) {
  WriteFile(Path("l.csv"), "1,2\n-1,3\n");
  Invalid("l.csv", DataFormat::kCsv, {Path("l.csv") + ": line 2, column 1", "negative", "-1"});
  WriteFile(Path("l.csv"), "1,2\n2.5,3\n");
  Invalid("l.csv", DataFormat::kCsv, {"line 2, column 1", "2.5", "integer"});
  DatasetLimits limits;
  limits.max_classes = 2;
  WriteFile(Path("l.csv"), "1,2\n2,3\n");
  Invalid("l.csv", DataFormat::kCsv, {"line 2, column 1", "label 2", "2 classes"}, limits);
}

TEST_F(DatasetTest, CsvEmptyOrHeaderOnly) {
  WriteFile(Path("e.csv"), "");
  Invalid("e.csv", DataFormat::kCsv, {Path("e.csv"), "no data rows", "empty file"});
  WriteFile(Path("e.csv"), "\n\r\n");
  Invalid("e.csv", DataFormat::kCsv, {"no data rows"});
  WriteFile(Path("e.csv"), "label,a,b\n");
  Invalid("e.csv", DataFormat::kCsv, {"no data rows after the header"});
}

TEST_F(DatasetTest, CsvLimits) {
  WriteFile(Path("big.csv"), "1,2,3\n1,2,3\n1,2,3\n");
  DatasetLimits limits;
  limits.max_samples = 2;
  Invalid("big.csv", DataFormat::kCsv, {"line 3", "max_samples 2"}, limits);
  limits = DatasetLimits{};
  limits.max_bytes = 10;
  Invalid("big.csv", DataFormat::kCsv, {Path("big.csv"), "limit of 10 bytes"}, limits);
}

TEST_F(DatasetTest, AutoCannotTellAnUnknownFile) {
  WriteFile(Path("data.bin"), "hello");
  Invalid("data.bin", DataFormat::kAuto, {Path("data.bin"), "cannot tell the data format"});
  ExpectInvalid("", DataFormat::kAuto, {"empty"});
}

// ---- Normalization and batches ----

// Population mean and variance in double: the reference for the float code under test.
std::pair<double, double> MeanVar(const std::vector<float>& v) {
  double mean = 0, var = 0;
  for (float x : v) mean += x / static_cast<double>(v.size());
  for (float x : v) var += (x - mean) * (x - mean) / static_cast<double>(v.size());
  return {mean, var};
}

Dataset MakeDataset(std::vector<float> features, int64_t dim, bool integer) {
  Dataset d;
  d.dim = dim;
  d.size = static_cast<int64_t>(features.size()) / dim;
  d.features = std::move(features);
  for (int64_t i = 0; i < d.size; ++i) d.labels.push_back(static_cast<int32_t>(i % 3));
  d.num_classes = 3;
  d.integer_features = integer;
  return d;
}

TEST(NormalizationTest, TrainStatsAreAppliedToTest) {
  Dataset train = MakeDataset({1, 2, 3, 4, 10, -6}, 2, false);
  Dataset test = MakeDataset({0, 5, 100, -1}, 2, false);
  const FeatureStats stats = ComputeStats(train);
  const auto [mean, var] = MeanVar(train.features);
  EXPECT_FALSE(stats.scale_255);
  EXPECT_NEAR(stats.mean, mean, 1e-12);
  EXPECT_NEAR(stats.std, std::sqrt(var), 1e-12);

  const std::vector<float> raw_test = test.features;
  ApplyNormalization(stats, &train);
  ApplyNormalization(stats, &test);
  for (size_t i = 0; i < raw_test.size(); ++i) {
    EXPECT_NEAR(test.features[i], (raw_test[i] - mean) / std::sqrt(var), 1e-5) << i;
  }
  const auto [m, v] = MeanVar(train.features);
  EXPECT_NEAR(m, 0, 1e-6);
  EXPECT_NEAR(v, 1, 1e-5);
}

TEST(NormalizationTest, PixelsAreScaledBy255First) {
  Dataset train = MakeDataset({0, 255, 51, 102}, 2, true);
  Dataset test = MakeDataset({255, 0}, 2, true);
  const FeatureStats stats = ComputeStats(train);
  EXPECT_TRUE(stats.scale_255);
  auto [mean, var] = MeanVar(train.features);
  mean /= 255;
  var /= 255.0 * 255.0;
  EXPECT_NEAR(stats.mean, mean, 1e-9);
  EXPECT_NEAR(stats.std, std::sqrt(var), 1e-9);
  ApplyNormalization(stats, &test);
  EXPECT_NEAR(test.features[0], (1.0 - mean) / std::sqrt(var), 1e-5);
  EXPECT_NEAR(test.features[1], (0.0 - mean) / std::sqrt(var), 1e-5);
  EXPECT_FALSE(test.integer_features);
}

TEST(NormalizationTest, ConstantFeaturesKeepStdOne) {
  Dataset train = MakeDataset({3, 3, 3, 3}, 2, false);
  const FeatureStats stats = ComputeStats(train);
  EXPECT_DOUBLE_EQ(stats.mean, 3);
  EXPECT_DOUBLE_EQ(stats.std, 1);
  ApplyNormalization(stats, &train);
  for (float v : train.features) EXPECT_EQ(v, 0);
  EXPECT_DOUBLE_EQ(ComputeStats(Dataset{}).std, 1);
}

TEST(GatherBatchTest, CopiesTheIndexedRows) {
  Dataset d = MakeDataset({0, 1, 10, 11, 20, 21, 30, 31, 40, 41}, 2, false);
  d.labels = {5, 6, 7, 8, 9};
  const std::vector<int64_t> indices = {4, 2, 0, 3, 1};
  std::vector<float> x(3 * 2, -1);
  std::vector<int32_t> y(3, -1);
  GatherBatch(d, indices, 1, 4, x.data(), y.data());
  EXPECT_EQ(x, (std::vector<float>{20, 21, 0, 1, 30, 31}));
  EXPECT_EQ(y, (std::vector<int32_t>{7, 5, 8}));
  GatherBatch(d, indices, 2, 2, x.data(), y.data());  // empty range touches nothing
  EXPECT_EQ(y, (std::vector<int32_t>{7, 5, 8}));
}

}  // namespace
}  // namespace shoal
