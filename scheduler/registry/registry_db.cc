#include "scheduler/registry/registry_db.h"

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "common/sha256.h"
#include "scheduler/state/sqlite_util.h"

namespace shoal {
namespace {

using sqlite_util::Stmt;
using sqlite_util::Txn;

// chunk_refs points at versions by their integer id rather than (artifact, digest): half the
// bytes per row and per index entry, which matters at hundreds of thousands of chunks a version.
// Its artifact_id is a copy of the version's, so that the namespace checks need no join with
// versions. chunk_refs_by_sha answers "who else references this chunk" (collection) and
// "does this artifact reference it" (the read capability's check). No foreign key on version_id:
// it would cost a lookup per reference, and only AddVersion and DeleteVersion write the table, in
// the transactions that write the version.
constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS artifacts (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  kind TEXT NOT NULL, account TEXT NOT NULL, name TEXT NOT NULL, private INTEGER NOT NULL,
  description TEXT NOT NULL, license TEXT NOT NULL, format TEXT NOT NULL,
  trusted_workers TEXT NOT NULL, wrapped_key TEXT NOT NULL, extra TEXT NOT NULL,
  created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL,
  UNIQUE (kind, account, name));
CREATE INDEX IF NOT EXISTS artifacts_by_account ON artifacts(account);
CREATE TABLE IF NOT EXISTS versions (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  artifact_id INTEGER NOT NULL REFERENCES artifacts(id),
  version TEXT NOT NULL, digest TEXT NOT NULL,
  bytes INTEGER NOT NULL, files INTEGER NOT NULL, chunks INTEGER NOT NULL,
  publisher TEXT NOT NULL, created_ms INTEGER NOT NULL, manifest TEXT NOT NULL,
  source_job INTEGER NOT NULL DEFAULT 0, UNIQUE (artifact_id, version), UNIQUE (artifact_id, digest));
CREATE TABLE IF NOT EXISTS chunk_refs (
  version_id INTEGER NOT NULL,
  sha256 TEXT NOT NULL, artifact_id INTEGER NOT NULL,
  PRIMARY KEY (version_id, sha256)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS chunk_refs_by_sha ON chunk_refs(sha256, artifact_id);
CREATE TABLE IF NOT EXISTS grants (
  artifact_id INTEGER NOT NULL REFERENCES artifacts(id), account TEXT NOT NULL,
  granted_by TEXT NOT NULL, granted_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL,
  PRIMARY KEY (artifact_id, account));
CREATE TABLE IF NOT EXISTS audit (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  artifact_id INTEGER NOT NULL, time_ms INTEGER NOT NULL, account TEXT NOT NULL,
  job INTEGER NOT NULL, worker TEXT NOT NULL, action TEXT NOT NULL, version TEXT NOT NULL,
  allowed INTEGER NOT NULL, detail TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS audit_by_artifact ON audit(artifact_id, seq);
)sql";

constexpr const char* kArtifactColumns =
    "id, kind, account, name, private, description, license, format, trusted_workers, "
    "wrapped_key, extra, created_ms, updated_ms";
constexpr const char* kVersionColumns =
    "artifact_id, version, digest, bytes, files, chunks, publisher, created_ms, source_job";
constexpr std::string_view kDigestPrefix = "sha256:";

// A failed SQLite call: Internal for what only a bug causes (bad SQL, a constraint the code should
// have checked first), Unavailable for the rest (busy, I/O, full disk), where a retry may help.
// A statement that failed to prepare fails at its first Step (SQLITE_MISUSE) with the prepare's
// message still in sqlite3_errmsg, so checking the Step is enough.
Status SqlError(sqlite3* db, const std::string& what) {
  int rc = sqlite3_errcode(db) & 0xff;
  std::string msg = "registry db " + what + ": " + sqlite3_errmsg(db);
  if (rc == SQLITE_ERROR || rc == SQLITE_CONSTRAINT || rc == SQLITE_MISUSE ||
      rc == SQLITE_MISMATCH || rc == SQLITE_RANGE) {
    return Internal(msg);
  }
  return Unavailable(msg);
}

Status Exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, &err);
  if (rc == SQLITE_OK) return Status::Ok();
  std::string msg = err ? err : sqlite3_errstr(rc);
  sqlite3_free(err);
  return Unavailable("registry db: " + msg);
}

std::string Dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string ArtifactKey(ArtifactKind kind, const std::string& account, const std::string& name) {
  return std::string(ToString(kind)) + "/" + account + "/" + name;
}
std::string ArtifactKey(const ArtifactRecord& a) { return ArtifactKey(a.kind, a.account, a.name); }

ArtifactRecord ArtifactFromRow(Stmt& s) {
  ArtifactRecord a;
  a.id = s.Int(0);
  auto kind = ParseArtifactKind(s.Text(1));
  if (kind.ok()) a.kind = *kind;
  a.account = s.Text(2);
  a.name = s.Text(3);
  a.is_private = s.Int(4) != 0;
  a.description = s.Text(5);
  a.license = s.Text(6);
  a.format = s.Text(7);
  auto workers = nlohmann::json::parse(s.Text(8), nullptr, false);
  if (workers.is_array()) {
    for (const auto& w : workers) {
      if (w.is_string()) a.trusted_workers.push_back(w.get<std::string>());
    }
  }
  a.wrapped_key = s.Text(9);
  auto extra = nlohmann::json::parse(s.Text(10), nullptr, false);
  if (extra.is_object()) a.extra = std::move(extra);
  a.created_ms = s.Int(11);
  a.updated_ms = s.Int(12);
  return a;
}

VersionRecord VersionFromRow(Stmt& s) {
  // Braced initializers evaluate in order: the columns are read left to right.
  return VersionRecord{s.Int(0), s.Text(1), s.Text(2), s.Int(3), s.Int(4),
                       s.Int(5), s.Text(6), s.Int(7), s.Int(8)};
}

Result<ArtifactRecord> LoadArtifact(sqlite3* db, int64_t id) {
  Stmt s(db, (std::string("SELECT ") + kArtifactColumns + " FROM artifacts WHERE id = ?").c_str());
  s.Bind(1, id);
  int rc = s.Step();
  if (rc == SQLITE_ROW) return ArtifactFromRow(s);
  if (rc == SQLITE_DONE) return NotFound("artifact " + std::to_string(id) + " not found");
  return SqlError(db, "read artifact");
}

// Which namespace a chunk namespace name means: nullopt for "public", the artifact id for
// "a<id>", -1 (no artifact) for anything else.
std::optional<int64_t> PrivateNamespaceArtifact(const std::string& ns) {
  if (ns == "public") return std::nullopt;
  if (ns.size() < 2 || ns.size() > 19 || ns[0] != 'a') return -1;
  int64_t id = 0;
  for (size_t i = 1; i < ns.size(); ++i) {
    if (ns[i] < '0' || ns[i] > '9') return -1;
    id = id * 10 + (ns[i] - '0');
  }
  return id;
}

// Answers "does any version in the namespace reference this chunk" with one prepared statement,
// reused per chunk.
class NamespaceRefs {
 public:
  NamespaceRefs(sqlite3* db, const std::string& ns)
      : artifact_(PrivateNamespaceArtifact(ns)),
        stmt_(db, artifact_
                      ? "SELECT 1 FROM chunk_refs WHERE sha256 = ? AND artifact_id = ? LIMIT 1"
                      : "SELECT 1 FROM chunk_refs c JOIN artifacts a ON a.id = c.artifact_id "
                        "WHERE c.sha256 = ? AND a.private = 0 LIMIT 1") {}
  bool ok() const { return stmt_.ok(); }
  // SQLITE_ROW: referenced; SQLITE_DONE: not; anything else: an error.
  int Check(const std::string& sha256) {
    sqlite3_reset(stmt_.get());
    stmt_.Bind(1, sha256);
    if (artifact_) stmt_.Bind(2, *artifact_);
    return stmt_.Step();
  }

