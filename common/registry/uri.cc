#include "common/registry/uri.h"

#include "common/registry/manifest.h"  // CheckManifestPath, IsChunkId

namespace shoal {

namespace {
constexpr std::string_view kScheme = "shoal://";
constexpr std::string_view kDigestPrefix = "sha256:";
}  // namespace

std::string_view ToString(ArtifactKind kind) {
  return kind == ArtifactKind::kModel ? "models" : "datasets";
}

Result<ArtifactKind> ParseArtifactKind(std::string_view word) {
  if (word == "datasets") return ArtifactKind::kDataset;
  if (word == "models") return ArtifactKind::kModel;
  return InvalidArgument("kind must be datasets or models, got \"" + std::string(word) + "\"");
}

bool IsVersionName(std::string_view s) {
  if (s.empty() || s.size() > 64 || s == "latest") return false;
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (!alnum(s.front())) return false;
  for (char c : s) {
    if (!alnum(c) && c != '.' && c != '_' && c != '-') return false;
  }
  return true;
}

bool IsDigestRef(std::string_view s) {
  return s.starts_with(kDigestPrefix) && IsChunkId(s.substr(kDigestPrefix.size()));
}

std::string RegistryUri::ArtifactKey() const {
  return std::string(ToString(kind)) + "/" + account + "/" + name;
}

bool IsRegistryUri(std::string_view s) { return s.starts_with(kScheme); }

Result<RegistryUri> ParseRegistryUri(std::string_view s) {
  const std::string quoted = "\"" + std::string(s.substr(0, 300)) + "\"";
  if (!IsRegistryUri(s)) {
    return InvalidArgument(quoted + " is not a registry URI (shoal://KIND/ACCOUNT/NAME[@V][/PATH])");
  }
  std::string_view rest = s.substr(kScheme.size());
  auto next = [&rest]() {
    const size_t slash = rest.find('/');
    std::string_view part = rest.substr(0, slash);
    rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
    return part;
  };
  RegistryUri uri;
  auto kind = ParseArtifactKind(next());
  if (!kind.ok()) return InvalidArgument("in " + quoted + ": " + kind.status().message());
  uri.kind = *kind;
  uri.account = std::string(next());
  if (!IsDnsLabel(uri.account)) {
    return InvalidArgument("in " + quoted + ": the account \"" + uri.account +
                           "\" is not a DNS label (1..63 of a-z, 0-9, '-')");
  }
  const bool had_path = rest.find('/') != std::string_view::npos;
  std::string_view name_version = next();
  if (const size_t at = name_version.find('@'); at != std::string_view::npos) {
    uri.version = std::string(name_version.substr(at + 1));
    name_version = name_version.substr(0, at);
    if (!IsVersionName(uri.version) && !IsDigestRef(uri.version)) {
      return InvalidArgument("in " + quoted + ": the version \"" + uri.version +
                             "\" is neither a version name (A-Z a-z 0-9 . _ -, up to 64) nor "
                             "sha256: and 64 hex digits");
    }
  }
  uri.name = std::string(name_version);
  if (!IsDnsLabel(uri.name)) {
    return InvalidArgument("in " + quoted + ": the name \"" + uri.name +
                           "\" is not a DNS label (1..63 of a-z, 0-9, '-')");
  }
  if (had_path) {
    uri.path = std::string(rest);
    if (const std::string why = CheckManifestPath(uri.path); !why.empty()) {
      return InvalidArgument("in " + quoted + ": " + why);
    }
  }
  return uri;
}

std::string ToString(const RegistryUri& uri) {
  std::string out = std::string(kScheme) + uri.ArtifactKey();
  if (!uri.version.empty()) out += "@" + uri.version;
  if (!uri.path.empty()) out += "/" + uri.path;
  return out;
}

}  // namespace shoal
