#include "cli/registry_transfer.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "cli/registry_files.h"
#include "common/sha256.h"

namespace shoal::cli {

namespace {

using nlohmann::json;

// A push asks which chunks are missing per batch of this many chunks or bytes, whichever first.
constexpr size_t kBatchChunks = 32;
constexpr size_t kBatchBytes = size_t{64} << 20;
constexpr std::chrono::minutes kChunkTimeout{2};
constexpr std::chrono::minutes kManifestTimeout{5};
constexpr uint64_t kMaxManifestBytes = uint64_t{2} << 30;

bool Transient(const Result<HttpResponse>& r) {
  if (!r.ok()) {
    return r.status().code() == StatusCode::kUnavailable ||
           r.status().code() == StatusCode::kDeadlineExceeded;
  }
  const int s = r->status;
  return s == 500 || s == 502 || s == 503 || s == 504;
}

// One request, retried while it fails transiently.
Result<HttpResponse> Send(const HttpClient& client, const TransferOptions& options,
                          std::string_view method, const std::string& target,
                          std::string_view body = {},
                          std::string_view content_type = "application/json",
                          std::chrono::milliseconds timeout = std::chrono::milliseconds(0)) {
  std::chrono::milliseconds wait = options.backoff;
  for (int attempt = 0;; ++attempt) {
    Result<HttpResponse> r = client.Do(method, target, body, content_type, timeout);
    if (!Transient(r) || attempt >= options.retries) return r;
    std::this_thread::sleep_for(wait);
    wait *= 2;
  }
}

// The JSON object of a 2xx reply; StatusFromHttp otherwise.
Result<json> JsonOf(const Result<HttpResponse>& r, std::string_view what) {
  if (!r.ok()) return r.status();
  RETURN_IF_ERROR(StatusFromHttp(*r));
  json j = json::parse(r->body.empty() ? std::string("{}") : r->body, nullptr, false);
  if (!j.is_object()) return Internal("malformed reply to " + std::string(what));
  return j;
}

// Serializes progress calls from the worker threads.
class Meter {
 public:
  Meter(const TransferOptions& options, int64_t total) : options_(options), total_(total) {}
  void Add(int64_t bytes) {
    std::lock_guard<std::mutex> lock(mu_);
    done_ += bytes;
    if (options_.progress) options_.progress(done_, total_);
  }
  // Bytes that turned out not to need sending (a pipelined push learns this as it goes).
  void Skip(int64_t bytes) {
    std::lock_guard<std::mutex> lock(mu_);
    total_ -= bytes;
  }
  // Reports the final state once more (a Skip after the last Add changed the total), when
  // anything was sent.
  void Report() {
    std::lock_guard<std::mutex> lock(mu_);
    if (done_ > 0 && options_.progress) options_.progress(done_, total_);
  }

 private:
  const TransferOptions& options_;
  std::mutex mu_;
  int64_t done_ = 0;
  int64_t total_;
};

// A bounded queue of chunks and the threads that PUT them.
class Uploader {
 public:
  Uploader(const HttpClient& client, std::string artifact_path, const TransferOptions& options,
           Meter* meter)
      : client_(client), path_(std::move(artifact_path)), options_(options), meter_(meter) {
    for (int i = 0; i < std::max(1, options.connections); ++i) {
      threads_.emplace_back([this] { Run(); });
    }
  }
  ~Uploader() { (void)Finish(); }

  // Queues the chunk; blocks while the queue is full. The first upload error.
  Status Add(std::string sha, std::string bytes) {
    std::unique_lock<std::mutex> lock(mu_);
    space_.wait(lock, [&] {
      return queue_.empty() || queued_bytes_ + bytes.size() <= kQueuedBytes || !error_.ok();
    });
    if (!error_.ok()) return error_;
    queued_bytes_ += bytes.size();
    queue_.emplace_back(std::move(sha), std::move(bytes));
    ready_.notify_one();
    return Status::Ok();
  }

  // Waits for the queue to drain; the first upload error.
  Status Finish() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      closed_ = true;
    }
    ready_.notify_all();
    for (std::thread& t : threads_) {
      if (t.joinable()) t.join();
    }
    std::lock_guard<std::mutex> lock(mu_);
    return error_;
  }

 private:
  // Queued chunks wait in memory: up to one pipelined batch (below), so that the scan builds the
  // next batch while this one is sent. Plus the chunks in flight, one per connection.
  static constexpr size_t kQueuedBytes = size_t{64} << 20;

