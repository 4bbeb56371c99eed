// shoal workers: the pool's workers as a table.
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/format.h"
#include "cli/json_get.h"
#include "common/memory_estimate.h"

namespace shoal::cli {

namespace {

// RANKS (wide): what the worker runs, as JOB/rRANK ("7/r0,8/r1").
std::string Ranks(const json& worker) {
  std::string out;
  for (const auto& r : GetArray(worker, "ranks")) {
    if (!out.empty()) out += ",";
    out += std::to_string(GetInt(r, "job", 0)) + "/r" + std::to_string(GetInt(r, "rank", 0));
  }
  return out;
}

}  // namespace

int CmdWorkers(const CommandContext& ctx) {
  Result<json> reply = ctx.Call("GET", "/v1/workers");
  if (!reply.ok()) return ctx.Fail(reply.status());
  if (!reply->contains("workers") || !(*reply)["workers"].is_array()) {
    return ctx.Fail(Internal("malformed reply to GET /v1/workers: no \"workers\" array"));
  }
  const json& workers = (*reply)["workers"];
  if (ctx.json_output()) {
    ctx.PrintJson(*reply);
    return kExitOk;
  }
  if (workers.empty()) {
    ctx.err() << "No workers have joined the pool (start one with: shoal-worker --scheduler "
              << ctx.scheduler_url() << ").\n";
    return kExitOk;
  }
  bool wide = ctx.args().output == OutputFormat::kWide;
  std::vector<std::string> headers = {"ID", "NAME", "STATE", "SLOTS", "CPUS", "GPUS", "LAST-SEEN"};
  if (wide) {
    headers.insert(headers.begin() + 2, "HOST");
    headers.push_back("MEMORY");  // RAM lent to ranks (--memory-limit); "-" = not reported
    headers.push_back("RANKS");
  }
  Table table(headers);
  int64_t now = ctx.NowMs();
  for (const auto& w : workers) {
    if (!w.is_object()) continue;
    int64_t cpus = GetInt(w, "cpus", 0);
    // Another account's worker comes without name, host and account unless the scheduler's
    // visibility.workers is "all" (docs/security.md §2): "-" there.
    std::vector<std::string> row = {
        GetString(w, "id"),
        GetString(w, "name", "-"),
        GetString(w, "state"),
        std::to_string(GetInt(w, "usedSlots", 0)) + "/" + std::to_string(GetInt(w, "slots", 0)),
        cpus > 0 ? std::to_string(cpus) : "-",
        FormatGpus(GetArray(w, "gpus")),
        FormatAge(GetInt(w, "lastSeenMs", 0), now)};
    if (wide) {
      row.insert(row.begin() + 2, GetString(w, "host", "-"));
      const int64_t lent = GetInt(w, "memoryLentBytes", 0);
      row.push_back(lent > 0 ? FormatBytes(lent) : "-");
      row.push_back(Ranks(w));
    }
    table.AddRow(std::move(row));
  }
  table.Render(ctx.out());
  return kExitOk;
}

}  // namespace shoal::cli
