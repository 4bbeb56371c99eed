// The build's identity: the project version (CMake's project(VERSION)) and the git commit the
// build was configured from. Every binary prints it for --version; the scheduler serves it at
// GET /v1/version so that the CLI can warn when the two differ.
#pragma once

#include <string>
#include <string_view>

namespace shoal {

// "0.2.0". Never empty.
const char* Version();
// The short git commit ("e1d7e10", with "-dirty" when the work tree had changes at configure
// time), or "unknown" when the build was not configured from a git checkout.
const char* GitCommit();
// "PROGRAM 0.2.0 (commit e1d7e10)": the line --version prints.
std::string VersionLine(std::string_view program);

}  // namespace shoal
