#include "worker/agent/data_roots.h"

#include <filesystem>

#include "common/registry/uri.h"
#include "worker/agent/dataset_fetch.h"  // FindPin

namespace shoal {

namespace fs = std::filesystem;

namespace {

// `path` with symlinks of its existing part resolved; relative paths are not accepted (the
// trainer runs in its rank directory, which no spec can name).
Result<fs::path> Resolve(const std::string& path) {
  fs::path p(path);
  if (!p.is_absolute()) return PermissionDenied("data path \"" + path + "\" is not absolute");
  std::error_code ec;
  // The directory is resolved (following links); the last component may be a prefix that names
  // no file, so only it is kept as written (".." and "." there are refused below).
  fs::path dir = fs::weakly_canonical(p.parent_path(), ec);
  if (ec) return PermissionDenied("data path \"" + path + "\": " + ec.message());
  const fs::path leaf = p.filename();
  if (leaf.empty() || leaf == "." || leaf == "..") {
    return PermissionDenied("data path \"" + path + "\" does not name a file or prefix");
  }
  fs::path full = dir / leaf;
  // A last component that exists and is a link is followed too.
  if (fs::is_symlink(full, ec)) {
    full = fs::weakly_canonical(full, ec);
    if (ec) return PermissionDenied("data path \"" + path + "\": " + ec.message());
  }
  return full;
}

bool Inside(const fs::path& path, const fs::path& root) {
  auto r = root.begin(), p = path.begin();
  for (; r != root.end(); ++r, ++p) {
    if (r->empty()) continue;  // a trailing '/' in the root
    if (p == path.end() || *p != *r) return false;
  }
  return true;
}

}  // namespace

Status CheckDataPaths(const JobSpec& spec, const std::vector<std::string>& roots,
                      const std::vector<wire::Pin>& pins) {
  std::string allowed;
  for (const auto& r : roots) allowed += (allowed.empty() ? "" : ", ") + r;
  for (const std::string* path : {&spec.data.train, &spec.data.test, &spec.model.init}) {
    if (path->empty()) continue;
    const std::string what = path == &spec.model.init ? "model.init" : "data path";
    if (IsRegistryUri(*path)) {
      auto uri = ParseRegistryUri(*path);
      if (!uri.ok()) return InvalidArgument(what + ": " + uri.status().message());
      if (FindPin(pins, *uri) == nullptr) {
        return PermissionDenied(what + " \"" + *path +
                                "\" names a registry version that the scheduler did not pin for "
                                "this attempt; this worker reads only pinned versions");
      }
      continue;
    }
    ASSIGN_OR_RETURN(fs::path resolved, Resolve(*path));
    bool ok = false;
    for (const auto& root : roots) {
      std::error_code ec;
      fs::path canonical_root = fs::weakly_canonical(root, ec);
      if (!ec && Inside(resolved, canonical_root)) ok = true;
    }
    if (!ok) {
      return PermissionDenied(what + " \"" + *path + "\" is outside this worker's data roots (" +
                              allowed + "; shoal-worker --data-root)");
    }
  }
  return Status::Ok();
}

}  // namespace shoal