 private:
  std::optional<int64_t> artifact_;
  Stmt stmt_;
};

}  // namespace

std::string ArtifactRecord::ChunkNamespace() const {
  return is_private ? "a" + std::to_string(id) : "public";
}

Result<std::unique_ptr<RegistryDb>> RegistryDb::Open(const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return Unavailable("cannot open " + path + ": " + msg);
  }
  std::unique_ptr<RegistryDb> registry(new RegistryDb(db));
  sqlite3_busy_timeout(db, 2000);
  // As the scheduler's own database: WAL, and synchronous=FULL so that an acknowledged push
  // survives power loss.
  RETURN_IF_ERROR(Exec(db, "PRAGMA journal_mode=WAL"));
  RETURN_IF_ERROR(Exec(db, "PRAGMA synchronous=FULL"));
  RETURN_IF_ERROR(Exec(db, "PRAGMA foreign_keys=ON"));
  RETURN_IF_ERROR(Exec(db, kSchema));
  // Databases made before versions recorded the job they were published from.
  if (Stmt probe(db, "SELECT source_job FROM versions LIMIT 0"); !probe.ok()) {
    RETURN_IF_ERROR(Exec(db, "ALTER TABLE versions ADD COLUMN source_job INTEGER DEFAULT 0"));
  }
  return registry;
}

