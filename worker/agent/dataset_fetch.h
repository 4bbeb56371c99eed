// Dataset fetch (issue 14, docs/registry.md): how a worker gets the registry versions an attempt
// pins onto its disk. For each pin the fetcher reads the manifest (refused unless it hashes to the
// pinned digest), pins its chunks in the ChunkCache for as long as the attempt runs, downloads the
// chunks the cache lacks (a few at once, each in Range pieces appended to a `.part` file so that a
// download cut by a crash or a kill -9 continues where it stopped), and verifies every chunk's
// SHA-256 before it is stored. Materialize then assembles the files under an attempt-private
// directory (mode 0700) from which the trainer reads.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/http_client.h"
#include "common/registry/manifest.h"
#include "common/registry/uri.h"
#include "common/spec/job_spec.h"
#include "common/status.h"
#include "common/wire/assignment.h"
#include "worker/agent/chunk_cache.h"

namespace shoal {

// Where manifests and chunks come from. Implementations must be thread-safe: a fetcher calls
// ChunkRange from several threads at once.
class ChunkSource {
 public:
  virtual ~ChunkSource() = default;
  // The manifest text of the pinned version (by digest).
  virtual Result<std::string> Manifest(const wire::Pin& pin) = 0;
  // Bytes [offset, offset + length) of chunk `sha` of the pinned version; may return fewer bytes
  // than asked (at least one), never more.
  virtual Result<std::string> ChunkRange(const wire::Pin& pin, const std::string& sha,
                                         int64_t offset, int64_t length) = 0;
};

// The scheduler's registry over HTTP, with an attempt's read capability:
//   GET /v1/KIND/ACCOUNT/NAME/versions/sha256:DIGEST
//   GET /v1/KIND/ACCOUNT/NAME/chunks/SHA with "Range: bytes=F-L" (206, or 200 with the whole chunk)
// each with headers X-Shoal-Capability and X-Shoal-Worker besides the client's own (the agent's
// Authorization bearer). Thread-safe (HttpClient calls are).
class HttpChunkSource : public ChunkSource {
 public:
  // `client` must outlive this source.
  HttpChunkSource(const HttpClient& client, std::string capability, std::string worker_id);
  Result<std::string> Manifest(const wire::Pin& pin) override;
  Result<std::string> ChunkRange(const wire::Pin& pin, const std::string& sha, int64_t offset,
                                 int64_t length) override;

 private:
  std::map<std::string, std::string> Headers() const;
  const HttpClient& client_;
  const std::string capability_;
  const std::string worker_id_;
};

struct FetchOptions {
  std::string partial_dir;                 // where `<sha>.part` files of unfinished downloads live
  int threads = 4;                         // chunks downloaded at once
  int64_t piece_bytes = int64_t{4} << 20;  // one Range request
  int max_tries = 3;                       // per chunk: source errors and hash mismatches
  // Polled between pieces: true stops the fetch (Aborted). Null = never.
  std::function<bool()> cancelled;
};

// One version fetched for an attempt: its manifest and what it cost.
struct FetchedVersion {
  wire::Pin pin;
  shoal::Manifest manifest;
  int64_t bytes_fetched = 0;  // downloaded now (a resumed chunk counts only its new bytes)
  int64_t bytes_cached = 0;   // the distinct chunks' bytes found in the cache
  int64_t chunks = 0;         // distinct chunks
  int64_t chunks_cached = 0;  // of which were in the cache
};

// Fetches the versions of one attempt. Pins every chunk of the versions it fetched until
// Release() or destruction (the attempt's end). Fetch and Materialize may be called from one
// thread at a time; concurrent fetchers (other attempts) may share the cache and partial_dir.
class DatasetFetcher {
 public:
  // `cache` and `source` must outlive the fetcher.
  DatasetFetcher(ChunkCache* cache, ChunkSource* source, FetchOptions options);
  ~DatasetFetcher();
  DatasetFetcher(const DatasetFetcher&) = delete;
  DatasetFetcher& operator=(const DatasetFetcher&) = delete;

  // Fetches the manifest and the missing chunks. FailedPrecondition when the manifest does not
  // hash to pin.digest (or does not parse); Unavailable naming the chunk when it kept arriving
  // corrupted; the source's error, naming the chunk, when it kept failing; ResourceExhausted when
  // the cache is full of pinned chunks; Aborted when options.cancelled said so.
  Result<FetchedVersion> Fetch(const wire::Pin& pin);

