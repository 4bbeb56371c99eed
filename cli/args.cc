#include "cli/args.h"

#include <algorithm>
#include <cctype>
#include <memory>
#include <sstream>
#include <string_view>

#include "cli/args_data.h"
#include "cli/args_tokenize.h"
#include "common/duration.h"
#include "common/flags.h"

namespace shoal::cli {

namespace {

constexpr const char* kGlobalFooter =
    "Global flags (anywhere on the line; see 'shoal --help'): --scheduler URL, --token TOKEN, "
    "--ca-file FILE, --context NAME, -o/--output table|wide|json.";

constexpr const char* kOverviewFooter =
    R"(A JOB is a job ID or a job name (looked up among your jobs; it must name exactly one).

Settings come from the flag, else the environment ($SHOAL_SCHEDULER, $SHOAL_TOKEN,
$SHOAL_TOKEN_FILE, $SHOAL_CA_FILE), else the context (~/.config/shoal/config.yaml, see
'shoal config --help'), else the default (http://127.0.0.1:8470, ~/.config/shoal/token).

Exit codes:
  0  success
  1  the job failed or was cancelled (when waiting), or the job had already finished
  2  usage error or invalid job spec (nothing was sent)
  3  scheduler unreachable, server error or malformed reply
  4  not found or not allowed

Run 'shoal COMMAND --help' for a command's flags. Example:
  shoal submit configs/jobs/tiny-mlp.yaml --follow)";

// How many positional words each verb takes, and how its usage error names them.
struct Arity {
  const char* verb;
  int min_args;
  int max_args;      // -1 = no limit
  const char* what;  // how the usage message names the positional arguments
  bool job_refs;     // the positional arguments are jobs (IDs or names)
};

constexpr Arity kArity[] = {
    {"submit", 1, 1, "a job spec FILE", false},
    {"list", 0, 0, "", false},
    {"status", 1, 1, "a job ID or NAME", true},
    {"cancel", 0, -1, "at least one job ID or NAME (or --all)", true},
    {"logs", 1, 1, "a job ID or NAME", true},
    {"checkpoints", 2, 3, "ls JOB, get JOB [STEP] or rm JOB", false},
    {"data", 1, 3, "push PATH, ls, show, pull, grant, revoke, access, audit or rm", false},
    {"models", 1, 3, "publish JOB, ls, show, pull, grant, revoke, access, audit, rm or generate",
     false},
    {"workers", 0, 0, "", false},
    {"trace", 0, 0, "", false},
    {"accounts", 0, 2, "list or create NAME", false},
    {"tokens", 0, -1, "list, create ACCOUNT --role ROLE or revoke ID...", false},
    {"login", 0, 0, "", false},
    {"config", 1, 2, "get-contexts or use-context NAME", false},
    {"completion", 1, 1, "bash or zsh", false},
    {"explain", 0, 1, "a job spec FIELD (e.g. spec.model)", false},
    {"tokenize", 1, -1, "at least one INPUT file", false},
    {"help", 0, 1, "", false},
};

const Arity* FindArity(const std::string& verb) {
  for (const auto& a : kArity) {
    if (verb == a.verb) return &a;
  }
  return nullptr;
}

// Values parsed as text and checked after CLI11 is done, with the CLI's own messages.
struct Raw {
  std::string output = "table";
  std::string state;
  int rank = 0;
  int64_t tail = 0;
  std::string since;
  RegistryRaw registry;
  TokenizeRaw tokenize;
};

// The whole command line as CLI11 definitions: the one place the verbs and flags are defined
// (--help, parsing and `shoal completion` all come from here).
std::unique_ptr<CLI::App> MakeApp(CliArgs* out, Raw* raw) {
  auto app =
      std::make_unique<CLI::App>("shoal - submit and watch training jobs on a shoal GPU pool");
  flags::Configure(*app, "shoal");
  app->footer(kOverviewFooter);
  app->add_option("--scheduler", out->scheduler,
                  "scheduler address (default: $SHOAL_SCHEDULER, the context's, else "
                  "http://127.0.0.1:8470)")
      ->type_name("URL");
  app->add_option("--token", out->token,
                  "bearer token (default: $SHOAL_TOKEN, else the file $SHOAL_TOKEN_FILE, the "
                  "context's tokenFile or ~/.config/shoal/token; see 'shoal login')")
      ->type_name("TOKEN");
  app->add_option("--ca-file", out->ca_file,
                  "also trust this CA for an https:// scheduler (default: $SHOAL_CA_FILE)")
      ->type_name("FILE");
  app->add_option("--context", out->context,
                  "use this context of ~/.config/shoal/config.yaml (default: current-context)")
      ->type_name("NAME");
  app->add_option("-o,--output", raw->output,
                  "table, wide (more columns) or json (the scheduler's reply)")
      ->type_name("FORMAT")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast)
      ->check(CLI::IsMember({"table", "wide", "json"}));

