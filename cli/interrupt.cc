#include "cli/interrupt.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace shoal::cli {

namespace {

// The handler may only use async-signal-safe calls, so the message is prepared in a static buffer
// before the handler is installed, and printed with write(2).
char g_message[1024];
size_t g_message_len = 0;

void OnInterrupt(int) {
  ssize_t ignored = write(STDERR_FILENO, g_message, g_message_len);
  (void)ignored;
  _exit(130);
}

}  // namespace

void ExitOnInterrupt(const std::string& message) {
  g_message_len = std::min(message.size(), sizeof(g_message));
  std::memcpy(g_message, message.data(), g_message_len);
  struct sigaction sa {};
  sa.sa_handler = OnInterrupt;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
}

}  // namespace shoal::cli
