// The dataset manifest (common/registry/manifest.h): canonical JSON and its round trip, each
// validation rule with its message, file-to-chunk slicing, and BuildManifest on a real tree.
#include "common/registry/manifest.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "common/sha256.h"

namespace shoal {
namespace {

namespace fs = std::filesystem;

const std::string kHashA(64, 'a');
const std::string kHashB(64, 'b');

// Three files over two chunks: "a" (3 bytes), "b/c" (0), "b/d" (5); chunks of 4 and 4 bytes.
Manifest Sample() {
  Manifest m;
  m.files = {{"a", 3, 0}, {"b/c", 0, 3}, {"b/d", 5, 3}};
  m.chunks = {{kHashA, 4}, {kHashB, 4}};
  return m;
}

std::string Error(const Manifest& m) {
  const Status status = ValidateManifest(m);
  EXPECT_FALSE(status.ok());
  return status.message();
}

TEST(Manifest, SampleIsValid) { EXPECT_TRUE(ValidateManifest(Sample()).ok()); }

TEST(Manifest, CanonicalTextIsPinned) {
  // The digest is a version's identity: these bytes must not change for format 1.
  EXPECT_EQ(CanonicalManifestText(Sample()),
            R"({"chunks":[{"sha256":")" + kHashA + R"(","size":4},{"sha256":")" + kHashB +
                R"(","size":4}],"files":[{"offset":0,"path":"a","size":3},)"
                R"({"offset":3,"path":"b/c","size":0},{"offset":3,"path":"b/d","size":5}],)"
                R"("format":1})");
  EXPECT_EQ(ManifestDigest(Sample()), Sha256Hex(CanonicalManifestText(Sample())));
}

TEST(Manifest, RoundTrip) {
  const Manifest m = Sample();
  auto parsed = ParseManifest(CanonicalManifestText(m));
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(*parsed, m);
  EXPECT_EQ(ManifestDigest(*parsed), ManifestDigest(m));
  // Whitespace and key order in the input do not matter; the canonical form is the same.
  auto spaced = ParseManifest(
      R"({ "format": 1, "files": [ {"size": 3, "path": "a", "offset": 0},
           {"path": "b/c", "offset": 3, "size": 0}, {"path": "b/d", "offset": 3, "size": 5} ],
         "chunks": [ {"size": 4, "sha256": ")" +
      kHashA + R"("}, {"sha256": ")" + kHashB + R"(", "size": 4} ] })");
  ASSERT_TRUE(spaced.ok()) << spaced.status().ToString();
  EXPECT_EQ(CanonicalManifestText(*spaced), CanonicalManifestText(m));
}

TEST(Manifest, EmptyManifestIsValid) {
  auto parsed = ParseManifest(R"({"chunks":[],"files":[],"format":1})");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_TRUE(parsed->files.empty());
}

TEST(Manifest, ParseErrors) {
  auto message = [](std::string_view text) {
    auto r = ParseManifest(text);
    EXPECT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << text;
    return r.ok() ? std::string() : r.status().message();
  };
  EXPECT_EQ(message("{"), "manifest: not valid JSON");
  EXPECT_EQ(message("[]"), "manifest: must be an object");
  EXPECT_EQ(message(R"({"files":[],"format":1})"), "manifest: missing \"chunks\"");
  EXPECT_EQ(message(R"({"chunks":[],"files":[],"format":1,"x":2})"), "manifest: unknown key \"x\"");
  EXPECT_EQ(message(R"({"chunks":[],"files":[],"format":2})"),
            "manifest: unsupported format 2 (this build reads 1)");
  EXPECT_EQ(message(R"({"chunks":[],"files":{},"format":1})"), "manifest: files: must be an array");
  EXPECT_EQ(message(R"({"chunks":[],"files":[{"path":"a","size":"3","offset":0}],"format":1})"),
            "manifest: file 0: size: must be an integer");
  EXPECT_EQ(message(R"({"chunks":[],"files":[{"path":"a","size":1.5,"offset":0}],"format":1})"),
            "manifest: file 0: size: must be an integer");
  EXPECT_EQ(message(R"({"chunks":[],"files":[{"path":7,"size":0,"offset":0}],"format":1})"),
            "manifest: file 0: path must be a string");
  EXPECT_EQ(message(R"({"chunks":[{"sha256":"ab","size":1,"z":0}],"files":[],"format":1})"),
            "manifest: chunk 0: unknown key \"z\"");
  EXPECT_EQ(message(R"({"chunks":[{"sha256":"x","size":18446744073709551615}],"files":[],)"
                    R"("format":1})"),
            "manifest: chunk 0: size: too large");
}

