#include "worker/agent/cache_holdings.h"

#include <set>
#include <string_view>

namespace shoal {

void CacheHoldings::Record(const std::string& digest, const Manifest& manifest,
                           int64_t chunks_cached, int64_t chunks) {
  Version v;
  v.digest = digest;
  std::set<std::string_view> seen;
  for (const ManifestChunk& c : manifest.chunks) {
    if (seen.insert(c.sha256).second) v.chunks.emplace_back(c.sha256, c.size);
  }
  std::lock_guard<std::mutex> lock(mu_);
  versions_.remove_if([&](const Version& old) { return old.digest == digest; });
  versions_.push_front(std::move(v));
  if (versions_.size() > wire::kMaxCachedVersions) versions_.pop_back();
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
    versions_.remove_if([](const Version& v) { return v.present == 0; });
    counted_at_ = Fingerprint(stats);
    dirty_ = false;
  }
  for (const Version& v : versions_) out.cached.push_back({v.digest, v.present});
  return out;
}

}  // namespace shoal
