// The manifest of one dataset version in the registry: which files it holds and which chunks
// (content-addressed by SHA-256) hold their bytes. Written by the CLI on push, validated and stored
// by the scheduler, read by the worker to fetch the chunks it lacks and assemble the files.
//
// The files are concatenated in path order into one stream (so small files share chunks), and the
// stream is cut by the Chunker (common/registry/chunker.h). A file is `size` bytes of that stream
// from `offset`; the chunks, in stream order, cover it exactly.
//
// Canonical JSON (the manifest's digest is the SHA-256 of it, so the same manifest must always
// give the same bytes): an object with keys in byte order, no whitespace, integers in decimal,
// strings as nlohmann::json writes them (raw UTF-8; `"` and `\` and control characters escaped):
//   {"chunks":[{"sha256":"<64
//   hex>","size":N},...],"files":[{"offset":N,"path":"a/b","size":N},...],
//    "format":1}
// docs/design.md, "Dataset registry", is the reference. All functions are pure and thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/registry/chunker.h"
#include "common/status.h"

namespace shoal {

inline constexpr int kManifestFormat = 1;
inline constexpr size_t kManifestMaxFiles = 1'000'000;
inline constexpr size_t kManifestMaxChunks = 10'000'000;
inline constexpr size_t kManifestMaxPathBytes = 4096;
inline constexpr int64_t kManifestMaxChunkBytes = int64_t{64} << 20;

struct ManifestFile {
  std::string path;    // relative, '/'-separated (ValidateManifest states the rules)
  int64_t size = 0;    // bytes
  int64_t offset = 0;  // where the file starts in the concatenated stream
  bool operator==(const ManifestFile&) const = default;
};

// Whether `s` names a chunk: the SHA-256 of its bytes as 64 lower-case hex digits.
bool IsChunkId(std::string_view s);

struct ManifestChunk {
  std::string sha256;  // 64 lower-case hex digits of the chunk's bytes
  int64_t size = 0;    // bytes, > 0
  bool operator==(const ManifestChunk&) const = default;
};

struct Manifest {
  int format = kManifestFormat;
  std::vector<ManifestFile> files;    // sorted by path (byte order)
  std::vector<ManifestChunk> chunks;  // in stream order
  bool operator==(const Manifest&) const = default;
};

// The canonical JSON (above). For a manifest that passes ValidateManifest, ManifestFromJson of it
// gives the manifest back; strings that are not valid UTF-8 are written with U+FFFD (never throws).
nlohmann::json ToJson(const Manifest& manifest);
std::string CanonicalManifestText(const Manifest& manifest);

// SHA-256 hex of CanonicalManifestText: the version's identity.
std::string ManifestDigest(const Manifest& manifest);

// Reads a manifest and validates it (ValidateManifest): InvalidArgument naming the offending field,
// file or chunk. Keys other than the canonical ones are refused (the canonical form, and so the
// digest, would silently drop them), as is a format other than kManifestFormat.
Result<Manifest> ManifestFromJson(const nlohmann::json& json);
Result<Manifest> ParseManifest(std::string_view text);

// OK when the manifest is well formed; InvalidArgument naming the first offending file or chunk
// (by index and path) otherwise:
//   - format is kManifestFormat; at most kManifestMaxFiles files and kManifestMaxChunks chunks;
//   - each path: non-empty, at most kManifestMaxPathBytes bytes, valid UTF-8, no NUL or other
//     control character, no backslash, relative ('/'-separated, no leading or trailing '/', no
//     empty, "." or ".." component);
//   - paths strictly increasing in byte order (sorted, unique), and no path is a directory of
//     another ("a" and "a/b");
//   - sizes >= 0; file 0 at offset 0 and each next file where the previous one ends;
//   - each chunk: sha256 of 64 lower-case hex digits, 0 < size <= kManifestMaxChunkBytes;
//   - the files' total size equals the chunks' total size.
Status ValidateManifest(const Manifest& manifest);

// Error text for a path that breaks the rules above, or empty when it is fine.
std::string CheckManifestPath(std::string_view path);

// The part of one chunk that holds part of a file.
struct ChunkSlice {
  size_t chunk_index = 0;
  int64_t offset = 0;  // within the chunk
  int64_t length = 0;
  bool operator==(const ChunkSlice&) const = default;
};

// Where each chunk starts in the stream (size chunks.size()).
std::vector<int64_t> ChunkOffsets(const Manifest& manifest);

// The chunk slices that, concatenated, give file `file_index` (none for an empty file).
// Preconditions: the manifest is valid and file_index < files.size(); `chunk_offsets` is
// ChunkOffsets(manifest) (compute it once when slicing many files: O(log chunks) per file then).
std::vector<ChunkSlice> SlicesOf(const Manifest& manifest,
                                 const std::vector<int64_t>& chunk_offsets, size_t file_index);
std::vector<ChunkSlice> SlicesOf(const Manifest& manifest, size_t file_index);

// The push side: reads `root` (a regular file, which becomes one file named by its base name, or a
// directory, whose regular files are taken recursively with paths relative to it), streams the
// files in path order through a Chunker with `params` in 1 MiB reads, and calls `on_chunk` with
// each chunk and its SHA-256 hex, in stream order, before returning the manifest. At most one
// chunk is held in memory. `root` itself may be a symbolic link; one inside a directory is
// refused (InvalidArgument naming it), as are other non-regular files, paths that break the
// manifest's rules and the manifest's size limits. Unavailable on I/O errors; an error from
// on_chunk stops the walk and is returned. Files that change during the walk give a manifest of
// the bytes read (valid, but a mix of versions): push a quiescent tree.
using ManifestChunkFn = std::function<Status(std::string_view chunk, const std::string& sha256)>;
Result<Manifest> BuildManifest(const std::string& root, const ChunkerParams& params,
                               const ManifestChunkFn& on_chunk);

// The files BuildManifest would read from `root`, with their sizes now and offsets, and the same
// errors for a tree that cannot be pushed; reads no content (each file is opened, so an unreadable
// one is Unavailable here too). A cheap first look: the sizes are those of this moment.
Result<std::vector<ManifestFile>> ListManifestFiles(const std::string& root);

}  // namespace shoal
