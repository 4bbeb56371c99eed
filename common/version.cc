#include "common/version.h"

// Both are set on this one file by common/CMakeLists.txt, so that a new commit recompiles only it.
#ifndef SHOAL_VERSION
#define SHOAL_VERSION "0.0.0"
#endif
#ifndef SHOAL_GIT_COMMIT
#define SHOAL_GIT_COMMIT "unknown"
#endif

namespace shoal {

const char* Version() { return SHOAL_VERSION; }
const char* GitCommit() { return SHOAL_GIT_COMMIT; }

std::string VersionLine(std::string_view program) {
  return std::string(program) + " " + Version() + " (commit " + GitCommit() + ")";
}

}  // namespace shoal
