#include "worker/agent/dataset_fetch.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>
#include <utility>

#include "common/file_util.h"
#include "common/log.h"

namespace shoal {

namespace fs = std::filesystem;

namespace {

std::string PinName(const wire::Pin& pin) {
  return pin.kind + "/" + pin.account + "/" + pin.name + "@" + pin.version;
}

std::string ArtifactPath(const wire::Pin& pin) {
  return "/v1/" + UrlEncode(pin.kind) + "/" + UrlEncode(pin.account) + "/" + UrlEncode(pin.name);
}

// Chunks being downloaded by some fetcher of this process: two attempts that need one chunk
// must not append to one .part file at once, so the second waits for the first.
class InFlight {
 public:
  static InFlight& Get() {
    static InFlight* instance = new InFlight();
    return *instance;
  }
  void Acquire(const std::string& sha) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return shas_.count(sha) == 0; });
    shas_.insert(sha);
  }
  void Release(const std::string& sha) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      shas_.erase(sha);
    }
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::set<std::string> shas_;
};

Status WriteAll(int fd, std::string_view bytes, const std::string& path) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Unavailable("cannot write " + path + ": " + std::strerror(errno));
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

}  // namespace

// ---- HttpChunkSource ----

HttpChunkSource::HttpChunkSource(const HttpClient& client, std::string capability,
                                 std::string worker_id)
    : client_(client), capability_(std::move(capability)), worker_id_(std::move(worker_id)) {}

std::map<std::string, std::string> HttpChunkSource::Headers() const {
  return {{"X-Shoal-Capability", capability_}, {"X-Shoal-Worker", worker_id_}};
}

Result<std::string> HttpChunkSource::Manifest(const wire::Pin& pin) {
  ASSIGN_OR_RETURN(HttpResponse r,
                   client_.Do("GET", ArtifactPath(pin) + "/versions/sha256:" + pin.digest, {},
                              "application/json", std::chrono::minutes(5), Headers()));
  if (r.status != 200) return StatusFromHttp(r);
  return std::move(r.body);
}

Result<std::string> HttpChunkSource::ChunkRange(const wire::Pin& pin, const std::string& sha,
                                                int64_t offset, int64_t length) {
  auto headers = Headers();
  headers["Range"] = "bytes=" + std::to_string(offset) + "-" + std::to_string(offset + length - 1);
  ASSIGN_OR_RETURN(HttpResponse r,
                   client_.Do("GET", ArtifactPath(pin) + "/chunks/" + sha, {}, "application/json",
                              std::chrono::minutes(2), headers));
  if (r.status == 206) {
    if (r.body.empty() || static_cast<int64_t>(r.body.size()) > length) {
      return Unavailable("chunk " + sha + ": the registry answered " +
                         std::to_string(r.body.size()) + " bytes for a range of " +
                         std::to_string(length));
    }
    return std::move(r.body);
  }
  if (r.status == 200) {  // the whole chunk: a server that ignores Range
    if (static_cast<int64_t>(r.body.size()) <= offset) {
      return Unavailable("chunk " + sha + ": the registry answered " +
                         std::to_string(r.body.size()) + " bytes, short of offset " +
                         std::to_string(offset));
    }
    return r.body.substr(static_cast<size_t>(offset), static_cast<size_t>(length));
  }
  return StatusFromHttp(r);
}

// ---- DatasetFetcher ----

DatasetFetcher::DatasetFetcher(ChunkCache* cache, ChunkSource* source, FetchOptions options)
    : cache_(cache), source_(source), options_(std::move(options)) {}

DatasetFetcher::~DatasetFetcher() { Release(); }

void DatasetFetcher::Release() {
  if (pinned_.empty()) return;
  cache_->Unpin(pinned_);
  pinned_.clear();
}

