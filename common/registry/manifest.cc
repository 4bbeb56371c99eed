#include "common/registry/manifest.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>
#include <unordered_set>
#include <utility>

#include "common/sha256.h"
#include "common/utf8.h"

namespace shoal {
namespace {

using nlohmann::json;

std::string FileName(size_t i, std::string_view path) {
  return "file " + std::to_string(i) + " (" +
         json(std::string(path)).dump(-1, ' ', false, json::error_handler_t::replace) + ")";
}


// Checks that `object` has exactly the keys `keys`.
Status ExactKeys(const json& object, std::initializer_list<const char*> keys,
                 const std::string& what) {
  if (!object.is_object()) return InvalidArgument(what + ": must be an object");
  for (const char* key : keys) {
    if (!object.contains(key)) return InvalidArgument(what + ": missing \"" + key + "\"");
  }
  if (object.size() != keys.size()) {
    for (auto it = object.begin(); it != object.end(); ++it) {
      const std::string& key = it.key();
      if (std::none_of(keys.begin(), keys.end(), [&](const char* k) { return key == k; })) {
        return InvalidArgument(what + ": unknown key " +
                               json(key).dump(-1, ' ', false, json::error_handler_t::replace));
      }
    }
  }
  return Status::Ok();
}

Result<int64_t> ReadInt(const json& value, const std::string& what) {
  if (value.is_number_unsigned()) {
    const uint64_t v = value.get<uint64_t>();
    if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return InvalidArgument(what + ": too large");
    }
    return static_cast<int64_t>(v);
  }
  if (value.is_number_integer()) return value.get<int64_t>();
  return InvalidArgument(what + ": must be an integer");
}

std::string ErrnoText(const std::string& what) { return what + ": " + std::strerror(errno); }

}  // namespace

