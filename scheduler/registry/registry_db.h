// RegistryDb: the dataset registry's and model library's records (issue 14, docs/registry.md) in
// their own SQLite database, <state_dir>/registry.db (WAL, synchronous=FULL): artifacts (a dataset
// or a model: owner, visibility, card), their immutable versions (manifest, digest, sizes, the
// chunks they reference), read grants and the audit log of private reads.
//
// The chunks themselves live in ChunkStores (chunk_store.h); this database says which chunks each
// version references, so that the registry can answer "is this chunk part of that version" (the
// read capability's check) and "which chunks did deleting a version free" (collection).
//
// Chunk namespaces: public artifacts share one namespace ("public"), so a chunk stored by anyone
// is never uploaded again; a private artifact's chunks are encrypted under its own data key and so
// form a namespace of their own ("a<artifact id>").
//
// Every method that changes something has committed it when it returns OK (one transaction per
// call; a failed call changes nothing). Not thread-safe: the scheduler calls it from its event loop.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/registry/manifest.h"
#include "common/registry/uri.h"  // ArtifactKind
#include "common/status.h"

namespace shoal {

struct ArtifactRecord {
  int64_t id = 0;  // assigned by the database, never reused
  ArtifactKind kind = ArtifactKind::kDataset;
  std::string account;  // the owner
  std::string name;     // a DNS label, unique per (kind, account)
  bool is_private = false;
  std::string description;
  std::string license;  // SPDX identifier, or ""
  std::string format;   // e.g. "idx", "csv", "npy", "safetensors"; free text
  std::vector<std::string> trusted_workers;  // accounts whose workers may run its jobs (private)
  // The data key of a private artifact, wrapped by the master key (crypto.h); "" when public.
  std::string wrapped_key;
  // Model cards: the spec's model section, the job, its spec, final metrics, pinned datasets. {}
  // for datasets.
  nlohmann::json extra = nlohmann::json::object();
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
  // "public" or "a<id>" (see above).
  std::string ChunkNamespace() const;
};

struct VersionRecord {
  int64_t artifact_id = 0;
  std::string version;  // IsVersionName; unique per artifact
  std::string digest;   // ManifestDigest of its manifest; unique per artifact
  int64_t bytes = 0;    // the files' total size
  int64_t files = 0;
  int64_t chunks = 0;
  std::string publisher;  // the account that pushed it
  int64_t created_ms = 0;
  int64_t source_job = 0;  // the job a model version was published from; 0 = pushed
};

struct GrantRecord {
  std::string account;  // who may read
  std::string granted_by;
  int64_t granted_ms = 0;
  int64_t expires_ms = 0;  // 0 = never
};

struct AuditRecord {
  int64_t seq = 0;  // assigned by the database, increasing
  int64_t time_ms = 0;
  std::string account;  // who read (or tried to)
  int64_t job = 0;      // 0 = not through a job (a pull by a user)
  std::string worker;   // "" = not a worker
  std::string action;   // "manifest", "chunk", "pull", "submit", ...
  std::string version;  // version name or digest read, "" if none
  bool allowed = true;  // false: refused
  std::string detail;   // why refused, or what was read (free text)
};

class RegistryDb {
 public:
  // Opens (creating) the database at `path` and applies the schema. Unavailable when it cannot be
  // opened.
  static Result<std::unique_ptr<RegistryDb>> Open(const std::string& path);
  ~RegistryDb();
  RegistryDb(const RegistryDb&) = delete;
  RegistryDb& operator=(const RegistryDb&) = delete;

  // --- artifacts ---
  // Creates the artifact (kind, account, name) or updates its description, license, format,
  // trusted_workers and extra (the other fields of an existing one are kept: visibility and key
  // are set at creation only). Returns the stored record; *created says which happened.
  // FailedPrecondition when an existing artifact's visibility differs from `record.is_private`
  // (visibility cannot change: a public dataset's chunks are shared, a private one's encrypted).
  Result<ArtifactRecord> Upsert(const ArtifactRecord& record, int64_t now_ms, bool* created);
  // NotFound ("datasets/ACCOUNT/NAME not found") when there is none.
  Result<ArtifactRecord> Find(ArtifactKind kind, const std::string& account,
                              const std::string& name) const;
  Result<ArtifactRecord> FindById(int64_t id) const;
  // Every artifact of `kind` (of `account` only, when given), by account then name.
  std::vector<ArtifactRecord> List(ArtifactKind kind,
                                   const std::optional<std::string>& account = {}) const;
  // Deletes an artifact that has no versions left (its grants go with it; its audit log stays,
  // readable by admins). FailedPrecondition when it still has versions.
  Status DeleteArtifact(int64_t artifact_id);

