// shoal-train picks OpenBLAS kernels that match the CPU (worker/train/blas_setup.h): run the real
// binary with OpenBLAS's verbose start-up report and check the core it ended up with.
#include "worker/train/blas_setup.h"

#include <cstdio>
#include <string>

#include <gtest/gtest.h>

namespace shoal {
namespace {

std::string RunShell(const std::string& command) {
  std::string out;
  FILE* p = popen(command.c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

// The first or last "Core: X" line OpenBLAS printed (one per load of the library: two after a
// re-exec).
std::string CoreLine(const std::string& out, bool last) {
  const size_t at = last ? out.rfind("Core: ") : out.find("Core: ");
  if (at == std::string::npos) return "";
  return out.substr(at + 6, out.find('\n', at) - at - 6);
}

TEST(BlasSetupTest, TrainerRunsOnTheBestKernelsForThisCpu) {
  const char* best = BestBlasCoreType();
  if (best == nullptr) GTEST_SKIP() << "this CPU has no AVX: OpenBLAS's own choice stands";
  const std::string out = RunShell("env -u OPENBLAS_CORETYPE OPENBLAS_VERBOSE=2 " +
                                   std::string(SHOAL_TRAIN_BIN) + " --help 2>&1");
  ASSERT_NE(out.find("Usage: shoal-train"), std::string::npos) << out;
  const std::string first = CoreLine(out, false), last = CoreLine(out, true);
  // Either OpenBLAS recognized the CPU by itself (no re-exec), or shoal-train re-executed with
  // the core type matching the CPU's features.
  if (first == last) {
    SUCCEED() << "OpenBLAS recognized this CPU: " << first;
  } else {
    EXPECT_EQ(last, best) << out;
  }
  EXPECT_NE(last, "Prescott") << "still on the SSE3 fallback kernels:\n" << out;
}

TEST(BlasSetupTest, AUserChoiceIsKept) {
  const std::string out = RunShell("OPENBLAS_CORETYPE=Haswell OPENBLAS_VERBOSE=2 " +
                                   std::string(SHOAL_TRAIN_BIN) + " --help 2>&1");
  EXPECT_EQ(CoreLine(out, true), "Haswell") << out;
}

}  // namespace
}  // namespace shoal