  // Writes the version's files whose path starts with `prefix` ("" = all; a string prefix, so
  // "train" takes "train-images-idx3-ubyte") to `root`/<path>, from the cached chunks.
  // InvalidArgument when no file matches (the URI names nothing); Unavailable on I/O errors, and
  // NotFound when a chunk vanished from the cache (it should not: it is pinned).
  Status Materialize(const FetchedVersion& version, std::string_view prefix,
                     const std::string& root);

  // Unpins the chunks (idempotent; the second call does not touch the cache).
  void Release();

  // Bytes requested from the source so far (all Fetch calls).
  int64_t bytes_requested() const { return bytes_requested_; }

 private:
  // Downloads one chunk into the cache, resuming its .part file. Adds the new bytes to *fetched.
  Status FetchChunk(const wire::Pin& pin, const ManifestChunk& chunk,
                    std::atomic<int64_t>* fetched);
  bool Cancelled() const { return options_.cancelled && options_.cancelled(); }

  ChunkCache* const cache_;
  ChunkSource* const source_;
  const FetchOptions options_;
  std::vector<std::string> pinned_;
  std::atomic<int64_t> bytes_requested_{0};
};

// The pin of the artifact `uri` names (kind, account and name), or null. A URI version that
// contradicts the pin (another name, another digest) matches nothing.
const wire::Pin* FindPin(const std::vector<wire::Pin>& pins, const RegistryUri& uri);

// The file of a model version that model.init means when its URI names no path.
inline constexpr char kModelWeightsFile[] = "model.safetensors";

// Whether the spec reads anything from the registry (data.train, data.test or model.init is a
// shoal:// URI).
bool NamesRegistryData(const JobSpec& spec);

// The data an attempt's rank reads from the registry, fetched and materialized under `data_dir`
// (created with mode 0700; <data_dir>/KIND/ACCOUNT/NAME/<file path>). Holds the chunks pinned
// and the directory until Release() or destruction, which remove both. A private version's chunks
// bypass the shared cache: they are kept under <data_dir>/.chunks and removed with it, so no
// plaintext of a private dataset outlives the attempt on this worker.
class AttemptData {
 public:
  AttemptData(ChunkCache* cache, std::unique_ptr<ChunkSource> source, FetchOptions options,
              std::string data_dir);
  ~AttemptData();
  AttemptData(const AttemptData&) = delete;
  AttemptData& operator=(const AttemptData&) = delete;

  // Fetches and materializes every registry URI of `spec` (data.train, data.test, model.init) and
  // returns the spec with those paths replaced by local ones; a model.init URI without a path
  // means its version's kModelWeightsFile. `log` receives one line per version ("fetched X of Y
  // bytes for datasets/a/n@v (Z chunks from cache)"). InvalidArgument for a URI that does not
  // parse, that no pin matches, or a model.init that is not shoal://models/...; the errors of
  // Fetch and Materialize otherwise.
  Result<JobSpec> Prepare(const JobSpec& spec, const std::vector<wire::Pin>& pins,
                          std::vector<std::string>* log);
  // Removes the data directory and unpins the chunks (idempotent).
  void Release();
  const std::string& data_dir() const { return data_dir_; }
  // The versions a successful Prepare fetched (each digest once), with what each cost.
  const std::vector<FetchedVersion>& versions() const { return versions_; }

 private:
  // The shared cache's fetcher, or for a private version one whose cache lives in data_dir
  // (opened on first use).
  Result<DatasetFetcher*> FetcherFor(const wire::Pin& pin);

  std::unique_ptr<ChunkSource> source_;
  const FetchOptions options_;
  std::vector<FetchedVersion> versions_;
  DatasetFetcher fetcher_;
  const std::string data_dir_;
  std::unique_ptr<ChunkCache> private_cache_;
  std::unique_ptr<DatasetFetcher> private_fetcher_;
};

// Removes every `data` directory of a rank under `work_dir` (<work_dir>/job-*/attempt-*/rank-*/
// data): plaintext left by attempts that a crash ended. Returns how many it removed.
int RemoveLeftoverAttemptData(const std::string& work_dir);

}  // namespace shoal