  auto verb = [&](const char* name, const char* description, const char* footer) {
    CLI::App* sub = app->add_subcommand(name, description);
    sub->fallthrough();  // global flags after the verb go to the app
    sub->footer(flags::Wrap(std::string(footer) + (*footer != 0 ? "\n\n" : "") + kGlobalFooter));
    return sub;
  };
  auto positional = [&](CLI::App* sub, const char* name, const char* description) {
    sub->add_option(name, out->positional, description)->type_name("")->default_str("");
  };

  CLI::App* submit = verb(
      "submit", "validate a job spec FILE locally, then submit it (--follow, --wait)",
      "A spec that is invalid is reported as file:line:column: field: message, and nothing is "
      "sent (exit 2). While waiting, the exit code is 0 when the job SUCCEEDED and 1 when it "
      "FAILED "
      "or was CANCELLED; Ctrl-C stops waiting (exit 130) and the job keeps running. Warnings of "
      "the scheduler about the job go to stderr.");
  positional(submit, "FILE", "the job spec (YAML)");
  submit->add_flag("-f,--follow", out->follow,
                   "wait for the job with a live progress line and a line per finished epoch");
  submit->add_flag("--wait", out->wait, "wait for the job silently; exit with its result");
  submit->add_flag("--dry-run", out->dry_run,
                   "validate the spec and print what one rank needs (the memory estimate the "
                   "scheduler places ranks by), then stop: nothing is sent");

  CLI::App* list = verb(
      "list", "list live and recently finished jobs (--all for every job)",
      "Columns: ID NAME OWNER STATE REASON WORKERS AGE PROGRESS, oldest first. -o wide adds "
      "PROJECT, ATTEMPTS, START (a pending job's estimated start) and NODES, and shows the whole "
      "reason with the scheduler's explanation. PROGRESS shows \"acc -\" for a job without a test "
      "set. Like squeue, jobs that finished more than 1 hour ago are hidden unless --all, --state "
      "or --name is given.");
  list->add_option("--state", raw->state,
                   "only jobs in STATE: PENDING, RUNNING, RESTARTING, SUCCEEDED, FAILED, CANCELLED")
      ->type_name("STATE");
  list->add_flag("-a,--all", out->all, "include jobs that finished more than 1 hour ago");
  list->add_option("--owner", out->owner, "only ACCOUNT's jobs (others than your own: admins)")
      ->type_name("ACCOUNT");
  list->add_option("--name", out->name, "only jobs named NAME (metadata.name)")->type_name("NAME");
  list->add_flag("-w,--watch", out->watch,
                 "redraw every 2 seconds until Ctrl-C (reprinted when stdout is not a terminal)");

  CLI::App* status = verb(
      "status", "describe one job: state, placement, progress, result, attempts, events",
      "Shows name, owner, project, state and reason (with the scheduler's explanation), a pending "
      "job's estimated start, when it was submitted, started and finished, its gang size and "
      "placement, the latest progress report, the result (test accuracy and each rank's parameter "
      "checksum), every attempt with its ranks' exit codes, and the events (submitted, placed, "
      "started, checkpoint, preempted, ...) with their age.");
  positional(status, "JOB", "a job ID or name");