Result<FetchedVersion> DatasetFetcher::Fetch(const wire::Pin& pin) {
  FetchedVersion out;
  out.pin = pin;
  ASSIGN_OR_RETURN(std::string text, source_->Manifest(pin));
  auto parsed = ParseManifest(text);
  if (!parsed.ok()) {
    return FailedPrecondition("the manifest of " + PinName(pin) +
                              " does not parse: " + parsed.status().message());
  }
  const std::string digest = ManifestDigest(*parsed);
  if (digest != pin.digest) {
    return FailedPrecondition("the manifest of " + PinName(pin) + " has digest sha256:" + digest +
                              ", not the pinned sha256:" + pin.digest + "; refused");
  }
  out.manifest = std::move(parsed).value();

  std::vector<const ManifestChunk*> distinct;
  {
    std::set<std::string> seen;
    for (const auto& c : out.manifest.chunks) {
      if (seen.insert(c.sha256).second) distinct.push_back(&c);
    }
  }
  std::vector<std::string> ids;
  ids.reserve(distinct.size());
  for (const auto* c : distinct) ids.push_back(c->sha256);
  // Pinned before anything is fetched, so that chunks stored for this attempt are never evicted
  // to make room for its later ones.
  cache_->Pin(ids);
  pinned_.insert(pinned_.end(), ids.begin(), ids.end());

  std::vector<const ManifestChunk*> missing;
  out.chunks = static_cast<int64_t>(distinct.size());
  for (const auto* c : distinct) {
    if (cache_->Has(c->sha256)) {
      ++out.chunks_cached;
      out.bytes_cached += c->size;
    } else {
      missing.push_back(c);
    }
  }
  if (missing.empty()) return out;

  std::error_code ec;
  fs::create_directories(options_.partial_dir, ec);
  if (ec) return Unavailable("cannot create " + options_.partial_dir + ": " + ec.message());

  std::atomic<size_t> next{0};
  std::atomic<int64_t> fetched{0};
  std::mutex mu;
  Status first_error;
  auto work = [&] {
    for (;;) {
      {
        std::lock_guard<std::mutex> lock(mu);
        if (!first_error.ok()) return;
      }
      const size_t i = next++;
      if (i >= missing.size()) return;
      Status st = FetchChunk(pin, *missing[i], &fetched);
      if (!st.ok()) {
        std::lock_guard<std::mutex> lock(mu);
        if (first_error.ok()) first_error = st;
        return;
      }
    }
  };
  const int n = std::clamp<int>(options_.threads, 1, static_cast<int>(missing.size()));
  std::vector<std::thread> threads;
  for (int t = 1; t < n; ++t) threads.emplace_back(work);
  work();
  for (auto& t : threads) t.join();
  out.bytes_fetched = fetched;
  if (!first_error.ok()) return first_error;
  return out;
}

Status DatasetFetcher::FetchChunk(const wire::Pin& pin, const ManifestChunk& chunk,
                                  std::atomic<int64_t>* fetched) {
  InFlight::Get().Acquire(chunk.sha256);
  struct Unlock {
    const std::string& sha;
    ~Unlock() { InFlight::Get().Release(sha); }
  } unlock{chunk.sha256};
  if (cache_->Has(chunk.sha256)) return Status::Ok();  // another attempt fetched it meanwhile

  const std::string part = options_.partial_dir + "/" + chunk.sha256 + ".part";
  Status last;
  bool corrupted = false;
  for (int attempt = 0; attempt < std::max(1, options_.max_tries); ++attempt) {
    // What an earlier try, or a process that a crash ended, left: continued, not fetched again.
    auto have = ReadFileLimited(part, chunk.size);
    std::string bytes = have.ok() ? std::move(have).value() : std::string();
    if (!have.ok() && have.status().code() != StatusCode::kNotFound) {
      std::error_code ec;
      fs::remove(part, ec);  // longer than the chunk, or unreadable: start over
    }
    const int fd = ::open(part.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) return Unavailable("cannot open " + part + ": " + std::strerror(errno));
    Status st;
    while (static_cast<int64_t>(bytes.size()) < chunk.size) {
      if (Cancelled()) {
        st = Aborted("the fetch was cancelled");
        break;
      }
      const int64_t offset = static_cast<int64_t>(bytes.size());
      const int64_t length = std::min(options_.piece_bytes, chunk.size - offset);
      bytes_requested_ += length;
      auto piece = source_->ChunkRange(pin, chunk.sha256, offset, length);
      if (!piece.ok()) {
        st = piece.status();
        break;
      }
      if (piece->empty() || static_cast<int64_t>(piece->size()) > length) {
        st = Unavailable("chunk " + chunk.sha256 + ": the source returned " +
                         std::to_string(piece->size()) + " bytes for a range of " +
                         std::to_string(length));
        break;
      }
      st = WriteAll(fd, *piece, part);
      if (!st.ok()) break;
      *fetched += static_cast<int64_t>(piece->size());
      bytes += *piece;
    }
    ::close(fd);
    if (st.code() == StatusCode::kAborted) return st;
    if (st.ok()) {
      st = cache_->Put(chunk.sha256, bytes);
      if (st.code() == StatusCode::kInvalidArgument) {
        // Corrupted on the way (or in the .part file): every byte of it is suspect.
        std::error_code ec;
        fs::remove(part, ec);
        corrupted = true;
        last = Unavailable("chunk " + chunk.sha256 + " of " + PinName(pin) +
                           " arrived corrupted (its bytes do not hash to its name)");
        LOG_WARN << last.message() << "; fetching it again";
        continue;
      }
      if (st.ok()) {
        std::error_code ec;
        fs::remove(part, ec);
      }
      return st;  // ResourceExhausted or I/O errors are not mended by another try
    }
    last = st;
    corrupted = false;
    LOG_WARN << "chunk " << chunk.sha256 << " of " << PinName(pin) << ": " << st.message();
  }
  if (corrupted) {
    return Status(last.code(), last.message() + " " +
                                   std::to_string(std::max(1, options_.max_tries)) +
                                   " times; giving up");
  }
  return Status(last.code(), "chunk " + chunk.sha256 + " of " + PinName(pin) + ": " +
                                 last.message() + " (after " +
                                 std::to_string(std::max(1, options_.max_tries)) + " tries)");
}

