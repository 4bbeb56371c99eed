#include "cli/help.h"

#include <map>
#include <sstream>

#include "cli/args.h"

namespace shoal::cli {

namespace {

constexpr const char* kGlobalFlags = R"(
Global flags (allowed anywhere on the line):
  --scheduler URL      scheduler address (default: $SHOAL_SCHEDULER, else http://127.0.0.1:8470)
  --token TOKEN        bearer token (default: $SHOAL_TOKEN, else the file $SHOAL_TOKEN_FILE, the
                       context's tokenFile or ~/.config/shoal/token; see 'shoal login')
  --ca-file FILE       also trust this CA for an https:// scheduler (default: $SHOAL_CA_FILE)
  --context NAME       use this context of ~/.config/shoal/config.yaml (default: current-context)
  -o, --output FORMAT  table (default), wide (more columns) or json (the scheduler's reply)
  -h, --help           show help
  --version            print the version and git commit

Settings come from the flag, else the environment, else the context, else the default.
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
  status JOB       describe one job: state, placement, progress, result, attempts, events
  cancel JOB...    cancel jobs (their ranks are stopped, their slots freed); --all
  logs JOB         print a job's log (-f to follow, --rank R for one rank, --tail N)
  checkpoints      ls JOB: a job's stored checkpoints; get JOB [STEP]: download one
  workers          list the workers in the pool
  accounts         the contribution ledger: GPU-hours given and used, fair-share factors;
                   accounts create NAME (admin)
  tokens           list, create (admin) and revoke bearer tokens
  login            store a token (and the scheduler's address) for later commands
  config           get-contexts, use-context NAME: the contexts of config.yaml
  completion SHELL print a bash or zsh completion script
  help [COMMAND]   show help for a command

A JOB is a job ID or a job name (looked up among your jobs; it must name exactly one).
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
      {"list",
       std::string(R"(Usage: shoal list [--state STATE] [--all] [--owner ACCOUNT] [--name NAME]
                  [--watch] [-o wide|json]

Lists jobs, oldest first: ID NAME OWNER STATE REASON WORKERS AGE PROGRESS. -o wide adds PROJECT,
ATTEMPTS, START (a pending job's estimated start), NODES (the workers of the current attempt)
and shows the whole reason with the scheduler's explanation; -o json prints the jobs as JSON.
PROGRESS shows "acc -" for a job without a test set.

Like squeue, the list shows live jobs: jobs that finished (SUCCEEDED, FAILED, CANCELLED) more
than 1 hour ago are hidden unless --all or --state is given.

Flags:
      --state STATE  only jobs in STATE: PENDING, RUNNING, RESTARTING, SUCCEEDED, FAILED,
                     CANCELLED
  -a, --all          include jobs that finished more than 1 hour ago
      --owner ACCOUNT  only ACCOUNT's jobs (an admin's view; others see only their own)
      --name NAME    only jobs named NAME (metadata.name)
  -w, --watch        redraw the list every 2 seconds until Ctrl-C (reprinted when stdout is not
                     a terminal)
)") + kGlobalFlags},
      {"status", std::string(R"(Usage: shoal status JOB [-o json]

Describes one job: name, owner, project, state and reason (with the scheduler's explanation),
a pending job's estimated start, when it was submitted, started and finished, its gang size and
placement, the latest progress report, the result (test accuracy and each rank's parameter
checksum), every attempt with its ranks' exit codes, and the events (submitted, placed,
started, checkpoint, preempted, ...) with their age. JOB is a job ID or a job name.
)") + kGlobalFlags},
      {"cancel", std::string(R"(Usage: shoal cancel JOB...
       shoal cancel --all [--state STATE] [--yes]

Cancels each job (an ID or a name): its ranks are stopped and their slots freed. Exits 0 when
every job was cancelled, 4 when a job was not found (or is not yours), else 1 when a job had
already finished.

Flags:
  -a, --all          cancel every unfinished job you can see (an admin: everyone's)
      --state STATE  with --all: only jobs in STATE (PENDING, RUNNING, RESTARTING)
  -y, --yes          do not ask "cancel N jobs? [y/N]"; needed when stdin is not a terminal
)") + kGlobalFlags},
      {"logs", std::string(R"(Usage: shoal logs JOB [-f] [--rank R] [--tail N] [--since DURATION]
                  [--timestamps]

Prints the job's log lines, each prefixed with "[rank N] "; a line "--- attempt N ---" marks a
restart. A job that failed or was cancelled before writing a line: says why on stderr and exits
1 (0 for a job that succeeded).

Flags:
  -f, --follow        keep printing new lines until the job finishes
      --rank R        only rank R's lines (printed without the prefix)
      --tail N        start with the last N lines (with -f: then follow)
      --since D       only lines written in the last D (10m, 2h, 1d12h)
      --timestamps    prefix each line with its time (UTC, RFC 3339)
  -o json             print the lines as JSON (with -f: one JSON object per line)
)") + kGlobalFlags},
      {"checkpoints", std::string(R"(Usage: shoal checkpoints ls JOB [-o json]
       shoal checkpoints get JOB [STEP] [-O FILE]

ls: the checkpoints the scheduler keeps for the job: STEP ATTEMPT SIZE SHA256 (first 12 hex
digits) AGE. get: downloads the checkpoint at STEP (default: the newest) to FILE (default:
JOBNAME-STEP.safetensors), checking its SHA-256 against the listing; a mismatch writes nothing
and exits 3.
)") + kGlobalFlags},
      {"login", std::string(R"(Usage: shoal login [--token-stdin | --token TOKEN] [--scheduler URL]
                   [--context NAME]

Checks the token with the scheduler (a refused token exits 4 and is not saved) and stores it,
mode 0600, where later commands read it:
  --context NAME  in NAME's tokenFile (~/.config/shoal/tokens/NAME when new); the context is
                  created or updated in ~/.config/shoal/config.yaml (with --scheduler,
                  --ca-file) and made the current one
  otherwise       in the current context's tokenFile, else $SHOAL_TOKEN_FILE, else
                  ~/.config/shoal/token; with --scheduler and no context, a context "default"
                  records the address

Flags:
      --token-stdin  read the token from the first line of stdin:
                       shoal tokens create lab-a --role user | shoal login --token-stdin
)") + kGlobalFlags},
      {"config", std::string(R"(Usage: shoal config get-contexts [-o json]
       shoal config use-context NAME

The contexts of ~/.config/shoal/config.yaml (like a kubeconfig):
  current-context: lab
  contexts:
    - name: lab
      scheduler: https://sched.lab.example:8470
      tokenFile: /home/me/.config/shoal/tokens/lab
      caFile: /home/me/lab-ca.pem
get-contexts lists them (* marks the current one); use-context makes NAME the current one.
--context NAME selects one for a single command.
)") + kGlobalFlags},
      {"completion", std::string(R"(Usage: shoal completion bash|zsh

Prints a completion script for the shell's commands, actions and flags:
  source <(shoal completion bash)     # bash, e.g. in ~/.bashrc
  source <(shoal completion zsh)      # zsh, e.g. in ~/.zshrc
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
nothing, 0.5 = used exactly its share; higher goes first). Amounts are GPU-hours with one
decimal, or slot-hours in a CPU-only pool (the ledger counts a worker slot as one GPU there);
the footer shows the half-life ("half-life 7d") and the policy.

create NAME (admin tokens only): a new account, NAME a DNS label (a-z, 0-9, '-'). Then give it
tokens with 'shoal tokens create NAME --role user|contributor'.
)") + kGlobalFlags},
      {"tokens", std::string(R"(Usage: shoal tokens [list] [--account NAME] [-o json]
       shoal tokens create ACCOUNT --role admin|user|contributor [--label TEXT] [--save [PATH]]
       shoal tokens revoke ID...

Bearer tokens. A token belongs to one account and has one role:
  admin        everything, on every account: accounts, tokens, every job
  user         submit jobs; see, follow and cancel the account's own jobs
  contributor  run workers for the account (shoal-worker --token): they earn its credit
list shows the account's tokens (an admin: every token, or --account's). create (admin only)
prints the new token alone on stdout, the only time it is shown: only its hash is stored. With
--save it is written instead to PATH (default: the token file the CLI reads, see 'shoal login'),
mode 0600, in a directory created 0700.
revoke takes effect at once (an admin: any token; others: their account's).
)") + kGlobalFlags},
      {"help", std::string(R"(Usage: shoal help [COMMAND]

Shows the overview, or a command's help.
)") + kGlobalFlags},
  };
  auto it = kTexts.find(verb);
  return it == kTexts.end() ? GlobalHelp() : it->second;
}

std::string CompletionScript(const std::string& shell) {
  const std::vector<VerbFlags> table = CompletionTable();
  auto join = [](const std::vector<std::string>& words) {
    std::string out;
    for (const auto& w : words) out += (out.empty() ? "" : " ") + w;
    return out;
  };
  std::vector<std::string> verbs;
  for (const auto& v : table) {
    if (!v.verb.empty()) verbs.push_back(v.verb);
  }
  const std::string globals = join(table.front().flags);
  std::ostringstream s;
  if (shell == "bash") {
    s << "# bash completion for shoal (generated by 'shoal completion bash')\n"
      << "_shoal() {\n"
      << "  local cur verb i\n"
      << "  cur=\"${COMP_WORDS[COMP_CWORD]}\"\n"
      << "  verb=\"\"\n"
      << "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
      << "    case \"${COMP_WORDS[i]}\" in\n"
      << "      -*) ;;\n"
      << "      *) verb=\"${COMP_WORDS[i]}\"; break ;;\n"
      << "    esac\n"
      << "  done\n"
      << "  local words=\"\"\n"
      << "  case \"$verb\" in\n"
      << "    \"\") words=\"" << join(verbs) << " " << globals << "\" ;;\n";
    for (const auto& v : table) {
      if (v.verb.empty()) continue;
      s << "    " << v.verb << ") words=\"" << join(v.actions) << (v.actions.empty() ? "" : " ")
        << join(v.flags) << " " << globals << "\" ;;\n";
    }
    s << "  esac\n"
      << "  COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n"
      << "  [[ ${#COMPREPLY[@]} -eq 0 ]] && COMPREPLY=($(compgen -f -- \"$cur\"))\n"
      << "  return 0\n"
      << "}\n"
      << "complete -o default -F _shoal shoal\n";
    return s.str();
  }
  if (shell == "zsh") {
    s << "#compdef shoal\n"
      << "# zsh completion for shoal (generated by 'shoal completion zsh')\n"
      << "_shoal() {\n"
      << "  local verb=\"\" w\n"
      << "  for w in ${words[2,CURRENT-1]}; do\n"
      << "    if [[ $w != -* ]]; then verb=$w; break; fi\n"
      << "  done\n"
      << "  local -a candidates\n"
      << "  case $verb in\n"
      << "    \"\") candidates=(" << join(verbs) << " " << globals << ") ;;\n";
    for (const auto& v : table) {
      if (v.verb.empty()) continue;
      s << "    " << v.verb << ") candidates=(" << join(v.actions) << (v.actions.empty() ? "" : " ")
        << join(v.flags) << " " << globals << ") ;;\n";
    }
    s << "  esac\n"
      << "  compadd -- $candidates\n"
      << "  _files\n"
      << "}\n"
      << "if [[ $zsh_eval_context[-1] == loadautofunc ]]; then _shoal \"$@\"; else compdef _shoal "
         "shoal; fi\n";
    return s.str();
  }
  return "";
}

std::string UsageHint(const std::string& verb) {
  if (verb.empty() || verb == "help") return "Run 'shoal --help' for usage.";
  return "Run 'shoal " + verb + " --help' for usage.";
}

}  // namespace shoal::cli
