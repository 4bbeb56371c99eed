// The job routes of the Api: submit, list, show, cancel, logs (paged, read off the event loop),
// metrics and the rendezvous store.
// Part of the Api class (scheduler/api/api.h); the files share api_internal.h.
#include <algorithm>
#include <chrono>
#include <optional>
#include <utility>  // before Boost 1.74 awaitable.hpp, which uses std::exchange unincluded

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>

#include "common/log.h"
#include "common/version.h"
#include "scheduler/api/api.h"
#include "scheduler/api/api_internal.h"
#include "scheduler/job_trace.h"

namespace shoal {

namespace asio = boost::asio;
using nlohmann::json;
using api_internal::Clock;
using api_internal::JsonReply;
using api_internal::MethodNotAllowed;
using api_internal::DownsamplePoints;
using api_internal::WaitParam;
using api_internal::RequireRole;
using api_internal::RequireJobOwner;
using api_internal::ToJson;
using api_internal::RunOn;

asio::awaitable<HttpReply> Api::Jobs(const HttpRequest& req, const std::vector<std::string>& parts,
                                     const Principal& p) {
  if (parts.size() == 2) {
    if (req.method != "POST" && req.method != "GET") co_return MethodNotAllowed(req);
    Status allowed = RequireRole(p, {Role::kAdmin, Role::kUser},
                                 req.method == "POST" ? "submitting jobs" : "listing jobs");
    if (!allowed.ok()) co_return ErrorReply(allowed);
    if (req.method == "POST") co_return co_await Submit(req, p);
    co_return ListJobs(req, p);
  }
  int64_t id = 0;
  if (!ParseInteger(parts[2], &id) || id <= 0) {
    co_return ErrorReply(400, "InvalidArgument", "job id must be a positive integer", "id");
  }
  const Job* job = scheduler_->FindJob(id);
  if (job == nullptr || !JobVisibleTo(p, *job)) {
    co_return ErrorReply(404, "NotFound", "job " + parts[2] + " not found");
  }
  // A job's checkpoints are also read by the workers that run it (to resume), and its rendezvous
  // KV is used only by them: those routes check their callers themselves.
  const bool worker_route = parts.size() >= 4 && (parts[3] == "checkpoints" || parts[3] == "attempts");
  if (!worker_route) {
    Status allowed = RequireJobOwner(p, *job);
    if (!allowed.ok()) co_return ErrorReply(allowed);
  }
  if (parts.size() == 3) {
    if (req.method == "GET") {
      json detail = ToJson(*job, /*detail=*/true);
      if (checkpoints_ != nullptr) {
        json list = json::array();
        for (const auto& c : checkpoints_->List(id)) list.push_back(ToJson(c));
        detail["checkpoints"] = std::move(list);
      }
      if (json output = OutputJson(*job); !output.is_null()) detail["output"] = std::move(output);
      co_return JsonReply(200, detail);
    }
    if (req.method == "DELETE") {
      auto cancelled = scheduler_->Cancel(id);
      if (!cancelled.ok()) co_return ErrorReply(cancelled.status());
      kv_->DropJob(id);
      co_return JsonReply(200, ToJson(**cancelled, /*detail=*/false));
    }
    co_return MethodNotAllowed(req);
  }
  if (parts.size() == 4 && parts[3] == "logs" && req.method == "GET") co_return co_await Logs(req, id);
  if (parts.size() == 4 && parts[3] == "metrics" && req.method == "GET") {
    // ?maxPoints=N (1..100000): a chart's worth, downsampled (DownsamplePoints).
    int64_t max_points = 0;
    if (auto it = req.query.find("maxPoints");
        it != req.query.end() &&
        (!ParseInteger(it->second, &max_points) || max_points < 1 || max_points > 100000)) {
      co_return ErrorReply(400, "InvalidArgument", "maxPoints must be an integer in 1..100000",
                           "maxPoints");
    }
    auto read = [history = history_reader_ != nullptr ? history_reader_ : scheduler_->history(),
                 id, max_points] {
      auto points = history->ReadMetrics(id, 100000);
      if (!points.ok()) return ErrorReply(points.status());
      return JsonReply(200, json{{"job", id},
                                 {"points", DownsamplePoints(std::move(*points), max_points)}});
    };
    // Not a conditional expression: GCC 12 miscompiles a co_await inside one.
    if (history_reader_ == nullptr) co_return read();
    co_return co_await RunOn(log_io_, read);
  }
  if (parts.size() == 4 && parts[3] == "publish") co_return co_await PublishModel(req, *job, p);
  if (parts[3] == "checkpoints" && parts.size() <= 5) {
    co_return co_await Checkpoints(req, *job, parts, p);
  }
  if (parts.size() >= 7 && parts[3] == "attempts" && parts[5] == "kv") {
    int attempt = 0;
    if (!ParseInteger(parts[4], &attempt) || attempt <= 0) {
      co_return ErrorReply(400, "InvalidArgument", "attempt must be a positive integer");
    }
    std::string key = parts[6];
    for (size_t i = 7; i < parts.size(); ++i) key += "/" + parts[i];
    if (!p.admin() && !(p.role == Role::kContributor &&
                        scheduler_->AccountRunsAttempt(p.account, id, attempt))) {
      co_return ErrorReply(403, "PermissionDenied",
                           "only the workers of job " + parts[2] + " attempt " + parts[4] +
                               " may use its rendezvous store");
    }
    co_return co_await Kv(req, id, attempt, key);
  }
  co_return ErrorReply(404, "NotFound", "no route for " + req.method + " " + req.path);
}

asio::awaitable<HttpReply> Api::Submit(const HttpRequest& req, const Principal& p) {
  std::string field;
  // Validated here, at once (a bad spec never waits for a commit); stored with the other
  // submissions of this round in one transaction, and acknowledged only after it committed.
  std::string key;
  if (auto it = req.headers.find("idempotency-key"); it != req.headers.end()) {
    key = it->second;
    const bool printable = std::all_of(key.begin(), key.end(), [](char ch) {
      return ch > ' ' && ch < 127;
    });
    if (key.empty() || key.size() > 128 || !printable) {
      co_return ErrorReply(400, "InvalidArgument",
                           "Idempotency-Key must be 1..128 printable ASCII characters",
                           "Idempotency-Key");
    }
  }
  // A retry must repeat the request: the same key with another body is a client bug (or two
  // clients sharing a key), answered 409 rather than with a job that is not the one asked for.
  if (const Job* prior = key.empty() ? nullptr : scheduler_->FindJobByKey(p.account, key);
      prior != nullptr && prior->spec_text != req.body) {
    co_return ErrorReply(409, "AlreadyExists",
                         "Idempotency-Key \"" + key + "\" was used for job " +
                             std::to_string(prior->id) + " with a different body",
                         "Idempotency-Key");
  }
  auto job = scheduler_->PrepareSubmission(req.body, p.account, &field);
  if (!job.ok() && field == "maxActiveJobs") {
    // Not the request's fault (413): the account must wait for its jobs, as with a rate limit.
    co_return ErrorReply(429, "ResourceExhausted", job.status().message(), field);
  }
  if (!job.ok()) co_return ErrorReply(job.status(), field);
  // Registry data: readable by the submitter, and pinned now (docs/registry.md, "Jobs").
  if (Status pinned = PinRegistryData(&*job, p); !pinned.ok()) co_return ErrorReply(pinned);
  if (Status output = CheckOutputModel(*job); !output.ok()) {
    co_return ErrorReply(output, "spec.output");
  }
  job->idempotency_key = key;
  auto stored = co_await submissions_.Add(std::move(job).value());
  if (!stored.ok()) co_return ErrorReply(stored.status());
  json reply = {{"id", (*stored)->id},
                {"name", (*stored)->spec.metadata.name},
                {"state", ToString((*stored)->state)}};
  // Accepted either way (workers may still join), but the submitter hears it now rather than
  // finding the job PENDING(Constraint) later.
  if (std::string warning = scheduler_->GangWarning(**stored); !warning.empty()) {
    reply["warnings"] = json::array({warning});
  }
  co_return JsonReply(201, reply);
}

HttpReply Api::ListJobs(const HttpRequest& req, const Principal& p) {
  // state: one state or several, comma-separated (the dashboard's queue asks for
  // PENDING,RUNNING,RESTARTING).
  std::vector<JobState> states;
  if (auto it = req.query.find("state"); it != req.query.end() && !it->second.empty()) {
    for (std::string_view rest = it->second; !rest.empty();) {
      const size_t comma = rest.find(',');
      auto parsed = ParseJobState(std::string(rest.substr(0, comma)));
      if (!parsed.ok()) return ErrorReply(parsed.status(), "state");
      states.push_back(*parsed);
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    }
  }
  std::string owner, name, q;
  if (auto it = req.query.find("owner"); it != req.query.end()) owner = it->second;
  if (auto it = req.query.find("name"); it != req.query.end()) name = it->second;
  if (auto it = req.query.find("q"); it != req.query.end()) q = it->second;
  int64_t limit = 0, before = std::numeric_limits<int64_t>::max();
  if (auto it = req.query.find("limit");
      it != req.query.end() && (!ParseInteger(it->second, &limit) || limit < 1 || limit > 1000)) {
    return ErrorReply(400, "InvalidArgument", "limit must be an integer in 1..1000", "limit");
  }
  if (auto it = req.query.find("before");
      it != req.query.end() && (!ParseInteger(it->second, &before) || before < 1)) {
    return ErrorReply(400, "InvalidArgument", "before must be a positive job id", "before");
  }
  if (!p.admin()) {
    if (!owner.empty() && owner != p.account) {
      return ErrorReply(403, "PermissionDenied", "only an admin may list another account's jobs");
    }
    owner = p.account;
  }
  std::vector<const Job*> matching = scheduler_->ListJobs(
      states.size() == 1 ? std::optional<JobState>(states[0]) : std::nullopt, owner, name);
  std::erase_if(matching, [&](const Job* j) {
    return (states.size() > 1 && std::find(states.begin(), states.end(), j->state) == states.end()) ||
           (!q.empty() && j->spec.metadata.name.find(q) == std::string::npos);
  });
  json jobs = json::array();
  if (limit == 0) {  // everything, oldest first (the CLI's list)
    for (const Job* j : matching) jobs.push_back(ToJson(*j, false));
    return JsonReply(200, json{{"jobs", jobs}});
  }
  // A page, newest first: at most `limit` jobs with ids below `before`; `next` is the `before`
  // of the following page. ListJobs returns ids in increasing order.
  json reply{{"total", matching.size()}};
  auto it = std::lower_bound(matching.begin(), matching.end(), before,
                             [](const Job* j, int64_t id) { return j->id < id; });
  while (it != matching.begin() && static_cast<int64_t>(jobs.size()) < limit) {
    --it;
    jobs.push_back(ToJson(**it, false));
  }
  if (it != matching.begin()) reply["next"] = (*it)->id;
  reply["jobs"] = std::move(jobs);
  return JsonReply(200, reply);
}

json api_internal::DownsamplePoints(std::vector<json> points, int64_t max_points) {
  const int64_t n = static_cast<int64_t>(points.size());
  if (max_points <= 0 || n <= max_points) return json(std::move(points));
  std::vector<bool> keep(n, false);
  int64_t marked = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (points[i].contains("testLoss") || points[i].value("epochDone", false)) ++marked;
  }
  const bool keep_marked = marked <= max_points / 2;
  const int64_t even = keep_marked ? max_points - marked : max_points;
  for (int64_t k = 0; k < even; ++k) keep[even == 1 ? n - 1 : k * (n - 1) / (even - 1)] = true;
  json out = json::array();
  for (int64_t i = 0; i < n; ++i) {
    const bool is_marked = points[i].contains("testLoss") || points[i].value("epochDone", false);
    if (keep[i] || (keep_marked && is_marked)) out.push_back(std::move(points[i]));
  }
  return out;
}

