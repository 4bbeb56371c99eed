// libFuzzer target: the scheduler's HTTP API handler (Api::Handle, what HttpServer calls for
// every request) with fuzzed methods, paths, queries, headers and bodies, against a real
// Scheduler over a real SQLite Store.
//
// Every input starts from the same state, so a finding reproduces from its input alone: a
// baseline database (workers w-1 and w-2; job 1 running on w-1 as attempt 1, job 2 pending) is
// built once in a private temporary directory (in /dev/shm when it exists) and copied for every
// input. Input: up to 8 requests, separated by a line "===" (the next request starts after the
// previous one was answered) or "+++" (it arrives in the same event-loop round, so submissions and
// registrations share a group commit). Each request is
//
//   METHOD TARGET            e.g. "POST /v1/workers/w-1/heartbeat?wait=5"
//   name: value              headers (optional), then an empty line
//   body...                  the rest
//
// Callers: baseline tokens exist for the accounts admin (admin), alice and bob (users; they own
// jobs 1 and 2), default and lab (contributors; they own w-1 and w-2). A request without an
// Authorization header is sent with the admin token; "Authorization: alice" (or bob, default,
// lab, admin) is replaced by that account's token; any other value is sent as written.
//
// TARGET is split into path and query like HttpServer does (without percent-decoding: the fuzzer
// writes any byte directly). Long-polls are bounded so that no input waits: `wait` values over
// 2 ms become 2 (malformed ones are kept), and heartbeats wait at most 2 ms.
//
// HttpServer answers a handler exception with a 500, so this target does too; with
// SHOAL_FUZZ_STRICT=1 in the environment an exception aborts instead (to find them). With
// SHOAL_FUZZ_VERBOSE set it prints every request and its reply (to read what an input does).
#include <unistd.h>

#include <utility>  // before Boost 1.74 asio coroutine headers, which use std::exchange unincluded

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "scheduler/api/api.h"

namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;

constexpr int kMaxRequests = 8;
constexpr int64_t kMaxWaitMs = 2;
constexpr int64_t kStartMs = 1'700'000'000'000;

std::string g_template;  // the baseline state directory
std::string g_work;      // the state directory of the current input
bool g_strict = false;
bool g_verbose = false;

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "api_fuzzer: %s\n", what.c_str());
  std::abort();
}

void RemoveDirs() {
  std::error_code ec;
  fs::remove_all(fs::path(g_template).parent_path(), ec);
}

// The baseline jobs' spec (configs/jobs/tiny-mlp.yaml, inline so the target runs anywhere).
constexpr std::string_view kBaselineSpec = R"(apiVersion: shoal/v1
kind: TrainingJob
metadata: {name: tiny-mlp, project: vision, labels: {purpose: smoke-test}}
spec:
  workers: {min: 1, max: 1}
  resources: {backend: cpu, gpusPerWorker: 0}
  model: {layers: [784, 32, 10]}
  data: {train: /usr/share/datasets/fashion-mnist/train, format: idx}
  optimizer: {kind: sgd, lr: 0.05}
  training: {epochs: 1, batchSize: 128}
  checkpoint: {everySeconds: 0, keep: 1}
  limits: {maxRuntime: 10m, maxRetries: 1}
)";

shoal::SchedulerOptions Options() {
  shoal::SchedulerOptions options;
  options.heartbeat_wait_ms = kMaxWaitMs;
  return options;
}

// The token of a baseline account ("admin", "alice", "bob", "default", "lab").
std::string TokenOf(std::string_view account) {
  return "shoal_fuzz_" + std::string(account) + "_0123456789abcdef0123456789abcdef";
}