  CLI::App* cancel = verb(
      "cancel", "cancel jobs (their ranks are stopped, their slots freed); --all",
      "Exits 0 when every job was cancelled, 4 when a job was not found (or is not yours), else 1 "
      "when a job had already finished. --all asks \"cancel N jobs? [y/N]\" on a terminal and "
      "refuses without --yes when stdin is not one.");
  positional(cancel, "JOB", "job IDs or names");
  cancel->add_flag("-a,--all", out->all,
                   "cancel every unfinished job you can see (an admin: everyone's)");
  cancel->add_option("--state", raw->state, "with --all: only jobs in STATE (e.g. PENDING)")
      ->type_name("STATE");
  cancel->add_flag("-y,--yes", out->yes, "do not ask for confirmation");

  CLI::App* logs = verb(
      "logs", "print a job's log (-f to follow, --rank R for one rank, --tail N)",
      "Each line is prefixed with \"[rank N] \"; a line \"--- attempt N ---\" marks a restart. A "
      "job that failed or was cancelled before writing a line: says why on stderr and exits 1 (0 "
      "for a job that succeeded). -o json prints the lines as JSON (with -f: one object per "
      "line).");
  positional(logs, "JOB", "a job ID or name");
  logs->add_flag("-f,--follow", out->follow, "keep printing new lines until the job finishes");
  logs->add_option("--rank", raw->rank, "only rank R's lines (printed without the prefix)")
      ->type_name("R")
      ->default_str("")
      ->check(flags::NonNegative(999999));
  logs->add_option("--tail", raw->tail, "start with the last N lines (with -f: then follow)")
      ->type_name("N")
      ->default_str("")
      ->check(flags::NonNegative(1e9));
  logs->add_option("--since", raw->since, "only lines written in the last DURATION (10m, 2h, 1d)")
      ->type_name("DURATION");
  logs->add_flag("--timestamps", out->timestamps, "prefix each line with its time (UTC, RFC 3339)");

  CLI::App* checkpoints = verb(
      "checkpoints",
      "ls JOB: a job's stored checkpoints; get JOB [STEP]: download one; rm JOB: delete them",
      "Usage: shoal checkpoints ls JOB | get JOB [STEP] [-O FILE] | rm JOB\n\nls shows STEP "
      "ATTEMPT SIZE SHA256 (first 12 hex digits) AGE. get downloads the checkpoint at STEP "
      "(default: the newest) to FILE (default: JOBNAME-STEP.safetensors), checking its SHA-256 "
      "against the listing; a mismatch writes nothing and exits 3. rm deletes an ended job's "
      "checkpoints (they count against the account's checkpoint quota; the scheduler deletes "
      "them itself some days after the job ends, unless its spec says "
      "checkpoint.keepAfterEnd).");
  positional(checkpoints, "ARGS", "ls JOB | get JOB [STEP] | rm JOB");
  checkpoints->add_option("-O,--output-file", out->output_file, "get: write to FILE")
      ->type_name("FILE");

  verb("workers", "list the workers in the pool",
       "Columns: ID NAME STATE (alive, lost or quarantined) RATE (the chance per step that a rank "
       "of it is audited) AUDITS (clean/failed) SLOTS (used/total) CPUS GPUS LAST-SEEN; -o wide "
       "adds HOST, MEMORY (the RAM it lends to ranks) and the ranks each worker runs "
       "(JOB/rRANK). A quarantined worker (caught returning wrong gradients) gets no work until "
       "an admin clears it (POST /v1/workers/ID/clear). Another "
       "account's worker shows NAME and HOST as - and only your own jobs' ranks, unless the "
       "scheduler's visibility.workers is all.");

