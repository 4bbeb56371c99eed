// StaticFiles: the dashboard's assets (web/, built into <build>/scheduler/ui), read into memory
// once at start-up and served at /ui/ (docs/dashboard.md). Holding them in a map means a request
// can only ever name a file that was there at start-up: no path from a URL reaches the file
// system, so there is no traversal to guard against.
//
// Load() is not thread-safe; Find() is (const).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "common/status.h"

namespace shoal {

struct StaticFile {
  std::string body;
  std::string content_type;  // from the extension; application/octet-stream when unknown
};

class StaticFiles {
 public:
  // Every regular file under `dir` (recursively, at most `max_bytes` in all), keyed by its path
  // relative to `dir` with '/' separators ("index.html", "vendor/uPlot.min.css"). NotFound when
  // `dir` does not exist; ResourceExhausted past max_bytes; Unavailable on a read error.
  static Result<StaticFiles> Load(const std::string& dir, int64_t max_bytes = int64_t{64} << 20);

  // The file at `relative` ("" and a trailing '/' mean its index.html), or nullptr.
  const StaticFile* Find(std::string_view relative) const;
  bool empty() const { return files_.empty(); }
  size_t size() const { return files_.size(); }

 private:
  std::map<std::string, StaticFile, std::less<>> files_;
};

// The Content-Type for a file name by its extension (.html, .js, .mjs, .css, .json, .svg, .png,
// .ico, .woff2, .txt, .map), with charset=utf-8 for text.
std::string ContentTypeFor(std::string_view name);

}  // namespace shoal
