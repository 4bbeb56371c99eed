#include "common/log.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <mutex>

namespace shoal {
namespace {

std::mutex& ComponentMutex() {
  static std::mutex mu;
  return mu;
}
std::string& Component() {
  static std::string component = "shoal";
  return component;
}

LogLevel Threshold() {
  static const LogLevel level = [] {
    const char* env = std::getenv("SHOAL_LOG_LEVEL");
    if (env == nullptr) return LogLevel::kInfo;
    if (std::strcmp(env, "debug") == 0) return LogLevel::kDebug;
    if (std::strcmp(env, "warn") == 0) return LogLevel::kWarn;
    if (std::strcmp(env, "error") == 0) return LogLevel::kError;
    return LogLevel::kInfo;
  }();
  return level;
}

}  // namespace

void SetLogComponent(std::string component) {
  std::lock_guard<std::mutex> lock(ComponentMutex());
  Component() = std::move(component);
}

bool LogEnabled(LogLevel level) { return level >= Threshold(); }

void LogLine(LogLevel level, const std::string& message) {
  using namespace std::chrono;
  auto now = system_clock::now();
  std::time_t secs = system_clock::to_time_t(now);
  int millis = static_cast<int>(duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
  static const char kLevels[] = {'D', 'I', 'W', 'E'};
  std::string component;
  {
    std::lock_guard<std::mutex> lock(ComponentMutex());
    component = Component();
  }
  char prefix[96];
  std::snprintf(prefix, sizeof(prefix), "%s.%03dZ %c %s] ", stamp, millis,
                kLevels[static_cast<int>(level)], component.c_str());
  std::string line = prefix + message + "\n";
  // One write(2) so concurrent lines from threads do not interleave.
  ssize_t ignored = ::write(STDERR_FILENO, line.data(), line.size());
  (void)ignored;
}

}  // namespace shoal
