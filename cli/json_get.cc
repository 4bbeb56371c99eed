#include "cli/json_get.h"

#include "common/wire/tolerant_json.h"

namespace shoal::cli {

// The same tolerant reads as the wire views' client-side parsers: one set of rules.
using wire::tolerant::Find;

bool HasNumber(const json& j, const std::string& key) {
  const json* v = Find(j, key);
  return v != nullptr && v->is_number();
}

int64_t GetInt(const json& j, const std::string& key, int64_t fallback) {
  return wire::tolerant::Int(j, key, fallback);
}

double GetDouble(const json& j, const std::string& key, double fallback) {
  const json* v = Find(j, key);
  if (v == nullptr || !v->is_number()) return fallback;
  return v->get<double>();
}

std::string GetString(const json& j, const std::string& key, const std::string& fallback) {
  return wire::tolerant::String(j, key, fallback);
}

bool GetBool(const json& j, const std::string& key, bool fallback) {
  const json* v = Find(j, key);
  if (v == nullptr || !v->is_boolean()) return fallback;
  return v->get<bool>();
}

const json& GetObject(const json& j, const std::string& key) {
  return wire::tolerant::Object(j, key);
}

const json& GetArray(const json& j, const std::string& key) {
  return wire::tolerant::Array(j, key);
}

}  // namespace shoal::cli
