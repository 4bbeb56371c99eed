// Child processes for trainer ranks: spawn with merged stdout/stderr on a pipe, signal, reap.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "common/status.h"

namespace shoal {

struct SpawnOptions {
  std::vector<std::string> argv;             // argv[0] is the executable path
  std::map<std::string, std::string> env;    // added to (or replacing in) the worker's environment
  std::string cwd;                           // working directory; must exist
  // When set, stdout and stderr are appended to this file instead of a pipe (output_fd is -1).
  std::string output_file;
};

struct SpawnedProcess {
  pid_t pid = -1;
  int output_fd = -1;  // read end of the child's stdout+stderr; the caller closes it
};

// Starts the child in its own process group, with SIGKILL as its parent-death signal so that a
// worker that dies (even by kill -9) takes its trainers with it. Returns Internal if fork or the
// pipe fails; a failing exec shows up as exit code 127 with a message on the pipe.
// Thread-safe.
Result<SpawnedProcess> Spawn(const SpawnOptions& options);

// Sends `sig` to the child's whole process group. Thread-safe.
void SignalGroup(pid_t pid, int sig);

struct ExitInfo {
  int exit_code = 0;  // 0..255, or 128+signal when killed
  int signal = 0;     // terminating signal, 0 if it exited
};
// Blocks until the child exits and reaps it.
ExitInfo WaitForExit(pid_t pid);
// Reaps the child if it has exited (true, *info set); false while it still runs.
bool TryReap(pid_t pid, ExitInfo* info);

}  // namespace shoal
