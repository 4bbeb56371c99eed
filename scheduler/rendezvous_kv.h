// RendezvousKv: the per-attempt key-value store ranks use to find each other (docs/design.md §2
// step 4).
//
// Gloo's rendezvous::Store and NCCL's unique-id exchange sit on top of it through the HTTP API.
// Keys are scoped by (job, attempt); values are opaque bytes. Held in memory: an attempt that
// outlives a scheduler restart re-rendezvouses as a new attempt anyway. Single-threaded.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>

#include "common/status.h"

namespace shoal {

class RendezvousKv {
 public:
  struct Limits {
    size_t max_key_bytes = 512;
    size_t max_value_bytes = 1 << 20;
    size_t max_keys_per_attempt = 4096;
    // Keys and values of one attempt together: what one attempt may make the scheduler hold
    // (4,096 keys of 1 MiB each would be 4 GiB). Rendezvous needs a few hundred bytes per rank.
    size_t max_bytes_per_attempt = size_t{16} << 20;
  };
  RendezvousKv() = default;
  explicit RendezvousKv(Limits limits) : limits_(limits) {}

  // InvalidArgument for an empty or overlong key; ResourceExhausted past the size limits (a
  // value, the keys or the bytes of the attempt); then nothing changed.
  Status Set(int64_t job, int attempt, const std::string& key, std::string value);
  std::optional<std::string> Get(int64_t job, int attempt, const std::string& key) const;
  // Drops every key of attempts of `job` numbered below `keep_from` (or all when keep_from=0).
  void DropJob(int64_t job, int keep_from = 0);
  size_t size() const { return values_.size(); }

 private:
  using Key = std::tuple<int64_t, int, std::string>;
  Limits limits_;
  std::map<Key, std::string> values_;
  struct Usage {
    size_t keys = 0;
    size_t bytes = 0;  // keys and values
  };
  std::map<std::pair<int64_t, int>, Usage> usage_;
};

}  // namespace shoal
