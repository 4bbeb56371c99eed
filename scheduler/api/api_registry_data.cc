// The registry routes that move bytes (docs/registry.md): which chunks a push still has to send,
// chunk uploads and ranged reads, manifests becoming versions, and the registry's /metrics
// series (publishing a job's weights is api_publish.cc).
// Part of the Api class (scheduler/api/api.h); the files share api_internal.h.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <utility>  // before Boost 1.74 awaitable.hpp, which uses std::exchange unincluded

#include <nlohmann/json.hpp>

#include "common/file_util.h"
#include "common/log.h"
#include "common/registry/manifest.h"
#include "common/registry/uri.h"
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
using registry_views::HeaderOr;
using registry_views::Key;
using registry_views::ReadCard;
using registry_views::VersionJson;

namespace {

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

void Api::RenderRegistryMetrics(bool with_names, std::string* out) const {
  if (registry_ == nullptr) return;
  auto line = [out](const std::string& name, const std::string& labels, double value) {
    char number[64];
    std::snprintf(number, sizeof number, "%.17g", value);
    *out += name + labels + " " + number + "\n";
  };
  *out +=
      "# HELP shoal_registry_stored_bytes Bytes of dataset and model versions owned (what "
      "registryQuota counts), per account with names, else in all.\n"
      "# TYPE shoal_registry_stored_bytes gauge\n";
  double total = 0;
  for (const auto& [account, bytes] : registry_->db().BytesByAccount()) {
    if (with_names) line("shoal_registry_stored_bytes", "{account=\"" + account + "\"}", bytes);
    total += static_cast<double>(bytes);
  }
  if (!with_names) line("shoal_registry_stored_bytes", "", total);
  *out +=
      "# HELP shoal_registry_chunks_uploaded_total Chunks stored by pushes (not those already "
      "stored).\n# TYPE shoal_registry_chunks_uploaded_total counter\n";
  line("shoal_registry_chunks_uploaded_total", "", registry_metrics_.chunks_uploaded);
  *out +=
      "# HELP shoal_registry_chunks_swept_total Chunks removed because no version referenced "
      "them (pushes never finished) past registryUploadGrace.\n"
      "# TYPE shoal_registry_chunks_swept_total counter\n";
  line("shoal_registry_chunks_swept_total", "", registry_metrics_.chunks_swept);
  *out +=
      "# HELP shoal_registry_chunk_downloads_total Chunk reads (whole or ranges) by workers "
      "and pulls.\n# TYPE shoal_registry_chunk_downloads_total counter\n";
  line("shoal_registry_chunk_downloads_total", "", registry_metrics_.chunks_served);
  *out +=
      "# HELP shoal_registry_downloaded_bytes_total Bytes of chunks read.\n"
      "# TYPE shoal_registry_downloaded_bytes_total counter\n";
  line("shoal_registry_downloaded_bytes_total", "", registry_metrics_.bytes_served);
}

asio::awaitable<HttpReply> Api::MissingChunks(const HttpRequest& req,
                                              const ArtifactRecord& a) {
  auto body = ParseJsonBody(req);
  if (!body.ok()) co_return ErrorReply(body.status());
  if (!body->contains("chunks") || !(*body)["chunks"].is_array() ||
      (*body)["chunks"].size() > 100000) {
    co_return ErrorReply(400, "InvalidArgument", "chunks must be a list of at most 100000 chunk ids",
                      "chunks");
  }
  // The version's size, when the client says it: an upload that the quota would refuse at the end
  // is refused before its first chunk.
  if (body->contains("bytes")) {
    if (!(*body)["bytes"].is_number_integer() || (*body)["bytes"].get<int64_t>() < 0) {
      co_return ErrorReply(400, "InvalidArgument", "bytes must be a non-negative integer", "bytes");
    }
    if (Status quota = registry_->CheckQuota(a.account, (*body)["bytes"].get<int64_t>(),
                                             /*count_uploads=*/false);
        !quota.ok()) {
      co_return ErrorReply(507, "ResourceExhausted", quota.message());
    }
  }
  std::vector<std::string> ids;
  for (const json& c : (*body)["chunks"]) {
    if (!c.is_string() || !IsChunkId(c.get<std::string>())) {
      co_return ErrorReply(400, "InvalidArgument",
                        "chunks must be SHA-256 ids (64 lower-case hex digits)", "chunks");
    }
    ids.push_back(c.get<std::string>());
  }
  auto store = registry_->StoreFor(a);
  if (!store.ok()) co_return ErrorReply(store.status());
  // A stat (and a touch, for the sweep) per chunk: up to 100,000 of them, off the event loop.
  ChunkStore* chunks = *store;
  std::vector<std::string> missing =
      co_await RunOn(registry_io_, [&] { return chunks->Missing(ids); });
  co_return JsonReply(200, json{{"missing", std::move(missing)}});
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
  // Chunks of pushes that never finish count against the quota too (until the sweep collects
  // them): otherwise uploads alone could fill the scheduler's disk.
  const int64_t size = static_cast<int64_t>(req.body.size());
  if (!chunks->Has(id)) {
    if (Status quota = registry_->CheckQuota(a.account, size); !quota.ok()) {
      co_return ErrorReply(507, "ResourceExhausted", quota.message());
    }
  }
  bool added = false;
  // Hashing, encrypting and fsyncing megabytes: off the event loop.
  Status st = co_await RunOn(registry_io_, [&] { return chunks->Put(id, req.body, &added); });
  if (!st.ok()) co_return ErrorReply(st);
  if (added) registry_->NoteUpload(a.account, id, size, WallMs());
  registry_metrics_.chunks_uploaded += added ? 1 : 0;
  co_return JsonReply(added ? 201 : 200, json{{"chunk", id}, {"stored", added}});
}

asio::awaitable<void> Api::SweepRegistry() {
  if (registry_ == nullptr) co_return;
  const auto now = std::chrono::steady_clock::now();
  if (now < next_registry_sweep_) co_return;
  const int64_t grace = registry_->options().upload_grace_ms;
  next_registry_sweep_ =
      now + std::chrono::milliseconds(std::clamp<int64_t>(grace / 4, 1000, 600000));
  const int64_t cutoff = WallMs() - grace;
  registry_->ForgetUploadsBefore(cutoff);
  int64_t removed = 0;
  for (const std::string& ns : registry_->Namespaces()) {
    auto store = registry_->StoreForNamespace(ns);
    if (!store.ok()) {
      LOG_WARN << "registry sweep: " << ns << ": " << store.status().ToString();
      continue;
    }
    ChunkStore* chunks = *store;
    std::vector<std::string> stale =
        co_await RunOn(registry_io_, [&] { return chunks->StaleChunks(cutoff); });
    // Checked against the database in batches, yielding between them: a namespace may hold
    // hundreds of thousands of chunks, and the event loop serves heartbeats meanwhile.
    for (size_t begin = 0; begin < stale.size(); begin += 2000) {
      const std::vector<std::string> batch(
          stale.begin() + static_cast<std::ptrdiff_t>(begin),
          stale.begin() + static_cast<std::ptrdiff_t>(std::min(stale.size(), begin + 2000)));
      const std::vector<std::string> unreferenced = registry_->db().Unreferenced(ns, batch);
      removed += co_await RunOn(registry_io_, [&] {
        int64_t n = 0;
        for (const std::string& id : unreferenced) {
          auto gone = chunks->RemoveIfStale(id, cutoff);
          n += gone.ok() && *gone ? 1 : 0;
        }
        return n;
      });
    }
  }
  registry_metrics_.chunks_swept += removed;
  if (removed > 0) {
    LOG_INFO << "registry sweep: removed " << removed
             << " chunks that no version references, stored or last mentioned more than "
             << grace / 1000 << " s ago (registryUploadGrace)";
  }
}

asio::awaitable<HttpReply> Api::ReadChunk(const HttpRequest& req, const ArtifactRecord& a,
                                          const std::string& id) {
  if (!IsChunkId(id) || !registry_->db().ArtifactHasChunk(a.id, id)) {
    co_return ErrorReply(404, "NotFound",
                         "chunk " + id.substr(0, 64) + " is not part of " + Key(a));
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
                         "digit, and not \"latest\"; got \"" +
                             version.substr(0, 80) + "\"");
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
  // The push's own chunks count as uploads until now: not twice.
  if (!(prior.ok() && prior->digest == v.digest)) {
    const int64_t uploaded = registry_->UploadedBytesAmong(a.account, ids);
    if (Status quota = registry_->CheckQuota(a.account, std::max<int64_t>(0, bytes - uploaded));
        !quota.ok()) {
      co_return ErrorReply(507, "ResourceExhausted", quota.message());
    }
  }
  bool added = false;
  if (Status st = registry_->db().AddVersion(v, *manifest, &added); !st.ok()) {
    co_return ErrorReply(st);
  }
  registry_->ForgetUploads(a.account, ids);
  if (added) {
    LOG_INFO << "registry: " << Key(a) << "@" << version << " stored (" << bytes << " bytes, "
             << v.chunks << " chunks) by " << p.account;
  }
  co_return JsonReply(added ? 201 : 200,
                      json{{"version", version}, {"digest", v.digest}, {"bytes", bytes}});
}

}  // namespace shoal
