// Registry names and URIs (issue 14, docs/registry.md): how a job spec names a dataset or model
// stored in the scheduler's registry, and the rules for the names in it.
//
//   shoal://KIND/ACCOUNT/NAME[@VERSION][/PATH]
//     KIND     "datasets" or "models"
//     ACCOUNT  the owner account (a DNS label, as accounts are)
//     NAME     a DNS label: 1..63 of a-z, 0-9 and '-', neither first nor last '-'
//     VERSION  a version name (IsVersionName), or "sha256:" + 64 hex digits (a manifest digest);
//              absent = the latest version, pinned when the job is submitted
//     PATH     a file, directory or prefix inside the version (manifest path rules); absent = the
//              version's root
// All functions are pure and thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "common/spec/job_spec.h"  // IsDnsLabel: accounts and names
#include "common/status.h"

namespace shoal {

enum class ArtifactKind { kDataset, kModel };
// "datasets" | "models": the word in URIs and in the API's paths.
std::string_view ToString(ArtifactKind kind);
// InvalidArgument for anything but "datasets" and "models".
Result<ArtifactKind> ParseArtifactKind(std::string_view word);

// A version name: 1..64 of A-Z a-z 0-9 . _ -, starting with a letter or digit, and not "latest".
bool IsVersionName(std::string_view s);
// "sha256:" + 64 lower-case hex digits.
bool IsDigestRef(std::string_view s);

struct RegistryUri {
  ArtifactKind kind = ArtifactKind::kDataset;
  std::string account;
  std::string name;
  std::string version;  // "" = latest; a version name or "sha256:<hex>"
  std::string path;     // "" = the root
  // "KIND/ACCOUNT/NAME": the artifact, whatever the version.
  std::string ArtifactKey() const;
  bool operator==(const RegistryUri&) const = default;
};

// Whether `s` starts with "shoal://" (and so must parse as a RegistryUri, not a local path).
bool IsRegistryUri(std::string_view s);
// Parses a registry URI; InvalidArgument naming the part that breaks the rules above.
Result<RegistryUri> ParseRegistryUri(std::string_view s);
// The URI's text (the inverse of ParseRegistryUri).
std::string ToString(const RegistryUri& uri);

}  // namespace shoal
