// shoal workers: the pool's workers as a table.
#include <cstdio>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/format.h"
#include "cli/i18n.h"
#include "cli/json_get.h"
#include "common/memory_estimate.h"
#include "common/wire/worker_view.h"

namespace shoal::cli {

namespace {

// RANKS (wide): what the worker runs, as JOB/rRANK ("7/r0,8/r1").
std::string Ranks(const wire::WorkerView& worker) {
  std::string out;
  for (const auto& r : worker.ranks) {
    if (!out.empty()) out += ",";
    out += std::to_string(r.job) + "/r" + std::to_string(r.rank);
  }
  return out;
}

// RATE: the chance per step that a rank of it is audited (docs/audits.md), "-" from schedulers
// without audits.
std::string AuditRate(const wire::WorkerView& worker) {
  if (worker.audit_rate <= 0) return "-";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3g", worker.audit_rate);
  return buf;
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
    ctx.err() << TrFormat(
                     "No workers have joined the pool (start one with: shoal-worker "
                     "--scheduler {0}).",
                     {ctx.scheduler_url()})
              << "\n";
    return kExitOk;
  }
  bool wide = ctx.args().output == OutputFormat::kWide;
  // RATE and AUDITS (clean/failed): how closely the pool checks its gradients (docs/audits.md).
  std::vector<std::string> headers = {Tr("ID"),   Tr("NAME"),   Tr("STATE"),
                                      Tr("RATE"), Tr("AUDITS"), Tr("SLOTS"),
                                      Tr("CPUS"), Tr("GPUS"),   Tr("LAST-SEEN")};
  if (wide) {
    headers.insert(headers.begin() + 2, Tr("HOST"));
    headers.push_back(Tr("MEMORY"));  // RAM lent to ranks (--memory-limit); "-" = not reported
    headers.push_back(Tr("RANKS"));
  }
  Table table(headers);
  int64_t now = ctx.NowMs();
  for (const auto& item : workers) {
    Result<wire::WorkerView> w = wire::WorkerViewFromJson(item);
    if (!w.ok()) continue;
    // Another account's worker comes without name, host and account unless the scheduler's
    // visibility.workers is "all" (docs/security.md §2): "-" there.
    std::vector<std::string> row = {
        w->id,
        w->name.value_or("-"),
        w->state,
        AuditRate(*w),
        std::to_string(w->clean_audits) + "/" + std::to_string(w->failed_audits),
        std::to_string(w->used_slots) + "/" + std::to_string(w->slots),
        w->cpus > 0 ? std::to_string(w->cpus) : "-",
        FormatGpus(w->gpus),
        FormatAge(w->last_seen_ms, now)};
    if (wide) {
      row.insert(row.begin() + 2, w->host.value_or("-"));
      row.push_back(w->memory_lent_bytes > 0 ? FormatBytes(w->memory_lent_bytes) : "-");
      row.push_back(Ranks(*w));
    }
    table.AddRow(std::move(row));
  }
  table.Render(ctx.out());
  return kExitOk;
}

}  // namespace shoal::cli
