#include "scheduler/web/web_sessions.h"

#include <openssl/rand.h>

#include <cstdlib>
#include <utility>

namespace shoal {

WebSessions::WebSessions(std::function<int64_t()> clock_ms, int64_t lifetime_ms,
                         size_t max_sessions)
    : clock_ms_(std::move(clock_ms)), lifetime_ms_(lifetime_ms), max_sessions_(max_sessions) {}

std::string WebSessions::Create(std::string token) {
  const int64_t now = clock_ms_();
  // Ended sessions first, then (still full) the one that would end soonest.
  std::erase_if(sessions_, [&](const auto& kv) { return kv.second.expires_ms <= now; });
  while (!sessions_.empty() && sessions_.size() >= max_sessions_) {
    auto first = sessions_.begin();
    for (auto it = sessions_.begin(); it != sessions_.end(); ++it) {
      if (it->second.expires_ms < first->second.expires_ms) first = it;
    }
    sessions_.erase(first);
  }
  std::string id = RandomHex256();
  sessions_[id] = WebSession{std::move(token), RandomHex256(), now + lifetime_ms_};
  return id;
}

const WebSession* WebSessions::Find(std::string_view id) {
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return nullptr;
  if (it->second.expires_ms <= clock_ms_()) {
    sessions_.erase(it);
    return nullptr;
  }
  return &it->second;
}

void WebSessions::Remove(std::string_view id) {
  if (auto it = sessions_.find(id); it != sessions_.end()) sessions_.erase(it);
}

std::string CookieValue(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    const size_t end = header.find(';');
    std::string_view part = header.substr(0, end);
    header = end == std::string_view::npos ? std::string_view() : header.substr(end + 1);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    const size_t eq = part.find('=');
    if (eq != std::string_view::npos && part.substr(0, eq) == name) {
      return std::string(part.substr(eq + 1));
    }
  }
  return "";
}

std::string RandomHex256() {
  unsigned char bytes[32];
  // RAND_bytes fails only if the OS's entropy source does: nothing secure can be made then.
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) std::abort();
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

}  // namespace shoal
