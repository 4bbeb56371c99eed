#include "kernels/collectives/kv_store.h"

#include <gloo/common/error.h>

#include <thread>

namespace shoal {

HttpKvStore::HttpKvStore(std::string kv_url, std::chrono::milliseconds timeout,
                         const std::string& token, const std::string& ca_file)
    : client_(std::move(kv_url), std::chrono::seconds(40)), timeout_(timeout) {
  if (!token.empty()) client_.SetDefaultHeader("Authorization", "Bearer " + token);
  (void)client_.SetTlsOptions({ca_file});  // a bad CA file fails every call, with its name
}

void HttpKvStore::set(const std::string& key, const std::vector<char>& data) {
  auto deadline = std::chrono::steady_clock::now() + timeout_;
  for (;;) {
    auto res = client_.Do("PUT", "/" + UrlEncode(key), std::string_view(data.data(), data.size()),
                          "application/octet-stream");
    if (res.ok() && res->status == 200) return;
    std::string why = res.ok() ? StatusFromHttp(*res).message() : res.status().message();
    // A 4xx (e.g. the attempt was cancelled) will not get better by retrying.
    bool permanent = res.ok() && res->status >= 400 && res->status < 500;
    if (permanent || std::chrono::steady_clock::now() > deadline) {
      throw gloo::IoException("rendezvous set \"" + key + "\": " + why);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

Result<std::string> HttpKvStore::Fetch(const std::string& key,
                                       std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return DeadlineExceeded("rendezvous key \"" + key + "\" did not appear in time (a peer " +
                              "rank did not start or the scheduler is unreachable)");
    }
    int64_t wait = std::min<int64_t>(left.count(), 20000);
    auto res = client_.Do("GET", "/" + UrlEncode(key) + "?wait=" + std::to_string(wait), {},
                          "application/json", std::chrono::milliseconds(wait + 10000));
    if (res.ok() && res->status == 200) return std::move(res->body);
    if (res.ok() && res->status != 404) return StatusFromHttp(*res);
    if (!res.ok()) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

std::vector<char> HttpKvStore::get(const std::string& key) {
  auto value = Fetch(key, std::chrono::steady_clock::now() + timeout_);
  if (!value.ok()) throw gloo::IoException(value.status().message());
  return std::vector<char>(value->begin(), value->end());
}

void HttpKvStore::wait(const std::vector<std::string>& keys) { wait(keys, timeout_); }

void HttpKvStore::wait(const std::vector<std::string>& keys,
                       const std::chrono::milliseconds& timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (const auto& key : keys) {
    auto value = Fetch(key, deadline);
    if (!value.ok()) throw gloo::IoException(value.status().message());
  }
}

}  // namespace shoal