void BuildBaseline() {
  auto store = shoal::Store::Open(g_template);
  if (!store.ok()) Fail("baseline store: " + store.status().ToString());
  {
    auto auth = shoal::Auth::Load(store->get(), [] { return kStartMs; });
    if (!auth.ok() || !(*auth)->Bootstrap(TokenOf("admin")).ok()) Fail("baseline: admin token");
    const std::pair<const char*, const char*> kTokens[] = {
        {"alice", "user"}, {"bob", "user"}, {"default", "contributor"}, {"lab", "contributor"}};
    for (const auto& [account, role] : kTokens) {
      shoal::Store::TokenRow row{0, account, role, shoal::HashToken(TokenOf(account)), "fuzz",
                                 kStartMs, 0};
      if (!(*store)->InsertToken(row).ok()) Fail("baseline: token");
    }
  }
  auto sched = shoal::Scheduler::Open(store->get(), Options(), [] { return kStartMs; });
  if (!sched.ok()) Fail("baseline scheduler: " + sched.status().ToString());
  shoal::Scheduler& s = **sched;
  if (!s.RegisterWorker({"w1", "host1", 2, 4, {}}).ok()) Fail("baseline: register w1");
  const std::string spec(kBaselineSpec);
  if (!s.Submit(spec, "alice").ok()) Fail("baseline: submit job 1");
  s.RunCycle();  // job 1 starts on w-1, the only worker yet
  // w-1 acknowledges its rank, so that attempt 1 runs (the kv routes need a running attempt).
  if (!s.Heartbeat("w-1", {{1, 1, 0}}).ok()) Fail("baseline: heartbeat");
  shoal::GpuInfo gpu;
  gpu.name = "NVIDIA H100 80GB HBM3";
  gpu.memory_mib = 81559;
  gpu.compute_capability = "9.0";
  if (!s.RegisterWorker({"w2", "host2", 1, 8, {gpu}, "lab"}).ok()) Fail("baseline: register w2");
  std::string big = spec;
  big.replace(big.find("min: 1, max: 1"), 14, "min: 8, max: 8");
  if (!s.Submit(big, "bob").ok()) Fail("baseline: submit job 2");
  s.RunCycle();  // job 2 stays pending: 8 ranks do not fit
  const shoal::Job* job1 = s.FindJob(1);
  if (job1 == nullptr || job1->current_attempt() == nullptr ||
      job1->current_attempt()->ranks.at(0).worker_id != "w-1") {
    Fail("baseline: job 1 is not on w-1");
  }
}

struct Request {
  shoal::HttpRequest req;
  bool same_round = false;  // arrives with the previous request
};

void SplitTarget(std::string_view target, shoal::HttpRequest* req) {
  const size_t q = target.find('?');
  req->path = std::string(target.substr(0, q));
  if (q == std::string_view::npos) return;
  std::string_view query = target.substr(q + 1);
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view kv = query.substr(0, amp);
    const size_t eq = kv.find('=');
    std::string key(kv.substr(0, eq));
    std::string value(eq == std::string_view::npos ? std::string_view() : kv.substr(eq + 1));
    if (key == "wait") {
      int64_t ms = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), ms);
      if (ec == std::errc() && end == value.data() + value.size() && ms > kMaxWaitMs) {
        value = std::to_string(kMaxWaitMs);
      }
    }
    if (!key.empty()) req->query[key] = value;
    if (amp == std::string_view::npos) break;
    query = query.substr(amp + 1);
  }
}

Request ParseRequest(std::string_view text, bool same_round) {
  Request r;
  r.same_round = same_round;
  size_t eol = text.find('\n');
  std::string_view line = text.substr(0, eol);
  text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
  const size_t space = line.find(' ');
  r.req.method = std::string(line.substr(0, space));
  SplitTarget(space == std::string_view::npos ? std::string_view() : line.substr(space + 1),
              &r.req);
  // Headers until an empty line (or the end).
  while (!text.empty()) {
    eol = text.find('\n');
    line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
    if (line.empty()) break;
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string name(line.substr(0, colon));
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    r.req.headers[name] = std::string(value);
  }
  auto& auth = r.req.headers["authorization"];
  for (const char* account : {"admin", "alice", "bob", "default", "lab"}) {
    if (auth.empty() ? std::string_view(account) == "admin" : auth == account) {
      auth = "Bearer " + TokenOf(account);
    }
  }
  r.req.body = std::string(text);
  r.req.peer = "127.0.0.1:40000";
  return r;
}

