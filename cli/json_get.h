// Tolerant reads from the scheduler's JSON replies.
//
// The CLI must never crash on a reply it did not expect (an older or newer scheduler, a proxy's
// error page), so every read names a fallback that is used when the value is not an object, the
// key is missing, or the value has another type. None of these throw; all are thread-safe.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace shoal::cli {

using nlohmann::json;

// True when `j` is an object holding `key` with a number (integer or floating).
bool HasNumber(const json& j, const std::string& key);
// j[key] as an integer (a floating value is truncated), else `fallback`.
int64_t GetInt(const json& j, const std::string& key, int64_t fallback = 0);
// j[key] as a double, else `fallback`.
double GetDouble(const json& j, const std::string& key, double fallback = 0);
// j[key] when it is a string, else `fallback`.
std::string GetString(const json& j, const std::string& key, const std::string& fallback = "");
// j[key] when it is a boolean, else `fallback`.
bool GetBool(const json& j, const std::string& key, bool fallback = false);
// j[key] when it is an object / an array, else a reference to a static empty one.
const json& GetObject(const json& j, const std::string& key);
const json& GetArray(const json& j, const std::string& key);

}  // namespace shoal::cli
