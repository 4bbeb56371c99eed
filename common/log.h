// Minimal leveled logging to stderr: "2026-11-29T21:03:34.123Z I scheduler] message".
// Thread-safe (one write(2) per line). The level threshold comes from SHOAL_LOG_LEVEL
// (debug|info|warn|error; default info).
#pragma once

#include <sstream>
#include <string>

namespace shoal {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// Sets the component name printed on every line (e.g. "scheduler", "worker w1").
void SetLogComponent(std::string component);
bool LogEnabled(LogLevel level);
void LogLine(LogLevel level, const std::string& message);

namespace internal {
class LogMessage {
 public:
  explicit LogMessage(LogLevel level) : level_(level) {}
  ~LogMessage() { LogLine(level_, stream_.str()); }
  std::ostringstream& stream() { return stream_; }

 private:
  LogLevel level_;
  std::ostringstream stream_;
};
// Turns the streamed expression into void so it fits the conditional operator below.
struct LogVoidify {
  void operator&(std::ostream&) {}
};
}  // namespace internal

}  // namespace shoal

// A conditional expression (not an if) so that `if (x) LOG_INFO << ...; else ...` stays safe.
#define SHOAL_LOG(level)                                   \
  !::shoal::LogEnabled(::shoal::LogLevel::level)           \
      ? (void)0                                            \
      : ::shoal::internal::LogVoidify() &                  \
            ::shoal::internal::LogMessage(::shoal::LogLevel::level).stream()
#define LOG_DEBUG SHOAL_LOG(kDebug)
#define LOG_INFO SHOAL_LOG(kInfo)
#define LOG_WARN SHOAL_LOG(kWarn)
#define LOG_ERROR SHOAL_LOG(kError)
