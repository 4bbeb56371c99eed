// Small file helpers with the durability the state they hold needs.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace shoal {

// Writes a file so that a crash leaves either the old file or the whole new one, never a part:
// `fill` writes the content to a temporary file next to `path` (through the given writer, which
// returns false on a short write), then the file is fsync'd, renamed over `path`, and the
// directory fsync'd. Unavailable (with errno's text) on any I/O error; the temporary is removed.
// The file gets `mode` (0600 for secrets: set on the temporary before any byte is written).
using ChunkWriter = std::function<bool(const void* data, size_t bytes)>;
Status WriteFileAtomic(const std::string& path, const std::function<Status(const ChunkWriter&)>& fill,
                       mode_t mode = 0644);
Status WriteFileAtomic(const std::string& path, std::string_view content, mode_t mode = 0644);

// The directory part of `path`: "." for a bare name, "/" for a file in the root.
std::string DirOf(const std::string& path);

// Reads a whole file. NotFound if it does not exist, InvalidArgument if it is larger than
// `max_bytes` (checked before reading), Unavailable on other I/O errors.
Result<std::string> ReadFileLimited(const std::string& path, int64_t max_bytes);

// Reads a small secret (a bearer token) from a file: at most 4 KiB, trailing whitespace (the
// newline `echo` or a Kubernetes Secret leaves) removed. Errors as ReadFileLimited.
Result<std::string> ReadTokenFile(const std::string& path);

// fsyncs a directory (after creating or renaming entries in it).
Status SyncDir(const std::string& dir);

}  // namespace shoal
