// Tolerant reads for the views' client-side parsers (job_view, worker_view): each returns the
// fallback when `j` is not an object, the key is missing or its value has another type, and none
// throws. The CLI's readers (cli/json_get.h) are built on these, so a client reads a reply the
// same way whether it goes through a view or not.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace shoal::wire::tolerant {

// j[key], or nullptr; never inserts.
const nlohmann::json* Find(const nlohmann::json& j, const std::string& key);
// An integer, or a floating number truncated (one out of int64's range reads as absent).
std::optional<int64_t> OptInt(const nlohmann::json& j, const std::string& key);
int64_t Int(const nlohmann::json& j, const std::string& key, int64_t fallback = 0);
std::string String(const nlohmann::json& j, const std::string& key,
                   const std::string& fallback = "");
std::optional<std::string> OptString(const nlohmann::json& j, const std::string& key);
// j[key] when it is an object / an array, else an empty one.
const nlohmann::json& Object(const nlohmann::json& j, const std::string& key);
const nlohmann::json& Array(const nlohmann::json& j, const std::string& key);

}  // namespace shoal::wire::tolerant
