// shoal accounts [list]: the contribution ledger behind fair share (GET /v1/accounts).
// shoal accounts create NAME: a new account (POST /v1/accounts, admin only).
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/format.h"
#include "cli/json_get.h"
#include "common/duration.h"

namespace shoal::cli {

namespace {

// The ledger's unit. It counts GPU-seconds, and on CPU-only workers slot-seconds instead (a slot
// counts as one GPU: scheduler/ledger.h), so a pool whose workers have no GPUs is shown in
// slot-hours. Unknown (no workers, or the list is not available) reads as GPU-hours.
bool CpuOnlyPool(const CommandContext& ctx) {
  Result<json> workers = ctx.Call("GET", "/v1/workers");
  if (!workers.ok()) return false;
  const json& list = GetArray(*workers, "workers");
  if (list.empty()) return false;
  for (const auto& w : list) {
    if (!GetArray(w, "gpus").empty()) return false;
  }
  return true;
}

}  // namespace

int CmdAccounts(const CommandContext& ctx) {
  const auto& pos = ctx.args().positional;
  if (!pos.empty() && pos[0] == "create") {
    Result<json> created = ctx.Call("POST", "/v1/accounts", json{{"name", pos[1]}}.dump());
    if (!created.ok()) return ctx.Fail(created.status());
    if (ctx.json_output()) {
      ctx.PrintJson(*created);
    } else {
      ctx.out() << "account " << pos[1] << " created\n";
      ctx.err() << "Give it a token: shoal tokens create " << pos[1]
                << " --role user (or contributor, for its workers)\n";
    }
    return kExitOk;
  }
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
    ctx.err() << "No accounts yet: an account's workers earn credit while they are alive, and "
                 "its jobs are charged for the GPUs they hold.\n";
    return kExitOk;
  }
  Table table({"ACCOUNT", "CONTRIBUTED", "USED", "BALANCE", "SHARE", "USAGE", "FAIR-SHARE"});
  for (const auto& a : accounts) {
    if (!a.is_object()) continue;
    // GPU-seconds (slot-seconds) are shown as GPU-hours (slot-hours).
    auto hours = [&](const char* key) { return FormatFixed(GetDouble(a, key) / 3600.0, 1); };
    table.AddRow({GetString(a, "name"), hours("contributedGpuSeconds"), hours("usedGpuSeconds"),
                  hours("balanceGpuSeconds"), FormatFixed(GetDouble(a, "share"), 3),
                  FormatFixed(GetDouble(a, "usage"), 3),
                  FormatFixed(GetDouble(a, "fairShareFactor"), 3)});
  }
  table.Render(ctx.out());
  // The footer: the unit, then what the scheduler reports of the decay and the policy.
  std::string footer = CpuOnlyPool(ctx) ? "slot-hours (a CPU-only pool: one worker slot counts as "
                                          "one GPU)"
                                        : "GPU-hours";
  if (HasNumber(*reply, "halfLifeSeconds") && GetDouble(*reply, "halfLifeSeconds") > 0) {
    footer += ", half-life " +
              FormatDurationSeconds(static_cast<int64_t>(GetDouble(*reply, "halfLifeSeconds")));
  }
  if (!GetString(*reply, "policy").empty()) footer += ", policy " + GetString(*reply, "policy");
  // The scheduler shows a non-admin only its own account (visibility.accounts: owner).
  if (const int64_t others = GetInt(*reply, "otherAccounts", 0); others > 0) {
    footer +=
        "; " + std::to_string(others) + " other account" + (others == 1 ? "" : "s") + " not shown";
  }
  ctx.out() << "(" << footer << ")\n";
  return kExitOk;
}

}  // namespace shoal::cli