TEST(Manifest, PathRules) {
  struct Case {
    std::string path;
    std::string error;
  };
  const std::vector<Case> cases = {
      {"", "empty path"},
      {"../x", "path has a \"..\" component"},
      {"a/../b", "path has a \"..\" component"},
      {"./a", "path has a \".\" component"},
      {"/etc/passwd", "path is absolute (starts with '/')"},
      {"a//b", "path has an empty component ('//' or a trailing '/')"},
      {"a/", "path has an empty component ('//' or a trailing '/')"},
      {std::string("a\0b", 3), "path contains a NUL byte"},
      {"a\nb", "path contains a control character"},
      {"a\\b", "path contains a backslash (separate components with '/')"},
      {"\xff", "path is not valid UTF-8"},
      {std::string(4097, 'x'), "path longer than 4096 bytes"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(CheckManifestPath(c.path), c.error) << c.path;
    Manifest m;
    m.files = {{c.path, 0, 0}};
    EXPECT_NE(Error(m).find("file 0 ("), std::string::npos);
    EXPECT_NE(Error(m).find(c.error), std::string::npos) << Error(m);
  }
  for (const char* ok : {"a", "a/b/c.bin", "..a", "a..", ".hidden/x", "日本/データ.csv"}) {
    EXPECT_EQ(CheckManifestPath(ok), "") << ok;
  }
  EXPECT_EQ(CheckManifestPath(std::string(4096, 'x')), "");
}

TEST(Manifest, ValidationMessagesNameTheCulprit) {
  Manifest m = Sample();
  m.files[2].path = "b/b";
  EXPECT_EQ(Error(m),
            "manifest: file 2 (\"b/b\"): files are not sorted by path (it follows file 1 "
            "(\"b/c\"))");
  m = Sample();
  m.files[2].path = "b/c";
  EXPECT_EQ(Error(m), "manifest: file 2 (\"b/c\"): duplicate path");
  m = Sample();
  m.files[2].offset = 4;
  EXPECT_EQ(Error(m),
            "manifest: file 2 (\"b/d\"): offset 4, expected 3 (files are contiguous in path "
            "order)");
  m = Sample();
  m.files[1].size = -1;
  EXPECT_EQ(Error(m), "manifest: file 1 (\"b/c\"): negative size -1");
  m = Sample();
  m.chunks[1].sha256 = std::string(64, 'B');
  EXPECT_EQ(Error(m), "manifest: chunk 1: sha256 must be 64 lower-case hex digits");
  m.chunks[1].sha256 = std::string(63, 'b');
  EXPECT_EQ(Error(m), "manifest: chunk 1: sha256 must be 64 lower-case hex digits");
  m = Sample();
  m.chunks[0].size = 0;
  EXPECT_EQ(Error(m), "manifest: chunk 0: size 0 is not in 1..67108864");
  m.chunks[0].size = (int64_t{64} << 20) + 1;
  EXPECT_EQ(Error(m), "manifest: chunk 0: size 67108865 is not in 1..67108864");
  m = Sample();
  m.chunks[1].size = 5;
  EXPECT_EQ(Error(m), "manifest: the files' total size 8 differs from the chunks' total size 9");
  m = Sample();
  m.files[2].size = 6;
  EXPECT_EQ(Error(m), "manifest: file 2 (\"b/d\"): ends past the chunks' total size 8");
  m = Sample();
  m.files[1].path = "a/c";  // "a" is a file and a directory
  m.files[2].path = "a/d";
  EXPECT_EQ(Error(m), "manifest: file 1 (\"a/c\"): its directory \"a\" is also a file");
  m = Sample();
  m.format = 2;
  EXPECT_EQ(Error(m), "manifest: unsupported format 2 (this build reads 1)");
}

TEST(Manifest, LargeManifestRoundTrips) {
  // 20,000 files over 200,000 chunks (a 400 GB version at the default chunk size): serialising,
  // parsing and validating scale linearly; the times are logged, not asserted.
  Manifest m;
  const int64_t chunk_size = 1000;
  for (int i = 0; i < 200'000; ++i) {
    m.chunks.push_back({Sha256Hex(std::to_string(i)), chunk_size});
  }
  const int64_t file_size = 200'000 * chunk_size / 20'000;
  for (int i = 0; i < 20'000; ++i) {
    m.files.push_back({"shard/" + std::to_string(100000 + i) + ".bin", file_size, i * file_size});
  }
  ASSERT_TRUE(ValidateManifest(m).ok()) << ValidateManifest(m).message();
  const auto start = std::chrono::steady_clock::now();
  const std::string text = CanonicalManifestText(m);
  const auto serialised = std::chrono::steady_clock::now();
  auto parsed = ParseManifest(text);
  const auto end = std::chrono::steady_clock::now();
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_TRUE(*parsed == m);
  std::cout << "manifest of " << text.size() << " bytes: serialised in "
            << std::chrono::duration<double>(serialised - start).count() << " s, parsed in "
            << std::chrono::duration<double>(end - serialised).count() << " s\n";
}

TEST(Manifest, FileCountLimit) {
  Manifest m;
  m.files.resize(kManifestMaxFiles + 1);
  EXPECT_EQ(Error(m), "manifest: 1000001 files (at most 1000000)");
}

TEST(Manifest, SlicesAcrossChunkBoundaries) {
  const Manifest m = Sample();
  EXPECT_EQ(SlicesOf(m, 0), (std::vector<ChunkSlice>{{0, 0, 3}}));
  EXPECT_TRUE(SlicesOf(m, 1).empty());
  EXPECT_EQ(SlicesOf(m, 2), (std::vector<ChunkSlice>{{0, 3, 1}, {1, 0, 4}}));
  // One file over many chunks, starting and ending inside one.
  Manifest big;
  big.files = {{"head", 2, 0}, {"mid", 25, 2}, {"tail", 3, 27}};
  big.chunks = {{kHashA, 10}, {kHashA, 10}, {kHashB, 10}};
  const std::vector<int64_t> offsets = ChunkOffsets(big);
  EXPECT_EQ(offsets, (std::vector<int64_t>{0, 10, 20}));
  ASSERT_TRUE(ValidateManifest(big).ok());
  EXPECT_EQ(SlicesOf(big, offsets, 1), (std::vector<ChunkSlice>{{0, 2, 8}, {1, 0, 10}, {2, 0, 7}}));
  EXPECT_EQ(SlicesOf(big, offsets, 2), (std::vector<ChunkSlice>{{2, 7, 3}}));
  // A file that starts exactly on a chunk boundary.
  big.files = {{"x", 10, 0}, {"y", 20, 10}};
  EXPECT_EQ(SlicesOf(big, 1), (std::vector<ChunkSlice>{{1, 0, 10}, {2, 0, 10}}));
}

class BuildManifestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("shoal_manifest_test_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  void Write(const std::string& rel, const std::string& content) {
    fs::create_directories((root_ / rel).parent_path());
    std::ofstream(root_ / rel, std::ios::binary) << content;
  }

  fs::path root_;
};

