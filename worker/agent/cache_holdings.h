// CacheHoldings: which registry versions a worker's ChunkCache holds, for the heartbeat's
// "cached" and "cache" (common/wire/cache_report.h), so that the scheduler can place jobs where
// their data already is (docs/registry.md, "Placement by cached chunks").
//
// The cache stores chunks, not versions: the fetcher records each version it fetched (its
// manifest digest and distinct chunks), and Report() counts the bytes of those chunks the cache
// still holds. Counting costs one ChunkCache::Has per chunk, so it is redone only when the cache
// changed (its chunk count, bytes, evictions or misses) or a version was recorded since the last
// report; a version whose chunks are all gone is forgotten. At most kMaxCachedVersions versions
// are tracked, the least recently fetched dropped first.
//
// Across restarts: with a directory, each public version recorded is kept there as its manifest
// (<dir>/<digest>.manifest, removed when the version is forgotten), and a new CacheHoldings loads
// them, so a restarted worker reports what its cache still holds from its first heartbeat.
// Private versions are never written there (their file names are the owner's).
//
// Thread-safe: Record (rank threads) and Report (the heartbeat thread) may run at once.
#pragma once

#include <cstdint>
#include <list>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "common/registry/manifest.h"
#include "common/wire/cache_report.h"
#include "worker/agent/chunk_cache.h"

namespace shoal {

class CacheHoldings {
 public:
  // `cache` must outlive this. `dir` "" keeps nothing on disk; else it is created, and the
  // versions kept there are loaded (newest first; unreadable or misnamed files are removed).
  explicit CacheHoldings(const ChunkCache* cache, std::string dir = "");

  // A version was fetched (its chunks are now in the cache): it becomes the most recently used.
  // `chunks_cached` of its `chunks` distinct chunks were found in the cache (hits), the rest
  // downloaded (misses).
  // `persist` (public versions only) keeps it in the directory.
  void Record(const std::string& digest, const Manifest& manifest, int64_t chunks_cached,
              int64_t chunks, bool persist = false);

  // The versions of which the cache holds some bytes, most recently fetched first, and the
  // cache's stats (hits and misses counted over this process's fetches).
  wire::CacheReport Report();

 private:
  struct Version {
    std::string digest;
    std::vector<std::pair<std::string, int64_t>> chunks;  // distinct (sha256, size)
    int64_t present = 0;  // bytes of them in the cache when last counted
  };
  // The ChunkCache stats that, unchanged, mean nothing was stored, evicted or dropped.
  static std::vector<int64_t> Fingerprint(const ChunkCache::Stats& s) {
    return {s.chunks, s.bytes, s.evicted, s.misses};
  }

  static Version FromManifest(const std::string& digest, const Manifest& manifest);
  // Removes the kept manifest of a version forgotten (under mu_).
  void Forget(const std::string& digest);

  const ChunkCache* const cache_;
  const std::string dir_;
  std::mutex mu_;
  std::list<Version> versions_;  // most recently fetched first
  bool dirty_ = false;           // recorded since the last count
  std::vector<int64_t> counted_at_;
  int64_t hits_ = 0;
  int64_t misses_ = 0;
};

}  // namespace shoal
