// CacheReport: what a worker's chunk cache holds, sent with every heartbeat
// (POST /v1/workers/{id}/heartbeat, docs/api.md) so that placement can prefer the workers that
// already hold a job's data (docs/registry.md, "Placement by cached chunks").
//
// On the wire, two optional keys of the heartbeat body:
//   "cached": [{"digest": D, "bytes": B}]  registry versions (manifest digest, 64 lowercase hex
//             digits) of which the cache holds B > 0 bytes; most recently used first, at most
//             kMaxCachedVersions, each digest once
//   "cache":  {"hits", "misses", "bytes", "maxBytes"}  non-negative integers: chunks that fetches
//             found in the cache / had to download, since the agent started; bytes stored; budget
// ParseCacheReport is the scheduler's validation (a bad value is a 400 like the heartbeat's
// other fields). Value types; the functions are pure and thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace shoal::wire {

// Most versions one heartbeat may report: bounds the body and the scheduler's memory per worker.
inline constexpr size_t kMaxCachedVersions = 256;

struct CachedVersion {
  std::string digest;  // the version's manifest digest
  int64_t bytes = 0;   // of its distinct chunks, the bytes the cache holds
  bool operator==(const CachedVersion&) const = default;
};

struct CacheStats {
  int64_t hits = 0;
  int64_t misses = 0;
  int64_t bytes = 0;
  int64_t max_bytes = 0;
  bool operator==(const CacheStats&) const = default;
};

struct CacheReport {
  std::vector<CachedVersion> cached;
  bool has_stats = false;  // "cache" was sent
  CacheStats stats;
  bool operator==(const CacheReport&) const = default;
};

// Adds "cached" and (when has_stats) "cache" to a heartbeat body.
void AddCacheReport(const CacheReport& report, nlohmann::json* body);

// Reads "cached" and "cache" from a heartbeat body (both optional: absent from older agents).
// InvalidArgument, with the message the worker gets back, when "cached" is not an array of at
// most kMaxCachedVersions objects with a 64-hex-digit "digest" (each once) and a non-negative
// integer "bytes", or when "cache" is not an object of non-negative integers.
Result<CacheReport> ParseCacheReport(const nlohmann::json& body);

}  // namespace shoal::wire
