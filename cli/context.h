// What every command function gets: its parsed arguments, the environment, the output streams and
// an HTTP client for the scheduler, plus the shared request and error-reporting helpers.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <string_view>

#include "cli/args.h"
#include "cli/cli.h"
#include "cli/config.h"
#include "common/http_client.h"
#include "common/status.h"

namespace shoal::cli {

// Where the command's connection settings came from, for the verbs that store or show them
// (login, tokens create --save, config).
struct Settings {
  std::string config_path;  // CONFIG_DIR/config.yaml ("" = no configuration directory)
  CliConfig config;         // its contents (empty when the file does not exist)
  std::string context;      // the selected context: --context, else current-context ("" = none)
  // The token file the CLI reads when --token and $SHOAL_TOKEN give none: $SHOAL_TOKEN_FILE, else
  // the context's tokenFile, else CONFIG_DIR/token ("" = none). Where login and --save write.
  std::string token_file;
  // This command's own token was read from token_file (not --token or $SHOAL_TOKEN): then
  // `tokens create --save` must not overwrite that file with another account's token.
  bool token_from_file = false;
  std::string ca_file;  // the CA file in effect ("" = the system's CAs only)
};

class CommandContext {
 public:
  // `args`, `env`, `out` and `err` must outlive the context. `scheduler_url` must be valid.
  // `token` ("" = none) is sent as "Authorization: Bearer"; `ca_file` ("" = the system's CAs
  // only) is trusted for an https:// scheduler.
  CommandContext(const CliArgs& args, const CliEnv& env, std::ostream& out, std::ostream& err,
                 const std::string& scheduler_url, const std::string& token = "",
                 const std::string& ca_file = "");

  const CliArgs& args() const { return args_; }
  const Settings& settings() const { return settings_; }
  void set_settings(Settings settings) { settings_ = std::move(settings); }
  const CliEnv& env() const { return env_; }
  std::ostream& out() const { return out_; }
  std::ostream& err() const { return err_; }
  const std::string& scheduler_url() const { return client_.base_url(); }
  // The client Call uses (token, CA file and proxy set), for the verbs that stream bytes
  // (cli/registry_transfer.h). Thread-safe, as HttpClient is.
  const HttpClient& client() const { return client_; }
  bool json_output() const { return args_.output == OutputFormat::kJson; }
  int64_t NowMs() const;

  // Sends a request to the scheduler and parses the 2xx reply as JSON (an empty body gives an
  // empty object). Not thread-safe (the one-time version check). Non-2xx replies become
  // StatusFromHttp() (404 → NotFound, 5xx → Internal, ...), transport failures Unavailable or
  // DeadlineExceeded, and a body that is not a JSON object Internal ("malformed reply"). `timeout`
  // 0 means the client's default (10 s).
  Result<nlohmann::json> Call(std::string_view method, const std::string& target,
                              std::string_view body = {},
                              std::string_view content_type = "application/json",
                              std::chrono::milliseconds timeout = std::chrono::milliseconds(0),
                              const std::map<std::string, std::string>& headers = {}) const;

  // Sends a GET and returns the 2xx reply's raw body (e.g. a checkpoint's bytes), accepting bodies
  // up to `max_bytes`. Errors as Call.
  Result<std::string> Download(const std::string& target, uint64_t max_bytes,
                               std::chrono::milliseconds timeout) const;

  // Like Call, but while the scheduler is unreachable (Unavailable, DeadlineExceeded) keeps
  // retrying every poll interval for up to env().unreachable_grace, warning on err() once. For
  // the long waits, where a scheduler restart should not end the wait.
  Result<nlohmann::json> CallPatiently(
      std::string_view method, const std::string& target,
      std::chrono::milliseconds timeout = std::chrono::milliseconds(0)) const;

  // Prints `status` to err() as "shoal: ..." and returns its exit code (ExitCodeFor). An
  // unreachable scheduler gets the "cannot reach the scheduler at URL ... (is shoal-scheduler
  // running? ...)" message; a NotFound status prints `not_found` when that is non-empty.
  int Fail(const Status& status, const std::string& not_found = "") const;

  // The job a command-line word names: a word of digits is the job ID; any other word is a job
  // name, looked up with GET /v1/jobs?name= among the caller's visible jobs. NotFound when no
  // job has that name; InvalidArgument (listing the IDs) when several do; the call's error when
  // the lookup fails.
  Result<int64_t> ResolveJob(const std::string& ref) const;

  // GET /v1/version, and a warning on err() when the scheduler's version or commit differs from
  // this CLI's. Silent when the endpoint is missing (an older scheduler) or fails. With
  // env().check_version, Call runs it once per context, right after the first request that
  // reached the scheduler: a command that never contacts it (a spec rejected locally, an
  // unreachable address) sends nothing more and waits for nothing more.
  void WarnOnVersionSkew() const;

  // Writes `j` to out() pretty-printed with a 2-space indent and a final newline.
  void PrintJson(const nlohmann::json& j) const;

 private:
  const CliArgs& args_;
  const CliEnv& env_;
  Settings settings_;
  std::ostream& out_;
  std::ostream& err_;
  HttpClient client_;
  mutable bool version_checked_ = false;
};

// The status's message without the "HTTP 4xx: " prefix StatusFromHttp adds to client errors.
std::string PlainMessage(const Status& status);

// "/v1/jobs/7"
std::string JobPath(int64_t id);

}  // namespace shoal::cli
