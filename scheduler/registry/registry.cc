#include "scheduler/registry/registry.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <filesystem>
#include <set>

#include "common/file_util.h"
#include "common/memory_estimate.h"  // FormatBytes
#include "common/parse_number.h"

namespace shoal {

namespace {

std::string Hex(const unsigned char* data, size_t n) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kDigits[data[i] >> 4]);
    out.push_back(kDigits[data[i] & 15]);
  }
  return out;
}

std::string ArtifactName(const ArtifactRecord& a) {
  return std::string(ToString(a.kind)) + "/" + a.account + "/" + a.name;
}

}  // namespace

Result<std::unique_ptr<Registry>> Registry::Open(RegistryOptions options) {
  std::unique_ptr<Registry> r(new Registry());
  std::error_code ec;
  std::filesystem::create_directories(options.dir, ec);
  if (ec) return Unavailable("cannot create the registry directory " + options.dir + ": " + ec.message());
  // What a publish interrupted by a crash left half-written (its chunks are collected later).
  std::filesystem::remove_all(options.dir + "/staging", ec);
  ASSIGN_OR_RETURN(r->db_, RegistryDb::Open(options.dir + "/registry.db"));
  ASSIGN_OR_RETURN(r->public_store_, ChunkStore::Open(options.dir + "/chunks/public"));
  if (!options.master_key_file.empty()) {
    ASSIGN_OR_RETURN(MasterKey key, LoadMasterKey(options.master_key_file));
    r->master_key_ = key;
  }
  const std::string key_path = options.dir + "/capability.key";
  auto key = ReadFileLimited(key_path, 4096);
  if (key.ok() && key->size() == 32) {
    r->capability_key_ = std::move(*key);
  } else if (key.ok() || key.status().code() == StatusCode::kNotFound) {
    std::string fresh(32, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(fresh.data()), 32) != 1) {
      return Internal("the OS's random generator failed (capability key)");
    }
    RETURN_IF_ERROR(WriteFileAtomic(key_path, fresh, 0600));
    r->capability_key_ = std::move(fresh);
  } else {
    return key.status();
  }
  r->options_ = std::move(options);
  return r;
}

bool Registry::MayRead(const ArtifactRecord& a, const std::string& account, bool admin,
                       int64_t now_ms) const {
  return admin || !a.is_private || a.account == account || db_->HasGrant(a.id, account, now_ms);
}

Result<ArtifactRecord> Registry::Upsert(ArtifactRecord record, int64_t now_ms, bool* created) {
  auto existing = db_->Find(record.kind, record.account, record.name);
  if (!existing.ok() && existing.status().code() != StatusCode::kNotFound) return existing.status();
  if (!existing.ok() && record.is_private) {
    if (!master_key_) {
      return FailedPrecondition(
          "this scheduler keeps no private " + std::string(ToString(record.kind)) +
          ": it has no master key to encrypt them with (registry.masterKeyFile in its config)");
    }
    ASSIGN_OR_RETURN(DataKey data_key, NewDataKey());
    ASSIGN_OR_RETURN(record.wrapped_key, WrapDataKey(*master_key_, data_key, ArtifactName(record)));
  }
  return db_->Upsert(record, now_ms, created);
}

Result<ChunkStore*> Registry::StoreFor(const ArtifactRecord& a) {
  if (!a.is_private) return public_store_.get();
  if (auto it = private_stores_.find(a.id); it != private_stores_.end()) return it->second.get();
  if (!master_key_) {
    return Unavailable(ArtifactName(a) + " is private and this scheduler has no master key to "
                       "decrypt it (registry.masterKeyFile)");
  }
  auto key = UnwrapDataKey(*master_key_, a.wrapped_key, ArtifactName(a));
  if (!key.ok()) {
    return Unavailable("cannot unwrap the data key of " + ArtifactName(a) +
                       " (is this the master key it was stored with?): " + key.status().message());
  }
  ASSIGN_OR_RETURN(std::unique_ptr<ChunkStore> store,
                   ChunkStore::Open(options_.dir + "/chunks/" + a.ChunkNamespace(), *key));
  ChunkStore* out = store.get();
  private_stores_[a.id] = std::move(store);
  return out;
}

Status Registry::CheckQuota(const std::string& account, int64_t more_bytes,
                            bool count_uploads) const {
  if (options_.quota_bytes <= 0) return Status::Ok();
  const int64_t uploaded = count_uploads ? UploadedBytes(account) : 0;
  const int64_t used = db_->BytesOwnedBy(account) + uploaded;
  if (used + more_bytes <= options_.quota_bytes) return Status::Ok();
  return ResourceExhausted("account " + account + " stores " + FormatBytes(used) +
                           (uploaded > 0 ? " (" + FormatBytes(uploaded) +
                                               " of it chunks of pushes not finished yet)"
                                         : std::string()) +
                           " in the registry; " + FormatBytes(more_bytes) +
                           " more would pass its quota of " + FormatBytes(options_.quota_bytes) +
                           " (registryQuota); delete versions it no longer needs");
}

void Registry::NoteUpload(const std::string& account, const std::string& id, int64_t bytes,
                          int64_t now_ms) {
  Uploads& u = uploads_[account];
  if (u.chunks.emplace(id, std::make_pair(bytes, now_ms)).second) u.bytes += bytes;
}

void Registry::ForgetUploads(const std::string& account, const std::vector<std::string>& ids) {
  auto it = uploads_.find(account);
  if (it == uploads_.end()) return;
  for (const std::string& id : ids) {
    if (auto c = it->second.chunks.find(id); c != it->second.chunks.end()) {
      it->second.bytes -= c->second.first;
      it->second.chunks.erase(c);
    }
  }
  if (it->second.chunks.empty()) uploads_.erase(it);
}

