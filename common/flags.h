// The command-line conventions shared by every shoal program, on top of CLI11 (a Debian package,
// header-only): each program defines its flags once on a CLI::App, and this file makes parsing,
// errors, --help and --version behave the same everywhere:
//   - `--flag=value`, `--flag value` (and `-f value` for flags with a short name) all work, and
//     the last of two values for one flag wins;
//   - an unknown flag is a usage error "PROG: unknown flag --foo (did you mean --food?)";
//   - --help is generated from the definitions, each flag with its default;
//   - --version prints VersionLine(PROG) (version and git commit).
// Usage errors exit with 2, --help and --version with 0.
//
// Thread-safety: none needed; parse once in main (or in a test) before starting threads.
#pragma once

#include <CLI/CLI.hpp>
#include <iosfwd>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace shoal::flags {

// The exit code of a usage error (bad flags), as for the programs' other invalid input.
inline constexpr int kUsageExitCode = 2;

// Names the app `program` and sets the shared conventions: -h/--help, --version (prints
// VersionLine(program) to stdout and exits 0), the help formatter (flags with their defaults:
// options added after this call capture their variable's initial value as the default), a
// footer with the version line, and for options added after this call: a flag given twice takes
// its last value (a repeatable flag bound to a std::vector keeps every value). Call it before
// adding the program's own flags; callers may set their own footer afterwards.
void Configure(CLI::App& app, std::string_view program);

// Parses argv (argv[0] is the program's path and is skipped). Returns std::nullopt when the
// program should go on with the parsed values; otherwise the exit code main must return: 0 after
// printing --help or --version to stdout, kUsageExitCode after printing a usage error to stderr:
//   PROG: unknown flag --foo (did you mean --food?)
//   Run 'PROG --help' for the flags.
// Other errors have the same shape: "PROG: flag --port needs a value", "PROG: bad value 'x' for
// --port (expected INT)", "PROG: unexpected argument 'x'". In a subcommand, PROG is the command
// path ("shoal jobs"). Exceptions other than CLI11's parse errors propagate.
std::optional<int> Parse(CLI::App& app, int argc, const char* const* argv);
// The same for the arguments without argv[0] (for tests and for programs that dispatch).
std::optional<int> Parse(CLI::App& app, std::vector<std::string> args);
// The same, printing to the given streams instead of stdout/stderr.
std::optional<int> Parse(CLI::App& app, std::vector<std::string> args, std::ostream& out,
                         std::ostream& err);

// Checks for numeric flags whose messages read well ("must be greater than 0", "must be at most
// 10"); CLI11's PositiveNumber and NonNegativeNumber print the largest double as the bound.
// Positive: 0 < value <= max; NonNegative: 0 <= value <= max.
CLI::Validator Positive(double max = std::numeric_limits<double>::infinity());
CLI::Validator NonNegative(double max = std::numeric_limits<double>::infinity());

// Prints a usage error found after Parse (a missing argument, flags that conflict) in Parse's
// shape, "PROG: message\nRun 'PROG --help' for the flags.", and returns kUsageExitCode.
int UsageError(const CLI::App& app, std::string_view message);
int UsageError(const CLI::App& app, std::string_view message, std::ostream& err);

// The candidate closest to `word` by edit distance (insertions, deletions, substitutions and
// swaps of two neighbouring characters; ASCII, case-sensitive), or "" when none is within
// max(1, n / 3) edits, n being the length of `word` without its leading dashes; a word of n < 3
// gets no suggestion (one letter off a short name is another name, not a typo). Ties go to the
// earlier candidate. Dashes count like any other character: compare "--foo" with "--food".
std::string Suggest(std::string_view word, const std::vector<std::string>& candidates);

// Breaks `text` at spaces into lines of at most `width` characters (longer words stay whole);
// newlines in `text` are kept. --help wraps flag descriptions with it; use it for footers.
std::string Wrap(const std::string& text, size_t width = 100);

// Every name by which a flag of `app` can be given ("--port", "-p"), for Suggest.
std::vector<std::string> FlagNames(const CLI::App& app);

}  // namespace shoal::flags
