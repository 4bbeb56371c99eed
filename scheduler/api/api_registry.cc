// The registry routes of the Api (docs/registry.md, "HTTP API"): datasets and models, who may do
// what with them (owners, readers, grants, the attempts' read capabilities), their cards, grants
// and audit logs, and the registry data a submitted job pins. The routes that move bytes are in
// api_registry_data.cc.
// Part of the Api class (scheduler/api/api.h); the files share api_internal.h.
#include <algorithm>
#include <set>
#include <utility>  // before Boost 1.74 awaitable.hpp, which uses std::exchange unincluded

#include <nlohmann/json.hpp>

#include "common/log.h"
#include "common/registry/manifest.h"
#include "common/registry/uri.h"
#include "scheduler/api/api.h"
#include "scheduler/api/api_internal.h"
#include "scheduler/api/registry_views.h"

namespace shoal {

namespace asio = boost::asio;
using nlohmann::json;
using api_internal::JsonReply;
using api_internal::MethodNotAllowed;
using api_internal::ParseJsonBody;
using api_internal::WallMs;
using registry_views::CardJson;
using registry_views::HeaderOr;
using registry_views::Key;
using registry_views::ReadCard;
using registry_views::VersionJson;

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
  const std::pair<const std::string*, const char*> fields[] = {
      {&job->spec.data.train, "spec.data.train"},
      {&job->spec.data.test, "spec.data.test"},
      {&job->spec.model.init, "spec.model.init"}};
  for (const auto& [path, field] : fields) {
    if (!IsRegistryUri(*path)) continue;
    auto uri = ParseRegistryUri(*path);
    if (!uri.ok()) return InvalidArgument(std::string(field) + ": " + uri.status().message());
    const bool init = path == &job->spec.model.init;
    if (init != (uri->kind == ArtifactKind::kModel)) {
      return InvalidArgument(std::string(field) + ": " +
                             (init ? "the weights to start from are a model, shoal://models/..."
                                   : "training data is a dataset, shoal://datasets/..."));
    }
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
                               "; a job reads one version of each dataset or model");
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
    co_return co_await MissingChunks(req, a);
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