HttpReply Api::Trace(const HttpRequest& req, const Principal& p) {
  if (!p.admin()) {
    return ErrorReply(
        RequireRole(p, {Role::kAdmin}, "the pool's job trace (every account's jobs)"));
  }
  TraceWindow window;
  for (auto [name, bound] : {std::pair{"since", &window.since_ms}, {"until", &window.until_ms}}) {
    auto it = req.query.find(name);
    if (it != req.query.end() && (!ParseInteger(it->second, bound) || *bound < 0)) {
      return ErrorReply(400, "InvalidArgument",
                        std::string(name) + " must be a non-negative integer (Unix ms)", name);
    }
  }
  if (window.until_ms > 0 && window.until_ms <= window.since_ms) {
    return ErrorReply(400, "InvalidArgument", "until must be after since", "until");
  }
  return HttpReply{200,
                   JobTraceCsv(scheduler_->ListJobs(std::nullopt, ""), window, scheduler_->NowMs()),
                   "text/csv; charset=utf-8"};
}

asio::awaitable<HttpReply> Api::Logs(const HttpRequest& req, int64_t job_id) {
  int64_t after = 0, wait_ms = 0, max_bytes = kDefaultLogBytes;
  int rank = -1, limit = 1000;
  if (auto it = req.query.find("after"); it != req.query.end() && !ParseInteger(it->second, &after)) {
    co_return ErrorReply(400, "InvalidArgument", "after must be an integer", "after");
  }
  if (auto it = req.query.find("rank"); it != req.query.end() &&
                                        (!ParseInteger(it->second, &rank) || rank < 0)) {
    co_return ErrorReply(400, "InvalidArgument", "rank must be a non-negative integer", "rank");
  }
  if (auto it = req.query.find("limit"); it != req.query.end() &&
                                         (!ParseInteger(it->second, &limit) || limit <= 0)) {
    co_return ErrorReply(400, "InvalidArgument", "limit must be a positive integer", "limit");
  }
  limit = std::min(limit, kMaxLogLines);
  if (auto it = req.query.find("maxBytes");
      it != req.query.end() && (!ParseInteger(it->second, &max_bytes) || max_bytes <= 0)) {
    co_return ErrorReply(400, "InvalidArgument", "maxBytes must be a positive integer", "maxBytes");
  }
  max_bytes = std::min(max_bytes, kMaxLogBytes);
  int tail = -1;
  // tail=N: start N lines before the end (`shoal logs --tail N`); later polls go on with after=.
  if (auto it = req.query.find("tail"); it != req.query.end()) {
    if (!ParseInteger(it->second, &tail) || tail < 0 || tail > kMaxLogLines) {
      co_return ErrorReply(400, "InvalidArgument", "tail must be an integer in 0..10000", "tail");
    }
    if (req.query.count("after") > 0) {
      co_return ErrorReply(400, "InvalidArgument", "give either after or tail, not both", "tail");
    }
  }
  if (!WaitParam(req, kMaxWaitMs, &wait_ms)) {
    co_return ErrorReply(400, "InvalidArgument", "wait must be a non-negative integer (ms)", "wait");
  }
  // The reads run on log_io_ (their own connection) when there is one: a client paging through
  // a large log costs the event loop nothing but the reply's bytes.
  JobHistory* history = history_reader_ != nullptr ? history_reader_ : scheduler_->history();
  auto read = [&](auto f) -> asio::awaitable<decltype(f())> {
    if (history_reader_ != nullptr) co_return co_await RunOn(log_io_, f);
    co_return f();
  };
  if (tail >= 0) {
    auto start = co_await read([&] { return history->LogSeqBeforeLast(job_id, rank, tail); });
    if (!start.ok()) co_return ErrorReply(start.status());
    after = *start;  // tail=0: the newest line's seq, so only new lines follow
  }
  auto deadline = Clock::now() + std::chrono::milliseconds(wait_ms);
  for (;;) {
    // Whether the job had ended before the read: then every line it wrote is in the read.
    const Job* job = scheduler_->FindJob(job_id);
    const bool done = job == nullptr || IsTerminal(job->state);
    struct Page {
      Status status;
      size_t lines = 0;
      bool full = false;  // stopped at limit or max_bytes: more may follow
      int64_t next = 0;
      std::string body;  // the reply's JSON but "done"
    };
    Page page = co_await read([&] {
      Page out;
      auto lines = history->ReadLogs(job_id, after, rank, limit, max_bytes);
      if (!lines.ok()) {
        out.status = lines.status();
        return out;
      }
      json arr = json::array();
      int64_t bytes = 0;
      out.next = after;
      for (const auto& l : *lines) {
        arr.push_back({{"seq", l.seq},
                       {"attempt", l.attempt},
                       {"rank", l.rank},
                       {"tsMs", l.ts_ms},
                       {"line", l.line}});
        out.next = l.seq;
        bytes += static_cast<int64_t>(l.line.size());
      }
      out.lines = lines->size();
      out.full = static_cast<int>(lines->size()) >= limit || bytes >= max_bytes;
      out.body = json{{"lines", std::move(arr)}, {"next", out.next}}.dump(
          -1, ' ', false, json::error_handler_t::replace);
      return out;
    });
    if (!page.status.ok()) co_return ErrorReply(page.status);
    if (page.lines > 0 || done || Clock::now() >= deadline) {
      // done: the job has finished and every stored line has been sent.
      page.body.pop_back();  // the closing brace: "done" goes in without parsing it again
      page.body += std::string(",\"done\":") + (done && !page.full ? "true" : "false") + "}";
      co_return HttpReply{200, std::move(page.body), "application/json"};
    }
    co_await notifier_->WaitFor(std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - Clock::now()));
  }
}