bool IsChunkId(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

json ToJson(const Manifest& manifest) {
  json files = json::array();
  for (const ManifestFile& f : manifest.files) {
    files.push_back({{"path", f.path}, {"size", f.size}, {"offset", f.offset}});
  }
  json chunks = json::array();
  for (const ManifestChunk& c : manifest.chunks) {
    chunks.push_back({{"sha256", c.sha256}, {"size", c.size}});
  }
  // nlohmann::json's objects are std::maps: keys come out in byte order.
  return {{"format", manifest.format}, {"files", std::move(files)}, {"chunks", std::move(chunks)}};
}

std::string CanonicalManifestText(const Manifest& manifest) {
  return ToJson(manifest).dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string ManifestDigest(const Manifest& manifest) {
  return Sha256Hex(CanonicalManifestText(manifest));
}

std::string CheckManifestPath(std::string_view path) {
  if (path.empty()) return "empty path";
  if (path.size() > kManifestMaxPathBytes) {
    return "path longer than " + std::to_string(kManifestMaxPathBytes) + " bytes";
  }
  if (!IsValidUtf8(path)) return "path is not valid UTF-8";
  for (char c : path) {
    const auto u = static_cast<unsigned char>(c);
    if (u == 0) return "path contains a NUL byte";
    if (u < 0x20 || u == 0x7f) return "path contains a control character";
    if (c == '\\') return "path contains a backslash (separate components with '/')";
  }
  if (path.front() == '/') return "path is absolute (starts with '/')";
  size_t start = 0;
  while (true) {
    const size_t end = std::min(path.find('/', start), path.size());
    const std::string_view component = path.substr(start, end - start);
    if (component.empty()) return "path has an empty component ('//' or a trailing '/')";
    if (component == "." || component == "..") {
      return "path has a \"" + std::string(component) + "\" component";
    }
    if (end == path.size()) break;
    start = end + 1;
  }
  return "";
}

Status ValidateManifest(const Manifest& m) {
  if (m.format != kManifestFormat) {
    return InvalidArgument("manifest: unsupported format " + std::to_string(m.format) +
                           " (this build reads " + std::to_string(kManifestFormat) + ")");
  }
  if (m.files.size() > kManifestMaxFiles) {
    return InvalidArgument("manifest: " + std::to_string(m.files.size()) + " files (at most " +
                           std::to_string(kManifestMaxFiles) + ")");
  }
  if (m.chunks.size() > kManifestMaxChunks) {
    return InvalidArgument("manifest: " + std::to_string(m.chunks.size()) + " chunks (at most " +
                           std::to_string(kManifestMaxChunks) + ")");
  }
  int64_t chunk_total = 0;  // at most 10^7 * 64 MiB: no overflow
  for (size_t i = 0; i < m.chunks.size(); ++i) {
    const ManifestChunk& c = m.chunks[i];
    auto name = [i] { return "manifest: chunk " + std::to_string(i); };  // built on error only
    if (!IsChunkId(c.sha256)) {
      return InvalidArgument(name() + ": sha256 must be 64 lower-case hex digits");
    }
    if (c.size <= 0 || c.size > kManifestMaxChunkBytes) {
      return InvalidArgument(name() + ": size " + std::to_string(c.size) + " is not in 1.." +
                             std::to_string(kManifestMaxChunkBytes));
    }
    chunk_total += c.size;
  }
  int64_t stream_end = 0;
  std::unordered_set<std::string_view> paths;
  paths.reserve(m.files.size());
  for (size_t i = 0; i < m.files.size(); ++i) {
    const ManifestFile& f = m.files[i];
    auto name = [&] { return "manifest: " + FileName(i, f.path); };  // built on error only
    if (std::string problem = CheckManifestPath(f.path); !problem.empty()) {
      return InvalidArgument(name() + ": " + problem);
    }
    if (i > 0 && !(m.files[i - 1].path < f.path)) {
      return InvalidArgument(name() + (m.files[i - 1].path == f.path
                                           ? ": duplicate path"
                                           : ": files are not sorted by path (it follows " +
                                                 FileName(i - 1, m.files[i - 1].path) + ")"));
    }
    if (f.size < 0) return InvalidArgument(name() + ": negative size " + std::to_string(f.size));
    if (f.offset != stream_end) {
      return InvalidArgument(name() + ": offset " + std::to_string(f.offset) + ", expected " +
                             std::to_string(stream_end) + " (files are contiguous in path order)");
    }
    if (f.size > chunk_total - stream_end) {
      return InvalidArgument(name() + ": ends past the chunks' total size " +
                             std::to_string(chunk_total));
    }
    stream_end += f.size;
    paths.insert(f.path);
  }
  if (stream_end != chunk_total) {
    return InvalidArgument("manifest: the files' total size " + std::to_string(stream_end) +
                           " differs from the chunks' total size " + std::to_string(chunk_total));
  }
  // A path that is also another's directory could not be written out.
  for (size_t i = 0; i < m.files.size(); ++i) {
    const std::string_view path = m.files[i].path;
    for (size_t slash = path.find('/'); slash != std::string_view::npos;
         slash = path.find('/', slash + 1)) {
      if (paths.count(path.substr(0, slash))) {
        return InvalidArgument("manifest: " + FileName(i, path) + ": its directory \"" +
                               std::string(path.substr(0, slash)) + "\" is also a file");
      }
    }
  }
  return Status::Ok();
}

Result<Manifest> ManifestFromJson(const json& j) {
  RETURN_IF_ERROR(ExactKeys(j, {"format", "files", "chunks"}, "manifest"));
  Manifest m;
  ASSIGN_OR_RETURN(const int64_t format, ReadInt(j["format"], "manifest: format"));
  if (format != kManifestFormat) {
    return InvalidArgument("manifest: unsupported format " + std::to_string(format) +
                           " (this build reads " + std::to_string(kManifestFormat) + ")");
  }
  m.format = static_cast<int>(format);
  const json& files = j["files"];
  const json& chunks = j["chunks"];
  if (!files.is_array()) return InvalidArgument("manifest: files: must be an array");
  if (!chunks.is_array()) return InvalidArgument("manifest: chunks: must be an array");
  if (files.size() > kManifestMaxFiles) {
    return InvalidArgument("manifest: " + std::to_string(files.size()) + " files (at most " +
                           std::to_string(kManifestMaxFiles) + ")");
  }
  if (chunks.size() > kManifestMaxChunks) {
    return InvalidArgument("manifest: " + std::to_string(chunks.size()) + " chunks (at most " +
                           std::to_string(kManifestMaxChunks) + ")");
  }
  m.files.reserve(files.size());
  for (size_t i = 0; i < files.size(); ++i) {
    const std::string what = "manifest: file " + std::to_string(i);
    RETURN_IF_ERROR(ExactKeys(files[i], {"path", "size", "offset"}, what));
    if (!files[i]["path"].is_string()) return InvalidArgument(what + ": path must be a string");
    ManifestFile f;
    f.path = files[i]["path"].get<std::string>();
    ASSIGN_OR_RETURN(f.size, ReadInt(files[i]["size"], what + ": size"));
    ASSIGN_OR_RETURN(f.offset, ReadInt(files[i]["offset"], what + ": offset"));
    m.files.push_back(std::move(f));
  }
  m.chunks.reserve(chunks.size());
  for (size_t i = 0; i < chunks.size(); ++i) {
    const std::string what = "manifest: chunk " + std::to_string(i);
    RETURN_IF_ERROR(ExactKeys(chunks[i], {"sha256", "size"}, what));
    if (!chunks[i]["sha256"].is_string()) {
      return InvalidArgument(what + ": sha256 must be a string");
    }
    ManifestChunk c;
    c.sha256 = chunks[i]["sha256"].get<std::string>();
    ASSIGN_OR_RETURN(c.size, ReadInt(chunks[i]["size"], what + ": size"));
    m.chunks.push_back(std::move(c));
  }
  RETURN_IF_ERROR(ValidateManifest(m));
  return m;
}

Result<Manifest> ParseManifest(std::string_view text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return InvalidArgument("manifest: not valid JSON");
  return ManifestFromJson(j);
}

std::vector<int64_t> ChunkOffsets(const Manifest& manifest) {
  std::vector<int64_t> offsets;
  offsets.reserve(manifest.chunks.size());
  int64_t offset = 0;
  for (const ManifestChunk& c : manifest.chunks) {
    offsets.push_back(offset);
    offset += c.size;
  }
  return offsets;
}

std::vector<ChunkSlice> SlicesOf(const Manifest& manifest, const std::vector<int64_t>& offsets,
                                 size_t file_index) {
  const ManifestFile& file = manifest.files[file_index];
  std::vector<ChunkSlice> slices;
  if (file.size == 0) return slices;
  // The last chunk that starts at or before the file's first byte.
  size_t c = static_cast<size_t>(std::upper_bound(offsets.begin(), offsets.end(), file.offset) -
                                 offsets.begin()) -
             1;
  int64_t pos = file.offset;
  const int64_t end = file.offset + file.size;
  for (; pos < end; ++c) {
    const int64_t chunk_end = offsets[c] + manifest.chunks[c].size;
    const int64_t length = std::min(end, chunk_end) - pos;
    slices.push_back({c, pos - offsets[c], length});
    pos += length;
  }
  return slices;
}

std::vector<ChunkSlice> SlicesOf(const Manifest& manifest, size_t file_index) {
  return SlicesOf(manifest, ChunkOffsets(manifest), file_index);
}

namespace {

// The files BuildManifest reads: (path in the manifest, path on disk), sorted by the former, with
// its checks on kinds, names and count.
struct TreeWalk {
  bool single_file = false;
  std::vector<std::pair<std::string, std::filesystem::path>> entries;
};

Result<TreeWalk> WalkTree(const std::string& root) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status root_status = fs::status(root, ec);
  if (ec) return Unavailable(root + ": " + ec.message());
  TreeWalk walk;
  auto& entries = walk.entries;
  walk.single_file = fs::is_regular_file(root_status);
  if (walk.single_file) {
    entries.emplace_back(fs::path(root).filename().string(), fs::path(root));
  } else if (fs::is_directory(root_status)) {
    for (auto it = fs::recursive_directory_iterator(root, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      const fs::file_status st = it->symlink_status(ec);
      if (ec) break;
      const std::string relative = it->path().lexically_relative(root).generic_string();
      if (fs::is_symlink(st)) {
        return InvalidArgument(it->path().string() +
                               ": is a symbolic link; the registry takes regular files only "
                               "(copy the target in, or push its directory itself)");
      }
      if (fs::is_directory(st)) continue;
      if (!fs::is_regular_file(st)) {
        return InvalidArgument(it->path().string() +
                               ": is not a regular file (a socket, FIFO or device)");
      }
      entries.emplace_back(relative, it->path());
    }
    if (ec) return Unavailable(root + ": " + ec.message());
  } else {
    return InvalidArgument(root + ": is neither a regular file nor a directory");
  }
  if (entries.size() > kManifestMaxFiles) {
    return InvalidArgument(root + ": " + std::to_string(entries.size()) + " files (at most " +
                           std::to_string(kManifestMaxFiles) + " in one dataset version)");
  }
  std::sort(entries.begin(), entries.end());
  for (const auto& [path, disk_path] : entries) {
    if (std::string problem = CheckManifestPath(path); !problem.empty()) {
      return InvalidArgument(disk_path.string() + ": cannot be pushed: " + problem);
    }
  }
  return walk;
}

}  // namespace

Result<std::vector<ManifestFile>> ListManifestFiles(const std::string& root) {
  ASSIGN_OR_RETURN(TreeWalk walk, WalkTree(root));
  std::vector<ManifestFile> files;
  int64_t offset = 0;
  for (const auto& [path, disk_path] : walk.entries) {
    // Opened as BuildManifest opens it, so that an unreadable file is found here too.
    const int fd =
        ::open(disk_path.c_str(), O_RDONLY | O_CLOEXEC | (walk.single_file ? 0 : O_NOFOLLOW));
    if (fd < 0) return Unavailable(ErrnoText(disk_path.string()));
    struct stat st {};
    const int rc = ::fstat(fd, &st);
    ::close(fd);
    if (rc != 0) return Unavailable(ErrnoText(disk_path.string()));
    files.push_back({path, static_cast<int64_t>(st.st_size), offset});
    offset += static_cast<int64_t>(st.st_size);
  }
  return files;
}

Result<Manifest> BuildManifest(const std::string& root, const ChunkerParams& params,
                               const ManifestChunkFn& on_chunk) {
  ASSIGN_OR_RETURN(TreeWalk walk, WalkTree(root));
  const bool single_file = walk.single_file;
  const auto& entries = walk.entries;

  Manifest manifest;
  ASSIGN_OR_RETURN(
      Chunker chunker, Chunker::Create(params, [&](std::string_view chunk) {
        if (manifest.chunks.size() >= kManifestMaxChunks) {
          return InvalidArgument(root + ": more than " + std::to_string(kManifestMaxChunks) +
                                 " chunks");
        }
        std::string sha256 = Sha256Hex(chunk);
        RETURN_IF_ERROR(on_chunk(chunk, sha256));
        manifest.chunks.push_back({std::move(sha256), static_cast<int64_t>(chunk.size())});
        return Status::Ok();
      }));
  std::string buffer(size_t{1} << 20, '\0');
  int64_t offset = 0;
  for (const auto& [path, disk_path] : entries) {
    // Inside a directory, a file swapped for a link since the walk is refused too.
    const int fd = ::open(disk_path.c_str(), O_RDONLY | O_CLOEXEC | (single_file ? 0 : O_NOFOLLOW));
    if (fd < 0) return Unavailable(ErrnoText(disk_path.string()));
    int64_t size = 0;
    Status status;
    while (status.ok()) {
      const ssize_t n = ::read(fd, buffer.data(), buffer.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        status = Unavailable(ErrnoText(disk_path.string()));
        break;
      }
      if (n == 0) break;
      size += n;
      status = chunker.Update(std::string_view(buffer.data(), static_cast<size_t>(n)));
    }
    ::close(fd);
    RETURN_IF_ERROR(status);
    manifest.files.push_back({path, size, offset});
    offset += size;
  }
  RETURN_IF_ERROR(chunker.Finish());
  RETURN_IF_ERROR(ValidateManifest(manifest).WithContext(root));
  return manifest;
}

}  // namespace shoal
