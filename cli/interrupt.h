// Ctrl-C while the CLI waits on a job: the job is not ours to stop (that is `shoal cancel`), so
// the wait just ends with exit code 130 after saying that the job keeps running.
#pragma once

#include <string>

namespace shoal::cli {

// Installs a process-wide SIGINT handler that writes `message` to stderr and ends
// the process with _exit(130). Calling it again replaces the message. `message` is cut to 1 KiB.
// Not thread-safe; meant for the real binary only (see CliEnv::handle_interrupt).
void ExitOnInterrupt(const std::string& message);

}  // namespace shoal::cli
