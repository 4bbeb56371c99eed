#include "worker/agent/chunk_cache.h"

#include <sys/stat.h>
#include <utime.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <system_error>
#include <utility>

#include "common/file_util.h"
#include "common/registry/manifest.h"  // IsChunkId
#include "common/sha256.h"

namespace shoal {

namespace fs = std::filesystem;

Result<std::unique_ptr<ChunkCache>> ChunkCache::Open(std::string dir, int64_t max_bytes) {
  if (max_bytes <= 0) return InvalidArgument("the chunk cache needs a budget above 0 bytes");
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Unavailable("cannot create cache directory " + dir + ": " + ec.message());
  std::unique_ptr<ChunkCache> cache(new ChunkCache(dir, max_bytes));
  struct Found {
    fs::file_time_type mtime;
    std::string id;
    int64_t bytes;
  };
  std::vector<Found> found;
  for (const auto& sub : fs::directory_iterator(dir, ec)) {
    // Only the two-hex-digit fan-out directories are the cache's; others (the fetcher's
    // partial/ downloads) belong to someone else.
    const std::string sub_name = sub.path().filename().string();
    if (!sub.is_directory() || sub_name.size() != 2 ||
        sub_name.find_first_not_of("0123456789abcdef") != std::string::npos) {
      continue;
    }
    for (const auto& f : fs::directory_iterator(sub.path(), ec)) {
      const std::string name = f.path().filename().string();
      if (!IsChunkId(name) || name.compare(0, 2, sub.path().filename().string()) != 0) {
        fs::remove(f.path(), ec);  // a write a crash interrupted, or a stray file
        continue;
      }
      found.push_back({f.last_write_time(ec), name, static_cast<int64_t>(f.file_size(ec))});
    }
  }
  if (ec) return Unavailable("cannot read cache directory " + dir + ": " + ec.message());
  std::sort(found.begin(), found.end(),
            [](const Found& a, const Found& b) { return a.mtime < b.mtime; });
  std::lock_guard<std::mutex> lock(cache->mu_);
  for (const Found& f : found) {
    cache->lru_.push_back(f.id);
    cache->index_[f.id] = {f.bytes, std::prev(cache->lru_.end())};
    cache->stats_.bytes += f.bytes;
  }
  cache->MakeRoomLocked(0);  // a smaller budget than last time
  return cache;
}

std::string ChunkCache::PathOf(std::string_view id) const {
  return dir_ + "/" + std::string(id.substr(0, 2)) + "/" + std::string(id);
}

bool ChunkCache::MakeRoomLocked(int64_t incoming) {
  auto it = lru_.begin();
  while (stats_.bytes + incoming > max_bytes_ && it != lru_.end()) {
    if (pins_.count(*it) > 0) {
      ++it;
      continue;
    }
    const std::string id = *it++;
    EraseLocked(id);
    ++stats_.evicted;
  }
  return stats_.bytes + incoming <= max_bytes_;
}

void ChunkCache::EraseLocked(const std::string& id) {
  auto it = index_.find(id);
  if (it == index_.end()) return;
  std::error_code ec;
  fs::remove(PathOf(id), ec);
  stats_.bytes -= it->second.bytes;
  lru_.erase(it->second.pos);
  index_.erase(it);
}

Status ChunkCache::Put(std::string_view id, std::string_view bytes) {
  if (!IsChunkId(id)) {
    return InvalidArgument("\"" + std::string(id.substr(0, 80)) + "\" is not a chunk name");
  }
  if (Sha256Hex(bytes) != id) {
    return InvalidArgument("chunk " + std::string(id) + ": its bytes do not hash to its name");
  }
  const std::string key(id);
  std::lock_guard<std::mutex> lock(mu_);
  if (index_.count(key) > 0) return Status::Ok();
  const int64_t size = static_cast<int64_t>(bytes.size());
  if (!MakeRoomLocked(size)) {
    return ResourceExhausted("the chunk cache (" + std::to_string(max_bytes_) +
                             " bytes) is full of chunks that running attempts need; chunk " + key +
                             " (" + std::to_string(size) + " bytes) does not fit");
  }
  const std::string path = PathOf(id);
  std::error_code ec;
  fs::create_directories(DirOf(path), ec);
  if (ec) return Unavailable("cannot create " + DirOf(path) + ": " + ec.message());
  // Written under the lock: concurrent fetchers of one chunk would share WriteFileAtomic's
  // temporary file (named by process).
  RETURN_IF_ERROR(WriteFileAtomic(path, bytes));
  lru_.push_back(key);
  index_[key] = {size, std::prev(lru_.end())};
  stats_.bytes += size;
  return Status::Ok();
}

Result<std::string> ChunkCache::Get(std::string_view id) {
  const std::string key(id);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = index_.find(key);
  if (it == index_.end()) {
    ++stats_.misses;
    return NotFound("chunk " + key.substr(0, 80) + " is not cached");
  }
  auto bytes = ReadFileLimited(PathOf(id), it->second.bytes);
  if (!bytes.ok() || Sha256Hex(*bytes) != key) {
    EraseLocked(key);  // rotted or gone: fetched again by the caller
    ++stats_.misses;
    return NotFound("cached chunk " + key + " was corrupted; it has been dropped");
  }
  lru_.splice(lru_.end(), lru_, it->second.pos);  // most recently used
  ::utime(PathOf(id).c_str(), nullptr);           // the order a restart finds
  ++stats_.hits;
  return std::move(bytes).value();
}

bool ChunkCache::Has(std::string_view id) const {
  std::lock_guard<std::mutex> lock(mu_);
  return index_.count(std::string(id)) > 0;
}

void ChunkCache::Pin(const std::vector<std::string>& ids) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& id : ids) ++pins_[id];
}

void ChunkCache::Unpin(const std::vector<std::string>& ids) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& id : ids) {
    auto it = pins_.find(id);
    if (it != pins_.end() && --it->second <= 0) pins_.erase(it);
  }
}

ChunkCache::Stats ChunkCache::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  Stats s = stats_;
  s.chunks = static_cast<int64_t>(index_.size());
  s.max_bytes = max_bytes_;
  return s;
}

}  // namespace shoal
