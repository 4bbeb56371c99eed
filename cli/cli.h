// The `shoal` command-line client as a library: RunCli is the whole program minus main(), so
// tests can run any command line against a fake or unreachable scheduler and check its output
// and exit code.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <istream>
#include <ostream>
#include <string>
#include <vector>

namespace shoal::cli {

// What the CLI takes from its surroundings. The defaults suit tests: no environment, not a
// terminal, no signal handling. CliEnv::FromProcess() reads the real ones.
struct CliEnv {
  std::string scheduler_env;  // $SHOAL_SCHEDULER ("" = unset)
  std::string token_env;      // $SHOAL_TOKEN ("" = unset)
  // $SHOAL_TOKEN_FILE: where a token is read from when neither --token nor $SHOAL_TOKEN gives one
  // ("" = unset: the selected context's tokenFile, else CONFIG_DIR/token).
  std::string token_file;
  std::string ca_file_env;  // $SHOAL_CA_FILE: extra CA for an https:// scheduler ("" = unset)
  // $SHOAL_GPT2_DIR: where `shoal tokenize --tokenizer gpt2` finds encoder.json and vocab.bpe
  // when --encoder/--vocab are not given ("" = unset).
  std::string gpt2_dir_env;
  // The CLI's configuration directory: $XDG_CONFIG_HOME/shoal, else ~/.config/shoal ("" = none:
  // no config.yaml and no default token file). Holds config.yaml (contexts) and token files.
  std::string config_dir;
  // Where `models generate` keeps pulled models: $XDG_CACHE_HOME/shoal, else ~/.cache/shoal
  // ("" = none: generate refuses, exit 2).
  std::string cache_dir;
  // The shoal-train that `models generate` runs: the one beside this executable when it exists,
  // else "shoal-train", searched on $PATH ("" = the same search).
  std::string train_bin;
  // Standard input, for `login --token-stdin` and confirmation prompts (nullptr = empty).
  std::istream* in = nullptr;
  bool stdin_is_tty = false;   // prompts are only shown on a terminal
  bool stdout_is_tty = false;  // rewrite the --follow progress line in place with '\r'
  bool stderr_is_tty = false;  // `data push/pull`: a progress bar redrawn in place on stderr
  int terminal_columns = 0;    // width to cut the live progress line to (0 = unknown, no cut)
  // Install a SIGINT handler while waiting on a job, so Ctrl-C says the job keeps running and
  // exits 130. Only the real binary should: a handler is process-wide.
  bool handle_interrupt = false;
  // Ask the scheduler for its version (GET /v1/version) before a command that contacts it, and
  // warn when it differs from the CLI's. Off by default so tests see only their own requests.
  bool check_version = false;
  std::chrono::milliseconds poll_interval{500};  // submit --wait/--follow polling period
  // How long a wait keeps retrying while the scheduler is unreachable before exiting 3.
  std::chrono::milliseconds unreachable_grace{60000};
  // How long `shoal submit` repeats its POST (with the same Idempotency-Key, so never a second
  // job) while the scheduler cannot be reached or its reply is lost.
  std::chrono::milliseconds submit_retry{15000};
  std::function<int64_t()> now_ms;  // Unix time in ms; null = the system clock
  // `list --watch`: the redraw period, and how many rounds to draw (0 = until interrupted).
  std::chrono::milliseconds watch_interval{2000};
  int watch_rounds = 0;

  // Reads $SHOAL_SCHEDULER, $SHOAL_TOKEN, $SHOAL_TOKEN_FILE, $XDG_CONFIG_HOME / $HOME,
  // $XDG_CACHE_HOME, $SHOAL_CA_FILE, $SHOAL_GPT2_DIR, /proc/self/exe (for train_bin), stdin,
  // isatty(stdin/stdout) and the terminal width; sets handle_interrupt and check_version.
  static CliEnv FromProcess();
};

// Runs one command line (`args` is argv without the program name), writing normal output to `out`
// and diagnostics ("shoal: ...") to `err`. Returns the exit code (see cli/exit_codes.h): never
// throws and never exits, except that with env.handle_interrupt a Ctrl-C during a wait ends the
// process with 130. Not thread-safe when env.handle_interrupt is set.
int RunCli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
           const CliEnv& env);
// RunCli with CliEnv() (no environment): what tests use by default.
int RunCli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace shoal::cli
