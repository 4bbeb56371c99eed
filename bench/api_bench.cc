// shoal-api-bench: load on the scheduler's HTTP API, against a real shoal-scheduler process.
//
// Every measurement starts its own shoal-scheduler on 127.0.0.1 (--port 0, a fresh temporary
// --state-dir under --tmp-dir, no workers), so no result inherits the jobs of another; daemons
// and directories are removed on every exit path (SIGINT/SIGTERM included).
//
// 1. Durable submissions. N clients (--clients, default 1,16,64), one thread and one kept-alive
//    connection each, POST the text of configs/jobs/tiny-mlp.yaml to /v1/jobs as `shoal submit`
//    does (Content-Type application/yaml, a bearer token), closed loop, for --warmup-sec and then
//    --duration-sec. Only a 201 counts: the scheduler sends it after the SQLite commit
//    (synchronous=FULL). A sample is send → answer, taken when the answer arrives inside the
//    window. Afterwards GET /v1/jobs must list exactly as many jobs as 201s were received.
// 2. Heartbeats. --workers W register (POST /v1/workers/register with the real agent's body,
//    kRegisterConns connections, as fast as the scheduler answers); the scheduler runs with
//    --worker-timeout 1h meanwhile, because registering 10k workers can take longer than the
//    default 15 s. It is then restarted on the same state (workers reload as alive with a fresh
//    deadline) with the default timeout, and every worker heartbeats once a second, evenly spread
//    (POST /v1/workers/{id}/heartbeat?wait=0 with {"running": []}: wait=0 disables the
//    long-poll, so the answer is immediate), open loop, from --hb-conns threads with one
//    kept-alive connection each. Latency is reported from the actual send and from the scheduled
//    send (the latter includes the delay of a client that fell behind: no coordinated omission).
//    Like an agent, a worker never sends a backlog: a slot more than one period late is skipped
//    and counted as missed. Afterwards all W workers must be alive and the scheduler's log must
//    hold no "lost" line. --cold-join instead registers while heartbeating, on one scheduler
//    with the default timeout (a whole pool joining a fresh scheduler); there a connection keeps
//    its schedule only while answers take under hb-conns/W s (6.4 ms by default).
// 3. Re-attachment (not with --cold-join). The pool went silent longer than the worker timeout
//    and comes back: the scheduler is stopped, every worker is stored as lost (with the sqlite3
//    CLI, as the scheduler's own loss detection leaves them), the scheduler is started again, and
//    every worker heartbeats once, closed loop from --hb-conns connections. Reported: how long
//    until all W were answered, the rate, the latency, and that all W are alive afterwards.
//
// Output: Markdown tables on stdout, JSON at --out (default bench/out/api.json).
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/flags.h"
#include "common/http_client.h"
#include "common/status.h"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace fs = std::filesystem;
using nlohmann::json;
using shoal::Result;
using shoal::Status;
using Clock = std::chrono::steady_clock;

constexpr char kBenchToken[] = "shoal_api_bench_admin_token_0123456789abcdef0123456789";
constexpr int kRegisterConns = 4;
std::atomic<bool> g_stop{false};  // SIGINT/SIGTERM: end the current phase early, clean up

struct Options {
  std::string scheduler_bin, spec_path, out_path, tmp_dir;
  double duration_sec = 5, warmup_sec = 1;
  int workers = 10000, hb_conns = 64;
  bool cold_join = false;
  std::vector<int> clients = {1, 16, 64};
};

Clock::duration Sec(double s) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}
double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// ---- The daemon under test. ----

