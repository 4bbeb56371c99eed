// shoal accounts: the contribution ledger behind fair share (GET /v1/accounts).
#include <cstdio>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/format.h"
#include "cli/json_get.h"

namespace shoal::cli {

namespace {

// GPU-seconds as GPU-hours with one decimal ("12.5").
std::string GpuHours(const json& a, const char* key) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f", GetDouble(a, key) / 3600.0);
  return buf;
}

std::string Fixed(const json& a, const char* key, const char* format) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), format, GetDouble(a, key));
  return buf;
}

}  // namespace

int CmdAccounts(const CommandContext& ctx) {
  Result<json> reply = ctx.Call("GET", "/v1/accounts");
  if (!reply.ok()) return ctx.Fail(reply.status());
  if (!reply->contains("accounts") || !(*reply)["accounts"].is_array()) {
    return ctx.Fail(Internal("malformed reply to GET /v1/accounts: no \"accounts\" array"));
  }
  if (ctx.json_output()) {
    ctx.PrintJson(*reply);
    return kExitOk;
  }
  const json& accounts = (*reply)["accounts"];
  if (accounts.empty()) {
    ctx.err() << "No accounts yet: workers earn credit for their --account while they are alive, "
                 "and jobs are charged to their metadata.project.\n";
    return kExitOk;
  }
  Table table({"ACCOUNT", "CONTRIBUTED", "USED", "BALANCE", "SHARE", "USAGE", "FAIR-SHARE"});
  for (const auto& a : accounts) {
    if (!a.is_object()) continue;
    table.AddRow({GetString(a, "name"), GpuHours(a, "contributedGpuSeconds"),
                  GpuHours(a, "usedGpuSeconds"), GpuHours(a, "balanceGpuSeconds"),
                  Fixed(a, "share", "%.3f"), Fixed(a, "usage", "%.3f"),
                  Fixed(a, "fairShareFactor", "%.3f")});
  }
  table.Render(ctx.out());
  ctx.out() << "(GPU-hours, decayed with a half-life of "
            << Fixed(*reply, "halfLifeSeconds", "%.0f") << " s; policy "
            << GetString(*reply, "policy") << ")\n";
  return kExitOk;
}

}  // namespace shoal::cli