  void Run() {
    for (;;) {
      std::pair<std::string, std::string> item;
      {
        std::unique_lock<std::mutex> lock(mu_);
        ready_.wait(lock, [&] { return !queue_.empty() || closed_ || !error_.ok(); });
        if (!error_.ok() || queue_.empty()) return;
        item = std::move(queue_.front());
        queue_.pop_front();
        queued_bytes_ -= item.second.size();
      }
      space_.notify_all();
      const std::string target = path_ + "/chunks/" + item.first;
      Result<HttpResponse> r = Send(client_, options_, "PUT", target, item.second,
                                    "application/octet-stream", kChunkTimeout);
      Status st = r.ok() ? StatusFromHttp(*r) : r.status();
      if (!st.ok()) {
        std::lock_guard<std::mutex> lock(mu_);
        if (error_.ok())
          error_ = Status(st.code(), "uploading chunk " + item.first + ": " + st.message());
        space_.notify_all();
        ready_.notify_all();
        return;
      }
      meter_->Add(static_cast<int64_t>(item.second.size()));
    }
  }

  const HttpClient& client_;
  const std::string path_;
  const TransferOptions& options_;
  Meter* meter_;
  std::mutex mu_;
  std::condition_variable ready_, space_;
  std::deque<std::pair<std::string, std::string>> queue_;
  size_t queued_bytes_ = 0;
  bool closed_ = false;
  Status error_;
  std::vector<std::thread> threads_;
};

// Reads `path` again and uploads the chunks in `want`; each is sent once. FailedPrecondition when
// the bytes read now no longer give `manifest`.
Status UploadChunks(const HttpClient& client, const std::string& artifact_path,
                    const std::string& path, const Manifest& manifest,
                    const std::set<std::string>& want, const TransferOptions& options,
                    PushStats* stats) {
  int64_t total = 0;
  std::set<std::string> counted;
  for (const ManifestChunk& c : manifest.chunks) {
    if (want.count(c.sha256) > 0 && counted.insert(c.sha256).second) total += c.size;
  }
  Meter meter(options, total);
  Uploader uploader(client, artifact_path, options, &meter);
  std::set<std::string> sent;
  Result<Manifest> again =
      BuildManifest(path, ChunkerParams(), [&](std::string_view chunk, const std::string& sha) {
        if (want.count(sha) == 0 || !sent.insert(sha).second) return Status::Ok();
        stats->sent_bytes += static_cast<int64_t>(chunk.size());
        ++stats->sent_chunks;
        return uploader.Add(sha, std::string(chunk));
      });
  Status uploaded = uploader.Finish();
  if (!uploaded.ok()) return uploaded;
  if (!again.ok()) return again.status();
  if (ManifestDigest(*again) != ManifestDigest(manifest)) {
    return FailedPrecondition(path + " changed while it was pushed; push a tree nobody writes to");
  }
  return Status::Ok();
}

// The one pass of a push: BuildManifest's chunks gather in a batch; a full batch asks which of
// its chunks the scheduler lacks and queues those, from memory, on the uploader, whose connections
// send them while the scan goes on. At most a batch being built, one queued, and the chunks in
// flight are held in memory.
class PushPipeline {
 public:
  PushPipeline(const HttpClient& client, const std::string& artifact_path, int64_t version_bytes,
               const TransferOptions& options, PushStats* stats)
      : client_(client),
        missing_target_(artifact_path + "/chunks/missing"),
        version_bytes_(version_bytes),
        options_(options),
        stats_(stats),
        meter_(options, version_bytes),
        uploader_(client, artifact_path, options, &meter_) {}

  Status OnChunk(std::string_view chunk, const std::string& sha) {
    if (!seen_.insert(sha).second) {  // an earlier chunk of the stream: queried already
      meter_.Skip(static_cast<int64_t>(chunk.size()));
      return Status::Ok();
    }
    batch_bytes_ += chunk.size();
    batch_.emplace_back(sha, std::string(chunk));
    if (batch_.size() >= kBatchChunks || batch_bytes_ >= kBatchBytes) return Flush();
    return Status::Ok();
  }

  // Asks about the batch and queues its missing chunks.
  Status Flush() {
    if (batch_.empty()) return Status::Ok();
    json query = {{"chunks", json::array()}};
    for (const auto& item : batch_) query["chunks"].push_back(item.first);
    // The version's size (from the listing): the scheduler refuses a push over the account's
    // quota at the first query, before any chunk is sent.
    if (first_query_) query["bytes"] = version_bytes_;
    first_query_ = false;
    ASSIGN_OR_RETURN(json reply,
                     JsonOf(Send(client_, options_, "POST", missing_target_, query.dump()),
                            "POST " + missing_target_));
    if (!reply.contains("missing") || !reply["missing"].is_array()) {
      return Internal("malformed reply to POST " + missing_target_ + ": no \"missing\" list");
    }
    std::set<std::string, std::less<>> missing;
    for (const json& m : reply["missing"]) {
      if (m.is_string()) missing.insert(m.get<std::string>());
    }
    std::vector<std::pair<std::string, std::string>> batch = std::move(batch_);
    batch_.clear();
    batch_bytes_ = 0;
    for (auto& [sha, bytes] : batch) {
      if (missing.count(sha) == 0) {
        meter_.Skip(static_cast<int64_t>(bytes.size()));
        continue;
      }
      stats_->sent_bytes += static_cast<int64_t>(bytes.size());
      ++stats_->sent_chunks;
      RETURN_IF_ERROR(uploader_.Add(std::move(sha), std::move(bytes)));
    }
    return Status::Ok();
  }

