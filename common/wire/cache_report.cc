#include "common/wire/cache_report.h"

#include <cstdint>
#include <set>

namespace shoal::wire {

namespace {

bool IsDigest(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool NonNegativeInt(const nlohmann::json& v) {
  if (v.is_number_unsigned()) return v.get<uint64_t>() <= uint64_t{INT64_MAX};
  return v.is_number_integer() && v.get<int64_t>() >= 0;
}

}  // namespace

void AddCacheReport(const CacheReport& report, nlohmann::json* body) {
  nlohmann::json cached = nlohmann::json::array();
  for (const auto& c : report.cached) cached.push_back({{"digest", c.digest}, {"bytes", c.bytes}});
  (*body)["cached"] = std::move(cached);
  if (report.has_stats) {
    (*body)["cache"] = {{"hits", report.stats.hits},
                        {"misses", report.stats.misses},
                        {"bytes", report.stats.bytes},
                        {"maxBytes", report.stats.max_bytes}};
  }
}

Result<CacheReport> ParseCacheReport(const nlohmann::json& body) {
  CacheReport out;
  if (!body.is_object()) return out;
  if (auto it = body.find("cached"); it != body.end()) {
    if (!it->is_array() || it->size() > kMaxCachedVersions) {
      return InvalidArgument("cached must be an array of at most " +
                             std::to_string(kMaxCachedVersions) + " versions");
    }
    std::set<std::string> seen;
    for (const auto& item : *it) {
      if (!item.is_object() || !item.contains("digest") || !item["digest"].is_string() ||
          !IsDigest(item["digest"].get<std::string>()) || !item.contains("bytes") ||
          !NonNegativeInt(item["bytes"])) {
        return InvalidArgument(
            "cached[] items need a \"digest\" (64 lowercase hex digits) and non-negative "
            "integer \"bytes\"");
      }
      CachedVersion v;
      v.digest = item["digest"].get<std::string>();
      v.bytes = item["bytes"].get<int64_t>();
      if (!seen.insert(v.digest).second) {
        return InvalidArgument("cached[] names digest " + v.digest + " twice");
      }
      out.cached.push_back(std::move(v));
    }
  }
  if (auto it = body.find("cache"); it != body.end()) {
    const nlohmann::json& c = *it;
    static const char* const kKeys[] = {"hits", "misses", "bytes", "maxBytes"};
    bool good = c.is_object();
    for (const char* key : kKeys) {
      good = good && (!c.contains(key) || NonNegativeInt(c[key]));
    }
    if (!good) {
      return InvalidArgument(
          "cache must be an object of non-negative integers hits, misses, bytes, maxBytes");
    }
    out.has_stats = true;
    out.stats.hits = c.value("hits", int64_t{0});
    out.stats.misses = c.value("misses", int64_t{0});
    out.stats.bytes = c.value("bytes", int64_t{0});
    out.stats.max_bytes = c.value("maxBytes", int64_t{0});
  }
  return out;
}

}  // namespace shoal::wire
