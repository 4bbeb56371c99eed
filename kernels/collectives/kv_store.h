// The scheduler's per-attempt rendezvous KV (`/v1/jobs/{id}/attempts/{a}/kv`) as a
// gloo::rendezvous::Store, so Gloo ranks find each other through the scheduler.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <gloo/rendezvous/store.h>

#include "common/http_client.h"

namespace shoal {

class HttpKvStore : public gloo::rendezvous::Store {
 public:
  // `kv_url` like "http://127.0.0.1:8470/v1/jobs/3/attempts/1/kv". `token` ("" = none) is sent as
  // the bearer token (the worker's: only the workers of that attempt may use its KV); `ca_file`
  // ("" = the system's CAs only) is trusted for an https:// scheduler.
  explicit HttpKvStore(std::string kv_url,
                       std::chrono::milliseconds timeout = std::chrono::seconds(60),
                       const std::string& token = "", const std::string& ca_file = "");

  // Gloo's Store contract reports failures by throwing gloo::IoException; these do.
  void set(const std::string& key, const std::vector<char>& data) override;
  std::vector<char> get(const std::string& key) override;
  void wait(const std::vector<std::string>& keys) override;
  void wait(const std::vector<std::string>& keys,
            const std::chrono::milliseconds& timeout) override;

 private:
  // Long-polls for `key` until `deadline`; returns its value or an error.
  Result<std::string> Fetch(const std::string& key,
                            std::chrono::steady_clock::time_point deadline);

  HttpClient client_;
  std::chrono::milliseconds timeout_;
};

}  // namespace shoal
