// The verbs of `shoal`. Each runs one command with a parsed command line and returns its exit code
// (cli/exit_codes.h), writing results to ctx.out() and diagnostics to ctx.err(). They may throw
// nlohmann::json exceptions on a reply of an unexpected shape; RunCli turns those into exit 3.
#pragma once

#include "cli/context.h"

namespace shoal::cli {

// submit FILE [--follow|--wait]: validate locally (exit 2 on a bad spec, nothing sent), POST
// /v1/jobs, then optionally wait for the job (WaitForJob).
int CmdSubmit(const CommandContext& ctx);
// list [--state S] [--all]: GET /v1/jobs as a table.
int CmdList(const CommandContext& ctx);
// status ID: GET /v1/jobs/{id} as a kubectl-describe-like view.
int CmdStatus(const CommandContext& ctx);
// cancel ID...: DELETE /v1/jobs/{id} for each.
int CmdCancel(const CommandContext& ctx);
// logs ID [-f] [--rank R]: page (or long-poll) GET /v1/jobs/{id}/logs.
int CmdLogs(const CommandContext& ctx);
// workers: GET /v1/workers as a table.
int CmdWorkers(const CommandContext& ctx);
// shoal accounts [list]: the contribution ledger and fair-share factors; accounts create NAME.
int CmdAccounts(const CommandContext& ctx);
// shoal tokens [list] | create ACCOUNT --role R [--label L] | revoke ID...
int CmdTokens(const CommandContext& ctx);

// Polls GET /v1/jobs/{id} until the job reaches a terminal state; with `follow`, shows the live
// progress line and the epoch-end lines on the way. Prints the final line (or, with -o json, the
// finished job) and returns 0 for SUCCEEDED, 1 for FAILED/CANCELLED, or the error's exit code.
int WaitForJob(const CommandContext& ctx, int64_t id, bool follow);

}  // namespace shoal::cli