  // Waits for the uploads; the first upload error.
  Status Finish() {
    Status st = uploader_.Finish();
    meter_.Report();
    return st;
  }

  int64_t unique_chunks() const { return static_cast<int64_t>(seen_.size()); }

 private:
  const HttpClient& client_;
  const std::string missing_target_;
  const int64_t version_bytes_;
  const TransferOptions& options_;
  PushStats* stats_;
  Meter meter_;
  Uploader uploader_;
  std::set<std::string, std::less<>> seen_;
  std::vector<std::pair<std::string, std::string>> batch_;
  size_t batch_bytes_ = 0;
  bool first_query_ = true;
};

}  // namespace

Result<ArtifactRef> ParseArtifactRef(std::string_view text, VersionRule rule) {
  const std::string whole(text);
  ArtifactRef ref;
  std::string_view names = text;
  const size_t at = text.find('@');
  if (at != std::string_view::npos) {
    if (rule == VersionRule::kNone) {
      return InvalidArgument("\"" + whole + "\" names a version here; give NAME or ACCOUNT/NAME");
    }
    ref.version = std::string(text.substr(at + 1));
    names = text.substr(0, at);
    const bool latest = ref.version == "latest" && rule == VersionRule::kOptional;
    if (!IsVersionName(ref.version) && !IsDigestRef(ref.version) && !latest) {
      return InvalidArgument("bad version in \"" + whole +
                             "\": a version is 1..64 of A-Z a-z 0-9 . _ - starting with a letter "
                             "or digit" +
                             (rule == VersionRule::kOptional ? ", latest," : "") +
                             " or sha256:<64 hex digits>");
    }
  } else if (rule == VersionRule::kRequired) {
    return InvalidArgument("\"" + whole + "\" needs a version: NAME@VERSION");
  }
  const size_t slash = names.find('/');
  if (slash != std::string_view::npos) {
    ref.account = std::string(names.substr(0, slash));
    names = names.substr(slash + 1);
    if (!IsDnsLabel(ref.account)) {
      return InvalidArgument("bad account in \"" + whole +
                             "\": an account is a DNS label (1..63 of a-z, 0-9 and '-', not "
                             "first or last)");
    }
  }
  ref.name = std::string(names);
  if (!IsDnsLabel(ref.name)) {
    return InvalidArgument("bad name in \"" + whole +
                           "\": a name is a DNS label (1..63 of a-z, 0-9 and '-', not first or "
                           "last), optionally after ACCOUNT/");
  }
  return ref;
}

std::string ArtifactPath(ArtifactKind kind, const std::string& account, const std::string& name) {
  return "/v1/" + std::string(ToString(kind)) + "/" + account + "/" + name;
}

std::string NextIntegerVersion(const json& card) {
  int64_t highest = 0;
  if (card.is_object() && card.contains("versions") && card["versions"].is_array()) {
    for (const json& v : card["versions"]) {
      if (!v.is_object() || !v.contains("version") || !v["version"].is_string()) continue;
      const std::string s = v["version"].get<std::string>();
      if (s.empty() || s.size() > 15 || s[0] == '0' ||
          !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        continue;
      }
      highest = std::max<int64_t>(highest, std::stoll(s));
    }
  }
  return std::to_string(highest + 1);
}

Result<Manifest> ScanPath(const std::string& path) {
  return BuildManifest(path, ChunkerParams(),
                       [](std::string_view, const std::string&) { return Status::Ok(); });
}

Result<PushStats> UploadPath(const HttpClient& client, const std::string& artifact_path,
                             const std::string& path, const std::vector<ManifestFile>& listed,
                             const TransferOptions& options) {
  PushStats stats;
  int64_t version_bytes = 0;
  for (const ManifestFile& f : listed) version_bytes += f.size;
  PushPipeline pipeline(client, artifact_path, version_bytes, options, &stats);
  Result<Manifest> manifest = BuildManifest(
      path, ChunkerParams(),
      [&](std::string_view chunk, const std::string& sha) { return pipeline.OnChunk(chunk, sha); });
  const Status flushed = manifest.ok() ? pipeline.Flush() : Status::Ok();
  const Status uploaded = pipeline.Finish();
  if (!uploaded.ok()) return uploaded;
  RETURN_IF_ERROR(flushed);
  if (!manifest.ok()) return manifest.status();
  // The chunks sent are the bytes read, so the manifest always matches them; a tree that changed
  // since it was listed is refused all the same (its size was the one checked against the quota).
  if (manifest->files != listed) {
    return FailedPrecondition(path + " changed while it was pushed; push a tree nobody writes to");
  }
  stats.digest = ManifestDigest(*manifest);
  stats.manifest = std::move(*manifest);
  stats.stored_chunks = std::max<int64_t>(0, pipeline.unique_chunks() - stats.sent_chunks);
  return stats;
}