std::vector<Request> ParseInput(std::string_view input) {
  std::vector<Request> out;
  bool same_round = false;
  while (static_cast<int>(out.size()) < kMaxRequests) {
    const size_t seq = input.find("\n===\n"), par = input.find("\n+++\n");
    const size_t sep = std::min(seq, par);
    out.push_back(ParseRequest(input.substr(0, sep), same_round));
    if (sep == std::string_view::npos) break;
    same_round = sep == par;
    input = input.substr(sep + 5);
  }
  return out;
}

void CheckReply(const shoal::HttpReply& reply) {
  if (reply.status < 100 || reply.status > 599)
    Fail("bad HTTP status " + std::to_string(reply.status));
  if (reply.status >= 500 && reply.status != 500 && reply.status != 503 && reply.status != 504) {
    Fail("unexpected HTTP status " + std::to_string(reply.status));
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  ::setenv("SHOAL_LOG_LEVEL", "error", /*overwrite=*/0);
  g_strict = std::getenv("SHOAL_FUZZ_STRICT") != nullptr &&
             std::string(std::getenv("SHOAL_FUZZ_STRICT")) == "1";
  g_verbose = std::getenv("SHOAL_FUZZ_VERBOSE") != nullptr;
  const char* base = fs::is_directory("/dev/shm") ? "/dev/shm" : "/tmp";
  std::string tmpl = std::string(base) + "/shoal-api-fuzz-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) Fail("mkdtemp failed");
  g_template = tmpl + "/baseline";
  g_work = tmpl + "/work";
  fs::create_directories(g_template);
  std::atexit(RemoveDirs);
  BuildBaseline();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<Request> requests =
      ParseInput(std::string_view(reinterpret_cast<const char*>(data), size));

  std::error_code ec;
  fs::remove_all(g_work, ec);
  fs::copy(g_template, g_work, fs::copy_options::recursive, ec);
  if (ec) Fail("cannot copy the baseline: " + ec.message());

  int64_t now = kStartMs;
  auto store = shoal::Store::Open(g_work);
  if (!store.ok()) Fail("store: " + store.status().ToString());
  auto opened = shoal::Scheduler::Open(store->get(), Options(), [&now] { return now; });
  if (!opened.ok()) Fail("scheduler: " + opened.status().ToString());
  std::unique_ptr<shoal::Scheduler> sched = std::move(opened).value();

  {
    asio::io_context ioc(1);
    shoal::Notifier notifier;
    shoal::RendezvousKv kv;
    sched->SetOnChange([&] { notifier.NotifyAll(); });
    sched->SetSchedulePoster([&] { asio::post(ioc, [&] { sched->RunPendingSchedule(); }); });
    auto auth = shoal::Auth::Load(store->get(), [&now] { return now; });
    if (!auth.ok()) Fail("auth: " + auth.status().ToString());
    shoal::Api api(sched.get(), auth->get(), &kv, &notifier);

    std::vector<std::optional<shoal::HttpReply>> replies(requests.size());
    for (size_t i = 0; i < requests.size(); ++i) {
      if (!requests[i].same_round && i > 0) {
        ioc.run();  // answer everything before this request arrives
        ioc.restart();
        now += 1000;
        sched->RunCycle();
      }
      asio::co_spawn(ioc, api.Handle(requests[i].req),
                     [&replies, i](std::exception_ptr e, shoal::HttpReply reply) {
                       if (e) {
                         try {
                           std::rethrow_exception(e);
                         } catch (const std::exception& ex) {
                           if (g_strict) Fail(std::string("handler threw: ") + ex.what());
                           reply = shoal::ErrorReply(500, "Internal", "internal error");
                         }
                       }
                       replies[i] = std::move(reply);
                     });
    }
    ioc.run();
    for (size_t i = 0; i < replies.size(); ++i) {
      if (!replies[i]) Fail("request " + std::to_string(i) + " was never answered");
      if (g_verbose) {
        std::fprintf(stderr, "api_fuzzer: %s %s -> %d %s", requests[i].req.method.c_str(),
                     requests[i].req.path.c_str(), replies[i]->status, replies[i]->body.c_str());
      }
      CheckReply(*replies[i]);
    }
    sched->SetOnChange(nullptr);
    sched->SetSchedulePoster(nullptr);
  }
  sched.reset();
  store->reset();
  return 0;
}
