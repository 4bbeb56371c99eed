#include "scheduler/web/static_files.h"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace shoal {

namespace fs = std::filesystem;

Result<StaticFiles> StaticFiles::Load(const std::string& dir, int64_t max_bytes) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return NotFound("no dashboard assets at " + dir);
  StaticFiles out;
  int64_t total = 0;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    const std::string relative = fs::relative(it->path(), dir, ec).generic_string();
    if (ec) break;
    std::ifstream in(it->path(), std::ios::binary);
    std::ostringstream body;
    body << in.rdbuf();
    if (!in && !in.eof()) return Unavailable("reading " + it->path().string());
    total += static_cast<int64_t>(body.str().size());
    if (total > max_bytes) {
      return ResourceExhausted("dashboard assets in " + dir + " exceed " +
                               std::to_string(max_bytes) + " bytes");
    }
    out.files_[relative] = StaticFile{body.str(), ContentTypeFor(relative)};
  }
  if (ec) return Unavailable("listing " + dir + ": " + ec.message());
  return out;
}

const StaticFile* StaticFiles::Find(std::string_view relative) const {
  std::string key(relative);
  if (key.empty() || key.back() == '/') key += "index.html";
  auto it = files_.find(key);
  return it == files_.end() ? nullptr : &it->second;
}

std::string ContentTypeFor(std::string_view name) {
  const size_t dot = name.rfind('.');
  const std::string_view ext = dot == std::string_view::npos ? "" : name.substr(dot + 1);
  if (ext == "html") return "text/html; charset=utf-8";
  if (ext == "js" || ext == "mjs") return "text/javascript; charset=utf-8";
  if (ext == "css") return "text/css; charset=utf-8";
  if (ext == "json" || ext == "map") return "application/json; charset=utf-8";
  if (ext == "svg") return "image/svg+xml";
  if (ext == "png") return "image/png";
  if (ext == "ico") return "image/x-icon";
  if (ext == "woff2") return "font/woff2";
  if (ext == "txt") return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

}  // namespace shoal
