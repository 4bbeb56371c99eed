#include "cli/help.h"

#include <map>

namespace shoal::cli {

namespace {

constexpr const char* kGlobalFlags = R"(
Global flags (allowed anywhere on the line):
  --scheduler URL      scheduler address (default: $SHOAL_SCHEDULER, else http://127.0.0.1:8470)
  --token TOKEN        bearer token (default: $SHOAL_TOKEN, else the file $SHOAL_TOKEN_FILE or
                       ~/.config/shoal/token)
  --ca-file FILE       also trust this CA for an https:// scheduler (default: $SHOAL_CA_FILE)
  -o, --output FORMAT  table (default), wide (more columns) or json (the scheduler's reply)
  -h, --help           show help
)";

constexpr const char* kExitCodes = R"(
Exit codes:
  0  success
  1  the job failed or was cancelled (when waiting), or the job had already finished
  2  usage error or invalid job spec (nothing was sent)
  3  scheduler unreachable, server error or malformed reply
  4  not found or not allowed
)";

}  // namespace

constexpr const char* kOverview = R"(shoal - submit and watch training jobs on a shoal GPU pool

Usage: shoal [global flags] COMMAND [ARGS] [FLAGS]

Commands:
  submit FILE      validate a job spec locally, then submit it (--follow, --wait)
  list             list live and recently finished jobs (--all for every job)
  status ID        describe one job: state, placement, progress, result, attempts
  cancel ID...     cancel jobs (their ranks are stopped, their slots freed)
  logs ID          print a job's log (-f to follow, --rank R for one rank)
  workers          list the workers in the pool
  accounts         the contribution ledger: GPU-hours given and used, fair-share factors;
                   accounts create NAME (admin)
  tokens           list, create (admin) and revoke bearer tokens
  help [COMMAND]   show help for a command
)";

constexpr const char* kFooter = R"(
Run 'shoal COMMAND --help' for a command's flags. Example:
  shoal submit configs/jobs/tiny-mlp.yaml --follow
)";

const std::string& GlobalHelp() {
  static const std::string kText = std::string(kOverview) + kGlobalFlags + kExitCodes + kFooter;
  return kText;
}

const std::string& VerbHelp(const std::string& verb) {
  static const std::map<std::string, std::string> kTexts = {
      {"submit", std::string(R"(Usage: shoal submit FILE [--follow | --wait] [-o json]

Validates the job spec FILE (YAML, apiVersion shoal/v1, kind TrainingJob) locally; when it is
invalid, prints every error as file:line:column: field: message and exits 2 without contacting
the scheduler. Otherwise submits it and prints the job ID and how to watch it.

Flags:
  -f, --follow   wait for the job, showing a live progress line (epoch, step, loss, accuracy,
                 samples/s) and a line per finished epoch; exit with the job's result
      --wait     wait for the job silently; exit with the job's result
  -o json        print the scheduler's reply (with --wait/--follow: the finished job) as JSON

While waiting, the exit code is 0 when the job SUCCEEDED and 1 when it FAILED or was CANCELLED.
Ctrl-C stops waiting (exit 130); the job keeps running.
)") + kGlobalFlags},
      {"list", std::string(R"(Usage: shoal list [--state STATE] [--all] [-o wide|json]

Lists jobs, oldest first: ID NAME OWNER STATE REASON WORKERS AGE PROGRESS. -o wide adds PROJECT,
ATTEMPTS and NODES (the workers of the current attempt); -o json prints the jobs as JSON.

Like squeue, the list shows live jobs: jobs that finished (SUCCEEDED, FAILED, CANCELLED) more
than 1 hour ago are hidden unless --all or --state is given.

Flags:
      --state STATE  only jobs in STATE: PENDING, RUNNING, RESTARTING, SUCCEEDED, FAILED,
                     CANCELLED
  -a, --all          include jobs that finished more than 1 hour ago
)") + kGlobalFlags},
      {"status", std::string(R"(Usage: shoal status ID [-o json]

Describes one job: name, owner, project, state and reason, when it was submitted, started and
finished, its gang size and placement, the latest progress report, the result (test accuracy
and each rank's parameter checksum) and every attempt with its ranks' exit codes.
)") + kGlobalFlags},
      {"cancel", std::string(R"(Usage: shoal cancel ID...

Cancels each job: its ranks are stopped and their slots freed. Exits 0 when every job was
cancelled, 4 when a job was not found (or is not yours), else 1 when a job had already finished.
)") + kGlobalFlags},
      {"logs", std::string(R"(Usage: shoal logs ID [-f] [--rank R]

Prints the job's log lines, each prefixed with "[rank N] "; a line "--- attempt N ---" marks a
restart.

Flags:
  -f, --follow   keep printing new lines until the job finishes
      --rank R   only rank R's lines (printed without the prefix)
  -o json        print the lines as JSON (with -f: one JSON object per line)
)") + kGlobalFlags},
      {"workers", std::string(R"(Usage: shoal workers [-o wide|json]

Lists the workers in the pool: ID NAME STATE SLOTS (used/total) CPUS GPUS LAST-SEEN.
-o wide adds HOST and the ranks each worker runs (JOB/rRANK).
)") + kGlobalFlags},
      {"accounts", std::string(R"(Usage: shoal accounts [list] [-o json]
       shoal accounts create NAME

list (the default): the contribution ledger behind the fairshare policy: per account, the
GPU-hours its workers contributed (registered with its contributor tokens) and its jobs used
(submitted with its user tokens), both decayed with
the scheduler's fairShareHalfLife; BALANCE = contributed - used; SHARE and USAGE are the
account's parts of all contributions and all use; FAIR-SHARE = 2^(-usage/share) (1 = has used
nothing, 0.5 = used exactly its share; higher goes first).

create NAME (admin tokens only): a new account, NAME a DNS label (a-z, 0-9, '-'). Then give it
tokens with 'shoal tokens create NAME --role user|contributor'.
)") + kGlobalFlags},
      {"tokens", std::string(R"(Usage: shoal tokens [list] [--account NAME] [-o json]
       shoal tokens create ACCOUNT --role admin|user|contributor [--label TEXT]
       shoal tokens revoke ID...

Bearer tokens. A token belongs to one account and has one role:
  admin        everything, on every account: accounts, tokens, every job
  user         submit jobs; see, follow and cancel the account's own jobs
  contributor  run workers for the account (shoal-worker --token): they earn its credit
list shows the account's tokens (an admin: every token, or --account's). create (admin only)
prints the new token alone on stdout, the only time it is shown: only its hash is stored.
revoke takes effect at once (an admin: any token; others: their account's).
)") + kGlobalFlags},
      {"help", std::string(R"(Usage: shoal help [COMMAND]

Shows the overview, or a command's help.
)") + kGlobalFlags},
  };
  auto it = kTexts.find(verb);
  return it == kTexts.end() ? GlobalHelp() : it->second;
}

std::string UsageHint(const std::string& verb) {
  if (verb.empty() || verb == "help") return "Run 'shoal --help' for usage.";
  return "Run 'shoal " + verb + " --help' for usage.";
}

}  // namespace shoal::cli
