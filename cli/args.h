// Command-line parsing for `shoal`: global flags, the verb, its flags and positional arguments.
//
//   shoal [--scheduler URL] [--token T] [--ca-file F] [--context NAME] [-o table|wide|json] [-h]
//         [--version] VERB [ARGS...] [VERB FLAGS...]
//
// Global flags may appear anywhere on the line (before or after the verb). Flags take their value
// as the next word, after '=' (--output=json), or attached to a short flag (-ojson). "--" ends the
// flags. Verb flags must follow the verb.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace shoal::cli {

enum class OutputFormat { kTable, kWide, kJson };

// The verbs, in the order `shoal --help` lists them.
inline constexpr const char* kVerbs[] = {"submit",      "list",       "status",   "cancel", "logs",
                                         "checkpoints", "workers",    "accounts", "tokens", "login",
                                         "config",      "completion", "help"};
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
  bool all = false;                // list, cancel: -a / --all
  std::string state;               // list, cancel --all: --state, upper-cased ("" = any)
  bool watch = false;              // list: -w / --watch
  std::string owner;               // list: --owner
  std::string name;                // list: --name
  std::optional<int> rank;         // logs: --rank
  std::optional<int64_t> tail;     // logs: --tail N
  std::optional<int64_t> since_s;  // logs: --since DURATION, in seconds
  bool timestamps = false;         // logs: --timestamps
  bool yes = false;                // cancel: -y / --yes
  std::string role;                // tokens create: --role
  std::string label;               // tokens create: --label
  std::string account;             // tokens list: --account
  bool save = false;               // tokens create: --save [PATH]
  std::string save_path;           // its PATH ("" = the token file the CLI reads)
  bool token_stdin = false;        // login: --token-stdin
  std::string output_file;         // checkpoints get: -O / --output-file
};

// Parses `args` (argv without the program name) into `out`. Returns InvalidArgument with a
// one-line message for: an unknown verb, an unknown flag or one the verb does not take, a flag
// missing its value or given one it does not take, a bad -o value, a missing or extra positional
// argument, a job ID that is not a positive integer, a bad --rank or --state, and a missing verb.
// When -h/--help is given, positional arguments are not checked (so `shoal status --help` works).
// `out` holds what was parsed so far even on error (out->verb names the verb for a usage hint).
Status ParseArgs(const std::vector<std::string>& args, CliArgs* out);

// Parses a job ID: a positive decimal integer of at most 18 digits. InvalidArgument otherwise.
Result<int64_t> ParseJobId(const std::string& text);

// True when `text` is all decimal digits (so it is meant as an ID, not a name).
bool IsAllDigits(const std::string& text);

// Every verb with its flags ("--follow", "-f", ...) and, for verbs with actions, the actions
// ("ls", "get"): what `shoal completion` completes. Global flags are under the verb "".
struct VerbFlags {
  std::string verb;
  std::vector<std::string> flags;
  std::vector<std::string> actions;
};
std::vector<VerbFlags> CompletionTable();

}  // namespace shoal::cli