  CLI::App* trace = verb(
      "trace", "the pool's jobs as a trace for shoal-sim, to choose a policy on them (admin)",
      "Writes every job (--since: submitted in the last DURATION) as CSV in the layout shoal-sim "
      "--trace reads: job_id, submit_time_s, num_gpus (a slot per rank for backend cpu), "
      "duration_s (the run time of all its attempts), vc (its account), status, then limit_s "
      "(its maxRuntime, which shoal-sim uses as its limit), queue_s, jct_s and attempts. Replay "
      "it with, e.g., shoal-sim --trace FILE --cluster 8x8 --policy fairshare+backfill+preempt; "
      "with -O, it prints the --cluster of the workers alive now. Needs an admin token.");
  trace->add_option("--since", raw->since, "only jobs submitted in the last DURATION (7d, 12h)")
      ->type_name("DURATION");
  trace->add_option("-O,--output-file", out->output_file, "write to FILE (default: stdout)")
      ->type_name("FILE");

  CLI::App* accounts = verb(
      "accounts",
      "the contribution ledger: GPU-hours given and used, fair-share factors; create NAME (admin)",
      "Usage: shoal accounts [list] | create NAME\n\nlist: per account, the GPU-hours its workers "
      "contributed and its jobs used, both decayed with the scheduler's fairShareHalfLife, with "
      "one decimal (slot-hours in a CPU-only pool, where the ledger counts a worker slot as one "
      "GPU); BALANCE = contributed - used; SHARE and USAGE are the account's parts of all "
      "contributions and all use; FAIR-SHARE = 2^(-usage/share) (higher goes first). The footer "
      "shows the half-life and the policy; a non-admin sees only its own account unless the "
      "scheduler's visibility.accounts is all. create NAME (admin tokens only): a new account, "
      "NAME a DNS label; then 'shoal tokens create NAME --role user|contributor'.");
  positional(accounts, "ARGS", "[list] | create NAME");

  CLI::App* tokens = verb(
      "tokens", "list, create (admin) and revoke bearer tokens",
      "Usage: shoal tokens [list] [--account NAME] | create ACCOUNT --role admin|user|contributor "
      "[--label TEXT] [--expires DURATION] [--save [PATH]] | revoke ID...\n\nA token belongs to "
      "one account and has one role: admin (everything, on every account), user (submit, see and "
      "cancel the account's jobs), contributor (run workers that earn the account's credit). "
      "create prints the new "
      "token alone on stdout, the only time it is shown; --save writes it instead to PATH "
      "(default: the token file the CLI reads, see 'shoal login'), mode 0600, in a directory "
      "created 0700; --expires DURATION (12h, 30d, 1d12h) makes it stop working that long from "
      "now. list shows when each token was last used (stored about once a minute) and when it "
      "expires. revoke takes effect at once.");
  positional(tokens, "ARGS", "[list] | create ACCOUNT | revoke ID...");
  tokens->add_option("--role", out->role, "create: admin, user or contributor")
      ->type_name("ROLE")
      ->check(CLI::IsMember({"admin", "user", "contributor"}));
  tokens->add_option("--label", out->label, "create: a note kept with the token")
      ->type_name("TEXT");
  tokens
      ->add_option("--expires", out->expires,
                   "create: the token stops working this long from now (e.g. 12h, 30d, 1d12h; "
                   "default: never)")
      ->type_name("DURATION");
  tokens->add_option("--account", out->account, "list: only this account's tokens (admins)")
      ->type_name("NAME");
  tokens->add_option("--save", out->save_path, "create: write the token to PATH (0600)")
      ->expected(0, 1)
      ->type_name("[PATH]");

  CLI::App* data =
      verb("data", "the dataset registry: push, ls, show, pull, grant, revoke, access, audit, rm",
           kDataFooter);
  positional(data, "ARGS", "push PATH | ls | show NAME[@V] | pull NAME[@V] DIR | ...");
  AddRegistryFlags(data, out, &raw->registry);

