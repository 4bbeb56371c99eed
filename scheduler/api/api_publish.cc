// A job's final weights become a version of the model library (docs/registry.md, "Model
// library"): on request (POST /v1/jobs/{id}/publish, `shoal models publish`) or by the scheduler
// itself when a job that names spec.output.model succeeds.
// Part of the Api class (scheduler/api/api.h); the files share api_internal.h.
#include <algorithm>
#include <filesystem>
#include <utility>  // before Boost 1.74 awaitable.hpp, which uses std::exchange unincluded

#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include "common/file_util.h"
#include "common/log.h"
#include "common/registry/manifest.h"
#include "common/registry/uri.h"
#include "common/spec/job_spec.h"
#include "scheduler/api/api.h"
#include "scheduler/api/api_internal.h"
#include "scheduler/api/registry_views.h"

namespace shoal {

namespace asio = boost::asio;
using api_internal::JsonReply;
using api_internal::MethodNotAllowed;
using api_internal::ParseJsonBody;
using api_internal::RunOn;
using api_internal::WallMs;
using nlohmann::json;
using registry_views::CardJson;
using registry_views::Key;
using registry_views::ReadCard;
using registry_views::VersionJson;

namespace {

// A failed publish as an HTTP reply: over quota is 507 (Insufficient Storage), as for a push.
HttpReply PublishErrorReply(const Status& st) {
  if (st.code() == StatusCode::kResourceExhausted) {
    return ErrorReply(507, "ResourceExhausted", st.message());
  }
  return ErrorReply(st);
}

// Whether the job reads a private dataset or model: a model trained on private data is private
// unless its spec says otherwise (spec.output.visibility: auto).
bool ReadsPrivateData(const Job& job) {
  return std::any_of(job.pins.begin(), job.pins.end(),
                     [](const wire::Pin& pin) { return pin.is_private; });
}

}  // namespace

asio::awaitable<Result<Api::Published>> Api::PublishJob(int64_t job_id, ArtifactRecord record,
                                                        std::string version,
                                                        std::string publisher) {
  if (registry_ == nullptr || checkpoints_ == nullptr) {
    co_return Unavailable("this scheduler keeps no model library");
  }
  const Job* job = scheduler_->FindJob(job_id);
  if (job == nullptr) co_return NotFound("job " + std::to_string(job_id) + " not found");
  if (job->state != JobState::kSucceeded) {
    co_return FailedPrecondition("job " + std::to_string(job_id) + " is " + ToString(job->state) +
                                 ": a model is published from a job that succeeded");
  }
  const std::optional<CheckpointRecord> latest = checkpoints_->Latest(job_id);
  if (!latest) {
    co_return FailedPrecondition("job " + std::to_string(job_id) +
                                 " has no stored checkpoint to publish (deleted, or past "
                                 "checkpointRetention)");
  }
  // The trainer stores its final checkpoint before it reports its exit; when that upload failed,
  // the newest checkpoint holds older weights than the job's result describes.
  if (const auto steps = job->result.find("steps"); steps != job->result.end() &&
                                                    steps->is_number_integer() &&
                                                    steps->get<int64_t>() != latest->step) {
    co_return FailedPrecondition(
        "job " + std::to_string(job_id) + " ended at step " +
        std::to_string(steps->get<int64_t>()) + ", but its newest stored checkpoint is of step " +
        std::to_string(latest->step) + " (the final one was not stored): nothing published");
  }
  // Rank 0 alone wrote it: in an audited attempt, only when other accounts' ranks vouch for it.
  if (const std::string trust = scheduler_->CheckpointTrustOf(*job, latest->attempt, latest->step);
      !Scheduler::Trusted(trust)) {
    co_return FailedPrecondition("job " + std::to_string(job_id) + "'s final checkpoint is " +
                                 trust + " (docs/audits.md \"Checkpoints\"): nothing published");
  }
  record.kind = ArtifactKind::kModel;
  record.account = job->owner;
  record.format = "safetensors";
  json pins = json::array();
  for (const wire::Pin& pin : job->pins) pins.push_back(wire::ToJson(pin));
  const json card = {{"architecture", JobSpecToJson(job->spec)["spec"]["model"]},
                     {"datasets", std::move(pins)},
                     {"job", job_id},
                     {"jobName", job->spec.metadata.name},
                     {"spec", job->spec_text},
                     {"metrics", job->result},
                     {"checkpoint", {{"step", latest->step}, {"sha256", latest->sha256}}},
                     {"license", record.license},
                     {"publisher", publisher},
                     {"created", WallMs()}};
  record.extra = card;
  bool created = false;
  auto stored = registry_->Upsert(record, WallMs(), &created);
  if (!stored.ok()) co_return stored.status();
  const ArtifactRecord a = *stored;
  if (version.empty()) {
    int64_t highest = 0;
    for (const VersionRecord& v : registry_->db().Versions(a.id)) {
      int64_t n = 0;
      if (ParseInteger(v.version, &n)) highest = std::max(highest, n);
    }
    version = std::to_string(highest + 1);
  } else if (registry_->db().FindVersion(a.id, version).ok()) {
    co_return AlreadyExists(Key(a) + "@" + version +
                            " already exists (versions are immutable: name another version)");
  }
  if (Status quota = registry_->CheckQuota(a.account, latest->bytes); !quota.ok()) {
    co_return quota;
  }
  auto store = registry_->StoreFor(a);
  if (!store.ok()) co_return store.status();
  ChunkStore* chunks = *store;
  const int64_t step = latest->step;
  auto weights = co_await RunOn(checkpoint_io_, [&] { return checkpoints_->Read(job_id, step); });
  if (!weights.ok()) co_return weights.status();
  // The version's files, chunked and stored as a push would (off the event loop).
  const std::string staging = registry_->options().dir + "/staging/publish-" +
                              std::to_string(job_id) + "-" + std::to_string(WallMs());
  auto manifest = co_await RunOn(registry_io_, [&]() -> Result<Manifest> {
    std::error_code ec;
    std::filesystem::create_directories(staging, ec);
    if (ec) return Unavailable("cannot create " + staging + ": " + ec.message());
    Status written = WriteFileAtomic(staging + "/model.safetensors", *weights);
    if (written.ok()) written = WriteFileAtomic(staging + "/model-card.json", card.dump(2) + "\n");
    if (!written.ok()) {
      std::filesystem::remove_all(staging, ec);
      return written;
    }
    Result<Manifest> built = BuildManifest(
        staging, ChunkerParams{},
        [&](std::string_view bytes, const std::string& sha) { return chunks->Put(sha, bytes); });
    std::filesystem::remove_all(staging, ec);
    return built;
  });
  if (!manifest.ok()) co_return manifest.status();
  VersionRecord v;
  v.artifact_id = a.id;
  v.version = version;
  v.digest = ManifestDigest(*manifest);
  v.publisher = publisher;
  v.created_ms = WallMs();
  v.source_job = job_id;
  Published out;
  if (Status st = registry_->db().AddVersion(v, *manifest, &out.added); !st.ok()) co_return st;
  auto got = registry_->db().FindVersion(a.id, version);
  if (!got.ok()) co_return got.status();
  LOG_INFO << "registry: job " << job_id << " published as " << Key(a) << "@" << version << " by "
           << publisher;
  out.card = CardJson(a, nullptr);
  out.card["version"] = VersionJson(*got);
  co_return out;
}

// POST /v1/jobs/{id}/publish {name, version?, visibility?, description?, license?, ...}.
asio::awaitable<HttpReply> Api::PublishModel(const HttpRequest& req, const Job& job,
                                             const Principal& p) {
  if (req.method != "POST") co_return MethodNotAllowed(req);
  if (registry_ == nullptr || checkpoints_ == nullptr) {
    co_return ErrorReply(503, "Unavailable", "this scheduler keeps no model library");
  }
  auto body = ParseJsonBody(req);
  if (!body.ok()) co_return ErrorReply(body.status());
  const std::string name = body->value("name", "");
  if (!IsDnsLabel(name)) {
    co_return ErrorReply(
        400, "InvalidArgument",
        "name must be a DNS label (1..63 of a-z, 0-9, '-'), got \"" + name.substr(0, 80) + "\"",
        "name");
  }
  std::string version = body->value("version", "");
  if (!version.empty() && !IsVersionName(version)) {
    co_return ErrorReply(400, "InvalidArgument",
                         "version must be 1..64 of A-Z a-z 0-9 . _ - (not \"latest\")", "version");
  }
  ArtifactRecord record;
  record.name = name;
  if (Status st = ReadCard(*body, &record); !st.ok()) co_return ErrorReply(st);
  auto published = co_await PublishJob(job.id, std::move(record), version, p.account);
  if (!published.ok()) co_return PublishErrorReply(published.status());
  co_return JsonReply(published->added ? 201 : 200, published->card);
}

void Api::OnJobSucceeded(const Job& job) {
  if (!job.spec.output.model.empty()) outputs_pending_.insert(job.id);
}

// What spec.output asks, checked at submission so that a job never trains for hours towards a
// model that cannot be published: a scheduler with a model library, a key for a private model,
// a version name not taken yet.
Status Api::CheckOutputModel(const Job& job) const {
  const JobSpec::Output& out = job.spec.output;
  if (out.model.empty()) return Status::Ok();
  if (registry_ == nullptr || checkpoints_ == nullptr) {
    return FailedPrecondition("spec.output.model: this scheduler keeps no model library");
  }
  auto existing = registry_->db().Find(ArtifactKind::kModel, job.owner, out.model);
  const bool is_private =
      out.visibility == "private" ||
      (out.visibility == "auto" && (existing.ok() ? existing->is_private : ReadsPrivateData(job)));
  if (is_private && !registry_->has_master_key()) {
    return FailedPrecondition("spec.output.model: the model would be private (visibility " +
                              out.visibility +
                              "), but this scheduler has no registry master key to encrypt it");
  }
  if (existing.ok()) {
    const std::string key = Key(*existing);
    if (existing->is_private != is_private) {
      return FailedPrecondition("spec.output: " + key + " is " +
                                (existing->is_private ? "private" : "public") +
                                " and a model's visibility cannot change" +
                                (out.visibility == "auto" ? " (this job reads private data)" : ""));
    }
    if (!out.version.empty() && registry_->db().FindVersion(existing->id, out.version).ok()) {
      return AlreadyExists("spec.output.version: " + key + "@" + out.version + " already exists");
    }
  }
  return Status::Ok();
}

json Api::OutputJson(const Job& job) const {
  const JobSpec::Output& out = job.spec.output;
  if (out.model.empty()) return nullptr;
  json j = {{"model", "models/" + job.owner + "/" + out.model}};
  if (registry_ != nullptr) {
    auto a = registry_->db().Find(ArtifactKind::kModel, job.owner, out.model);
    if (a.ok()) {
      if (auto v = registry_->db().VersionFromJob(a->id, job.id)) {
        j["published"] = v->version;
        return j;
      }
    }
  }
  if (auto it = output_errors_.find(job.id); it != output_errors_.end()) {
    j["error"] = it->second;
  }
  return j;
}

asio::awaitable<void> Api::PublishOutputs() {
  if (registry_ == nullptr || checkpoints_ == nullptr) co_return;
  if (!outputs_scanned_) {
    // Jobs that succeeded before a restart and were not published yet (the library records the
    // job each version came from, so nothing is published twice).
    outputs_scanned_ = true;
    for (const Job* job : scheduler_->ListJobs(JobState::kSucceeded, "", "")) {
      OnJobSucceeded(*job);
    }
  }
  const int64_t now = WallMs();
  std::vector<int64_t> due;
  for (int64_t id : outputs_pending_) {
    auto retry = outputs_retry_at_.find(id);
    if (retry == outputs_retry_at_.end() || retry->second <= now) due.push_back(id);
  }
  for (int64_t id : due) {
    const Job* job = scheduler_->FindJob(id);
    if (job == nullptr || job->state != JobState::kSucceeded || job->spec.output.model.empty()) {
      outputs_pending_.erase(id);
      continue;
    }
    const JobSpec::Output out = job->spec.output;
    const std::string owner = job->owner;
    auto existing = registry_->db().Find(ArtifactKind::kModel, owner, out.model);
    if (existing.ok() && registry_->db().VersionFromJob(existing->id, id)) {
      outputs_pending_.erase(id);
      continue;
    }
    ArtifactRecord record;
    record.name = out.model;
    record.license = out.license;
    record.description = out.description;
    record.is_private = out.visibility == "private" ||
                        (out.visibility == "auto" &&
                         (existing.ok() ? existing->is_private : ReadsPrivateData(*job)));
    auto published = co_await PublishJob(id, std::move(record), out.version, owner);
    if (published.ok()) {
      outputs_pending_.erase(id);
      outputs_retry_at_.erase(id);
      output_errors_.erase(id);
    } else if (published.status().code() == StatusCode::kUnavailable) {
      // A full disk or a busy database: retried, and said in the job view meanwhile.
      outputs_retry_at_[id] = WallMs() + 30000;
      output_errors_[id] = published.status().message() + " (retrying)";
      LOG_WARN << "job " << id << ": publishing spec.output.model " << out.model
               << " failed, retrying in 30 s: " << published.status().ToString();
    } else {
      outputs_pending_.erase(id);
      outputs_retry_at_.erase(id);
      output_errors_[id] = published.status().message();
      LOG_WARN << "job " << id << ": publishing spec.output.model " << out.model
               << " failed: " << published.status().ToString();
    }
  }
}

}  // namespace shoal