  // --- versions ---
  // Adds an immutable version with its manifest (canonical text) and the chunks it references.
  // OK and *added = false when the same version name already holds the same digest (a retried
  // push); AlreadyExists naming the version when the name holds another digest, or when another
  // version of this artifact already has this digest (naming it).
  // The stored bytes, files and chunks are the manifest's (the record's are not read).
  // InvalidArgument for a bad version name, an invalid manifest (ValidateManifest) or a digest
  // that is not the manifest's; NotFound when the artifact does not exist.
  Status AddVersion(const VersionRecord& version, const Manifest& manifest, bool* added);
  // `ref`: a version name, "latest" or "" (the newest by creation), or "sha256:<digest>".
  // NotFound naming the artifact and ref when there is none.
  Result<VersionRecord> FindVersion(int64_t artifact_id, const std::string& ref) const;
  // Oldest first.
  std::vector<VersionRecord> Versions(int64_t artifact_id) const;
  // The first version of the artifact published from `job` (VersionRecord::source_job), if any:
  // what makes publishing a job's output once-only across restarts.
  std::optional<VersionRecord> VersionFromJob(int64_t artifact_id, int64_t job) const;
  // The canonical manifest text of a version (by digest). NotFound when there is none.
  Result<std::string> ManifestText(int64_t artifact_id, const std::string& digest) const;
  // Whether version `digest` of the artifact references chunk `sha256`.
  bool VersionHasChunk(int64_t artifact_id, const std::string& digest,
                       const std::string& sha256) const;
  // Whether any version of the artifact references chunk `sha256`.
  bool ArtifactHasChunk(int64_t artifact_id, const std::string& sha256) const;
  // Deletes a version and returns the chunks no version in the artifact's chunk namespace
  // references any more (the caller removes them from that namespace's ChunkStore). `version` is a
  // version name. NotFound when there is no such version.
  Result<std::vector<std::string>> DeleteVersion(int64_t artifact_id, const std::string& version);
  // Of `candidates`, those no version in chunk namespace `ns` references (for collecting chunks
  // uploaded by pushes that never completed).
  std::vector<std::string> Unreferenced(const std::string& ns,
                                        const std::vector<std::string>& candidates) const;

  // --- quotas ---
  // The bytes of all versions the account owns (each version counts its full size, so shared
  // chunks are counted once per version that references them: deduplication never hides usage).
  int64_t BytesOwnedBy(const std::string& account) const;
  // The same for every account that owns something.
  std::vector<std::pair<std::string, int64_t>> BytesByAccount() const;

  // --- grants ---
  // Grants (or re-grants, replacing the expiry) read access to `grant.account`.
  Status Grant(int64_t artifact_id, const GrantRecord& grant);
  // NotFound when the account holds no grant.
  Status Revoke(int64_t artifact_id, const std::string& account);
  // Every grant, expired ones included, by account.
  std::vector<GrantRecord> Grants(int64_t artifact_id) const;
  // Whether `account` holds a grant that has not expired at now_ms.
  bool HasGrant(int64_t artifact_id, const std::string& account, int64_t now_ms) const;

  // --- audit ---
  // Appends one record (its seq is assigned).
  Status AppendAudit(int64_t artifact_id, const AuditRecord& record);
  // Records with seq > after_seq, oldest first, at most `limit`.
  std::vector<AuditRecord> Audit(int64_t artifact_id, int64_t after_seq, int limit) const;

 private:
  explicit RegistryDb(sqlite3* db) : db_(db) {}
  sqlite3* db_;
};

}  // namespace shoal
