// shoal trace [--since D] [-O FILE]: the pool's jobs as a shoal-sim trace (GET /v1/trace,
// scheduler/job_trace.h), so that an admin can replay them under every policy.
#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <string>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/i18n.h"
#include "cli/json_get.h"
#include "common/file_util.h"
#include "common/wire/worker_view.h"

namespace shoal::cli {

namespace {

// A trace of a million jobs is ~70 MB.
constexpr uint64_t kMaxTraceBytes = 1ull << 30;
constexpr std::chrono::seconds kTraceTimeout(120);

// The pool's alive workers as shoal-sim's --cluster ("2x1", "3x8,1x4"): a node per worker, its
// GPUs (or, without GPUs, its slots: a CPU pool's ranks), grouped by that count, largest first.
// Types are left out (a model name is no --cluster word; --cluster-file takes them). "" when the
// workers cannot be listed or none is alive.
std::string ClusterOfTheWorkers(const CommandContext& ctx) {
  Result<json> reply = ctx.Call("GET", "/v1/workers");
  if (!reply.ok()) return "";
  std::map<int, int, std::greater<>> nodes;  // GPUs (slots) per node -> nodes
  for (const json& item : GetArray(*reply, "workers")) {
    Result<wire::WorkerView> w = wire::WorkerViewFromJson(item);
    if (!w.ok() || w->state != "alive") continue;
    const int per_node = w->gpus.empty() ? w->slots : static_cast<int>(w->gpus.size());
    if (per_node > 0) ++nodes[per_node];
  }
  std::string out;
  for (const auto& [per_node, count] : nodes) {
    out += (out.empty() ? "" : ",") + std::to_string(count) + "x" + std::to_string(per_node);
  }
  return out;
}

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
  const std::string cluster = ClusterOfTheWorkers(ctx);
  ctx.err() << TrFormat(
                   "wrote {0}: {1} jobs (replay on the workers alive now: shoal-sim --trace {0} "
                   "--cluster {2})",
                   {args.output_file, std::to_string(jobs),
                    cluster.empty() ? std::string("NODESxGPUS") : cluster})
            << "\n";
  return kExitOk;
}

}  // namespace shoal::cli
