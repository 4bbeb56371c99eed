// The registry routes of the Api (docs/registry.md, "HTTP API"): datasets and models, their
// cards, chunks, versions, grants and audit logs, and the attempts' read capabilities.
// Part of the Api class (scheduler/api/api.h); the files share api_internal.h.
#include <algorithm>
#include <cstdio>
#include <set>
#include <utility>  // before Boost 1.74 awaitable.hpp, which uses std::exchange unincluded

#include <nlohmann/json.hpp>

#include "common/log.h"
#include "common/registry/manifest.h"
#include "common/registry/uri.h"
#include "common/sha256.h"
#include "scheduler/api/api.h"
#include "scheduler/api/api_internal.h"

namespace shoal {

namespace asio = boost::asio;
using nlohmann::json;
using api_internal::JsonReply;
using api_internal::MethodNotAllowed;
using api_internal::ParseJsonBody;
using api_internal::RunOn;
using api_internal::WallMs;

namespace {

std::string Key(const ArtifactRecord& a) {
  return std::string(ToString(a.kind)) + "/" + a.account + "/" + a.name;
}

json VersionJson(const VersionRecord& v) {
  return {{"version", v.version}, {"digest", v.digest},       {"bytes", v.bytes},
          {"files", v.files},     {"chunks", v.chunks},       {"publisher", v.publisher},
          {"created", v.created_ms}};
}

json CardJson(const ArtifactRecord& a, const std::vector<VersionRecord>* versions) {
  json j = {{"kind", ToString(a.kind)},
            {"account", a.account},
            {"name", a.name},
            {"visibility", a.is_private ? "private" : "public"},
            {"description", a.description},
            {"license", a.license},
            {"format", a.format},
            {"trustedWorkers", a.trusted_workers},
            {"created", a.created_ms},
            {"updated", a.updated_ms}};
  if (a.kind == ArtifactKind::kModel) j["card"] = a.extra;
  if (versions != nullptr) {
    int64_t bytes = 0;
    json list = json::array();
    for (const VersionRecord& v : *versions) {
      bytes += v.bytes;
      list.push_back(VersionJson(v));
    }
    j["bytes"] = bytes;
    j["versions"] = std::move(list);
  }
  return j;
}

// The card fields of a PUT body; InvalidArgument naming the field.
Status ReadCard(const json& body, ArtifactRecord* a) {
  auto text = [&](const char* key, size_t max, std::string* out) -> Status {
    if (!body.contains(key)) return Status::Ok();
    if (!body[key].is_string() || body[key].get<std::string>().size() > max) {
      return InvalidArgument(std::string(key) + " must be a string of at most " +
                             std::to_string(max) + " bytes");
    }
    *out = body[key].get<std::string>();
    return Status::Ok();
  };
  std::string visibility = "public";
  RETURN_IF_ERROR(text("visibility", 16, &visibility));
  if (visibility != "public" && visibility != "private") {
    return InvalidArgument("visibility must be public or private, got \"" + visibility + "\"");
  }
  a->is_private = visibility == "private";
  RETURN_IF_ERROR(text("description", 16384, &a->description));
  RETURN_IF_ERROR(text("license", 128, &a->license));
  RETURN_IF_ERROR(text("format", 64, &a->format));
  if (body.contains("trustedWorkers")) {
    const json& t = body["trustedWorkers"];
    if (!t.is_array() || t.size() > 256) {
      return InvalidArgument("trustedWorkers must be a list of at most 256 accounts");
    }
    for (const json& acc : t) {
      if (!acc.is_string() || !IsDnsLabel(acc.get<std::string>())) {
        return InvalidArgument("trustedWorkers must list account names (DNS labels)");
      }
      a->trusted_workers.push_back(acc.get<std::string>());
    }
    if (!a->trusted_workers.empty() && !a->is_private) {
      return InvalidArgument("trustedWorkers applies to private artifacts only");
    }
  }
  if (body.contains("card")) {
    if (!body["card"].is_object()) return InvalidArgument("card must be an object");
    a->extra = body["card"];
  }
  return Status::Ok();
}

std::string HeaderOr(const HttpRequest& req, const char* name) {
  auto it = req.headers.find(name);
  return it == req.headers.end() ? "" : it->second;
}

// "bytes=F-L" or "bytes=F-" of a chunk of `size` bytes: [offset, offset + length). False when
// malformed or outside the chunk.
bool ParseRange(const std::string& header, int64_t size, int64_t* offset, int64_t* length) {
  constexpr std::string_view kUnit = "bytes=";
  if (!header.starts_with(kUnit)) return false;
  const std::string spec = header.substr(kUnit.size());
  const size_t dash = spec.find('-');
  if (dash == std::string::npos) return false;
  int64_t first = 0, last = size - 1;
  if (!ParseInteger(spec.substr(0, dash), &first)) return false;
  if (dash + 1 < spec.size() && !ParseInteger(spec.substr(dash + 1), &last)) return false;
  if (first < 0 || first >= size || last < first) return false;
  last = std::min(last, size - 1);
  *offset = first;
  *length = last - first + 1;
  return true;
}

}  // namespace

// What a read capability allows this request, checked on the event loop: the pin it reads
// through, or the refusal.
Result<wire::Pin> Api::CapabilityPin(const HttpRequest& req, const Principal& p,
                                     const ArtifactRecord& a, int64_t* job_id) {
  ASSIGN_OR_RETURN(auto job_attempt, registry_->CheckCapability(HeaderOr(req, "x-shoal-capability")));
  const auto [job, attempt] = job_attempt;
  const Job* j = scheduler_->FindJob(job);
  const Attempt* current = j == nullptr ? nullptr : j->current_attempt();
  if (current == nullptr || current->number != attempt ||
      !(p.admin() || (p.role == Role::kContributor &&
                      scheduler_->AccountRunsAttempt(p.account, job, attempt)))) {
    return PermissionDenied("the read capability of job " + std::to_string(job) + " attempt " +
                            std::to_string(attempt) +
                            " has expired, or this account runs no rank of it");
  }
  *job_id = job;
  for (const wire::Pin& pin : j->pins) {
    if (pin.kind == ToString(a.kind) && pin.account == a.account && pin.name == a.name) return pin;
  }
  return PermissionDenied("job " + std::to_string(job) + " does not read " + Key(a));
}

void Api::AuditRead(const ArtifactRecord& a, const Principal& p, int64_t job,
                    const HttpRequest& req, const std::string& action, const std::string& version,
                    const Status& outcome) {
  if (!a.is_private) return;
  AuditRecord r;
  r.time_ms = WallMs();
  r.account = p.account;
  r.job = job;
  r.worker = HeaderOr(req, "x-shoal-worker").substr(0, 128);
  r.action = action;
  r.version = version;
  r.allowed = outcome.ok();
  r.detail = outcome.ok() ? "" : outcome.message();
  if (Status st = registry_->db().AppendAudit(a.id, r); !st.ok()) {
    LOG_WARN << "registry audit of " << Key(a) << " not stored: " << st.message();
  }
}

std::vector<int64_t> Api::JobsPinning(const ArtifactRecord& a, const std::string& digest) const {
  std::vector<int64_t> ids;
  for (const Job* j : scheduler_->ListJobs(std::nullopt, "", "")) {
    if (IsTerminal(j->state)) continue;
    for (const wire::Pin& pin : j->pins) {
      if (pin.kind == ToString(a.kind) && pin.account == a.account && pin.name == a.name &&
          (digest.empty() || pin.digest == digest)) {
        ids.push_back(j->id);
        break;
      }
    }
  }
  return ids;
}

Status Api::PinRegistryData(Job* job, const Principal& p) {
  std::set<std::string> seen;
  for (const std::string* path : {&job->spec.data.train, &job->spec.data.test}) {
    if (!IsRegistryUri(*path)) continue;
    const char* field = path == &job->spec.data.train ? "spec.data.train" : "spec.data.test";
    auto uri = ParseRegistryUri(*path);
    if (!uri.ok()) return InvalidArgument(std::string(field) + ": " + uri.status().message());
    if (registry_ == nullptr) {
      return FailedPrecondition(std::string(field) +
                                " names a registry URI, but this scheduler keeps no registry");
    }
    auto pin = registry_->Resolve(*uri, p.account, p.admin(), WallMs());
    if (!pin.ok()) {
      if (pin.status().code() == StatusCode::kPermissionDenied) {
        auto a = registry_->db().Find(uri->kind, uri->account, uri->name);
        HttpRequest none;
        if (a.ok()) AuditRead(*a, p, 0, none, "submit", uri->version, pin.status());
      }
      return pin.status();
    }
    const std::string key = uri->ArtifactKey();
    if (!seen.insert(key).second) {
      bool same = false;
      for (const wire::Pin& other : job->pins) same = same || other.digest == pin->digest;
      if (!same) {
        return InvalidArgument("the spec names two versions of " + key +
                               "; a job reads one version of each dataset");
      }
      continue;
    }
    job->pins.push_back(std::move(*pin));
  }
  return Status::Ok();
}

asio::awaitable<HttpReply> Api::Registry(const HttpRequest& req,
                                         const std::vector<std::string>& parts,
                                         const Principal& p) {
  if (registry_ == nullptr) {
    co_return ErrorReply(503, "Unavailable", "this scheduler keeps no registry");
  }
  auto kind = ParseArtifactKind(parts[1]);
  if (!kind.ok()) co_return ErrorReply(kind.status());
  const int64_t now = WallMs();
  if (parts.size() == 2) {  // GET /v1/KIND[?account=A]
    if (req.method != "GET") co_return MethodNotAllowed(req);
    std::optional<std::string> account;
    if (auto it = req.query.find("account"); it != req.query.end() && !it->second.empty()) {
      account = it->second;
    }
    json items = json::array();
    for (const ArtifactRecord& a : registry_->db().List(*kind, account)) {
      if (registry_->MayRead(a, p.account, p.admin(), now)) {
        auto versions = registry_->db().Versions(a.id);
        items.push_back(CardJson(a, &versions));
      }
    }
    co_return JsonReply(200, json{{"items", std::move(items)}});
  }
  const std::string& account = parts[2];
  const std::string& name = parts[3];
  if (!IsDnsLabel(account) || !IsDnsLabel(name)) {
    co_return ErrorReply(400, "InvalidArgument",
                         "account and name must be DNS labels (1..63 of a-z, 0-9, '-'), got \"" +
                             account.substr(0, 80) + "/" + name.substr(0, 80) + "\"");
  }
  const std::string key = std::string(ToString(*kind)) + "/" + account + "/" + name;
  const bool owner = p.admin() || (p.role == Role::kUser && p.account == account);
  if (parts.size() == 4 && req.method == "PUT") {
    if (!owner) {
      co_return ErrorReply(403, "PermissionDenied",
                           "only account " + account + " (with a user token) or an admin may " +
                               "publish " + key);
    }
    auto body = ParseJsonBody(req);
    if (!body.ok()) co_return ErrorReply(body.status());
    ArtifactRecord record;
    record.kind = *kind;
    record.account = account;
    record.name = name;
    if (Status st = ReadCard(*body, &record); !st.ok()) co_return ErrorReply(st);
    bool created = false;
    auto stored = registry_->Upsert(record, now, &created);
    if (!stored.ok()) co_return ErrorReply(stored.status());
    if (created) LOG_INFO << "registry: " << key << " created by " << p.account;
    auto versions = registry_->db().Versions(stored->id);
    co_return JsonReply(created ? 201 : 200, CardJson(*stored, &versions));
  }
  auto artifact = registry_->db().Find(*kind, account, name);
  if (!artifact.ok()) co_return ErrorReply(404, "NotFound", key + " not found");
  const ArtifactRecord& a = *artifact;
  const bool capability = req.headers.count("x-shoal-capability") > 0;
  const bool reader = registry_->MayRead(a, p.account, p.admin(), now);
  // A private artifact the caller may not read does not exist for it, except on a direct read
  // (audited below, then 403).
  const bool direct_read = req.method == "GET" && parts.size() == 6 &&
                           (parts[4] == "chunks" || parts[4] == "versions");
  if (!reader && !capability && !direct_read) co_return ErrorReply(404, "NotFound", key + " not found");

  if (parts.size() == 4) {
    if (req.method == "GET") {
      auto versions = registry_->db().Versions(a.id);
      co_return JsonReply(200, CardJson(a, &versions));
    }
    if (req.method != "DELETE") co_return MethodNotAllowed(req);
    if (!owner) co_return ErrorReply(403, "PermissionDenied", "only its owner may delete " + key);
    Status st = registry_->db().DeleteArtifact(a.id);
    if (!st.ok()) co_return ErrorReply(st);
    co_return JsonReply(200, json{{"deleted", key}});
  }
  const std::string& sub = parts[4];
  if (direct_read) {
    int64_t job = 0;
    Status allowed = Status::Ok();
    std::optional<wire::Pin> pin;
    if (capability) {
      auto through = CapabilityPin(req, p, a, &job);
      if (through.ok()) pin = *through;
      allowed = through.status();
    } else if (!reader) {
      allowed = PermissionDenied(key + " is private to account " + a.account +
                                 ", and account " + p.account + " holds no grant to read it");
    }
    const std::string& item = parts[5];
    if (allowed.ok() && pin && sub == "versions" && item != "sha256:" + pin->digest) {
      allowed = PermissionDenied("job " + std::to_string(job) + " reads " + key + "@sha256:" +
                                 pin->digest + " only");
    }
    if (allowed.ok() && pin && sub == "chunks" &&
        !registry_->db().VersionHasChunk(a.id, pin->digest, item)) {
      allowed = PermissionDenied("chunk " + item.substr(0, 64) + " is not part of the version job " +
                                 std::to_string(job) + " reads");
    }
    if (sub == "versions" || !allowed.ok()) {
      AuditRead(a, p, job, req, sub == "versions" ? "manifest" : "chunk", item.substr(0, 80),
                allowed);
    }
    if (!allowed.ok()) co_return ErrorReply(allowed);
    if (sub == "versions") {
      auto v = registry_->db().FindVersion(a.id, item);
      if (!v.ok()) co_return ErrorReply(v.status());
      auto text = registry_->db().ManifestText(a.id, v->digest);
      if (!text.ok()) co_return ErrorReply(text.status());
      co_return HttpReply(200, std::move(*text), "application/json", {{"X-Shoal-Digest", v->digest}});
    }
    co_return co_await ReadChunk(req, a, item);
  }
  if (!owner) {
    co_return ErrorReply(403, "PermissionDenied",
                         "only account " + account + " (with a user token) or an admin may do this");
  }
  if (sub == "grants") co_return Grants(req, parts, a, p);
  if (sub == "audit" && parts.size() == 5 && req.method == "GET") {
    int64_t after = 0, limit = 1000;
    if (auto it = req.query.find("after"); it != req.query.end()) ParseInteger(it->second, &after);
    if (auto it = req.query.find("limit"); it != req.query.end()) ParseInteger(it->second, &limit);
    limit = std::clamp<int64_t>(limit, 1, 10000);
    json records = json::array();
    for (const AuditRecord& r : registry_->db().Audit(a.id, after, static_cast<int>(limit))) {
      records.push_back({{"seq", r.seq},         {"time", r.time_ms},   {"account", r.account},
                         {"job", r.job},         {"worker", r.worker},  {"action", r.action},
                         {"version", r.version}, {"allowed", r.allowed}, {"detail", r.detail}});
    }
    co_return JsonReply(200, json{{"records", std::move(records)}});
  }
  if (sub == "chunks" && parts.size() == 6 && parts[5] == "missing" && req.method == "POST") {
    co_return MissingChunks(req, a);
  }
  if (sub == "chunks" && parts.size() == 6 && req.method == "PUT") {
    co_return co_await PutChunk(req, a, parts[5]);
  }
  if (sub == "versions" && parts.size() == 6 && req.method == "PUT") {
    co_return co_await PutVersion(req, a, parts[5], p);
  }
  if (sub == "versions" && parts.size() == 6 && req.method == "DELETE") {
    auto v = registry_->db().FindVersion(a.id, parts[5]);
    if (!v.ok()) co_return ErrorReply(v.status());
    if (std::vector<int64_t> jobs = JobsPinning(a, v->digest); !jobs.empty()) {
      std::string list;
      for (int64_t id : jobs) list += (list.empty() ? "" : ", ") + std::to_string(id);
      co_return ErrorReply(409, "FailedPrecondition",
                           key + "@" + v->version + " is read by unfinished jobs " + list +
                               "; delete it once they have ended (or cancel them)");
    }
    Status st = registry_->DeleteVersion(a, v->version);
    if (!st.ok()) co_return ErrorReply(st);
    LOG_INFO << "registry: " << key << "@" << v->version << " deleted by " << p.account;
    co_return JsonReply(200, json{{"deleted", key + "@" + v->version}});
  }
  co_return ErrorReply(404, "NotFound", "no route for " + req.method + " " + req.path);
}

void Api::RenderRegistryMetrics(bool with_names, std::string* out) const {
  if (registry_ == nullptr) return;
  auto line = [out](const std::string& name, const std::string& labels, double value) {
    char number[64];
    std::snprintf(number, sizeof number, "%.17g", value);
    *out += name + labels + " " + number + "\n";
  };
  *out += "# HELP shoal_registry_stored_bytes Bytes of dataset and model versions owned (what "
          "registryQuota counts), per account with names, else in all.\n"
          "# TYPE shoal_registry_stored_bytes gauge\n";
  double total = 0;
  for (const auto& [account, bytes] : registry_->db().BytesByAccount()) {
    if (with_names) line("shoal_registry_stored_bytes", "{account=\"" + account + "\"}", bytes);
    total += static_cast<double>(bytes);
  }
  if (!with_names) line("shoal_registry_stored_bytes", "", total);
  *out += "# HELP shoal_registry_chunks_uploaded_total Chunks stored by pushes (not those already "
          "stored).\n# TYPE shoal_registry_chunks_uploaded_total counter\n";
  line("shoal_registry_chunks_uploaded_total", "", registry_metrics_.chunks_uploaded);
  *out += "# HELP shoal_registry_chunk_downloads_total Chunk reads (whole or ranges) by workers "
          "and pulls.\n# TYPE shoal_registry_chunk_downloads_total counter\n";
  line("shoal_registry_chunk_downloads_total", "", registry_metrics_.chunks_served);
  *out += "# HELP shoal_registry_downloaded_bytes_total Bytes of chunks read.\n"
          "# TYPE shoal_registry_downloaded_bytes_total counter\n";
  line("shoal_registry_downloaded_bytes_total", "", registry_metrics_.bytes_served);
}

HttpReply Api::MissingChunks(const HttpRequest& req, const ArtifactRecord& a) {
  auto body = ParseJsonBody(req);
  if (!body.ok()) return ErrorReply(body.status());
  if (!body->contains("chunks") || !(*body)["chunks"].is_array() ||
      (*body)["chunks"].size() > 100000) {
    return ErrorReply(400, "InvalidArgument", "chunks must be a list of at most 100000 chunk ids",
                      "chunks");
  }
  // The version's size, when the client says it: an upload that the quota would refuse at the end
  // is refused before its first chunk.
  if (body->contains("bytes")) {
    if (!(*body)["bytes"].is_number_integer() || (*body)["bytes"].get<int64_t>() < 0) {
      return ErrorReply(400, "InvalidArgument", "bytes must be a non-negative integer", "bytes");
    }
    if (Status quota = registry_->CheckQuota(a.account, (*body)["bytes"].get<int64_t>());
        !quota.ok()) {
      return ErrorReply(507, "ResourceExhausted", quota.message());
    }
  }
  std::vector<std::string> ids;
  for (const json& c : (*body)["chunks"]) {
    if (!c.is_string() || !IsChunkId(c.get<std::string>())) {
      return ErrorReply(400, "InvalidArgument",
                        "chunks must be SHA-256 ids (64 lower-case hex digits)", "chunks");
    }
    ids.push_back(c.get<std::string>());
  }
  auto store = registry_->StoreFor(a);
  if (!store.ok()) return ErrorReply(store.status());
  return JsonReply(200, json{{"missing", (*store)->Missing(ids)}});
}

asio::awaitable<HttpReply> Api::PutChunk(const HttpRequest& req, const ArtifactRecord& a,
                                         const std::string& id) {
  if (!IsChunkId(id)) {
    co_return ErrorReply(400, "InvalidArgument",
                         "a chunk is named by the SHA-256 of its bytes (64 lower-case hex digits)");
  }
  auto store = registry_->StoreFor(a);
  if (!store.ok()) co_return ErrorReply(store.status());
  ChunkStore* chunks = *store;
  bool added = false;
  // Hashing, encrypting and fsyncing megabytes: off the event loop.
  Status st = co_await RunOn(registry_io_, [&] { return chunks->Put(id, req.body, &added); });
  if (!st.ok()) co_return ErrorReply(st);
  registry_metrics_.chunks_uploaded += added ? 1 : 0;
  co_return JsonReply(added ? 201 : 200, json{{"chunk", id}, {"stored", added}});
}

asio::awaitable<HttpReply> Api::ReadChunk(const HttpRequest& req, const ArtifactRecord& a,
                                          const std::string& id) {
  if (!IsChunkId(id) || !registry_->db().ArtifactHasChunk(a.id, id)) {
    co_return ErrorReply(404, "NotFound", "chunk " + id.substr(0, 64) + " is not part of " + Key(a));
  }
  auto store = registry_->StoreFor(a);
  if (!store.ok()) co_return ErrorReply(store.status());
  ChunkStore* chunks = *store;
  const std::string range = HeaderOr(req, "range");
  auto read = co_await RunOn(registry_io_, [&]() -> Result<std::pair<std::string, std::string>> {
    ASSIGN_OR_RETURN(int64_t size, chunks->Size(id));
    int64_t offset = 0, length = size;
    if (!range.empty() && !ParseRange(range, size, &offset, &length)) {
      return InvalidArgument("Range " + range.substr(0, 80) + " is not within the chunk's " +
                             std::to_string(size) + " bytes");
    }
    ASSIGN_OR_RETURN(std::string bytes, chunks->Read(id, offset, range.empty() ? -1 : length));
    std::string content_range = range.empty() ? ""
                                              : "bytes " + std::to_string(offset) + "-" +
                                                    std::to_string(offset + length - 1) + "/" +
                                                    std::to_string(size);
    return std::make_pair(std::move(bytes), std::move(content_range));
  });
  if (!read.ok()) {
    if (read.status().code() == StatusCode::kInvalidArgument) {
      co_return ErrorReply(416, "RangeNotSatisfiable", read.status().message());
    }
    co_return ErrorReply(read.status());
  }
  ++registry_metrics_.chunks_served;
  registry_metrics_.bytes_served += static_cast<int64_t>(read->first.size());
  if (read->second.empty()) {
    co_return HttpReply(200, std::move(read->first), "application/octet-stream");
  }
  co_return HttpReply(206, std::move(read->first), "application/octet-stream",
                      {{"Content-Range", read->second}});
}

asio::awaitable<HttpReply> Api::PutVersion(const HttpRequest& req, const ArtifactRecord& a,
                                           const std::string& version, const Principal& p) {
  if (!IsVersionName(version)) {
    co_return ErrorReply(400, "InvalidArgument",
                         "a version name is 1..64 of A-Z a-z 0-9 . _ - starting with a letter or "
                         "digit, and not \"latest\"; got \"" + version.substr(0, 80) + "\"");
  }
  auto manifest = ParseManifest(req.body);
  if (!manifest.ok()) co_return ErrorReply(manifest.status());
  auto store = registry_->StoreFor(a);
  if (!store.ok()) co_return ErrorReply(store.status());
  std::vector<std::string> ids;
  ids.reserve(manifest->chunks.size());
  for (const ManifestChunk& c : manifest->chunks) ids.push_back(c.sha256);
  ChunkStore* chunks = *store;
  const std::vector<std::string> missing =
      co_await RunOn(registry_io_, [&] { return chunks->Missing(ids); });
  if (!missing.empty()) {
    HttpReply reply = ErrorReply(409, "FailedPrecondition",
                                 std::to_string(missing.size()) + " of the manifest's " +
                                     std::to_string(ids.size()) +
                                     " chunks were never uploaded (listed in \"missing\")");
    json body = json::parse(reply.body, nullptr, false);
    if (body.is_object()) {
      body["missing"] = missing;
      reply.body = body.dump() + "\n";
    }
    co_return reply;
  }
  int64_t bytes = 0;
  for (const ManifestChunk& c : manifest->chunks) bytes += c.size;
  VersionRecord v;
  v.artifact_id = a.id;
  v.version = version;
  v.digest = ManifestDigest(*manifest);
  v.bytes = bytes;
  v.files = static_cast<int64_t>(manifest->files.size());
  v.chunks = static_cast<int64_t>(manifest->chunks.size());
  v.publisher = p.account;
  v.created_ms = WallMs();
  // A retried push of the same version is answered 200 without counting it twice.
  auto prior = registry_->db().FindVersion(a.id, version);
  if (!(prior.ok() && prior->digest == v.digest)) {
    if (Status quota = registry_->CheckQuota(a.account, bytes); !quota.ok()) {
      co_return ErrorReply(507, "ResourceExhausted", quota.message());
    }
  }
  bool added = false;
  if (Status st = registry_->db().AddVersion(v, *manifest, &added); !st.ok()) {
    co_return ErrorReply(st);
  }
  if (added) {
    LOG_INFO << "registry: " << Key(a) << "@" << version << " stored (" << bytes << " bytes, "
             << v.chunks << " chunks) by " << p.account;
  }
  co_return JsonReply(added ? 201 : 200,
                      json{{"version", version}, {"digest", v.digest}, {"bytes", bytes}});
}

HttpReply Api::Grants(const HttpRequest& req, const std::vector<std::string>& parts,
                      const ArtifactRecord& a, const Principal& p) {
  if (parts.size() == 5) {
    if (req.method != "GET") return MethodNotAllowed(req);
    json grants = json::array();
    for (const GrantRecord& g : registry_->db().Grants(a.id)) {
      grants.push_back({{"account", g.account},
                        {"grantedBy", g.granted_by},
                        {"granted", g.granted_ms},
                        {"expires", g.expires_ms}});
    }
    return JsonReply(200, json{{"owner", a.account},
                               {"visibility", a.is_private ? "private" : "public"},
                               {"grants", std::move(grants)}});
  }
  if (parts.size() != 6) return MethodNotAllowed(req);
  const std::string& grantee = parts[5];
  if (req.method == "DELETE") {
    Status st = registry_->db().Revoke(a.id, grantee);
    if (!st.ok()) return ErrorReply(st);
    return JsonReply(200, json{{"revoked", grantee}});
  }
  if (req.method != "PUT") return MethodNotAllowed(req);
  if (!auth_->HasAccount(grantee)) {
    return ErrorReply(404, "NotFound", "account " + grantee.substr(0, 80) + " not found");
  }
  GrantRecord g;
  g.account = grantee;
  g.granted_by = p.account;
  g.granted_ms = WallMs();
  if (!req.body.empty()) {
    auto body = ParseJsonBody(req);
    if (!body.ok()) return ErrorReply(body.status());
    if (body->contains("expiresMs")) {
      if (!(*body)["expiresMs"].is_number_integer() || (*body)["expiresMs"].get<int64_t>() < 0) {
        return ErrorReply(400, "InvalidArgument", "expiresMs must be a Unix time in ms", "expiresMs");
      }
      g.expires_ms = (*body)["expiresMs"].get<int64_t>();
    }
  }
  Status st = registry_->db().Grant(a.id, g);
  if (!st.ok()) return ErrorReply(st);
  return JsonReply(200, json{{"account", g.account}, {"expires", g.expires_ms}});
}

}  // namespace shoal
