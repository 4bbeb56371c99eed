#include "cli/context.h"

#include <algorithm>
#include <thread>

#include "cli/exit_codes.h"
#include "cli/i18n.h"
#include "cli/json_get.h"
#include "common/version.h"

namespace shoal::cli {

using nlohmann::json;

CommandContext::CommandContext(const CliArgs& args, const CliEnv& env, std::ostream& out,
                               std::ostream& err, const std::string& scheduler_url,
                               const std::string& token, const std::string& ca_file)
    : args_(args), env_(env), out_(out), err_(err), client_(scheduler_url) {
  if (!token.empty()) client_.SetDefaultHeader("Authorization", "Bearer " + token);
  // A bad CA file is reported by the first call (InvalidArgument: exit 2).
  (void)client_.SetTlsOptions({ca_file});
}

int64_t CommandContext::NowMs() const {
  if (env_.now_ms) return env_.now_ms();
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Result<json> CommandContext::Call(std::string_view method, const std::string& target,
                                  std::string_view body, std::string_view content_type,
                                  std::chrono::milliseconds timeout,
                                  const std::map<std::string, std::string>& headers) const {
  ASSIGN_OR_RETURN(HttpResponse response,
                   client_.Do(method, target, body, content_type, timeout, headers));
  if (env_.check_version && !version_checked_) {
    version_checked_ = true;  // before the call: WarnOnVersionSkew calls Call
    WarnOnVersionSkew();
  }
  RETURN_IF_ERROR(StatusFromHttp(response));
  if (response.body.empty()) return json::object();
  json parsed = json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  // Every 2xx answer of the API is a JSON object; anything else (a proxy's HTML page, a truncated
  // body) is not something the commands could interpret.
  if (parsed.is_discarded() || !parsed.is_object()) {
    return Internal("malformed reply to " + std::string(method) + " " + target + ": " +
                    response.body.substr(0, 120));
  }
  return parsed;
}

Result<std::string> CommandContext::Download(const std::string& target, uint64_t max_bytes,
                                             std::chrono::milliseconds timeout) const {
  HttpClient client = client_;
  client.SetMaxResponseBytes(max_bytes);
  ASSIGN_OR_RETURN(HttpResponse response, client.Do("GET", target, {}, "", timeout));
  RETURN_IF_ERROR(StatusFromHttp(response));
  return std::move(response.body);
}

Result<json> CommandContext::CallPatiently(std::string_view method, const std::string& target,
                                           std::chrono::milliseconds timeout) const {
  auto give_up = std::chrono::steady_clock::now() + env_.unreachable_grace;
  bool warned = false;
  for (;;) {
    Result<json> reply = Call(method, target, {}, "application/json", timeout);
    StatusCode code = reply.status().code();
    bool transient = code == StatusCode::kUnavailable || code == StatusCode::kDeadlineExceeded;
    if (!transient || std::chrono::steady_clock::now() >= give_up) return reply;
    if (!warned) {
      err_ << "shoal: "
           << TrFormat("lost contact with the scheduler ({0}); retrying...",
                       {reply.status().message()})
           << std::endl;
      warned = true;
    }
    std::this_thread::sleep_for(env_.poll_interval);
  }
}

int CommandContext::Fail(const Status& status, const std::string& not_found) const {
  const std::string& msg = status.message();
  bool http_error = msg.rfind("HTTP ", 0) == 0;
  switch (status.code()) {
    case StatusCode::kUnavailable:
    case StatusCode::kDeadlineExceeded:
      if (!http_error) {
        err_ << "shoal: "
             << TrFormat(
                    "cannot reach the scheduler at {0}: {1} (is shoal-scheduler running? set "
                    "--scheduler or SHOAL_SCHEDULER)",
                    {scheduler_url(), msg})
             << "\n";
        break;
      }
      err_ << "shoal: "
           << TrFormat("the scheduler at {0} is not ready: {1}", {scheduler_url(), msg}) << "\n";
      break;
    case StatusCode::kInternal:
      err_ << "shoal: " << TrFormat("the scheduler at {0} failed: {1}", {scheduler_url(), msg})
           << "\n";
      break;
    case StatusCode::kNotFound:
      err_ << "shoal: " << (not_found.empty() ? PlainMessage(status) : not_found) << "\n";
      break;
    default:
      err_ << "shoal: " << PlainMessage(status) << "\n";
  }
  return ExitCodeFor(status);
}

void CommandContext::PrintJson(const json& j) const {
  // Replace invalid UTF-8 instead of throwing: log lines are arbitrary bytes.
  out_ << j.dump(2, ' ', false, json::error_handler_t::replace) << "\n";
}

Result<int64_t> CommandContext::ResolveJob(const std::string& ref) const {
  if (IsAllDigits(ref)) return ParseJobId(ref);
  const std::string target = "/v1/jobs?name=" + UrlEncode(ref);
  ASSIGN_OR_RETURN(json reply, Call("GET", target));
  std::vector<int64_t> ids;
  // Matched here too: a scheduler that ignores ?name= returns every job.
  for (const auto& job : GetArray(reply, "jobs")) {
    if (GetString(job, "name") == ref && GetInt(job, "id", 0) > 0) {
      ids.push_back(GetInt(job, "id", 0));
    }
  }
  if (ids.empty()) return NotFound(TrFormat("no job named \"{0}\"", {ref}));
  if (ids.size() > 1) {
    std::sort(ids.begin(), ids.end());
    std::string list;
    for (int64_t id : ids) list += (list.empty() ? "" : ", ") + std::to_string(id);
    return InvalidArgument(TrFormat("{0} jobs are named \"{1}\" ({2}); give an ID",
                                    {std::to_string(ids.size()), ref, list}));
  }
  return ids.front();
}

void CommandContext::WarnOnVersionSkew() const {
  Result<json> reply = Call("GET", "/v1/version", {}, "application/json", std::chrono::seconds(3));
  if (!reply.ok()) return;
  const std::string version = GetString(*reply, "version"), commit = GetString(*reply, "commit");
  if (version.empty()) return;
  const std::string mine = GitCommit();
  bool commits_known = !commit.empty() && commit != "unknown" && mine != "unknown";
  if (version == Version() && (!commits_known || commit == mine)) return;
  err_ << "shoal: "
       << TrFormat(
              "warning: the scheduler at {0} runs {1} (commit {2}), this shoal is {3} (commit "
              "{4})",
              {scheduler_url(), version, commit.empty() ? "unknown" : commit, Version(), mine})
       << "\n";
}

std::string PlainMessage(const Status& status) {
  const std::string& msg = status.message();
  // StatusFromHttp writes "HTTP 404: job 7 not found"; the number adds nothing for a 4xx.
  if (msg.size() > 10 && msg.rfind("HTTP 4", 0) == 0 && msg.compare(8, 2, ": ") == 0) {
    return msg.substr(10);
  }
  return msg;
}

std::string JobPath(int64_t id) { return "/v1/jobs/" + std::to_string(id); }

}  // namespace shoal::cli
