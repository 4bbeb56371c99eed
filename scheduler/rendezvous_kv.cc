#include "scheduler/rendezvous_kv.h"

namespace shoal {

Status RendezvousKv::Set(int64_t job, int attempt, const std::string& key, std::string value) {
  if (key.empty() || key.size() > limits_.max_key_bytes) {
    return InvalidArgument("kv key must be 1.." + std::to_string(limits_.max_key_bytes) +
                           " bytes");
  }
  if (value.size() > limits_.max_value_bytes) {
    return ResourceExhausted("kv value exceeds " + std::to_string(limits_.max_value_bytes) +
                             " bytes");
  }
  Key k{job, attempt, key};
  Usage& usage = usage_[{job, attempt}];
  auto it = values_.find(k);
  const size_t old_bytes = it == values_.end() ? 0 : key.size() + it->second.size();
  if (it == values_.end() && usage.keys >= limits_.max_keys_per_attempt) {
    return ResourceExhausted("attempt holds " + std::to_string(usage.keys) + " kv keys already");
  }
  const size_t new_bytes = usage.bytes - old_bytes + key.size() + value.size();
  if (new_bytes > limits_.max_bytes_per_attempt) {
    return ResourceExhausted("attempt's kv would hold " + std::to_string(new_bytes) +
                             " bytes, more than " +
                             std::to_string(limits_.max_bytes_per_attempt));
  }
  usage.bytes = new_bytes;
  if (it != values_.end()) {
    it->second = std::move(value);
    return Status::Ok();
  }
  ++usage.keys;
  values_.emplace(std::move(k), std::move(value));
  return Status::Ok();
}

std::optional<std::string> RendezvousKv::Get(int64_t job, int attempt,
                                             const std::string& key) const {
  auto it = values_.find(Key{job, attempt, key});
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

void RendezvousKv::DropJob(int64_t job, int keep_from) {
  auto it = values_.lower_bound(Key{job, 0, ""});
  while (it != values_.end() && std::get<0>(it->first) == job) {
    if (keep_from == 0 || std::get<1>(it->first) < keep_from) {
      usage_.erase({job, std::get<1>(it->first)});
      it = values_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace shoal