class Daemon {
 public:
  // A fresh state dir under `tmp_dir`; nothing runs until Launch().
  static Result<std::unique_ptr<Daemon>> Create(const std::string& bin, const std::string& tmp) {
    std::string dir = tmp + "/shoal-api-bench-XXXXXX";
    if (::mkdtemp(dir.data()) == nullptr) return shoal::Unavailable("mkdtemp in " + tmp);
    return std::unique_ptr<Daemon>(new Daemon(bin, dir));
  }
  ~Daemon() {
    Stop();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  // Starts shoal-scheduler on 127.0.0.1:0 with the state dir and `extra` flags, and waits (10 s
  // at most) for the address it writes.
  Status Launch(const std::vector<std::string>& extra = {});
  // SIGTERM; SIGKILL when it has not exited 5 s later.
  void Stop();
  const std::string& url() const { return url_; }
  const std::string& host() const { return host_; }
  const std::string& port() const { return port_; }
  std::string Log() const { return ReadFile(LogPath()); }  // of the latest launch
  std::string state_dir() const { return dir_ + "/db"; }

 private:
  Daemon(std::string bin, std::string dir) : bin_(std::move(bin)), dir_(std::move(dir)) {}
  std::string LogPath() const { return dir_ + "/scheduler-" + std::to_string(launches_) + ".log"; }

  std::string bin_, dir_, url_, host_, port_;
  pid_t pid_ = -1;
  int launches_ = 0;
};

Status Daemon::Launch(const std::vector<std::string>& extra) {
  Stop();
  ++launches_;
  const std::string state = dir_ + "/db", addr_file = state + "/scheduler.addr", log = LogPath();
  std::error_code ec;
  fs::remove(addr_file, ec);
  // Every request authenticates with this admin token (the scheduler hashes it on each one).
  const std::string token_file = dir_ + "/admin-token";
  if (!fs::exists(token_file)) std::ofstream(token_file) << kBenchToken << "\n";
  // The load is one account's submissions, far past the default per-account cap of unfinished
  // jobs (maxActiveJobs, 1000): lift it, or the bench measures 429s.
  std::vector<std::string> args = {
      bin_,       "--address",         "127.0.0.1", "--port",
      "0",        "--state-dir",       state,       "--admin-token-file",
      token_file, "--max-active-jobs", "0"};
  args.insert(args.end(), extra.begin(), extra.end());
  pid_ = ::fork();
  if (pid_ < 0) return shoal::Unavailable("fork failed");
  if (pid_ == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a killed bench
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd >= 0) ::dup2(fd, 1), ::dup2(fd, 2);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(bin_.c_str(), argv.data());
    _exit(127);
  }
  for (int i = 0; i < 200; ++i) {
    std::string addr = ReadFile(addr_file);
    while (!addr.empty() && std::isspace(static_cast<unsigned char>(addr.back()))) addr.pop_back();
    if (!addr.empty()) {
      auto url = shoal::ParseUrl(addr);
      if (!url.ok()) return url.status();
      url_ = addr, host_ = url->host, port_ = url->port;
      return Status::Ok();
    }
    if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      return shoal::Unavailable("shoal-scheduler exited at start:\n" + Log());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return shoal::DeadlineExceeded("shoal-scheduler wrote no address in 10 s:\n" + Log());
}

void Daemon::Stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  for (int i = 0; i < 100; ++i) {
    if (::waitpid(pid_, nullptr, WNOHANG) == pid_) return void(pid_ = -1);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

// ---- A kept-alive HTTP/1.1 connection (HttpClient opens one per call). One thread each. ----

class Conn {
 public:
  explicit Conn(const Daemon& d)
      : endpoint_(asio::ip::make_address(d.host()), static_cast<uint16_t>(std::stoi(d.port()))) {}

  // Sends `req`, connecting first when no connection is open. Returns the answer (any HTTP
  // status), or Unavailable / DeadlineExceeded, after which the next call reconnects. Never
  // retries: a POST is sent at most once.
  Result<shoal::HttpResponse> Send(const http::request<http::string_body>& req,
                                   std::chrono::seconds timeout = std::chrono::seconds(10)) {
    beast::error_code ec;
    if (!stream_) {
      stream_.emplace(ioc_);
      stream_->expires_after(timeout);
      stream_->async_connect(endpoint_, [&](beast::error_code e) { ec = e; });
      Run();
      if (ec) return Fail(ec, "connect");
    }
    http::response<http::string_body> res;
    stream_->expires_after(timeout);
    http::async_write(*stream_, req, [&](beast::error_code e, size_t) {
      if (e) return void(ec = e);
      http::async_read(*stream_, buffer_, res, [&](beast::error_code e2, size_t) { ec = e2; });
    });
    Run();
    if (ec) return Fail(ec, "request");
    if (!res.keep_alive()) stream_.reset(), buffer_.clear();
    return shoal::HttpResponse{static_cast<int>(res.result_int()), std::move(res.body()), ""};
  }

 private:
  void Run() {
    ioc_.restart();
    ioc_.run();
  }
  Status Fail(beast::error_code ec, const char* what) {
    stream_.reset();
    buffer_.clear();
    std::string m = std::string(what) + ": " + ec.message();
    return ec == beast::error::timeout ? shoal::DeadlineExceeded(m) : shoal::Unavailable(m);
  }

  asio::io_context ioc_;
  asio::ip::tcp::endpoint endpoint_;
  std::optional<beast::tcp_stream> stream_;
  beast::flat_buffer buffer_;
};

http::request<http::string_body> Post(const std::string& target, std::string body,
                                      const char* content_type = "application/json") {
  http::request<http::string_body> req{http::verb::post, target, 11};
  req.set(http::field::host, "127.0.0.1");
  req.set(http::field::content_type, content_type);
  req.set(http::field::authorization, std::string("Bearer ") + kBenchToken);
  req.keep_alive(true);
  req.body() = std::move(body);
  req.prepare_payload();
  return req;
}

// ---- Tallies. ----

struct Tally {  // one per client thread, merged at the end
  std::vector<double> ms, from_schedule_ms;
  int64_t ok = 0, errors = 0, missed = 0;
  std::string first_error;
  void Error(const Result<shoal::HttpResponse>& r, const std::string& what) {
    if (errors++ > 0) return;
    first_error =
        what + ": " +
        (r.ok() ? "HTTP " + std::to_string(r->status) + " " + r->body : r.status().ToString());
  }
  void Merge(const Tally& t) {
    ms.insert(ms.end(), t.ms.begin(), t.ms.end());
    from_schedule_ms.insert(from_schedule_ms.end(), t.from_schedule_ms.begin(),
                            t.from_schedule_ms.end());
    ok += t.ok, errors += t.errors, missed += t.missed;
    if (first_error.empty()) first_error = t.first_error;
  }
};

json Latency(std::vector<double> ms) {
  if (ms.empty()) return {{"p50Ms", 0}, {"p99Ms", 0}, {"maxMs", 0}};
  std::sort(ms.begin(), ms.end());
  auto at = [&](double q) { return ms[std::min(ms.size() - 1, size_t(q * ms.size()))]; };
  return {{"p50Ms", at(0.50)}, {"p99Ms", at(0.99)}, {"maxMs", ms.back()}};
}

// The jobs or workers the scheduler lists, counted by state.
Result<json> CountByState(const Daemon& d, const std::string& what) {
  shoal::HttpClient http(d.url(), std::chrono::seconds(120));
  http.SetDefaultHeader("Authorization", std::string("Bearer ") + kBenchToken);
  auto reply = http.DoJson("GET", "/v1/" + what);
  if (!reply.ok()) return reply.status();
  std::map<std::string, int64_t> counts;
  for (const auto& item : (*reply)[what]) ++counts[item.value("state", "?")];
  int64_t total = 0;
  for (const auto& [state, n] : counts) total += n;
  return json{{"total", total}, {"byState", counts}};
}

// ---- 1. Durable submissions. ----

Result<json> RunSubmissions(const Options& o, const std::string& spec, int clients) {
  ASSIGN_OR_RETURN(auto daemon, Daemon::Create(o.scheduler_bin, o.tmp_dir));
  RETURN_IF_ERROR(daemon->Launch());
  const auto req = Post("/v1/jobs", spec, "application/yaml");
  const auto window = Clock::now() + Sec(o.warmup_sec), end = window + Sec(o.duration_sec);
  const int seconds = static_cast<int>(std::ceil(o.duration_sec));
  std::vector<Tally> tallies(clients);
  std::vector<std::vector<int64_t>> per_second(clients, std::vector<int64_t>(seconds));
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      Conn conn(*daemon);
      for (auto t0 = Clock::now(); t0 < end && !g_stop; t0 = Clock::now()) {
        auto r = conn.Send(req);
        auto t1 = Clock::now();
        if (!r.ok() || r->status != 201) {
          tallies[c].Error(r, "submit");
          continue;
        }
        ++tallies[c].ok;
        if (t1 < window || t1 >= end) continue;
        tallies[c].ms.push_back(Ms(t1 - t0));
        ++per_second[c][std::min<int64_t>(seconds - 1, (t1 - window) / std::chrono::seconds(1))];
      }
    });
  }
  for (auto& th : threads) th.join();
  Tally all;
  std::vector<int64_t> acked_per_second(seconds);
  for (int c = 0; c < clients; ++c) {
    all.Merge(tallies[c]);
    for (int s = 0; s < seconds; ++s) acked_per_second[s] += per_second[c][s];
  }
  ASSIGN_OR_RETURN(json jobs, CountByState(*daemon, "jobs"));
  return json{{"clients", clients},
              {"ackedInWindow", all.ms.size()},
              {"ackedPerSec", all.ms.size() / o.duration_sec},
              {"latency", Latency(all.ms)},
              {"ackedEachSecond", acked_per_second},
              {"ackedTotal", all.ok},
              {"errors", all.errors},
              {"firstError", all.first_error},
              {"jobsListed", jobs}};
}