  CLI::App* models =
      verb("models",
           "the model library: publish, ls, show, pull, grant, revoke, access, audit, rm, generate",
           kModelsFooter);
  positional(models, "ARGS",
             "publish JOB | ls | show NAME[@V] | pull NAME[@V] DIR | generate NAME[@V] | ...");
  AddRegistryFlags(models, out, &raw->registry);

  CLI::App* login = verb(
      "login", "store a token (and the scheduler's address) for later commands",
      "Checks the token with the scheduler (a refused token exits 4 and is not saved) and stores "
      "it, mode 0600, where later commands read it: with --context NAME in that context's "
      "tokenFile (~/.config/shoal/tokens/NAME when new; the context is created or updated with "
      "--scheduler and --ca-file in ~/.config/shoal/config.yaml and made the current one); "
      "otherwise in the current context's tokenFile, else $SHOAL_TOKEN_FILE, else "
      "~/.config/shoal/token, and --scheduler without a context creates the context \"default\". "
      "Without --token-stdin or --token, it asks for the token on a terminal (without echo). "
      "Example: shoal tokens create lab-a --role user | shoal login --token-stdin");
  login->add_flag("--token-stdin", out->token_stdin, "read the token from the first line of stdin");

  verb("config", "get-contexts, use-context NAME: the contexts of config.yaml",
       "Usage: shoal config get-contexts | use-context NAME\n\n~/.config/shoal/config.yaml works "
       "like a kubeconfig: \"current-context: lab\" and \"contexts:\" a list of {name, scheduler, "
       "tokenFile, caFile}. get-contexts lists them (* marks the current one); use-context makes "
       "NAME the current one; --context NAME selects one for a single command.");
  positional(app->get_subcommand("config"), "ARGS", "get-contexts | use-context NAME");

  CLI::App* completion = verb(
      "completion", "print a bash or zsh completion script",
      "source <(shoal completion bash) in ~/.bashrc; source <(shoal completion zsh) in ~/.zshrc.");
  positional(completion, "SHELL", "bash or zsh");

  CLI::App* explain = verb(
      "explain", "document a job spec field, like kubectl explain (no scheduler needed)",
      "FIELD is a path such as spec.model, model.layers (spec. implied) or workers.min; none "
      "shows the whole document. Prints its type, default, allowed values and description, and "
      "an object's fields. docs/job-spec.schema.json is the same contract as a JSON Schema.");
  positional(explain, "FIELD", "the field's path");

  CLI::App* tokenize =
      verb("tokenize", "turn text files into token shards for training (no scheduler needed)",
           kTokenizeFooter);
  positional(tokenize, "INPUT", "the text files, in order");
  AddTokenizeFlags(tokenize, out, &raw->tokenize);