void Registry::ForgetUploadsBefore(int64_t cutoff_ms) {
  for (auto it = uploads_.begin(); it != uploads_.end();) {
    std::erase_if(it->second.chunks, [&](const auto& c) {
      if (c.second.second >= cutoff_ms) return false;
      it->second.bytes -= c.second.first;
      return true;
    });
    it = it->second.chunks.empty() ? uploads_.erase(it) : std::next(it);
  }
}

int64_t Registry::UploadedBytes(const std::string& account) const {
  auto it = uploads_.find(account);
  return it == uploads_.end() ? 0 : it->second.bytes;
}

int64_t Registry::UploadedBytesAmong(const std::string& account,
                                     const std::vector<std::string>& ids) const {
  auto it = uploads_.find(account);
  if (it == uploads_.end()) return 0;
  int64_t bytes = 0;
  std::set<std::string_view> seen;
  for (const std::string& id : ids) {
    auto c = it->second.chunks.find(id);
    if (c != it->second.chunks.end() && seen.insert(id).second) bytes += c->second.first;
  }
  return bytes;
}

std::vector<std::string> Registry::Namespaces() const {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& d : std::filesystem::directory_iterator(options_.dir + "/chunks", ec)) {
    const std::string name = d.path().filename().string();
    int64_t id = 0;
    if (d.is_directory(ec) &&
        (name == "public" || (name.size() > 1 && name[0] == 'a' &&
                              ParseInteger(name.substr(1), &id) && id > 0))) {
      out.push_back(name);
    }
  }
  return out;
}

Result<ChunkStore*> Registry::StoreForNamespace(const std::string& ns) {
  if (ns == "public") return public_store_.get();
  int64_t id = 0;
  if (ns.size() < 2 || ns[0] != 'a' || !ParseInteger(ns.substr(1), &id) || id <= 0) {
    return InvalidArgument("no chunk namespace " + ns);
  }
  auto a = db_->FindById(id);
  if (a.ok()) return StoreFor(*a);
  if (a.status().code() != StatusCode::kNotFound) return a.status();
  // A private artifact deleted since: its leftover chunks can be listed and removed without the
  // key (never read).
  if (auto it = private_stores_.find(id); it != private_stores_.end()) return it->second.get();
  ASSIGN_OR_RETURN(std::unique_ptr<ChunkStore> store,
                   ChunkStore::Open(options_.dir + "/chunks/" + ns));
  ChunkStore* out = store.get();
  private_stores_[id] = std::move(store);
  return out;
}

Status Registry::DeleteVersion(const ArtifactRecord& a, const std::string& version) {
  ASSIGN_OR_RETURN(ChunkStore * store, StoreFor(a));
  ASSIGN_OR_RETURN(std::vector<std::string> freed, db_->DeleteVersion(a.id, version));
  // After the commit: a crash in between leaves unreferenced chunks, never a version missing
  // chunks (Unreferenced finds them later).
  for (const std::string& id : freed) RETURN_IF_ERROR(store->Remove(id));
  return Status::Ok();
}

Result<wire::Pin> Registry::Resolve(const RegistryUri& uri, const std::string& account,
                                    bool admin, int64_t now_ms) const {
  auto a = db_->Find(uri.kind, uri.account, uri.name);
  if (!a.ok()) return NotFound(uri.ArtifactKey() + " not found");
  if (!MayRead(*a, account, admin, now_ms)) {
    return PermissionDenied(uri.ArtifactKey() + " is private to account " + a->account +
                            ", and account " + account + " holds no grant to read it (shoal " +
                            "data grant " + a->name + " " + account + ", by its owner)");
  }
  auto v = db_->FindVersion(a->id, uri.version);
  if (!v.ok()) return v.status();
  wire::Pin pin;
  pin.kind = std::string(ToString(uri.kind));
  pin.account = uri.account;
  pin.name = uri.name;
  pin.version = v->version;
  pin.digest = v->digest;
  pin.bytes = v->bytes;
  if (a->is_private) {
    pin.trusted_workers = a->trusted_workers;
    pin.is_private = true;
  }
  return pin;
}

std::string Registry::Capability(int64_t job, int attempt) const {
  const std::string message = std::to_string(job) + ":" + std::to_string(attempt);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), capability_key_.data(), static_cast<int>(capability_key_.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &mac_len);
  return "shoalcap_" + std::to_string(job) + "_" + std::to_string(attempt) + "_" +
         Hex(mac, mac_len);
}

Result<std::pair<int64_t, int>> Registry::CheckCapability(std::string_view capability) const {
  const auto refused = PermissionDenied("the read capability is not valid");
  constexpr std::string_view kPrefix = "shoalcap_";
  if (!capability.starts_with(kPrefix) || capability.size() > 200) return refused;
  std::string_view rest = capability.substr(kPrefix.size());
  const size_t a = rest.find('_');
  const size_t b = a == std::string_view::npos ? a : rest.find('_', a + 1);
  if (b == std::string_view::npos) return refused;
  int64_t job = 0, attempt = 0;
  if (!ParseInteger(rest.substr(0, a), &job) || !ParseInteger(rest.substr(a + 1, b - a - 1), &attempt) ||
      job <= 0 || attempt <= 0 || attempt > (1 << 30)) {
    return refused;
  }
  const std::string expected = Capability(job, static_cast<int>(attempt));
  // Constant time: the MAC is a secret until it matches.
  if (expected.size() != capability.size() ||
      CRYPTO_memcmp(expected.data(), capability.data(), expected.size()) != 0) {
    return refused;
  }
  return std::make_pair(job, static_cast<int>(attempt));
}

}  // namespace shoal
