// ChunkCache: a worker's cache of dataset-registry chunks (issue 14, docs/registry.md), addressed
// by the SHA-256 of their bytes: <dir>/<first two hex digits>/<64 hex digits>. Bounded by a byte
// budget (--cache-max-gb): storing past it evicts the least recently used chunks, but never one
// that a running attempt pins (an attempt pins every chunk of the dataset versions it reads, so
// nothing it needs disappears under it). Survives restarts: Open finds what is stored and orders
// it by the files' modification times, which Get refreshes. A chunk is checked against its name
// when stored and when read; a corrupted one is deleted and reported missing, so it is fetched
// again.
//
// Thread-safe: every method may be called from any thread (the attempts' fetchers at once).
#pragma once

#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/status.h"

namespace shoal {

class ChunkCache {
 public:
  // Creates `dir` if needed, removes leftover temporaries and learns what is stored (oldest
  // modification first in the eviction order). Only the two-hex-digit subdirectories are the
  // cache's; others in `dir` (the fetcher's partial/) are left alone. Unavailable if `dir` cannot be created or read;
  // InvalidArgument for max_bytes <= 0. Chunks over the budget are evicted at once.
  static Result<std::unique_ptr<ChunkCache>> Open(std::string dir, int64_t max_bytes);

  // Stores a fetched chunk (most recently used). InvalidArgument when `id` is not a chunk name or
  // the bytes do not hash to it (nothing stored); ResourceExhausted when the chunk does not fit
  // even after evicting every unpinned chunk (the pinned ones alone fill the budget); Unavailable
  // on I/O errors. OK at once when it is already stored.
  Status Put(std::string_view id, std::string_view bytes);

  // A stored chunk's bytes (and it becomes the most recently used). NotFound when it is not
  // stored, or was stored but no longer matches its name (then it is deleted).
  Result<std::string> Get(std::string_view id);
  bool Has(std::string_view id) const;

  // Pins chunks (counted: pinned twice, unpinned twice). A pinned chunk is never evicted; pinning
  // a chunk that is not stored yet protects it from the moment it is stored.
  void Pin(const std::vector<std::string>& ids);
  void Unpin(const std::vector<std::string>& ids);

  struct Stats {
    int64_t chunks = 0;
    int64_t bytes = 0;
    int64_t max_bytes = 0;
    int64_t hits = 0;    // Get found the chunk
    int64_t misses = 0;  // Get did not (or found it corrupted)
    int64_t evicted = 0;
  };
  Stats stats() const;

 private:
  ChunkCache(std::string dir, int64_t max_bytes) : dir_(std::move(dir)), max_bytes_(max_bytes) {}
  std::string PathOf(std::string_view id) const;
  // Evicts unpinned chunks, least recently used first, until `incoming` more bytes fit; false
  // when they cannot. Needs mu_.
  bool MakeRoomLocked(int64_t incoming);
  void EraseLocked(const std::string& id);

  const std::string dir_;
  const int64_t max_bytes_;
  mutable std::mutex mu_;
  // Least recently used first; each entry's position is in index_.
  std::list<std::string> lru_;
  struct Entry {
    int64_t bytes = 0;
    std::list<std::string>::iterator pos;
  };
  std::unordered_map<std::string, Entry> index_;
  std::map<std::string, int> pins_;  // id -> pin count (> 0)
  Stats stats_;
};

}  // namespace shoal
