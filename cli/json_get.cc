#include "cli/json_get.h"

namespace shoal::cli {

namespace {

// The value at j[key], or nullptr; never inserts (operator[] on a const json would assert).
const json* Find(const json& j, const std::string& key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

}  // namespace

bool HasNumber(const json& j, const std::string& key) {
  const json* v = Find(j, key);
  return v != nullptr && v->is_number();
}

int64_t GetInt(const json& j, const std::string& key, int64_t fallback) {
  const json* v = Find(j, key);
  if (v == nullptr) return fallback;
  if (v->is_number_integer()) return v->get<int64_t>();
  if (v->is_number_unsigned()) return static_cast<int64_t>(v->get<uint64_t>());
  if (v->is_number_float()) {
    double d = v->get<double>();
    // Out-of-range or NaN doubles have no integer value; casting them would be undefined.
    if (!(d > -9.2e18 && d < 9.2e18)) return fallback;
    return static_cast<int64_t>(d);
  }
  return fallback;
}

double GetDouble(const json& j, const std::string& key, double fallback) {
  const json* v = Find(j, key);
  if (v == nullptr || !v->is_number()) return fallback;
  return v->get<double>();
}

std::string GetString(const json& j, const std::string& key, const std::string& fallback) {
  const json* v = Find(j, key);
  if (v == nullptr || !v->is_string()) return fallback;
  return v->get<std::string>();
}

bool GetBool(const json& j, const std::string& key, bool fallback) {
  const json* v = Find(j, key);
  if (v == nullptr || !v->is_boolean()) return fallback;
  return v->get<bool>();
}

const json& GetObject(const json& j, const std::string& key) {
  static const json kEmpty = json::object();
  const json* v = Find(j, key);
  return v != nullptr && v->is_object() ? *v : kEmpty;
}

const json& GetArray(const json& j, const std::string& key) {
  static const json kEmpty = json::array();
  const json* v = Find(j, key);
  return v != nullptr && v->is_array() ? *v : kEmpty;
}

}  // namespace shoal::cli
