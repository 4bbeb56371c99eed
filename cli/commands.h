// The verbs of `shoal`. Each runs one command with a parsed command line and returns its exit code
// (cli/exit_codes.h), writing results to ctx.out() and diagnostics to ctx.err(). They may throw
// nlohmann::json exceptions on a reply of an unexpected shape; RunCli turns those into exit 3.
#pragma once

#include <ostream>

#include "cli/args.h"
#include "cli/cli.h"
#include "cli/context.h"

namespace shoal::cli {

// submit FILE [--follow|--wait]: validate locally (exit 2 on a bad spec, nothing sent), POST
// /v1/jobs, then optionally wait for the job (WaitForJob).
int CmdSubmit(const CommandContext& ctx);
// list [--state S] [--all] [--owner A] [--name N] [--watch]: GET /v1/jobs as a table (redrawn
// every env().watch_interval with --watch).
int CmdList(const CommandContext& ctx);
// status JOB: GET /v1/jobs/{id} as a kubectl-describe-like view, with an events timeline.
int CmdStatus(const CommandContext& ctx);
// cancel JOB... | cancel --all [--state S] [--yes]: DELETE /v1/jobs/{id} for each; --all asks
// for confirmation on a terminal and refuses without --yes elsewhere.
int CmdCancel(const CommandContext& ctx);
// logs JOB [-f] [--rank R] [--tail N] [--since D] [--timestamps]: page (or long-poll)
// GET /v1/jobs/{id}/logs. A log without lines explains why from the job's state and exits with
// the job's code.
int CmdLogs(const CommandContext& ctx);
// checkpoints ls JOB | get JOB [STEP] [-O FILE]: the job's stored checkpoints.
int CmdCheckpoints(const CommandContext& ctx);
// data push PATH --name NAME ... | ls | show NAME[@V] | pull NAME[@V] DIR | grant NAME ACCOUNT |
// revoke NAME ACCOUNT | access NAME | audit NAME | rm NAME@V: the dataset registry; and models
// publish JOB --name NAME ... | ls | show | pull | ... (the same actions): the model library. The
// verb names the kind.
int CmdRegistry(const CommandContext& ctx);
// login [--token-stdin | --token T] [--scheduler URL] [--context NAME]: checks the token with the
// scheduler and stores it (0600) where the CLI reads it; records the scheduler in the context.
// Without either token flag it asks on a terminal (echo off) and is a usage error elsewhere.
int CmdLogin(const CommandContext& ctx);
// config get-contexts | use-context NAME: the contexts of config.yaml.
int CmdConfig(const CommandContext& ctx);
// workers: GET /v1/workers as a table.
int CmdWorkers(const CommandContext& ctx);
// trace [--since D] [-O FILE]: GET /v1/trace (the pool's jobs as a shoal-sim trace, CSV) to
// stdout or FILE (written atomically).
int CmdTrace(const CommandContext& ctx);
// shoal accounts [list]: the contribution ledger and fair-share factors; accounts create NAME.
int CmdAccounts(const CommandContext& ctx);
// shoal tokens [list] | create ACCOUNT --role R [--label L] | revoke ID...
int CmdTokens(const CommandContext& ctx);
// tokenize INPUT... --tokenizer bytes|gpt2 --out DIR [--val-fraction F] [--shard-tokens N]
// [--encoder FILE --vocab FILE]: text files -> llm.c token shards (data/token_shards.h), locally:
// it needs no scheduler, so it takes the parsed line and the environment instead of a context.
int CmdTokenize(const CliArgs& args, const CliEnv& env, std::ostream& out, std::ostream& err);

// Polls GET /v1/jobs/{id} until the job reaches a terminal state; with `follow`, shows the live
// progress line and the epoch-end lines on the way. Prints the final line (or, with -o json, the
// finished job) and returns 0 for SUCCEEDED, 1 for FAILED/CANCELLED, or the error's exit code.
int WaitForJob(const CommandContext& ctx, int64_t id, bool follow);

}  // namespace shoal::cli