std::string Bytes(size_t n, unsigned seed) {
  std::string s(n, '\0');
  uint32_t x = seed * 2654435761u + 1;
  for (char& c : s) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<char>(x >> 24);
  }
  return s;
}

TEST_F(BuildManifestTest, PacksSmallFilesAndReassemblesEveryFile) {
  std::map<std::string, std::string> files = {
      {"README", "hello\n"},
      {"empty", ""},
      {"train/part-0.bin", Bytes(300000, 1)},
      {"train/part-1.bin", Bytes(5000, 2)},
      {"train/deep/er/x.csv", "a,b\n1,2\n"},
      {"val/y.npy", Bytes(70000, 3)},
  };
  for (int i = 0; i < 50; ++i) files["small/" + std::to_string(1000 + i)] = Bytes(100 + i, 10 + i);
  for (const auto& [path, content] : files) Write(path, content);

  std::map<std::string, std::string> store;  // sha256 -> chunk, as the scheduler would keep them
  const ChunkerParams params{.min = 4 << 10, .avg = 16 << 10, .max = 64 << 10};
  auto manifest =
      BuildManifest(root_.string(), params, [&](std::string_view chunk, const std::string& sha256) {
        EXPECT_EQ(Sha256Hex(chunk), sha256);
        store[sha256] = std::string(chunk);
        return Status::Ok();
      });
  ASSERT_TRUE(manifest.ok()) << manifest.status().ToString();
  ASSERT_TRUE(ValidateManifest(*manifest).ok());
  ASSERT_EQ(manifest->files.size(), files.size());
  // Small files share chunks: far fewer chunks than files.
  EXPECT_LT(manifest->chunks.size(), files.size());

  const std::vector<int64_t> offsets = ChunkOffsets(*manifest);
  auto expected = files.begin();  // std::map's order is byte order, the manifest's too
  for (size_t i = 0; i < manifest->files.size(); ++i, ++expected) {
    EXPECT_EQ(manifest->files[i].path, expected->first);
    std::string assembled;
    for (const ChunkSlice& s : SlicesOf(*manifest, offsets, i)) {
      const std::string& chunk = store.at(manifest->chunks[s.chunk_index].sha256);
      assembled += chunk.substr(s.offset, s.length);
    }
    EXPECT_TRUE(assembled == expected->second) << expected->first;
  }
  // The same tree gives the same manifest.
  auto again = BuildManifest(root_.string(), params,
                             [](std::string_view, const std::string&) { return Status::Ok(); });
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(ManifestDigest(*again), ManifestDigest(*manifest));
}

