// Registry: the dataset registry and model library as the scheduler's API uses them (issue 14,
// docs/registry.md): the records (RegistryDb), the chunk stores of each namespace (the shared
// public one; one per private artifact, encrypted under its data key), the access rules, the
// storage quota and the attempts' read capabilities. Policy about jobs (which versions a pending
// or running job pins) is the caller's: the Registry knows nothing of jobs.
//
// On disk, under RegistryOptions::dir: registry.db, chunks/public/, chunks/a<artifact id>/ and
// capability.key (the 32-byte HMAC key of read capabilities, 0600, made on the first start).
//
// Not thread-safe, except that a ChunkStore returned by StoreFor may be used from any thread
// (it stays valid as long as the Registry): the API reads and writes chunks off the event loop.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/registry/uri.h"
#include "common/status.h"
#include "common/wire/assignment.h"  // Pin
#include "scheduler/registry/chunk_store.h"
#include "scheduler/registry/crypto.h"
#include "scheduler/registry/registry_db.h"

namespace shoal {

struct RegistryOptions {
  std::string dir;  // created if needed
  // A file with the master key (32 bytes raw or 64 hex digits; a Kubernetes Secret works). Empty:
  // this scheduler refuses private artifacts (it could not encrypt them).
  std::string master_key_file;
  // Bytes of versions an account may own (registryQuota); 0 = no cap.
  int64_t quota_bytes = int64_t{100} << 30;
  // How long a chunk that no version references is kept after it was last stored or mentioned
  // by a push (registryUploadGrace): a push may take that long between its first chunk and
  // its version.
  int64_t upload_grace_ms = int64_t{24} * 3600 * 1000;
};

class Registry {
 public:
  // Opens the database and the public chunk store, loads the master key and the capability key
  // (creating it). Unavailable / InvalidArgument naming the file that failed.
  static Result<std::unique_ptr<Registry>> Open(RegistryOptions options);

  RegistryDb& db() { return *db_; }
  const RegistryOptions& options() const { return options_; }
  bool has_master_key() const { return master_key_.has_value(); }

  // Whether `account` may read the artifact: its owner, an admin, anyone for a public one, or an
  // account holding an unexpired grant.
  bool MayRead(const ArtifactRecord& a, const std::string& account, bool admin,
               int64_t now_ms) const;

  // Creates or updates a card (RegistryDb::Upsert). A new private artifact gets a fresh data key,
  // wrapped by the master key: FailedPrecondition when this scheduler has none.
  Result<ArtifactRecord> Upsert(ArtifactRecord record, int64_t now_ms, bool* created);

  // The chunk store of the artifact's namespace (opened on first use; a private one with its
  // unwrapped data key). Unavailable when it cannot be opened or the key cannot be unwrapped.
  Result<ChunkStore*> StoreFor(const ArtifactRecord& a);

  // OK when `account` may own `more_bytes` more; ResourceExhausted stating usage and limit.
  // Usage counts the account's versions and the chunks it uploaded that no version of it took
  // yet (NoteUpload), so that pushes never finished cannot fill the disk past the quota.
  // `count_uploads` false leaves those out (the early check of a push that may be resuming:
  // its own earlier chunks are among them).
  Status CheckQuota(const std::string& account, int64_t more_bytes,
                    bool count_uploads = true) const;
  // Uploads not yet part of a version: `account` stored chunk `id` of `bytes` at now_ms (each
  // chunk counted once). ForgetUploads: a version of the account now holds these chunks.
  // ForgetUploadsBefore: the sweep dropped uploads older than its grace (in memory only: after a
  // restart, pushes in flight start counting from their next chunk).
  void NoteUpload(const std::string& account, const std::string& id, int64_t bytes,
                  int64_t now_ms);
  void ForgetUploads(const std::string& account, const std::vector<std::string>& ids);
  void ForgetUploadsBefore(int64_t cutoff_ms);
  int64_t UploadedBytes(const std::string& account) const;
  // The bytes of those of `ids` that are uploads of the account.
  int64_t UploadedBytesAmong(const std::string& account, const std::vector<std::string>& ids) const;

  // Collection (Api::SweepRegistry): the chunk namespaces on disk ("public", "a<id>"), and the
  // store of one; a private namespace whose artifact was deleted gets a store without a key
  // (its chunks can be listed and removed, not read).
  std::vector<std::string> Namespaces() const;
  Result<ChunkStore*> StoreForNamespace(const std::string& ns);

  // Deletes a version (the caller has checked that no unfinished job pins it) and the chunks it
  // alone referenced in its namespace.
  Status DeleteVersion(const ArtifactRecord& a, const std::string& version);

  // Resolves a URI to a version for `account`: NotFound naming the artifact (or its version)
  // when it does not exist, PermissionDenied naming it when it is private and the account may
  // not read it (the caller audits the refusal).
  Result<wire::Pin> Resolve(const RegistryUri& uri, const std::string& account, bool admin,
                            int64_t now_ms) const;

  // The read capability of one attempt: "shoalcap_<job>_<attempt>_<hex HMAC-SHA256>".
  std::string Capability(int64_t job, int attempt) const;
  // The job and attempt a capability was made for; PermissionDenied when it is malformed or its
  // MAC is not this scheduler's. Whether the attempt still runs is the caller's to check.
  Result<std::pair<int64_t, int>> CheckCapability(std::string_view capability) const;

 private:
  Registry() = default;

  RegistryOptions options_;
  std::unique_ptr<RegistryDb> db_;
  std::optional<MasterKey> master_key_;
  std::string capability_key_;  // 32 raw bytes
  std::unique_ptr<ChunkStore> public_store_;
  std::map<int64_t, std::unique_ptr<ChunkStore>> private_stores_;  // by artifact id
  struct Uploads {
    int64_t bytes = 0;
    std::map<std::string, std::pair<int64_t, int64_t>> chunks;  // id -> (bytes, when)
  };
  std::map<std::string, Uploads> uploads_;  // by account
};

}  // namespace shoal