  CLI::App* help = verb("help", "show help for a command", "");
  positional(help, "COMMAND", "the command to explain");
  // One verb per line: a later word that names a verb (a job called "list") is an argument.
  app->require_subcommand(0, 1);
  return app;
}

// The verb CLI11 selected, "" when none.
std::string SelectedVerb(const CLI::App& app) {
  auto subs = app.get_subcommands();
  return subs.empty() ? "" : subs.front()->get_name();
}

Status CheckState(const std::string& value, std::string* out) {
  static const char* kStates[] = {"PENDING",   "RUNNING", "RESTARTING",
                                  "SUCCEEDED", "FAILED",  "CANCELLED"};
  std::string upper = value;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (std::find(std::begin(kStates), std::end(kStates), upper) == std::end(kStates)) {
    return InvalidArgument("unknown job state \"" + value +
                           "\" (allowed: PENDING, RUNNING, RESTARTING, SUCCEEDED, FAILED, "
                           "CANCELLED)");
  }
  *out = upper;
  return Status::Ok();
}

// `shoal accounts [list | create NAME]`, `shoal tokens [list | create ACCOUNT | revoke ID...]`.
Status CheckSubcommand(CliArgs* out) {
  const auto& pos = out->positional;
  const std::string sub = pos.empty() ? "list" : pos[0];
  const std::string usage = "'shoal " + out->verb + "' ";
  if (out->verb == "accounts") {
    if (sub == "list" && pos.size() <= 1) return Status::Ok();
    if (sub == "create" && pos.size() == 2) return Status::Ok();
    if (sub == "create") return InvalidArgument(usage + "create needs one account NAME");
    return InvalidArgument(usage + "takes list or create NAME, got \"" + pos[0] + "\"");
  }
  const bool create = sub == "create", list = sub == "list", revoke = sub == "revoke";
  if (!create && !list && !revoke) {
    return InvalidArgument(usage + "takes list, create ACCOUNT or revoke ID..., got \"" + pos[0] +
                           "\"");
  }
  if ((!out->role.empty() || !out->label.empty() || !out->expires.empty() || out->save) &&
      !create) {
    return InvalidArgument("--role, --label, --expires and --save go with 'shoal tokens create'");
  }
  if (!out->expires.empty()) {
    auto seconds = ParseDurationSeconds(out->expires);
    if (!seconds.ok() || *seconds <= 0) {
      return InvalidArgument(
          "--expires needs a duration longer than 0s like 12h, 30d or 1d12h, got \"" +
          out->expires + "\"");
    }
  }
  if (!out->account.empty() && !list) {
    return InvalidArgument("--account goes with 'shoal tokens list'");
  }
  if (list && pos.size() > 1) return InvalidArgument(usage + "list takes no argument");
  if (create && pos.size() != 2) return InvalidArgument(usage + "create needs one ACCOUNT");
  if (create && out->role.empty()) {
    return InvalidArgument(usage + "create needs --role admin|user|contributor");
  }
  if (revoke) {
    if (pos.size() < 2) return InvalidArgument(usage + "revoke needs at least one token ID");
    for (size_t i = 1; i < pos.size(); ++i) {
      auto id = ParseJobId(pos[i]);
      if (!id.ok()) {
        return InvalidArgument("token ID must be a positive integer, got \"" + pos[i] + "\"");
      }
      out->job_ids.push_back(*id);  // the IDs to revoke
    }
  }
  return Status::Ok();
}

// The rules of the other verbs.
Status CheckVerbRules(CliArgs* out) {
  const auto& pos = out->positional;
  const std::string& verb = out->verb;
  if (verb == "cancel") {
    if (out->all && !pos.empty()) {
      return InvalidArgument("'shoal cancel --all' takes no job IDs (--state narrows it)");
    }
    if (!out->all && pos.empty()) {
      return InvalidArgument("'shoal cancel' needs at least one job ID or NAME (or --all)");
    }
    if (!out->all && !out->state.empty()) {
      return InvalidArgument("--state goes with 'shoal cancel --all'");
    }
  }
  if (verb == "submit" && out->dry_run && (out->follow || out->wait)) {
    return InvalidArgument(
        "--dry-run submits nothing to wait for: it does not go with --follow "
        "or --wait");
  }
  if (verb == "list" && out->watch && out->output == OutputFormat::kJson) {
    return InvalidArgument("--watch shows tables; it does not go with -o json");
  }
  if (verb == "checkpoints") {
    if (out->sub != "ls" && out->sub != "get" && out->sub != "rm") {
      return InvalidArgument("'shoal checkpoints' takes ls JOB, get JOB [STEP] or rm JOB, got \"" +
                             out->sub + "\"");
    }
    if (out->sub != "get" && pos.size() != 2) {
      return InvalidArgument("'shoal checkpoints " + out->sub + "' takes one JOB");
    }
    if (out->sub != "get" && !out->output_file.empty()) {
      return InvalidArgument("-O goes with 'shoal checkpoints get'");
    }
    if (IsAllDigits(pos[1])) RETURN_IF_ERROR(ParseJobId(pos[1]).status());
    out->job_refs.push_back(pos[1]);
    if (pos.size() == 3 && (!IsAllDigits(pos[2]) || pos[2].size() > 18)) {
      return InvalidArgument("a checkpoint STEP is a non-negative integer, got \"" + pos[2] + "\"");
    }
  }
  if (verb == "config") {
    if (out->sub == "get-contexts" && pos.size() == 1) return Status::Ok();
    if (out->sub == "use-context" && pos.size() == 2) return Status::Ok();
    if (out->sub == "use-context") {
      return InvalidArgument("'shoal config use-context' needs a context NAME");
    }
    return InvalidArgument("'shoal config' takes get-contexts or use-context NAME, got \"" +
                           out->sub + "\"");
  }
  if (verb == "completion" && out->sub != "bash" && out->sub != "zsh") {
    return InvalidArgument("'shoal completion' takes bash or zsh, got \"" + out->sub + "\"");
  }
  if (verb == "help" && !pos.empty() && FindArity(pos[0]) == nullptr) {
    return InvalidArgument("unknown command \"" + pos[0] + "\"");
  }
  return Status::Ok();
}

// Everything CLI11 does not check: values, arity, and the verbs' rules.
Status Validate(const CLI::App& app, const Raw& raw, CliArgs* out) {
  out->output = raw.output == "json"   ? OutputFormat::kJson
                : raw.output == "wide" ? OutputFormat::kWide
                                       : OutputFormat::kTable;
  if (out->verb.empty()) return InvalidArgument("no command given");
  const CLI::App* sub = app.get_subcommand(out->verb);
  auto given = [sub](const char* name) {
    const CLI::Option* opt = sub->get_option_no_throw(name);
    return opt != nullptr && opt->count() > 0;
  };
  if (!raw.state.empty()) RETURN_IF_ERROR(CheckState(raw.state, &out->state));
  if (given("--rank")) out->rank = raw.rank;
  if (given("--tail")) out->tail = raw.tail;
  if (given("--since")) {
    auto seconds = ParseDurationSeconds(raw.since);
    if (!seconds.ok()) {
      return InvalidArgument("--since needs a duration like 10m, 2h or 1d12h, got \"" + raw.since +
                             "\"");
    }
    out->since_s = *seconds;
  }
  if (out->verb == "tokens") out->save = given("--save");
  for (const char* flag : {"--scheduler", "--token", "--ca-file", "--context"}) {
    if (app.count(flag) > 0 && app.get_option(flag)->as<std::string>().empty()) {
      return InvalidArgument(std::string(flag) + " needs a value");
    }
  }
  const Arity* arity = FindArity(out->verb);
  const int n = static_cast<int>(out->positional.size());
  if (n < arity->min_args) return InvalidArgument("'shoal " + out->verb + "' needs " + arity->what);
  if (arity->max_args >= 0 && n > arity->max_args) {
    return InvalidArgument("unexpected argument \"" + out->positional[arity->max_args] +
                           "\" for 'shoal " + out->verb + "'");
  }
  if (arity->job_refs) {
    for (const auto& p : out->positional) {
      // A word of digits is an ID (and must be a valid one); any other word is a job name.
      if (IsAllDigits(p) || p[0] == '-') RETURN_IF_ERROR(ParseJobId(p).status());
      out->job_refs.push_back(p);
    }
  } else if (!out->positional.empty()) {
    out->sub = out->positional[0];
  }
  if (out->verb == "accounts" || out->verb == "tokens") RETURN_IF_ERROR(CheckSubcommand(out));
  if (out->verb == "data" || out->verb == "models") return CheckRegistryArgs(raw.registry, out);
  if (out->verb == "tokenize") return CheckTokenizeArgs(raw.tokenize, out);
  return CheckVerbRules(out);
}

}  // namespace