asio::awaitable<HttpReply> Api::Kv(const HttpRequest& req, int64_t job_id, int attempt,
                                   const std::string& key) {
  const Job* job = scheduler_->FindJob(job_id);
  const Attempt* current = job->current_attempt();
  if (current == nullptr || current->number != attempt ||
      current->state != AttemptState::kRunning) {
    co_return ErrorReply(409, "FailedPrecondition",
                         "attempt " + std::to_string(attempt) + " of job " +
                             std::to_string(job_id) + " is not running");
  }
  if (req.method == "PUT") {
    kv_->DropJob(job_id, attempt);  // keys of earlier attempts are dead
    Status st = kv_->Set(job_id, attempt, key, req.body);
    if (!st.ok()) co_return ErrorReply(st, "key");
    notifier_->NotifyAll();
    co_return JsonReply(200, json::object());
  }
  if (req.method != "GET") co_return MethodNotAllowed(req);
  int64_t wait_ms = 0;
  if (!WaitParam(req, kMaxWaitMs, &wait_ms)) {
    co_return ErrorReply(400, "InvalidArgument", "wait must be a non-negative integer (ms)", "wait");
  }
  auto deadline = Clock::now() + std::chrono::milliseconds(wait_ms);
  for (;;) {
    if (auto value = kv_->Get(job_id, attempt, key)) {
      co_return HttpReply{200, std::move(*value), "application/octet-stream"};
    }
    if (Clock::now() >= deadline) break;
    co_await notifier_->WaitFor(std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - Clock::now()));
  }
  co_return ErrorReply(404, "NotFound", "kv key \"" + key + "\" is not set");
}

}  // namespace shoal
