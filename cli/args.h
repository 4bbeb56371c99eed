// Command-line parsing for `shoal`: global flags, the verb, its flags and positional arguments.
//
//   shoal [--scheduler URL] [--token T] [--ca-file F] [-o table|wide|json] [-h] VERB [ARGS...]
//         [VERB FLAGS...]
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
inline constexpr const char* kVerbs[] = {"submit",  "list",     "status", "cancel", "logs",
                                         "workers", "accounts", "tokens", "help"};
bool IsKnownVerb(const std::string& verb);

struct CliArgs {
  std::string verb;                            // "" when none was given
  std::string scheduler;                       // --scheduler; "" when not given
  std::string token;                           // --token; "" when not given
  std::string ca_file;                         // --ca-file; "" when not given
  OutputFormat output = OutputFormat::kTable;  // -o / --output
  bool help = false;                           // -h / --help
  std::vector<std::string> positional;         // words after the verb, in order
  // status/cancel/logs: the positional IDs, parsed (all > 0); tokens revoke: the token IDs.
  std::vector<int64_t> job_ids;
  bool follow = false;           // submit, logs: -f / --follow
  bool wait = false;             // submit: --wait
  bool all = false;              // list: -a / --all
  std::string state;             // list: --state, upper-cased ("" = any)
  std::optional<int> rank;       // logs: --rank
  std::string role;              // tokens create: --role
  std::string label;             // tokens create: --label
  std::string account;           // tokens list: --account
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

}  // namespace shoal::cli