Status StoreVersion(const HttpClient& client, const std::string& artifact_path,
                    const std::string& path, const std::string& version,
                    const TransferOptions& options, PushStats* stats) {
  std::set<std::string> unique;
  for (const ManifestChunk& c : stats->manifest.chunks) unique.insert(c.sha256);
  const std::string version_target = artifact_path + "/versions/" + version;
  const std::string text = CanonicalManifestText(stats->manifest);
  for (int round = 0;; ++round) {
    Result<HttpResponse> r = Send(client, options, "PUT", version_target, text);
    if (!r.ok()) return r.status();
    json body = json::parse(r->body, nullptr, false);
    // Chunks the scheduler lost since the missing query (collected, or a wiped store): read PATH
    // again, upload them and try once more.
    if (r->status == 409 && round == 0 && body.is_object() && body.contains("missing") &&
        body["missing"].is_array() && !body["missing"].empty()) {
      std::set<std::string> again;
      for (const json& m : body["missing"]) {
        if (m.is_string() && unique.count(m.get<std::string>()) > 0)
          again.insert(m.get<std::string>());
      }
      if (again.empty()) return StatusFromHttp(*r);
      RETURN_IF_ERROR(
          UploadChunks(client, artifact_path, path, stats->manifest, again, options, stats));
      continue;
    }
    ASSIGN_OR_RETURN(stats->reply, JsonOf(r, "PUT " + version_target));
    stats->stored_chunks =
        std::max<int64_t>(0, static_cast<int64_t>(unique.size()) - stats->sent_chunks);
    return Status::Ok();
  }
}

Result<PullStats> PullVersion(const HttpClient& client, const std::string& artifact_path,
                              const std::string& version, const std::string& dir,
                              const TransferOptions& options) {
  HttpClient big = client;
  big.SetMaxResponseBytes(kMaxManifestBytes);
  const std::string target = artifact_path + "/versions/" + version;
  Result<HttpResponse> r = Send(big, options, "GET", target, {}, "", kManifestTimeout);
  if (!r.ok()) return r.status();
  RETURN_IF_ERROR(StatusFromHttp(*r));
  PullStats stats;
  auto header = r->headers.find("x-shoal-digest");
  if (header == r->headers.end()) {
    return Internal("the reply to GET " + target + " has no X-Shoal-Digest header");
  }
  std::string want = header->second;
  if (want.rfind("sha256:", 0) == 0) want = want.substr(7);
  auto manifest = ParseManifest(r->body);
  if (!manifest.ok()) {
    return Internal("the manifest of " + target + " is malformed: " + manifest.status().message());
  }
  stats.digest = ManifestDigest(*manifest);
  if (stats.digest != want) {
    return Internal("the manifest of " + target + " arrived corrupted: its digest is sha256:" +
                    stats.digest + ", the scheduler says sha256:" + want);
  }
  stats.manifest = std::move(*manifest);
  for (const ManifestChunk& c : stats.manifest.chunks) stats.bytes += c.size;
  Meter meter(options, stats.bytes);
  FileAssembler files(dir, stats.manifest);
  RETURN_IF_ERROR(files.Start());
  RETURN_IF_ERROR(FetchChunksInOrder(
      stats.manifest.chunks.size(), std::max(1, options.connections),
      [&](size_t i) -> Result<std::string> {
        const ManifestChunk& c = stats.manifest.chunks[i];
        const std::string chunk_target = artifact_path + "/chunks/" + c.sha256;
        Result<HttpResponse> got =
            Send(client, options, "GET", chunk_target, {}, "", kChunkTimeout);
        if (!got.ok()) return got.status();
        RETURN_IF_ERROR(StatusFromHttp(*got));
        if (static_cast<int64_t>(got->body.size()) != c.size || Sha256Hex(got->body) != c.sha256) {
          return Internal("chunk " + c.sha256 + " arrived corrupted (" +
                          std::to_string(got->body.size()) + " bytes, want " +
                          std::to_string(c.size) + "); nothing more was written");
        }
        meter.Add(c.size);
        return std::move(got->body);
      },
      [&](std::string_view bytes) { return files.Write(bytes); }));
  RETURN_IF_ERROR(files.Finish());
  return stats;
}

}  // namespace shoal::cli