std::optional<int> ParseCommandLine(const std::vector<std::string>& args, CliArgs* out,
                                    std::ostream& out_text, std::ostream& err_text) {
  *out = CliArgs();
  Raw raw;
  std::unique_ptr<CLI::App> app = MakeApp(out, &raw);
  std::ostringstream errors;
  std::optional<int> code = flags::Parse(*app, args, out_text, errors);
  out->verb = SelectedVerb(*app);
  // A verb's flag given before the verb is suggested as itself; say where it goes instead.
  std::string text = errors.str();
  const std::string unknown = "unknown flag ";
  if (size_t at = text.find(unknown); at != std::string::npos) {
    size_t start = at + unknown.size();
    std::string name = text.substr(start, text.find_first_of(" \n", start) - start);
    std::string same = " (did you mean " + name + "?)";
    if (size_t p = text.find(same); p != std::string::npos) {
      text.replace(p, same.size(), " before the command (it goes after 'shoal " + out->verb + "')");
    }
  }
  err_text << text;
  if (code.has_value()) return code;
  Status st = Validate(*app, raw, out);
  if (!st.ok()) return flags::UsageError(*app, st.message(), err_text);
  return std::nullopt;
}

Status ParseArgs(const std::vector<std::string>& args, CliArgs* out) {
  std::ostringstream text, err;
  std::optional<int> code = ParseCommandLine(args, out, text, err);
  if (!code.has_value()) return Status::Ok();
  if (*code == 0) {
    const bool version = std::find(args.begin(), args.end(), "--version") != args.end();
    (version ? out->version : out->help) = true;
    return Status::Ok();
  }
  std::string message = err.str().substr(0, err.str().find('\n'));
  return InvalidArgument(message);
}

