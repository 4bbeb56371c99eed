// Command-line parsing for `shoal`, on CLI11 through common/flags.h: one subcommand per verb,
// global flags anywhere on the line, `--flag=value` and `--flag value`, generated --help, and
// "unknown flag --foo (did you mean --food?)" for typos.
//
//   shoal [--scheduler URL] [--token T] [--ca-file F] [--context NAME] [-o table|wide|json] [-h]
//         [--version] VERB [ARGS...] [VERB FLAGS...]
//
// Verb flags must follow the verb. "--" ends the flags.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "common/status.h"

namespace shoal::cli {

enum class OutputFormat { kTable, kWide, kJson };

// True for the verbs `shoal` knows ("submit", "list", ...).
bool IsKnownVerb(const std::string& verb);

struct CliArgs {
  std::string verb;                            // "" when none was given
  std::string scheduler;                       // --scheduler; "" when not given
  std::string token;                           // --token; "" when not given
  std::string ca_file;                         // --ca-file; "" when not given
  std::string context;                         // --context; "" when not given
  OutputFormat output = OutputFormat::kTable;  // -o / --output
  bool help = false;                           // -h / --help
  bool version = false;                        // --version
  std::vector<std::string> positional;         // words after the verb, in order
  // status/cancel/logs: the jobs named on the line, each a job ID (a positive integer) or a
  // job name (any word that is not an integer); checkpoints: its JOB. Resolved by the commands.
  std::vector<std::string> job_refs;
  std::vector<int64_t> job_ids;    // tokens revoke: the token IDs
  std::string sub;                 // accounts, tokens, checkpoints, config, completion: the action
  bool follow = false;             // submit, logs: -f / --follow
  bool wait = false;               // submit: --wait
  bool dry_run = false;            // submit: --dry-run (validate and estimate; send nothing)
  bool all = false;                // list, cancel: -a / --all
  std::string state;               // list, cancel --all: --state, upper-cased ("" = any)
  bool watch = false;              // list: -w / --watch
  std::string owner;               // list: --owner
  std::string name;                // list: --name
  std::optional<int> rank;         // logs: --rank
  std::optional<int64_t> tail;     // logs: --tail N
  std::optional<int64_t> since_s;  // logs, trace: --since DURATION, in seconds
  bool timestamps = false;         // logs: --timestamps
  bool yes = false;                // cancel: -y / --yes
  std::string role;                // tokens create: --role
  std::string label;               // tokens create: --label
  std::string expires;             // tokens create: --expires DURATION (checked: > 0, e.g. 30d)
  std::string account;             // tokens list: --account
  bool save = false;               // tokens create: --save [PATH]
  std::string save_path;           // its PATH ("" = the token file the CLI reads)
  bool token_stdin = false;        // login: --token-stdin
  std::string output_file;         // checkpoints get: -O / --output-file
  // data, models: the action is `sub`; push's PATH, the NAME[@V] and the ACCOUNT or DIR are
  // positional (publish's JOB goes to job_refs). --name (push, publish), --account (ls) and
  // --expires (grant) use the fields above.
  std::string data_version;                  // data push, models publish: --version
  std::string description;                   // data push, models publish: --description
  std::string license;                       // data push, models publish: --license
  std::string format;                        // data push: --format
  std::string visibility;                    // data push (required), models publish: public|private
  std::vector<std::string> trusted_workers;  // data push: --trusted-workers A,B
  // models generate: the sampling options, passed on to shoal-train --generate (checked:
  // gen_tokens 1..100000, temperature finite and >= 0, top_k >= 0).
  std::string prompt;             // --prompt TEXT ("" = start from a newline / <|endoftext|>)
  int gen_tokens = 200;           // --tokens N
  std::string temperature = "1";  // --temperature T, as given (shoal-train parses it)
  int top_k = 0;                  // --top-k K (0 = all)
  uint64_t seed = 1;              // --seed S
  std::string gpt2_dir;           // --gpt2-dir DIR ("" = shoal-train's $SHOAL_GPT2_DIR)
  // tokenize: the INPUT files are positional (cli/args_tokenize.h checks the values).
  std::string tokenizer;               // --tokenizer bytes|gpt2
  std::string out_dir;                 // --out DIR
  int64_t val_fraction_ppm = 100'000;  // --val-fraction, in millionths (default 0.1)
  int64_t shard_tokens = 100'000'000;  // --shard-tokens N
  std::string encoder_path;            // --encoder FILE (gpt2's encoder.json)
  std::string vocab_path;              // --vocab FILE (gpt2's vocab.bpe)
};

// Parses `args` (argv without the program name) into `out`. Returns std::nullopt when the command
// should run; otherwise the exit code, after printing to `out_text` (--help, --version: 0) or to
// `err_text` (a usage error: 2, as "shoal VERB: what is wrong\nRun 'shoal VERB --help' for the
// flags."). Usage errors: an unknown verb or flag (with a suggestion), a flag the verb does not
// take, a flag missing its value or given one it does not take, a bad -o/--role/--state/--rank/
// --tail/--since value, a missing or extra positional argument, a job ID that is all digits but
// not a positive integer, conflicting flags, and a missing verb. `out` holds what was parsed so
// far even on error (out->verb names the verb).
std::optional<int> ParseCommandLine(const std::vector<std::string>& args, CliArgs* out,
                                    std::ostream& out_text, std::ostream& err_text);

// ParseCommandLine for callers that want a Status: OK when the command should run, and also after
// -h/--help (out->help set) or --version (out->version set), which print nothing here; otherwise
// InvalidArgument with the first line of the usage error.
Status ParseArgs(const std::vector<std::string>& args, CliArgs* out);

// The generated help: the overview (`verb` "") or one verb's, as `shoal [VERB] --help` prints it.
// An unknown verb gives the overview.
std::string HelpText(const std::string& verb);

// Parses a job ID: a positive decimal integer of at most 18 digits. InvalidArgument otherwise.
Result<int64_t> ParseJobId(const std::string& text);

// True when `text` is all decimal digits (so it is meant as an ID, not a name).
bool IsAllDigits(const std::string& text);

// Every verb with its flags ("--follow", "-f", ...) and, for verbs with actions, the actions
// ("ls", "get"): what `shoal completion` completes. Global flags are under the verb "", whose
// `actions` are the global flags that take a value (so a completer can skip that value).
struct VerbFlags {
  std::string verb;
  std::vector<std::string> flags;
  std::vector<std::string> actions;
};
std::vector<VerbFlags> CompletionTable();

}  // namespace shoal::cli
