// libFuzzer target: ParseManifest on arbitrary bytes (a dataset manifest arrives from any user's
// CLI and is stored by the scheduler, then read by every worker that fetches the dataset).
//
// Contract checked: failure is InvalidArgument; on success the manifest passes ValidateManifest,
// its canonical text parses back to the same manifest (so the digest is stable), the files tile
// the stream and SlicesOf covers each file exactly, within its chunks.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "common/registry/manifest.h"

namespace {

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "manifest_fuzzer: %s\n", what.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto manifest = shoal::ParseManifest(text);
  if (!manifest.ok()) {
    if (manifest.status().code() != shoal::StatusCode::kInvalidArgument) {
      Fail("failure is not InvalidArgument: " + manifest.status().ToString());
    }
    return 0;
  }
  if (!shoal::ValidateManifest(*manifest).ok()) Fail("accepted an invalid manifest");
  const std::string canonical = shoal::CanonicalManifestText(*manifest);
  auto again = shoal::ParseManifest(canonical);
  if (!again.ok()) Fail("canonical text does not parse: " + again.status().ToString());
  if (!(*again == *manifest)) Fail("canonical text parses to another manifest");
  if (shoal::CanonicalManifestText(*again) != canonical) Fail("canonical text is not stable");

  const std::vector<int64_t> offsets = shoal::ChunkOffsets(*manifest);
  for (size_t i = 0; i < manifest->files.size(); ++i) {
    int64_t covered = 0;
    int64_t pos = manifest->files[i].offset;
    for (const shoal::ChunkSlice& s : shoal::SlicesOf(*manifest, offsets, i)) {
      if (s.chunk_index >= manifest->chunks.size()) Fail("slice past the last chunk");
      if (s.offset < 0 || s.length <= 0 ||
          s.offset + s.length > manifest->chunks[s.chunk_index].size) {
        Fail("slice outside its chunk");
      }
      if (offsets[s.chunk_index] + s.offset != pos) Fail("slices are not contiguous");
      pos += s.length;
      covered += s.length;
    }
    if (covered != manifest->files[i].size) Fail("slices do not cover the file");
  }
  return 0;
}