std::string HelpText(const std::string& verb) {
  CliArgs ignored;
  Raw raw;
  std::unique_ptr<CLI::App> app = MakeApp(&ignored, &raw);
  if (!verb.empty() && FindArity(verb) != nullptr) return app->get_subcommand(verb)->help("shoal");
  return app->help();
}

std::vector<VerbFlags> CompletionTable() {
  CliArgs ignored;
  Raw raw;
  std::unique_ptr<CLI::App> app = MakeApp(&ignored, &raw);
  std::vector<VerbFlags> table;
  std::vector<std::string> value_flags;
  for (const CLI::Option* opt : app->get_options()) {
    if (opt->get_type_size() == 0 || opt->get_expected_min() == 0) continue;  // a switch
    for (const std::string& l : opt->get_lnames()) value_flags.push_back("--" + l);
    for (const std::string& n : opt->get_snames()) value_flags.push_back("-" + n);
  }
  table.push_back({"", flags::FlagNames(*app), value_flags});
  for (const CLI::App* sub : app->get_subcommands([](const CLI::App*) { return true; })) {
    std::string verb = sub->get_name();
    std::vector<std::string> actions;
    if (verb == "accounts") actions = {"list", "create"};
    if (verb == "tokens") actions = {"list", "create", "revoke"};
    if (verb == "checkpoints") actions = {"ls", "get"};
    if (verb == "data") {
      actions = {"push", "ls", "show", "pull", "grant", "revoke", "access", "audit", "rm"};
    }
    if (verb == "models") {
      actions = {"publish", "ls",     "show",  "pull", "grant",
                 "revoke",  "access", "audit", "rm",   "generate"};
    }
    if (verb == "config") actions = {"get-contexts", "use-context"};
    if (verb == "completion") actions = {"bash", "zsh"};
    if (verb == "help") {
      for (const auto& a : kArity) actions.push_back(a.verb);
    }
    std::vector<std::string> names = flags::FlagNames(*sub);
    names.erase(std::remove_if(names.begin(), names.end(),
                               [](const std::string& n) { return n == "-h" || n == "--help"; }),
                names.end());
    table.push_back({verb, names, actions});
  }
  return table;
}

bool IsKnownVerb(const std::string& verb) { return FindArity(verb) != nullptr; }

bool IsAllDigits(const std::string& text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c));
  });
}

Result<int64_t> ParseJobId(const std::string& text) {
  if (!IsAllDigits(text) || text.size() > 18 || std::stoll(text) <= 0) {
    return InvalidArgument("a job ID is a positive integer, got \"" + text + "\"");
  }
  return std::stoll(text);
}

}  // namespace shoal::cli