RegistryDb::~RegistryDb() { sqlite3_close(db_); }

// --- artifacts ---

Result<ArtifactRecord> RegistryDb::Upsert(const ArtifactRecord& record, int64_t now_ms,
                                          bool* created) {
  if (!IsDnsLabel(record.name)) {
    return InvalidArgument("artifact name '" + record.name +
                           "' is not a DNS label (1-63 of a-z, 0-9 and '-')");
  }
  Txn txn(db_);
  if (!txn.ok()) return SqlError(db_, "begin");
  const std::string kind(ToString(record.kind));
  const std::string workers = Dump(nlohmann::json(record.trusted_workers));
  const std::string extra =
      Dump(record.extra.is_object() ? record.extra : nlohmann::json::object());
  Stmt find(db_, "SELECT id, private FROM artifacts WHERE kind = ? AND account = ? AND name = ?");
  find.Bind(1, kind).Bind(2, record.account).Bind(3, record.name);
  int rc = find.Step();
  int64_t id = 0;
  if (rc == SQLITE_ROW) {
    id = find.Int(0);
    bool stored_private = find.Int(1) != 0;
    if (stored_private != record.is_private) {
      return FailedPrecondition(
          ArtifactKey(record) + " is " + (stored_private ? "private" : "public") +
          ": visibility cannot change (a public artifact's chunks are shared, a private one's "
          "are encrypted under its own key); push it under a new name as " +
          (record.is_private ? "private" : "public") + " instead");
    }
    Stmt up(db_,
            "UPDATE artifacts SET description = ?, license = ?, format = ?, trusted_workers = ?, "
            "extra = ?, updated_ms = ? WHERE id = ?");
    up.Bind(1, record.description).Bind(2, record.license).Bind(3, record.format);
    up.Bind(4, workers).Bind(5, extra).Bind(6, now_ms).Bind(7, id);
    if (up.Step() != SQLITE_DONE) return SqlError(db_, "update artifact");
  } else if (rc == SQLITE_DONE) {
    Stmt ins(db_,
             "INSERT INTO artifacts (kind, account, name, private, description, license, format, "
             "trusted_workers, wrapped_key, extra, created_ms, updated_ms) "
             "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    ins.Bind(1, kind).Bind(2, record.account).Bind(3, record.name);
    ins.Bind(4, int64_t{record.is_private ? 1 : 0}).Bind(5, record.description);
    ins.Bind(6, record.license).Bind(7, record.format).Bind(8, workers);
    ins.Bind(9, record.wrapped_key).Bind(10, extra).Bind(11, now_ms).Bind(12, now_ms);
    if (ins.Step() != SQLITE_DONE) return SqlError(db_, "insert artifact");
    id = sqlite3_last_insert_rowid(db_);
  } else {
    return SqlError(db_, "read artifact");
  }
  ASSIGN_OR_RETURN(ArtifactRecord stored, LoadArtifact(db_, id));
  if (!txn.Commit()) return Unavailable("registry db commit: " + txn.error());
  if (created) *created = rc == SQLITE_DONE;
  return stored;
}

Result<ArtifactRecord> RegistryDb::Find(ArtifactKind kind, const std::string& account,
                                        const std::string& name) const {
  Stmt s(db_, (std::string("SELECT ") + kArtifactColumns +
               " FROM artifacts WHERE kind = ? AND account = ? AND name = ?")
                  .c_str());
  s.Bind(1, std::string(ToString(kind))).Bind(2, account).Bind(3, name);
  int rc = s.Step();
  if (rc == SQLITE_ROW) return ArtifactFromRow(s);
  if (rc == SQLITE_DONE) return NotFound(ArtifactKey(kind, account, name) + " not found");
  return SqlError(db_, "read artifact");
}

Result<ArtifactRecord> RegistryDb::FindById(int64_t id) const { return LoadArtifact(db_, id); }

std::vector<ArtifactRecord> RegistryDb::List(ArtifactKind kind,
                                             const std::optional<std::string>& account) const {
  std::string sql = std::string("SELECT ") + kArtifactColumns + " FROM artifacts WHERE kind = ?";
  if (account) sql += " AND account = ?";
  sql += " ORDER BY account, name";
  Stmt s(db_, sql.c_str());
  std::vector<ArtifactRecord> out;
  s.Bind(1, std::string(ToString(kind)));
  if (account) s.Bind(2, *account);
  while (s.Step() == SQLITE_ROW) out.push_back(ArtifactFromRow(s));
  return out;
}

Status RegistryDb::DeleteArtifact(int64_t artifact_id) {
  Txn txn(db_);
  if (!txn.ok()) return SqlError(db_, "begin");
  ASSIGN_OR_RETURN(ArtifactRecord artifact, LoadArtifact(db_, artifact_id));
  Stmt count(db_, "SELECT COUNT(*) FROM versions WHERE artifact_id = ?");
  count.Bind(1, artifact_id);
  if (count.Step() != SQLITE_ROW) return SqlError(db_, "count versions");
  if (int64_t n = count.Int(0); n > 0) {
    return FailedPrecondition(ArtifactKey(artifact) + " still has " + std::to_string(n) +
                              (n == 1 ? " version" : " versions") + ": delete them first");
  }
  Stmt grants(db_, "DELETE FROM grants WHERE artifact_id = ?");
  grants.Bind(1, artifact_id);
  if (grants.Step() != SQLITE_DONE) return SqlError(db_, "delete grants");
  Stmt del(db_, "DELETE FROM artifacts WHERE id = ?");
  del.Bind(1, artifact_id);
  if (del.Step() != SQLITE_DONE) return SqlError(db_, "delete artifact");
  if (!txn.Commit()) return Unavailable("registry db commit: " + txn.error());
  return Status::Ok();
}

// --- versions ---

Status RegistryDb::AddVersion(const VersionRecord& version, const Manifest& manifest, bool* added) {
  if (added) *added = false;
  if (!IsVersionName(version.version)) {
    return InvalidArgument("'" + version.version +
                           "' is not a version name (1-64 of A-Z a-z 0-9 . _ -, starting with a "
                           "letter or digit, not 'latest')");
  }
  RETURN_IF_ERROR(ValidateManifest(manifest));
  // ManifestDigest, from the text already built (building it again costs as much as the rest
  // of a 200,000-chunk push).
  const std::string text = CanonicalManifestText(manifest);
  if (const std::string digest = Sha256Hex(text); digest != version.digest) {
    return InvalidArgument("version " + version.version + ": digest " + version.digest +
                           " is not the manifest's (" + digest + ")");
  }
  Txn txn(db_);
  if (!txn.ok()) return SqlError(db_, "begin");
  ASSIGN_OR_RETURN(ArtifactRecord artifact, LoadArtifact(db_, version.artifact_id));
  const std::string key = ArtifactKey(artifact);
  {
    Stmt by_name(db_, "SELECT digest FROM versions WHERE artifact_id = ? AND version = ?");
    by_name.Bind(1, version.artifact_id).Bind(2, version.version);
    int rc = by_name.Step();
    if (rc == SQLITE_ROW) {
      if (by_name.Text(0) == version.digest) return Status::Ok();  // a retried push
      return AlreadyExists(key + "@" + version.version + " already exists with digest sha256:" +
                           by_name.Text(0) + " (versions are immutable: push a new version name)");
    }
    if (rc != SQLITE_DONE) return SqlError(db_, "read version");
    Stmt by_digest(db_, "SELECT version FROM versions WHERE artifact_id = ? AND digest = ?");
    by_digest.Bind(1, version.artifact_id).Bind(2, version.digest);
    rc = by_digest.Step();
    if (rc == SQLITE_ROW) {
      return AlreadyExists(key + "@" + by_digest.Text(0) +
                           " already holds this manifest (sha256:" + version.digest + ")");
    }
    if (rc != SQLITE_DONE) return SqlError(db_, "read version");
  }
  // The sizes are the manifest's, whatever the record says: they are what quotas count.
  int64_t bytes = 0;
  for (const ManifestFile& f : manifest.files) bytes += f.size;
  Stmt ins(db_,
           "INSERT INTO versions (artifact_id, version, digest, bytes, files, chunks, publisher, "
           "created_ms, manifest, source_job) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  ins.Bind(1, version.artifact_id).Bind(2, version.version).Bind(3, version.digest);
  ins.Bind(4, bytes).Bind(5, static_cast<int64_t>(manifest.files.size()));
  ins.Bind(6, static_cast<int64_t>(manifest.chunks.size())).Bind(7, version.publisher);
  ins.Bind(8, version.created_ms).Bind(9, text).Bind(10, version.source_job);
  if (ins.Step() != SQLITE_DONE) return SqlError(db_, "insert version");
  const int64_t version_id = sqlite3_last_insert_rowid(db_);
  // A manifest may list a chunk several times (repeated content): it is referenced once. Sorted,
  // the inserts append to both B-trees instead of touching random pages: several times faster.
  std::vector<std::string_view> shas;
  shas.reserve(manifest.chunks.size());
  for (const ManifestChunk& c : manifest.chunks) shas.push_back(c.sha256);
  std::sort(shas.begin(), shas.end());
  shas.erase(std::unique(shas.begin(), shas.end()), shas.end());
  Stmt ref(db_, "INSERT INTO chunk_refs (version_id, sha256, artifact_id) VALUES (?, ?, ?)");
  if (!ref.ok()) return SqlError(db_, "prepare");
  ref.Bind(1, version_id).Bind(3, version.artifact_id);
  for (std::string_view sha : shas) {
    sqlite3_reset(ref.get());
    sqlite3_bind_text(ref.get(), 2, sha.data(), static_cast<int>(sha.size()), SQLITE_STATIC);
    if (ref.Step() != SQLITE_DONE) return SqlError(db_, "insert chunk reference");
  }
  if (!txn.Commit()) return Unavailable("registry db commit: " + txn.error());
  if (added) *added = true;
  return Status::Ok();
}

Result<VersionRecord> RegistryDb::FindVersion(int64_t artifact_id, const std::string& ref) const {
  ASSIGN_OR_RETURN(ArtifactRecord artifact, LoadArtifact(db_, artifact_id));
  const std::string base = std::string("SELECT ") + kVersionColumns + " FROM versions WHERE ";
  std::string sql;
  std::string key;
  if (ref.empty() || ref == "latest") {
    sql = base + "artifact_id = ? ORDER BY created_ms DESC, id DESC LIMIT 1";
  } else if (ref.starts_with(kDigestPrefix)) {
    sql = base + "artifact_id = ? AND digest = ?";
    key = ref.substr(kDigestPrefix.size());
  } else {
    sql = base + "artifact_id = ? AND version = ?";
    key = ref;
  }
  Stmt s(db_, sql.c_str());
  s.Bind(1, artifact_id);
  if (!key.empty()) s.Bind(2, key);
  int rc = s.Step();
  if (rc == SQLITE_ROW) return VersionFromRow(s);
  if (rc != SQLITE_DONE) return SqlError(db_, "read version");
  if (key.empty()) return NotFound(ArtifactKey(artifact) + "@latest not found: it has no versions");
  return NotFound(ArtifactKey(artifact) + "@" + ref + " not found");
}

std::optional<VersionRecord> RegistryDb::VersionFromJob(int64_t artifact_id, int64_t job) const {
  Stmt s(db_, (std::string("SELECT ") + kVersionColumns +
               " FROM versions WHERE artifact_id = ? AND source_job = ? ORDER BY id").c_str());
  s.Bind(1, artifact_id).Bind(2, job);
  return s.Step() == SQLITE_ROW ? std::optional(VersionFromRow(s)) : std::nullopt;
}

std::vector<VersionRecord> RegistryDb::Versions(int64_t artifact_id) const {
  Stmt s(db_, (std::string("SELECT ") + kVersionColumns +
               " FROM versions WHERE artifact_id = ? ORDER BY created_ms, id")
                  .c_str());
  std::vector<VersionRecord> out;
  s.Bind(1, artifact_id);
  while (s.Step() == SQLITE_ROW) out.push_back(VersionFromRow(s));
  return out;
}

Result<std::string> RegistryDb::ManifestText(int64_t artifact_id, const std::string& digest) const {
  Stmt s(db_, "SELECT manifest FROM versions WHERE artifact_id = ? AND digest = ?");
  s.Bind(1, artifact_id).Bind(2, digest);
  int rc = s.Step();
  if (rc == SQLITE_ROW) return s.Text(0);
  if (rc != SQLITE_DONE) return SqlError(db_, "read manifest");
  return NotFound("no version of artifact " + std::to_string(artifact_id) +
                  " has digest sha256:" + digest);
}

bool RegistryDb::VersionHasChunk(int64_t artifact_id, const std::string& digest,
                                 const std::string& sha256) const {
  Stmt s(db_,
         "SELECT 1 FROM versions v JOIN chunk_refs c ON c.version_id = v.id "
         "WHERE v.artifact_id = ? AND v.digest = ? AND c.sha256 = ?");
  s.Bind(1, artifact_id).Bind(2, digest).Bind(3, sha256);
  return s.Step() == SQLITE_ROW;
}

bool RegistryDb::ArtifactHasChunk(int64_t artifact_id, const std::string& sha256) const {
  Stmt s(db_, "SELECT 1 FROM chunk_refs WHERE sha256 = ? AND artifact_id = ? LIMIT 1");
  s.Bind(1, sha256).Bind(2, artifact_id);
  return s.Step() == SQLITE_ROW;
}

Result<std::vector<std::string>> RegistryDb::DeleteVersion(int64_t artifact_id,
                                                           const std::string& version) {
  Txn txn(db_);
  if (!txn.ok()) return SqlError(db_, "begin");
  ASSIGN_OR_RETURN(ArtifactRecord artifact, LoadArtifact(db_, artifact_id));
  Stmt find(db_, "SELECT id FROM versions WHERE artifact_id = ? AND version = ?");
  find.Bind(1, artifact_id).Bind(2, version);
  int rc = find.Step();
  if (rc == SQLITE_DONE) return NotFound(ArtifactKey(artifact) + "@" + version + " not found");
  if (rc != SQLITE_ROW) return SqlError(db_, "read version");
  const int64_t version_id = find.Int(0);

  std::vector<std::string> chunks;
  Stmt list(db_, "SELECT sha256 FROM chunk_refs WHERE version_id = ?");
  list.Bind(1, version_id);
  while ((rc = list.Step()) == SQLITE_ROW) chunks.push_back(list.Text(0));
  if (rc != SQLITE_DONE) return SqlError(db_, "read chunk references");
  Stmt refs(db_, "DELETE FROM chunk_refs WHERE version_id = ?");
  refs.Bind(1, version_id);
  if (refs.Step() != SQLITE_DONE) return SqlError(db_, "delete chunk references");
  Stmt del(db_, "DELETE FROM versions WHERE id = ?");
  del.Bind(1, version_id);
  if (del.Step() != SQLITE_DONE) return SqlError(db_, "delete version");

  // With this version's references gone, what nothing else in the namespace references is free.
  NamespaceRefs ns(db_, artifact.ChunkNamespace());
  if (!ns.ok()) return SqlError(db_, "prepare");
  std::vector<std::string> freed;
  for (std::string& sha : chunks) {
    rc = ns.Check(sha);
    if (rc == SQLITE_DONE)
      freed.push_back(std::move(sha));
    else if (rc != SQLITE_ROW)
      return SqlError(db_, "read chunk references");
  }
  if (!txn.Commit()) return Unavailable("registry db commit: " + txn.error());
  return freed;
}

std::vector<std::string> RegistryDb::Unreferenced(
    const std::string& ns, const std::vector<std::string>& candidates) const {
  // A namespace that is neither "public" nor "a<digits>" holds no versions: every candidate is
  // unreferenced there (the caller has no store of that name either).
  NamespaceRefs refs(db_, ns);
  std::vector<std::string> out;
  if (!refs.ok()) return out;
  for (const std::string& sha : candidates) {
    // On an error the chunk counts as referenced: keeping a chunk is safe, removing one is not.
    if (refs.Check(sha) == SQLITE_DONE) out.push_back(sha);
  }
  return out;
}

// --- quotas ---

int64_t RegistryDb::BytesOwnedBy(const std::string& account) const {
  Stmt s(
      db_,
      "SELECT COALESCE(SUM(v.bytes), 0) FROM versions v JOIN artifacts a ON a.id = v.artifact_id "
      "WHERE a.account = ?");
  s.Bind(1, account);
  return s.Step() == SQLITE_ROW ? s.Int(0) : 0;
}

std::vector<std::pair<std::string, int64_t>> RegistryDb::BytesByAccount() const {
  // Accounts that own an artifact without versions are listed with 0.
  Stmt s(db_,
         "SELECT a.account, COALESCE(SUM(v.bytes), 0) FROM artifacts a "
         "LEFT JOIN versions v ON v.artifact_id = a.id GROUP BY a.account ORDER BY a.account");
  std::vector<std::pair<std::string, int64_t>> out;
  while (s.Step() == SQLITE_ROW) out.emplace_back(s.Text(0), s.Int(1));
  return out;
}

// --- grants ---

Status RegistryDb::Grant(int64_t artifact_id, const GrantRecord& grant) {
  Txn txn(db_);
  if (!txn.ok()) return SqlError(db_, "begin");
  RETURN_IF_ERROR(LoadArtifact(db_, artifact_id).status());
  Stmt s(db_,
         "INSERT INTO grants (artifact_id, account, granted_by, granted_ms, expires_ms) "
         "VALUES (?, ?, ?, ?, ?) ON CONFLICT (artifact_id, account) DO UPDATE SET "
         "granted_by = excluded.granted_by, granted_ms = excluded.granted_ms, "
         "expires_ms = excluded.expires_ms");
  s.Bind(1, artifact_id).Bind(2, grant.account).Bind(3, grant.granted_by);
  s.Bind(4, grant.granted_ms).Bind(5, grant.expires_ms);
  if (s.Step() != SQLITE_DONE) return SqlError(db_, "write grant");
  if (!txn.Commit()) return Unavailable("registry db commit: " + txn.error());
  return Status::Ok();
}

Status RegistryDb::Revoke(int64_t artifact_id, const std::string& account) {
  Txn txn(db_);
  if (!txn.ok()) return SqlError(db_, "begin");
  ASSIGN_OR_RETURN(ArtifactRecord artifact, LoadArtifact(db_, artifact_id));
  Stmt s(db_, "DELETE FROM grants WHERE artifact_id = ? AND account = ?");
  s.Bind(1, artifact_id).Bind(2, account);
  if (s.Step() != SQLITE_DONE) return SqlError(db_, "delete grant");
  if (sqlite3_changes(db_) == 0) {
    return NotFound(account + " holds no grant on " + ArtifactKey(artifact));
  }
  if (!txn.Commit()) return Unavailable("registry db commit: " + txn.error());
  return Status::Ok();
}

std::vector<GrantRecord> RegistryDb::Grants(int64_t artifact_id) const {
  Stmt s(db_,
         "SELECT account, granted_by, granted_ms, expires_ms FROM grants WHERE artifact_id = ? "
         "ORDER BY account");
  std::vector<GrantRecord> out;
  s.Bind(1, artifact_id);
  while (s.Step() == SQLITE_ROW) {
    out.push_back(GrantRecord{s.Text(0), s.Text(1), s.Int(2), s.Int(3)});
  }
  return out;
}

bool RegistryDb::HasGrant(int64_t artifact_id, const std::string& account, int64_t now_ms) const {
  Stmt s(db_,
         "SELECT 1 FROM grants WHERE artifact_id = ? AND account = ? "
         "AND (expires_ms = 0 OR expires_ms > ?)");
  s.Bind(1, artifact_id).Bind(2, account).Bind(3, now_ms);
  return s.Step() == SQLITE_ROW;
}

// --- audit ---

Status RegistryDb::AppendAudit(int64_t artifact_id, const AuditRecord& record) {
  // One statement: SQLite commits it as its own transaction.
  Stmt s(db_,
         "INSERT INTO audit (artifact_id, time_ms, account, job, worker, action, version, allowed, "
         "detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
  s.Bind(1, artifact_id).Bind(2, record.time_ms).Bind(3, record.account).Bind(4, record.job);
  s.Bind(5, record.worker).Bind(6, record.action).Bind(7, record.version);
  s.Bind(8, int64_t{record.allowed ? 1 : 0}).Bind(9, record.detail);
  if (s.Step() != SQLITE_DONE) return SqlError(db_, "append audit");
  return Status::Ok();
}

std::vector<AuditRecord> RegistryDb::Audit(int64_t artifact_id, int64_t after_seq,
                                           int limit) const {
  std::vector<AuditRecord> out;
  if (limit <= 0) return out;
  Stmt s(db_,
         "SELECT seq, time_ms, account, job, worker, action, version, allowed, detail FROM audit "
         "WHERE artifact_id = ? AND seq > ? ORDER BY seq LIMIT ?");
  s.Bind(1, artifact_id).Bind(2, after_seq).Bind(3, int64_t{limit});
  while (s.Step() == SQLITE_ROW) {
    out.push_back(AuditRecord{s.Int(0), s.Int(1), s.Text(2), s.Int(3), s.Text(4), s.Text(5),
                              s.Text(6), s.Int(7) != 0, s.Text(8)});
  }
  return out;
}

}  // namespace shoal
