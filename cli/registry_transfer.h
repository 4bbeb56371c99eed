// The registry's transfer engine for the CLI (docs/registry.md, "HTTP API"): pushes a local file
// or directory as a version of a dataset or model, and pulls a version into a directory. The
// verbs (`shoal data`, later `shoal models`) parse and print; this file holds the HTTP and chunk
// logic, with the artifact's kind a parameter.
//
// Push: the caller lists PATH (ListManifestFiles: names and sizes, nothing read or sent), then
// UploadPath reads PATH once, asking in batches which chunks the scheduler lacks and uploading
// those from memory (a few connections at once) while the scan goes on, and StoreVersion stores
// the manifest. A push killed half-way resumes when rerun: the scheduler keeps every chunk it
// verified, and the missing queries name only the others.
//
// Pull: the manifest is checked against the X-Shoal-Digest header, each chunk against its SHA-256
// and size, and the files are written under DIR only (ParseManifest refuses paths that climb out;
// an existing symbolic link inside DIR is refused rather than followed).
//
// Transient failures (Unavailable, DeadlineExceeded, HTTP 500/502/503/504) are retried with a
// doubling backoff. Functions are thread-safe; each call runs its own worker threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/http_client.h"
#include "common/registry/manifest.h"
#include "common/registry/uri.h"
#include "common/status.h"

namespace shoal::cli {

// What a command line names: "NAME", "ACCOUNT/NAME", each optionally "@VERSION".
struct ArtifactRef {
  std::string account;  // "" = the caller's account
  std::string name;
  std::string version;  // "" = none given
};

enum class VersionRule {
  kNone,      // no "@V" allowed (push --name, grants, audit)
  kOptional,  // "@V" optional: a version name, "latest" or "sha256:<hex>" (show, pull)
  kRequired,  // "@V" required: a version name or "sha256:<hex>" (rm)
};

// Parses and checks a reference locally (account and name DNS labels, the version rules of
// common/registry/uri.h); InvalidArgument saying what is wrong with `text` otherwise.
Result<ArtifactRef> ParseArtifactRef(std::string_view text, VersionRule rule);

// "/v1/datasets/ACCOUNT/NAME" (the account must be known by then).
std::string ArtifactPath(ArtifactKind kind, const std::string& account, const std::string& name);

// The version a push without --version gets: one more than the highest integer version among
// a card's "versions" ("1" when there is none).
std::string NextIntegerVersion(const nlohmann::json& card);

struct TransferOptions {
  int connections = 4;                     // chunks in flight at once
  int retries = 4;                         // extra attempts of a request that failed transiently
  std::chrono::milliseconds backoff{250};  // before the first retry; doubles after each
  // Bytes transferred so far of the total to transfer; called from several threads, serialized.
  std::function<void(int64_t done, int64_t total)> progress;
};

// Reads PATH as BuildManifest does (a regular file, or a directory's regular files) and returns
// its manifest, sending nothing. InvalidArgument naming the offending file for a path that cannot
// be pushed (a symbolic link inside a directory, a bad name, not a file or directory), Unavailable
// when a file cannot be read.
Result<Manifest> ScanPath(const std::string& path);

struct PushStats {
  Manifest manifest;          // of the bytes read and sent
  std::string digest;         // the manifest's digest (hex)
  int64_t sent_bytes = 0;     // bytes of the chunks uploaded
  int64_t sent_chunks = 0;    // chunks uploaded
  int64_t stored_chunks = 0;  // distinct chunks the scheduler already held
  nlohmann::json reply;       // the reply to PUT .../versions/V (StoreVersion)
};

// Reads PATH once and uploads what the scheduler lacks of it to `artifact_path` (ArtifactPath;
// the card must exist): chunks are asked about in batches as the scan produces them, the first
// query carrying the size of `listed` (ListManifestFiles(path)) for the quota, and the missing
// ones are sent while the scan goes on. Stores no version. FailedPrecondition when PATH's files no
// longer match `listed`; the scan's errors (as ScanPath's) and the calls' (StatusFromHttp)
// otherwise.
Result<PushStats> UploadPath(const HttpClient& client, const std::string& artifact_path,
                             const std::string& path, const std::vector<ManifestFile>& listed,
                             const TransferOptions& options);

// Stores `stats->manifest` (UploadPath's) as `version` and sets stats->reply. Chunks the scheduler
// says are missing then (lost since they were sent) are read from PATH again, uploaded, and the
// store tried once more: FailedPrecondition when PATH changed meanwhile.
Status StoreVersion(const HttpClient& client, const std::string& artifact_path,
                    const std::string& path, const std::string& version,
                    const TransferOptions& options, PushStats* stats);

struct PullStats {
  Manifest manifest;
  std::string digest;  // verified against X-Shoal-Digest (hex)
  int64_t bytes = 0;
};

// Downloads `version` of `artifact_path` into `dir` (created when missing; files there with the
// manifest's paths are overwritten). Internal when the manifest or a chunk arrives corrupted;
// FailedPrecondition for local problems (a path would go through a symbolic link or a
// non-directory inside dir, a file cannot be written); the calls' errors otherwise (no route of
// the pull answers 409).
Result<PullStats> PullVersion(const HttpClient& client, const std::string& artifact_path,
                              const std::string& version, const std::string& dir,
                              const TransferOptions& options);

}  // namespace shoal::cli
