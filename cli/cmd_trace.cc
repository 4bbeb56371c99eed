// shoal trace [--since D] [-O FILE]: the pool's jobs as a shoal-sim trace (GET /v1/trace,
// scheduler/job_trace.h), so that an admin can replay them under every policy.
#include <algorithm>
#include <chrono>
#include <string>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/i18n.h"
#include "common/file_util.h"

namespace shoal::cli {

namespace {

// A trace of a million jobs is ~70 MB.
constexpr uint64_t kMaxTraceBytes = 1ull << 30;
constexpr std::chrono::seconds kTraceTimeout(120);

}  // namespace

int CmdTrace(const CommandContext& ctx) {
  const CliArgs& args = ctx.args();
  std::string target = "/v1/trace";
  if (args.since_s) {
    target += "?since=" + std::to_string(std::max<int64_t>(0, ctx.NowMs() - *args.since_s * 1000));
  }
  Result<std::string> csv = ctx.Download(target, kMaxTraceBytes, kTraceTimeout);
  if (!csv.ok()) return ctx.Fail(csv.status());
  if (args.output_file.empty()) {
    ctx.out() << *csv;
    return kExitOk;
  }
  Status written = WriteFileAtomic(args.output_file, *csv);
  if (!written.ok()) {
    ctx.err() << "shoal: "
              << TrFormat("cannot write {0}: {1}", {args.output_file, written.message()}) << "\n";
    return kExitUsage;
  }
  // Rows are jobs: every line but the header.
  const int64_t jobs = std::max<int64_t>(0, std::count(csv->begin(), csv->end(), '\n') - 1);
  ctx.err() << TrFormat("wrote {0}: {1} jobs (replay: shoal-sim --trace {0} --cluster NODESxGPUS)",
                        {args.output_file, std::to_string(jobs)})
            << "\n";
  return kExitOk;
}

}  // namespace shoal::cli
