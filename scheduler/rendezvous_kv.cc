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
  auto it = values_.find(k);
  if (it != values_.end()) {
    it->second = std::move(value);
    return Status::Ok();
  }
  size_t& count = counts_[{job, attempt}];
  if (count >= limits_.max_keys_per_attempt) {
    return ResourceExhausted("attempt holds " + std::to_string(count) + " kv keys already");
  }
  ++count;
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
      counts_.erase({job, std::get<1>(it->first)});
      it = values_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace shoal