Status DatasetFetcher::Materialize(const FetchedVersion& version, std::string_view prefix,
                                   const std::string& root) {
  const Manifest& m = version.manifest;
  const std::vector<int64_t> offsets = ChunkOffsets(m);
  // Files run in stream order, so consecutive slices mostly share a chunk: keep the last one.
  size_t held_index = SIZE_MAX;
  std::string held;
  int written = 0;
  for (size_t i = 0; i < m.files.size(); ++i) {
    const ManifestFile& f = m.files[i];
    if (!std::string_view(f.path).starts_with(prefix)) continue;
    const std::string path = root + "/" + f.path;
    std::error_code ec;
    fs::create_directories(DirOf(path), ec);
    if (ec) return Unavailable("cannot create " + DirOf(path) + ": " + ec.message());
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return Unavailable("cannot create " + path + ": " + std::strerror(errno));
    Status st;
    for (const ChunkSlice& s : SlicesOf(m, offsets, i)) {
      if (s.chunk_index != held_index) {
        auto bytes = cache_->Get(m.chunks[s.chunk_index].sha256);
        if (!bytes.ok()) {
          st = bytes.status();
          break;
        }
        held = std::move(bytes).value();
        held_index = s.chunk_index;
      }
      st = WriteAll(fd,
                    std::string_view(held).substr(static_cast<size_t>(s.offset),
                                                  static_cast<size_t>(s.length)),
                    path);
      if (!st.ok()) break;
    }
    if (::close(fd) != 0 && st.ok()) {
      st = Unavailable("cannot write " + path + ": " + std::strerror(errno));
    }
    if (!st.ok()) return st;
    ++written;
  }
  if (written == 0) {
    return InvalidArgument(PinName(version.pin) + " holds no file whose path starts with \"" +
                           std::string(prefix) + "\"");
  }
  return Status::Ok();
}

// ---- Helpers for the agent ----

const wire::Pin* FindPin(const std::vector<wire::Pin>& pins, const RegistryUri& uri) {
  for (const auto& pin : pins) {
    if (pin.kind != ToString(uri.kind) || pin.account != uri.account || pin.name != uri.name) {
      continue;
    }
    if (uri.version.empty() || uri.version == pin.version ||
        uri.version == "sha256:" + pin.digest) {
      return &pin;
    }
  }
  return nullptr;
}

bool NamesRegistryData(const JobSpec& spec) {
  return IsRegistryUri(spec.data.train) || IsRegistryUri(spec.data.test) ||
         IsRegistryUri(spec.model.init);
}

AttemptData::AttemptData(ChunkCache* cache, std::unique_ptr<ChunkSource> source,
                         FetchOptions options, std::string data_dir)
    : source_(std::move(source)),
      options_(options),
      fetcher_(cache, source_.get(), std::move(options)),
      data_dir_(std::move(data_dir)) {}

