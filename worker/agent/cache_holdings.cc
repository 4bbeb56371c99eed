#include "worker/agent/cache_holdings.h"

#include <algorithm>
#include <filesystem>
#include <set>
#include <string_view>

#include "common/file_util.h"

namespace shoal {

namespace fs = std::filesystem;

constexpr std::string_view kManifestSuffix = ".manifest";

CacheHoldings::CacheHoldings(const ChunkCache* cache, std::string dir)
    : cache_(cache), dir_(std::move(dir)) {
  if (dir_.empty()) return;
  std::error_code ec;
  fs::create_directories(dir_, ec);
  std::vector<std::pair<fs::file_time_type, Version>> found;
  for (const auto& f : fs::directory_iterator(dir_, ec)) {
    const std::string name = f.path().filename().string();
    const std::string digest =
        name.substr(0, name.size() - std::min(name.size(), kManifestSuffix.size()));
    auto text = ReadFileLimited(f.path().string(), 256 << 20);
    auto manifest = text.ok() ? ParseManifest(*text) : Result<Manifest>(text.status());
    if (!name.ends_with(kManifestSuffix) || !manifest.ok() || ManifestDigest(*manifest) != digest) {
      fs::remove(f.path(), ec);  // a write a crash interrupted, or a stray file
      continue;
    }
    found.emplace_back(f.last_write_time(ec), FromManifest(digest, *manifest));
  }
  std::sort(found.begin(), found.end(),
            [](const auto& a, const auto& b) { return a.first > b.first; });
  for (auto& [when, v] : found) {
    if (versions_.size() < wire::kMaxCachedVersions) {
      versions_.push_back(std::move(v));
    } else {
      Forget(v.digest);
    }
  }
  dirty_ = !versions_.empty();
}

CacheHoldings::Version CacheHoldings::FromManifest(const std::string& digest,
                                                   const Manifest& manifest) {
  Version v;
  v.digest = digest;
  std::set<std::string_view> seen;
  for (const ManifestChunk& c : manifest.chunks) {
    if (seen.insert(c.sha256).second) v.chunks.emplace_back(c.sha256, c.size);
  }
  return v;
}

void CacheHoldings::Forget(const std::string& digest) {
  if (dir_.empty()) return;
  std::error_code ec;
  fs::remove(dir_ + "/" + digest + std::string(kManifestSuffix), ec);
}

void CacheHoldings::Record(const std::string& digest, const Manifest& manifest,
                           int64_t chunks_cached, int64_t chunks, bool persist) {
  Version v = FromManifest(digest, manifest);
  if (persist && !dir_.empty() && IsChunkId(digest)) {
    // Best effort: without it, only a restart forgets the version.
    (void)WriteFileAtomic(dir_ + "/" + digest + std::string(kManifestSuffix),
                          CanonicalManifestText(manifest));
  }
  std::lock_guard<std::mutex> lock(mu_);
  versions_.remove_if([&](const Version& old) { return old.digest == digest; });
  versions_.push_front(std::move(v));
  if (versions_.size() > wire::kMaxCachedVersions) {
    Forget(versions_.back().digest);
    versions_.pop_back();
  }
  hits_ += chunks_cached;
  misses_ += chunks - chunks_cached;
  dirty_ = true;
}

wire::CacheReport CacheHoldings::Report() {
  const ChunkCache::Stats stats = cache_->stats();
  wire::CacheReport out;
  out.has_stats = true;
  out.stats.bytes = stats.bytes;
  out.stats.max_bytes = stats.max_bytes;
  std::lock_guard<std::mutex> lock(mu_);
  out.stats.hits = hits_;
  out.stats.misses = misses_;
  if (dirty_ || Fingerprint(stats) != counted_at_) {
    // Counted under mu_: Has takes only the cache's own lock, and a concurrent Record waits.
    for (Version& v : versions_) {
      v.present = 0;
      for (const auto& [sha, size] : v.chunks) {
        if (cache_->Has(sha)) v.present += size;
      }
    }
    versions_.remove_if([&](const Version& v) {
      if (v.present == 0) Forget(v.digest);
      return v.present == 0;
    });
    counted_at_ = Fingerprint(stats);
    dirty_ = false;
  }
  for (const Version& v : versions_) out.cached.push_back({v.digest, v.present});
  return out;
}

}  // namespace shoal
