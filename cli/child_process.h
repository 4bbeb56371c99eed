// Running a local program from the CLI and collecting what it prints: `shoal models generate`
// hands the sampling to shoal-train, which the CLI may not link (docs/design.md §3: the CLI
// includes only common/ and data/).
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace shoal::cli {

struct ChildResult {
  int exit_code = -1;  // the exit status; 128 + N when killed by signal N
  std::string stdout_text;
  std::string stderr_text;
};

// Runs argv[0] (a path, or a name searched on $PATH) with argv, the CLI's environment and
// standard input, and waits for it, reading its stdout and stderr to their ends. NotFound when the
// program cannot be started (not found, not executable); Internal when a pipe cannot be made.
// Thread-safe; blocks until the child exits.
Result<ChildResult> RunChild(const std::vector<std::string>& argv);

}  // namespace shoal::cli