TEST_F(BuildManifestTest, SingleFileIsNamedByItsBaseName) {
  Write("dir/data.bin", Bytes(1000, 4));
  auto m = BuildManifest((root_ / "dir" / "data.bin").string(), {},
                         [](std::string_view, const std::string&) { return Status::Ok(); });
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  ASSERT_EQ(m->files.size(), 1u);
  EXPECT_EQ(m->files[0].path, "data.bin");
  EXPECT_EQ(m->files[0].size, 1000);
  ASSERT_EQ(m->chunks.size(), 1u);
  EXPECT_EQ(m->chunks[0].sha256, Sha256Hex(Bytes(1000, 4)));
}

TEST_F(BuildManifestTest, RefusesSymlinksAndReportsErrors) {
  Write("a", "x");
  fs::create_symlink(root_ / "a", root_ / "link");
  auto ok = [](std::string_view, const std::string&) { return Status::Ok(); };
  auto m = BuildManifest(root_.string(), {}, ok);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(m.status().message().find("link: is a symbolic link"), std::string::npos)
      << m.status().message();

  fs::remove(root_ / "link");
  Write("bad\\name", "y");
  m = BuildManifest(root_.string(), {}, ok);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("contains a backslash"), std::string::npos);

  fs::remove(root_ / "bad\\name");
  m = BuildManifest(root_.string(), {},
                    [](std::string_view, const std::string&) { return Unavailable("full"); });
  EXPECT_EQ(m.status().code(), StatusCode::kUnavailable);

  m = BuildManifest((root_ / "missing").string(), {}, ok);
  EXPECT_FALSE(m.ok());
  m = BuildManifest(root_.string(), {.min = 1, .avg = 2, .max = 3}, ok);
  EXPECT_EQ(m.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace shoal