Result<DatasetFetcher*> AttemptData::FetcherFor(const wire::Pin& pin) {
  if (!pin.is_private) return &fetcher_;
  if (private_fetcher_ == nullptr) {
    // A private version's chunks never enter the shared cache: they live in the rank's data
    // directory and go with it when the attempt ends (docs/registry.md, "Privacy").
    ASSIGN_OR_RETURN(private_cache_,
                     ChunkCache::Open(data_dir_ + "/.chunks", int64_t{1} << 62));
    FetchOptions options = options_;
    options.partial_dir = data_dir_ + "/.partial";
    private_fetcher_ =
        std::make_unique<DatasetFetcher>(private_cache_.get(), source_.get(), std::move(options));
  }
  return private_fetcher_.get();
}

AttemptData::~AttemptData() { Release(); }

void AttemptData::Release() {
  if (private_fetcher_ != nullptr) private_fetcher_->Release();
  std::error_code ec;
  fs::remove_all(data_dir_, ec);
  if (ec) LOG_WARN << "cannot remove " << data_dir_ << ": " << ec.message();
  fetcher_.Release();
}

Result<JobSpec> AttemptData::Prepare(const JobSpec& spec, const std::vector<wire::Pin>& pins,
                                     std::vector<std::string>* log) {
  JobSpec out = spec;
  // Only this worker's user may read the plaintext (docs/registry.md, "Privacy").
  std::error_code ec;
  fs::create_directories(data_dir_, ec);
  if (ec) return Unavailable("cannot create " + data_dir_ + ": " + ec.message());
  if (::chmod(data_dir_.c_str(), 0700) != 0) {
    return Unavailable("cannot restrict " + data_dir_ + ": " + std::strerror(errno));
  }
  std::map<std::string, FetchedVersion> fetched;  // by digest: train and test often share one
  for (std::string* path : {&out.data.train, &out.data.test, &out.model.init}) {
    if (!IsRegistryUri(*path)) continue;
    ASSIGN_OR_RETURN(RegistryUri uri, ParseRegistryUri(*path));
    if (path == &out.model.init) {
      if (uri.kind != ArtifactKind::kModel) {
        return InvalidArgument("model.init " + *path + " is not a model (shoal://models/...)");
      }
      // A model version holds model.safetensors and model-card.json: the weights by default.
      if (uri.path.empty()) uri.path = kModelWeightsFile;
    }
    const wire::Pin* pin = FindPin(pins, uri);
    if (pin == nullptr) {
      return InvalidArgument("the assignment pins no version for " + *path);
    }
    ASSIGN_OR_RETURN(DatasetFetcher * fetcher, FetcherFor(*pin));
    auto it = fetched.find(pin->digest);
    if (it == fetched.end()) {
      ASSIGN_OR_RETURN(FetchedVersion v, fetcher->Fetch(*pin));
      if (log != nullptr) {
        log->push_back("fetched " + std::to_string(v.bytes_fetched) + " of " +
                       std::to_string(pin->bytes) + " bytes for " + PinName(*pin) + " (" +
                       std::to_string(v.chunks_cached) + " of " + std::to_string(v.chunks) +
                       " chunks from cache)");
      }
      it = fetched.emplace(pin->digest, std::move(v)).first;
    }
    const std::string root = data_dir_ + "/" + pin->kind + "/" + pin->account + "/" + pin->name;
    RETURN_IF_ERROR(fetcher->Materialize(it->second, uri.path, root));
    *path = uri.path.empty() ? root : root + "/" + uri.path;
  }
  for (auto& [digest, v] : fetched) versions_.push_back(std::move(v));
  return out;
}

int RemoveLeftoverAttemptData(const std::string& work_dir) {
  int removed = 0;
  std::error_code ec;
  auto matches = [](const fs::path& p, std::string_view prefix) {
    return p.filename().string().starts_with(prefix);
  };
  for (const auto& job : fs::directory_iterator(work_dir, ec)) {
    if (!matches(job.path(), "job-") || !job.is_directory(ec)) continue;
    for (const auto& attempt : fs::directory_iterator(job.path(), ec)) {
      if (!matches(attempt.path(), "attempt-") || !attempt.is_directory(ec)) continue;
      for (const auto& rank : fs::directory_iterator(attempt.path(), ec)) {
        if (!matches(rank.path(), "rank-")) continue;
        const fs::path data = rank.path() / "data";
        std::error_code rm_ec;
        if (fs::exists(data, rm_ec) && fs::remove_all(data, rm_ec) > 0 && !rm_ec) ++removed;
      }
    }
  }
  return removed;
}

}  // namespace shoal
