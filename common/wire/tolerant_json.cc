#include "common/wire/tolerant_json.h"

namespace shoal::wire::tolerant {

const nlohmann::json* Find(const nlohmann::json& j, const std::string& key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

std::optional<int64_t> OptInt(const nlohmann::json& j, const std::string& key) {
  const nlohmann::json* v = Find(j, key);
  if (v == nullptr) return std::nullopt;
  if (v->is_number_integer()) return v->get<int64_t>();
  if (v->is_number_unsigned()) return static_cast<int64_t>(v->get<uint64_t>());
  if (v->is_number_float()) {
    const double d = v->get<double>();
    // Out-of-range or NaN doubles have no integer value; casting them would be undefined.
    if (!(d > -9.2e18 && d < 9.2e18)) return std::nullopt;
    return static_cast<int64_t>(d);
  }
  return std::nullopt;
}

int64_t Int(const nlohmann::json& j, const std::string& key, int64_t fallback) {
  return OptInt(j, key).value_or(fallback);
}

std::optional<std::string> OptString(const nlohmann::json& j, const std::string& key) {
  const nlohmann::json* v = Find(j, key);
  if (v == nullptr || !v->is_string()) return std::nullopt;
  return v->get<std::string>();
}

std::string String(const nlohmann::json& j, const std::string& key, const std::string& fallback) {
  return OptString(j, key).value_or(fallback);
}

const nlohmann::json& Object(const nlohmann::json& j, const std::string& key) {
  static const nlohmann::json kEmpty = nlohmann::json::object();
  const nlohmann::json* v = Find(j, key);
  return v != nullptr && v->is_object() ? *v : kEmpty;
}

const nlohmann::json& Array(const nlohmann::json& j, const std::string& key) {
  static const nlohmann::json kEmpty = nlohmann::json::array();
  const nlohmann::json* v = Find(j, key);
  return v != nullptr && v->is_array() ? *v : kEmpty;
}

}  // namespace shoal::wire::tolerant