// ---- 2. Heartbeats. ----

Result<json> RunReattach(const Options& o, Daemon& daemon, const std::vector<std::string>& ids);

Result<json> RunHeartbeats(const Options& o) {
  ASSIGN_OR_RETURN(auto daemon, Daemon::Create(o.scheduler_bin, o.tmp_dir));
  if (o.cold_join) {
    RETURN_IF_ERROR(daemon->Launch());
  } else {
    RETURN_IF_ERROR(daemon->Launch({"--worker-timeout", "1h"}));
  }
  const int n = o.workers, conns = std::max(1, std::min(o.hb_conns, n));
  std::vector<std::string> ids(n);
  std::vector<std::atomic<bool>> ready(n);
  std::vector<Tally> tallies(conns + kRegisterConns);
  std::atomic<int> next{0}, registered{0}, registering{kRegisterConns};
  std::atomic<Clock::rep> window{Clock::time_point::max().time_since_epoch().count()};
  const auto reg_start = Clock::now();
  double reg_sec = 0;
  std::vector<std::thread> threads;
  for (int c = 0; c < kRegisterConns; ++c) {
    threads.emplace_back([&, c] {
      Conn conn(*daemon);
      for (int i; !g_stop && (i = next++) < n;) {
        // The agent's registration body (worker/agent/agent.cc): one CPU slot, no GPUs.
        json body = {{"name", "bench-w" + std::to_string(i)},
                     {"host", "bench-host"},
                     {"account", "default"},
                     {"slots", 1},
                     {"cpus", 1},
                     {"gpus", json::array()}};
        auto r = conn.Send(Post("/v1/workers/register", body.dump()), std::chrono::seconds(30));
        json reply = r.ok() && r->status == 200 ? json::parse(r->body, nullptr, false) : json();
        if (reply.is_object() && reply["id"].is_string()) ids[i] = reply["id"];
        if (ids[i].empty()) {
          tallies[conns + c].Error(r, "register");
        } else {
          ready[i] = true;
          ++registered;
        }
      }
      if (--registering == 0) {  // the last one opens the window (cold join)
        reg_sec = Ms(Clock::now() - reg_start) / 1e3;
        window = (Clock::now() + Sec(o.warmup_sec)).time_since_epoch().count();
      }
    });
  }
  if (!o.cold_join) {
    for (auto& th : threads) th.join();
    threads.clear();
    daemon->Stop();
    RETURN_IF_ERROR(daemon->Launch());  // the default worker timeout from here on
    window = (Clock::now() + std::chrono::milliseconds(100) + Sec(o.warmup_sec))
                 .time_since_epoch()
                 .count();
  }
  // Worker i is due at start + i/n s + k s, and sent by thread i mod conns.
  const auto start = Clock::now() + std::chrono::milliseconds(100);
  const auto duration = Sec(o.duration_sec);
  for (int c = 0; c < conns; ++c) {
    threads.emplace_back([&, c] {
      Tally& t = tallies[c];
      Conn conn(*daemon);
      for (int64_t round = 0; !g_stop; ++round) {
        for (int i = c; i < n && !g_stop; i += conns) {
          auto due =
              start + std::chrono::seconds(round) + std::chrono::nanoseconds(1000000000LL * i / n);
          auto win = Clock::time_point(Clock::duration(window.load()));
          if (win != Clock::time_point::max() && due >= win + duration) return;
          if (Clock::now() - due > std::chrono::seconds(1)) {
            if (due >= win) ++t.missed;
            continue;
          }
          std::this_thread::sleep_until(due);
          if (!ready[i]) continue;
          auto t0 = Clock::now();
          auto r =
              conn.Send(Post("/v1/workers/" + ids[i] + "/heartbeat?wait=0", R"({"running":[]})"));
          auto t1 = Clock::now();
          if (!r.ok() || r->status != 200) {
            t.Error(r, "heartbeat");
          } else if (due >= win) {
            t.ok += t1 < win + duration;  // completed inside the window
            t.ms.push_back(Ms(t1 - t0));
            t.from_schedule_ms.push_back(Ms(t1 - due));
          }
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  Tally hb, reg;
  for (int c = 0; c < conns + kRegisterConns; ++c) (c < conns ? hb : reg).Merge(tallies[c]);
  ASSIGN_OR_RETURN(json workers, CountByState(*daemon, "workers"));
  const std::string log = daemon->Log();
  auto count = [&](const std::string& needle) {
    int64_t k = 0;
    for (size_t p = 0; (p = log.find(needle, p)) != std::string::npos; ++p) ++k;
    return k;
  };
  json reattach;
  if (!o.cold_join && !g_stop) {
    ASSIGN_OR_RETURN(reattach, RunReattach(o, *daemon, ids));
  }
  return json{{"workers", n},
              {"reattach", reattach},
              {"connections", conns},
              {"coldJoin", o.cold_join},
              {"registered", registered.load()},
              {"registerSec", reg_sec},
              {"registerErrors", reg.errors},
              {"okInWindow", hb.ok},
              {"achievedPerSec", hb.ok / o.duration_sec},
              {"missed", hb.missed},
              {"latency", Latency(hb.ms)},
              {"latencyFromSchedule", Latency(hb.from_schedule_ms)},
              {"errors", hb.errors},
              {"firstError", hb.first_error + reg.first_error},
              {"workersListed", workers},
              {"lostLogLines", count(") lost: no heartbeat")},
              {"backLogLines", count(" is back")}};
}

// ---- 3. Re-attachment. ----

Result<json> RunReattach(const Options& o, Daemon& daemon, const std::vector<std::string>& ids) {
  daemon.Stop();
  const std::string cmd =
      "sqlite3 '" + daemon.state_dir() + "/shoal.db' \"UPDATE workers SET state='lost'\"";
  if (std::system(cmd.c_str()) != 0) {
    return shoal::Unavailable("`" + cmd + "` failed (the sqlite3 CLI is needed)");
  }
  RETURN_IF_ERROR(daemon.Launch());
  const int n = static_cast<int>(ids.size()), conns = std::max(1, std::min(o.hb_conns, n));
  std::atomic<int> next{0};
  std::vector<Tally> tallies(conns);
  std::vector<std::thread> threads;
  const auto start = Clock::now();
  for (int c = 0; c < conns; ++c) {
    threads.emplace_back([&, c] {
      Conn conn(daemon);
      for (int i; !g_stop && (i = next++) < n;) {
        if (ids[i].empty()) continue;
        auto t0 = Clock::now();
        auto r =
            conn.Send(Post("/v1/workers/" + ids[i] + "/heartbeat?wait=0", R"({"running":[]})"));
        if (!r.ok() || r->status != 200) {
          tallies[c].Error(r, "re-attach heartbeat");
          continue;
        }
        ++tallies[c].ok;
        tallies[c].ms.push_back(Ms(Clock::now() - t0));
      }
    });
  }
  for (auto& th : threads) th.join();
  const double sec = Ms(Clock::now() - start) / 1e3;
  Tally all;
  for (const Tally& t : tallies) all.Merge(t);
  ASSIGN_OR_RETURN(json workers, CountByState(daemon, "workers"));
  const std::string log = daemon.Log();
  int64_t back = 0;
  for (size_t p = 0; (p = log.find(" is back", p)) != std::string::npos; ++p) ++back;
  return json{{"workers", n},
              {"sec", sec},
              {"perSec", all.ok / sec},
              {"latency", Latency(all.ms)},
              {"errors", all.errors},
              {"firstError", all.first_error},
              {"workersListed", workers},
              {"backLogLines", back}};
}

// ---- Flags, output, main. ----

// Defines the flags and parses them into `o`: nullopt to go on, or the exit code for main
// (0 after --help, 2 on a usage error).
std::optional<int> ParseFlags(int argc, char** argv, Options* o) {
  CLI::App app(
      "shoal-api-bench: load on the scheduler's HTTP API (durable submissions, heartbeats, "
      "re-attachment) against a shoal-scheduler it starts itself.");
  shoal::flags::Configure(app, "shoal-api-bench");
  app.add_option("--scheduler-bin", o->scheduler_bin,
                 "the shoal-scheduler to start; default: the one of this build tree, else "
                 "build/scheduler/shoal-scheduler of the repository")
      ->type_name("PATH");
  app.add_option("--duration-sec", o->duration_sec, "measured seconds per phase (> 0)")
      ->type_name("S")
      ->check(shoal::flags::Positive());
  app.add_option("--warmup-sec", o->warmup_sec, "warm-up seconds before each measurement (>= 0)")
      ->type_name("S")
      ->check(shoal::flags::NonNegative());
  app.add_option("--clients", o->clients,
                 "comma list of concurrent submitting clients, one measurement each (each >= 1)")
      ->type_name("LIST")
      ->delimiter(',')
      ->default_str("1,16,64")
      ->check(shoal::flags::Positive());
  app.add_option("--workers", o->workers, "workers that register and heartbeat; 0 skips that phase")
      ->type_name("W")
      ->check(shoal::flags::NonNegative());
  app.add_option("--hb-conns", o->hb_conns, "heartbeat connections, one thread each (>= 1)")
      ->type_name("N")
      ->check(shoal::flags::Positive());
  app.add_flag("--cold-join", o->cold_join,
               "register while heartbeating, on one scheduler (no restart, no re-attachment)");
  app.add_option("--out", o->out_path, "the JSON results; default bench/out/api.json")
      ->type_name("FILE");
  app.add_option("--spec", o->spec_path,
                 "the job submitted; default configs/jobs/tiny-mlp.yaml of the repository")
      ->type_name("FILE");
  app.add_option("--tmp-dir", o->tmp_dir,
                 "where the schedulers' state dirs go; default $TMPDIR, else /tmp")
      ->type_name("DIR");
  return shoal::flags::Parse(app, argc, argv);
}

// Fills in the defaults that depend on where the repository and the build are.
Status ResolvePaths(Options* o) {
  std::optional<fs::path> repo;  // the first dir above the cwd or this binary with the job spec
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  for (fs::path p : {fs::current_path(ec), exe}) {
    for (; !repo && !p.empty() && p != p.parent_path(); p = p.parent_path()) {
      if (fs::exists(p / "configs/jobs/tiny-mlp.yaml")) repo = p;
    }
  }
  const fs::path root = repo.value_or(".");
  // The scheduler of this binary's own build tree first, then build/ of the repository or cwd.
  for (fs::path p : {exe.parent_path() / "../scheduler/shoal-scheduler",
                     root / "build/scheduler/shoal-scheduler"}) {
    if (o->scheduler_bin.empty() && fs::exists(p)) o->scheduler_bin = fs::canonical(p).string();
  }
  if (o->scheduler_bin.empty() || ::access(o->scheduler_bin.c_str(), X_OK) != 0) {
    return shoal::InvalidArgument("no executable shoal-scheduler (give --scheduler-bin)");
  }
  if (o->spec_path.empty()) o->spec_path = (root / "configs/jobs/tiny-mlp.yaml").string();
  if (o->out_path.empty()) o->out_path = (root / "bench/out/api.json").string();
  if (o->tmp_dir.empty()) o->tmp_dir = std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp";
  return Status::Ok();
}

// The file system of the state dirs: fsync costs differ (tmpfs makes it free).
std::string FsType(const std::string& dir) {
  struct statfs s {};
  if (::statfs(dir.c_str(), &s) != 0) return "?";
  if (s.f_type == 0xEF53) return "ext4";
  if (s.f_type == 0x01021994) return "tmpfs";
  if (s.f_type == 0x58465342) return "xfs";
  char hex[32];
  std::snprintf(hex, sizeof hex, "fs magic 0x%lx", static_cast<unsigned long>(s.f_type));
  return hex;
}

void PrintRow(const std::vector<std::string>& cells) {
  std::string line = "|";
  for (const auto& c : cells) line += " " + c + " |";
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

// A number at a JSON pointer, formatted.
std::string F(const json& j, const char* pointer, int decimals = 1) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, j.at(json::json_pointer(pointer)).get<double>());
  return buf;
}

int Run(int argc, char** argv) {
  Options o;
  if (std::optional<int> code = ParseFlags(argc, argv, &o)) return *code;
  Status st = ResolvePaths(&o);
  const std::string spec = st.ok() ? ReadFile(o.spec_path) : "";
  if (st.ok() && spec.empty()) st = shoal::InvalidArgument("cannot read " + o.spec_path);
  if (!st.ok()) {
    std::cerr << "shoal-api-bench: " << st.message() << "\n";
    return 2;
  }
  const unsigned cpus = std::thread::hardware_concurrency();
  json out = {{"machine", {{"cpus", cpus}, {"tmpDir", o.tmp_dir}, {"tmpDirFs", FsType(o.tmp_dir)}}},
              {"scheduler", o.scheduler_bin},
              {"spec", o.spec_path},
              {"warmupSec", o.warmup_sec},
              {"durationSec", o.duration_sec},
              {"submissions", json::array()}};
  std::printf(
      "shoal-api-bench: %s; %u CPUs (shared by bench and scheduler); state under %s (%s);"
      " warm-up %.1f s, measured %.1f s\n\n",
      o.scheduler_bin.c_str(), cpus, o.tmp_dir.c_str(), FsType(o.tmp_dir).c_str(), o.warmup_sec,
      o.duration_sec);
  PrintRow({"POST /v1/jobs clients", "acked/s", "p50 ms", "p99 ms", "max ms",
            "acked/s 1st s → last s", "errors", "201s / jobs listed", "goal ≥2000/s, p99 ≤50 ms"});
  PrintRow({"---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---"});
  int rc = 0;
  for (int clients : o.clients) {
    if (g_stop) break;
    auto r = RunSubmissions(o, spec, clients);
    if (!r.ok()) {
      std::cerr << "submissions, " << clients << " clients: " << r.status().ToString() << "\n";
      rc = 1;
      continue;
    }
    const json& j = *r;
    bool same = j["ackedTotal"] == j["jobsListed"]["total"];
    bool met = j["ackedPerSec"].get<double>() >= 2000 && j["latency"]["p99Ms"].get<double>() <= 50;
    PrintRow({std::to_string(clients), F(j, "/ackedPerSec", 0), F(j, "/latency/p50Ms", 2),
              F(j, "/latency/p99Ms", 2), F(j, "/latency/maxMs", 2),
              j["ackedEachSecond"].front().dump() + " → " + j["ackedEachSecond"].back().dump(),
              j["errors"].dump(),
              j["ackedTotal"].dump() + " / " + j["jobsListed"]["total"].dump() +
                  (same ? "" : " MISMATCH"),
              met ? "met" : "not met"});
    if (!same || j["errors"] != 0) rc = 1;
    if (j["errors"] != 0) {
      std::cerr << "  first error: " << j["firstError"].get<std::string>() << "\n";
    }
    out["submissions"].push_back(j);
  }
  if (!g_stop && o.workers > 0) {
    auto r = RunHeartbeats(o);
    if (!r.ok()) {
      std::cerr << "heartbeats: " << r.status().ToString() << "\n";
      rc = 1;
    } else {
      const json& j = *r;
      const int64_t alive = j["workersListed"]["byState"].value("alive", int64_t{0});
      bool met = j["achievedPerSec"].get<double>() >= 0.99 * o.workers && alive == o.workers &&
                 j["latencyFromSchedule"]["p99Ms"].get<double>() <= 100;
      std::printf("\n");
      PrintRow({"heartbeat?wait=0 workers", "conns", "registered in s", "achieved/s", "p50 ms",
                "p99 ms", "max ms", "p99 / max ms from schedule", "missed", "errors", "alive after",
                "\"lost\" / \"back\" log lines", "goal W/s, p99 ≤100 ms"});
      PrintRow({"---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:",
                "---:", "---:", "---"});
      PrintRow(
          {std::to_string(o.workers) + (o.cold_join ? " (cold join)" : ""), j["connections"].dump(),
           F(j, "/registerSec"), F(j, "/achievedPerSec", 0), F(j, "/latency/p50Ms", 2),
           F(j, "/latency/p99Ms", 2), F(j, "/latency/maxMs", 2),
           F(j, "/latencyFromSchedule/p99Ms", 2) + " / " + F(j, "/latencyFromSchedule/maxMs", 2),
           j["missed"].dump(), j["errors"].dump(), std::to_string(alive),
           j["lostLogLines"].dump() + " / " + j["backLogLines"].dump(), met ? "met" : "not met"});
      if (!j["firstError"].get<std::string>().empty()) {
        std::cerr << "  first error: " << j["firstError"].get<std::string>() << "\n";
      }
      out["heartbeats"] = j;
      if (j["reattach"].is_object()) {
        const json& ra = j["reattach"];
        const int64_t back_alive = ra["workersListed"]["byState"].value("alive", int64_t{0});
        std::printf("\n");
        PrintRow({"re-attach after all lost: workers", "all answered in s", "per s", "p50 ms",
                  "p99 ms", "max ms", "errors", "alive after", "\"back\" log lines"});
        PrintRow({"---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:"});
        PrintRow({ra["workers"].dump(), F(ra, "/sec", 2), F(ra, "/perSec", 0),
                  F(ra, "/latency/p50Ms", 2), F(ra, "/latency/p99Ms", 2),
                  F(ra, "/latency/maxMs", 2), ra["errors"].dump(), std::to_string(back_alive),
                  ra["backLogLines"].dump()});
        if (!ra["firstError"].get<std::string>().empty()) {
          std::cerr << "  first re-attach error: " << ra["firstError"].get<std::string>() << "\n";
        }
        if (back_alive != o.workers || ra["errors"] != 0) rc = 1;
      }
    }
  }
  std::error_code ec;
  fs::create_directories(fs::path(o.out_path).parent_path(), ec);
  std::ofstream(o.out_path) << out.dump(2) << "\n";
  std::printf("\nJSON: %s%s\n", o.out_path.c_str(), g_stop ? " (interrupted)" : "");
  return g_stop ? 130 : rc;
}

}  // namespace

int main(int argc, char** argv) {
  struct sigaction sa {};
  sa.sa_handler = [](int) { g_stop = true; };
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  try {
    return Run(argc, argv);
  } catch (const std::exception& e) {  // the daemons were stopped by their destructors
    std::cerr << "shoal-api-bench: " << e.what() << "\n";
    return 1;
  }
}
