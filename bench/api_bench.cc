// shoal-api-bench: load on the scheduler's HTTP API, against a real shoal-scheduler process.
//
// Every measurement starts its own shoal-scheduler on 127.0.0.1 (--port 0, a fresh temporary
// --state-dir, default worker timeout 15 s, no workers), so one result never inherits the
// previous one's jobs; the daemon and its directory go away on every exit path.
//
// 1. Durable submissions. N clients (--clients, default 1,16,64), one thread and one kept-alive
//    connection each, POST the text of configs/jobs/tiny-mlp.yaml to /v1/jobs exactly as
//    `shoal submit` does (Content-Type application/yaml, X-Shoal-User), closed loop, as fast as
//    they can: --warmup-sec, then --duration-sec measured. Only a 201 counts (the scheduler sends
//    it after the SQLite commit, synchronous=FULL); a sample is the time from send to the answer,
//    counted when the answer arrives inside the measured window. Afterwards GET /v1/jobs must list
//    exactly as many jobs as 201s were received (warm-up included).
// 2. Heartbeats. --workers W simulated workers register (POST /v1/workers/register, the body the
//    real agent sends), then each heartbeats once a second (POST /v1/workers/{id}/heartbeat?wait=0
//    with {"running": []}: no long-poll, the answer is immediate), open loop, evenly spread over
//    the second, from --hb-conns threads with one kept-alive connection each. Latency is taken
//    both from the actual send and from the scheduled send time (the latter includes any delay
//    of a client thread that fell behind, so a slow server cannot hide: no coordinated
//    omission). Afterwards every worker must still be alive and the scheduler log must hold no
//    "lost" line.
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
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

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

std::atomic<bool> g_stop{false};  // SIGINT/SIGTERM: finish the current phase early, clean up

struct Options {
  std::string scheduler_bin, spec_path, out_path, tmp_dir;
  double duration_sec = 5, warmup_sec = 1;
  int workers = 10000, hb_conns = 64;
  std::vector<int> clients = {1, 16, 64};
};

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The repository: the first directory above the working dir or this executable that holds
// configs/jobs/tiny-mlp.yaml.
std::optional<fs::path> FindRepo() {
  std::error_code ec;
  for (fs::path start : {fs::current_path(ec), fs::read_symlink("/proc/self/exe", ec)}) {
    for (fs::path p = start; !p.empty(); p = p.parent_path()) {
      if (fs::exists(p / "configs/jobs/tiny-mlp.yaml")) return p;
      if (p == p.parent_path()) break;
    }
  }
  return std::nullopt;
}

// ---- The daemon under test. ----

class Daemon {
 public:
  // Starts `bin` on 127.0.0.1:0 with a fresh state dir under `tmp_dir` and waits (10 s at most)
  // for its address file. The returned object stops the process and removes the dir when
  // destroyed.
  static Result<std::unique_ptr<Daemon>> Start(const std::string& bin, const std::string& tmp_dir);
  ~Daemon();
  const std::string& url() const { return url_; }
  const std::string& host() const { return host_; }
  const std::string& port() const { return port_; }
  std::string Log() const { return ReadFile(dir_ + "/scheduler.log"); }

 private:
  pid_t pid_ = -1;
  std::string dir_, url_, host_, port_;
};

Result<std::unique_ptr<Daemon>> Daemon::Start(const std::string& bin, const std::string& tmp_dir) {
  std::unique_ptr<Daemon> d(new Daemon);
  std::string tmpl = tmp_dir + "/shoal-api-bench-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) return shoal::Unavailable("mkdtemp in " + tmp_dir);
  d->dir_ = tmpl;
  const std::string state = d->dir_ + "/db", log = d->dir_ + "/scheduler.log";
  std::vector<std::string> args = {bin, "--address", "127.0.0.1", "--port", "0", "--state-dir",
                                   state};
  d->pid_ = ::fork();
  if (d->pid_ < 0) return shoal::Unavailable("fork failed");
  if (d->pid_ == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a killed bench
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd >= 0) ::dup2(fd, 1), ::dup2(fd, 2);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(bin.c_str(), argv.data());
    _exit(127);
  }
  for (int i = 0; i < 200; ++i) {
    std::string addr = ReadFile(state + "/scheduler.addr");
    if (!addr.empty()) {
      while (!addr.empty() && std::isspace(static_cast<unsigned char>(addr.back()))) addr.pop_back();
      auto url = shoal::ParseUrl(addr);
      if (!url.ok()) return url.status();
      d->url_ = addr, d->host_ = url->host, d->port_ = url->port;
      return d;
    }
    if (::waitpid(d->pid_, nullptr, WNOHANG) == d->pid_) {
      d->pid_ = -1;
      return shoal::Unavailable("shoal-scheduler exited at start:\n" + d->Log());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return shoal::DeadlineExceeded("shoal-scheduler wrote no address in 10 s:\n" + d->Log());
}

Daemon::~Daemon() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    bool gone = false;
    for (int i = 0; i < 100 && !gone; ++i) {
      gone = ::waitpid(pid_, nullptr, WNOHANG) == pid_;
      if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (!gone) ::kill(pid_, SIGKILL), ::waitpid(pid_, nullptr, 0);
  }
  std::error_code ec;
  if (!dir_.empty()) fs::remove_all(dir_, ec);
}

// ---- A kept-alive HTTP/1.1 connection (HttpClient opens one per call). One thread each. ----

class Conn {
 public:
  Conn(const std::string& host, const std::string& port)
      : endpoint_(asio::ip::make_address(host), static_cast<uint16_t>(std::stoi(port))) {}

  // Sends `req` on the open connection, connecting first when there is none. Returns the answer
  // (any HTTP status), or Unavailable / DeadlineExceeded; after an error the next call
  // reconnects. Never retries: a POST is sent at most once.
  Result<shoal::HttpResponse> Send(const http::request<http::string_body>& req,
                                   std::chrono::milliseconds timeout) {
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
      if (e) ec = e;
      else http::async_read(*stream_, buffer_, res, [&](beast::error_code e2, size_t) { ec = e2; });
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

http::request<http::string_body> MakeRequest(http::verb verb, const std::string& target,
                                             std::string body, const std::string& content_type) {
  http::request<http::string_body> req{verb, target, 11};
  req.set(http::field::host, "127.0.0.1");
  req.set(http::field::content_type, content_type);
  req.set("X-Shoal-User", "api-bench");
  req.keep_alive(true);
  req.body() = std::move(body);
  req.prepare_payload();
  return req;
}

// ---- Statistics. ----

struct Latency {
  double p50 = 0, p99 = 0, max = 0;
};

Latency Summarize(std::vector<double> ms) {
  if (ms.empty()) return {};
  std::sort(ms.begin(), ms.end());
  auto at = [&](double q) { return ms[std::min(ms.size() - 1, static_cast<size_t>(q * ms.size()))]; };
  return {at(0.50), at(0.99), ms.back()};
}

json ToJson(const Latency& l) { return {{"p50Ms", l.p50}, {"p99Ms", l.p99}, {"maxMs", l.max}}; }

// Counts the jobs (or workers) the scheduler lists, by state.
Result<std::map<std::string, int64_t>> CountByState(const Daemon& d, const std::string& what) {
  shoal::HttpClient client(d.url(), std::chrono::seconds(120));
  auto reply = client.DoJson("GET", "/v1/" + what);
  if (!reply.ok()) return reply.status();
  std::map<std::string, int64_t> counts;
  for (const auto& item : (*reply)[what]) ++counts[item.value("state", "?")];
  return counts;
}

int64_t Total(const std::map<std::string, int64_t>& m) {
  int64_t n = 0;
  for (const auto& [k, v] : m) n += v;
  return n;
}

// ---- 1. Durable submissions. ----

struct ThreadTally {
  std::vector<double> lat_ms;
  std::vector<int64_t> per_second;
  int64_t acked = 0, errors = 0;
  std::string first_error;
};

Result<json> RunSubmissions(const Options& o, const std::string& spec, int clients) {
  ASSIGN_OR_RETURN(auto daemon, Daemon::Start(o.scheduler_bin, o.tmp_dir));
  const auto req = MakeRequest(http::verb::post, "/v1/jobs", spec, "application/yaml");
  const auto start = Clock::now();
  const auto window = start + std::chrono::duration_cast<Clock::duration>(
                                  std::chrono::duration<double>(o.warmup_sec));
  const auto end = window + std::chrono::duration_cast<Clock::duration>(
                                std::chrono::duration<double>(o.duration_sec));
  const int seconds = static_cast<int>(std::ceil(o.duration_sec));
  std::vector<ThreadTally> tallies(clients);
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      ThreadTally& t = tallies[c];
      t.per_second.assign(seconds, 0);
      Conn conn(daemon->host(), daemon->port());
      for (auto t0 = Clock::now(); t0 < end && !g_stop; t0 = Clock::now()) {
        auto r = conn.Send(req, std::chrono::seconds(10));
        auto t1 = Clock::now();
        if (r.ok() && r->status == 201) {
          ++t.acked;
          if (t1 >= window && t1 < end) {
            t.lat_ms.push_back(Ms(t1 - t0));
            ++t.per_second[std::min<int64_t>(seconds - 1, (t1 - window) / std::chrono::seconds(1))];
          }
          continue;
        }
        if (++t.errors == 1) {
          t.first_error = r.ok() ? "HTTP " + std::to_string(r->status) + ": " + r->body
                                 : r.status().ToString();
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  ThreadTally all;
  all.per_second.assign(seconds, 0);
  for (auto& t : tallies) {
    all.lat_ms.insert(all.lat_ms.end(), t.lat_ms.begin(), t.lat_ms.end());
    for (int s = 0; s < seconds; ++s) all.per_second[s] += t.per_second[s];
    all.acked += t.acked, all.errors += t.errors;
    if (all.first_error.empty()) all.first_error = t.first_error;
  }
  ASSIGN_OR_RETURN(auto jobs, CountByState(*daemon, "jobs"));
  return json{{"clients", clients},
              {"durationSec", o.duration_sec},
              {"ackedInWindow", all.lat_ms.size()},
              {"ackedPerSec", all.lat_ms.size() / o.duration_sec},
              {"latency", ToJson(Summarize(all.lat_ms))},
              {"ackedPerSecond", all.per_second},
              {"ackedTotal", all.acked},
              {"errors", all.errors},
              {"firstError", all.first_error},
              {"jobsListed", Total(jobs)},
              {"jobsByState", jobs}};
}

// ---- 2. Heartbeats. ----

// Every worker's schedule starts at once: worker i is due at start + i/n s + k s. Its first due
// slot registers it (a real agent heartbeats right after registering, so registration takes the
// place of the first heartbeats; a failed one is retried at the next slot), later ones heartbeat.
// The measured window opens --warmup-sec after the last registration (or after
// kMaxRegisterSec). Heartbeats still unsent kMaxLagSec after the window closed count as missed.
constexpr int kMaxRegisterSec = 120, kMaxLagSec = 10;

Result<json> RunHeartbeats(const Options& o) {
  ASSIGN_OR_RETURN(auto daemon, Daemon::Start(o.scheduler_bin, o.tmp_dir));
  const int n = o.workers, conns = std::max(1, std::min(o.hb_conns, n));
  std::vector<std::string> ids(n);
  std::vector<ThreadTally> tallies(conns);
  std::vector<std::vector<double>> sched_ms(conns);
  std::vector<int64_t> missed(conns, 0), in_window(conns, 0);
  std::atomic<int> registered{0};
  const auto start = Clock::now() + std::chrono::milliseconds(100);
  const auto tick = [](Clock::time_point t) { return t.time_since_epoch().count(); };
  std::atomic<Clock::rep> window{tick(Clock::time_point::max())};
  std::atomic<Clock::rep> registered_at{0};
  const auto warmup = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(o.warmup_sec));
  const auto duration = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(o.duration_sec));
  std::vector<std::thread> threads;
  for (int c = 0; c < conns; ++c) {
    threads.emplace_back([&, c] {
      ThreadTally& t = tallies[c];
      Conn conn(daemon->host(), daemon->port());
      const std::string hb_body = R"({"running":[]})";
      for (int64_t round = 0; !g_stop; ++round) {
        for (int i = c; i < n && !g_stop; i += conns) {
          auto due = start + std::chrono::seconds(round) +
                     std::chrono::nanoseconds(int64_t{1000000000} * i / n);
          auto win = Clock::time_point(Clock::duration(window.load()));
          if (win != Clock::time_point::max() && due >= win + duration) return;
          if (due >= win && Clock::now() > win + duration + std::chrono::seconds(kMaxLagSec)) {
            ++missed[c];
            continue;
          }
          std::this_thread::sleep_until(due);
          if (ids[i].empty()) {
            // The agent's registration body (worker/agent/agent.cc): one CPU slot, no GPUs.
            json body = {{"name", "bench-w" + std::to_string(i)}, {"host", "bench-host"},
                         {"slots", 1}, {"cpus", 1}, {"gpus", json::array()}};
            auto r = conn.Send(MakeRequest(http::verb::post, "/v1/workers/register", body.dump(),
                                           "application/json"), std::chrono::seconds(30));
            if (r.ok() && r->status == 200) {
              ids[i] = json::parse(r->body, nullptr, false).value("id", "");
            } else if (++t.errors == 1) {
              t.first_error = r.ok() ? "register: HTTP " + std::to_string(r->status)
                                     : "register: " + r.status().ToString();
            }
            auto now = Clock::now();
            if (!ids[i].empty() && registered.fetch_add(1) + 1 == n) {
              registered_at = tick(now);
              window = tick(now + warmup);
            } else if (now > start + std::chrono::seconds(kMaxRegisterSec)) {
              Clock::rep expected = tick(Clock::time_point::max());
              window.compare_exchange_strong(expected, tick(now + warmup));
            }
            continue;
          }
          auto t0 = Clock::now();
          auto r = conn.Send(MakeRequest(http::verb::post, "/v1/workers/" + ids[i] +
                                         "/heartbeat?wait=0", hb_body, "application/json"),
                             std::chrono::seconds(10));
          auto t1 = Clock::now();
          win = Clock::time_point(Clock::duration(window.load()));
          if (r.ok() && r->status == 200) {
            ++t.acked;
            if (t1 >= win && t1 < win + duration) ++in_window[c];
            if (due >= win) t.lat_ms.push_back(Ms(t1 - t0)), sched_ms[c].push_back(Ms(t1 - due));
          } else if (++t.errors == 1) {
            t.first_error = r.ok() ? "heartbeat: HTTP " + std::to_string(r->status) + ": " + r->body
                                   : "heartbeat: " + r.status().ToString();
          }
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  std::vector<double> lat, sched;
  int64_t errors = 0, ok_in_window = 0, missed_total = 0;
  std::string first_error;
  for (int c = 0; c < conns; ++c) {
    lat.insert(lat.end(), tallies[c].lat_ms.begin(), tallies[c].lat_ms.end());
    sched.insert(sched.end(), sched_ms[c].begin(), sched_ms[c].end());
    errors += tallies[c].errors, ok_in_window += in_window[c], missed_total += missed[c];
    if (first_error.empty()) first_error = tallies[c].first_error;
  }
  const double reg_sec =
      registered_at == 0 ? -1 : Ms(Clock::time_point(Clock::duration(registered_at)) - start) / 1e3;
  ASSIGN_OR_RETURN(auto workers, CountByState(*daemon, "workers"));
  std::string log = daemon->Log();
  auto count = [&](const std::string& needle) {
    int64_t k = 0;
    for (size_t p = 0; (p = log.find(needle, p)) != std::string::npos; ++p) ++k;
    return k;
  };
  return json{{"workers", n},
              {"connections", conns},
              {"registered", registered.load()},
              {"registerSec", reg_sec},
              {"registerPerSec", reg_sec > 0 ? n / reg_sec : 0.0},
              {"targetPerSec", n},
              {"durationSec", o.duration_sec},
              {"okInWindow", ok_in_window},
              {"achievedPerSec", ok_in_window / o.duration_sec},
              {"samples", lat.size()},
              {"missed", missed_total},
              {"latency", ToJson(Summarize(lat))},
              {"latencyFromSchedule", ToJson(Summarize(sched))},
              {"errors", errors},
              {"firstError", first_error},
              {"workersByState", workers},
              {"lostLogLines", count(") lost: no heartbeat")},
              {"backLogLines", count(" is back")}};
}

// ---- Flags, output, main. ----

Status ParseFlags(int argc, char** argv, Options* o) {
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      return shoal::InvalidArgument(
          "usage: shoal-api-bench [--scheduler-bin PATH] [--duration-sec S] [--warmup-sec S]\n"
          "  [--clients 1,16,64] [--workers 10000] [--hb-conns 64] [--out bench/out/api.json]\n"
          "  [--spec configs/jobs/tiny-mlp.yaml] [--tmp-dir DIR (default $TMPDIR or /tmp)]");
    }
    if (i + 1 >= argc) return shoal::InvalidArgument(flag + " needs a value (see --help)");
    std::string v = argv[++i];
    try {
      if (flag == "--scheduler-bin") o->scheduler_bin = v;
      else if (flag == "--spec") o->spec_path = v;
      else if (flag == "--out") o->out_path = v;
      else if (flag == "--tmp-dir") o->tmp_dir = v;
      else if (flag == "--duration-sec") o->duration_sec = std::stod(v);
      else if (flag == "--warmup-sec") o->warmup_sec = std::stod(v);
      else if (flag == "--workers") o->workers = std::stoi(v);
      else if (flag == "--hb-conns") o->hb_conns = std::stoi(v);
      else if (flag == "--clients") {
        o->clients.clear();
        std::stringstream s(v);
        for (std::string item; std::getline(s, item, ',');) o->clients.push_back(std::stoi(item));
      } else {
        return shoal::InvalidArgument("unknown flag " + flag + " (see --help)");
      }
    } catch (const std::exception&) {
      return shoal::InvalidArgument("bad value for " + flag + ": " + v);
    }
  }
  if (o->duration_sec <= 0 || o->warmup_sec < 0) return shoal::InvalidArgument("bad durations");
  for (int c : o->clients) {
    if (c < 1) return shoal::InvalidArgument("--clients needs positive counts");
  }
  return Status::Ok();
}

std::string Fmt(double v, int decimals = 1) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string FsType(const std::string& dir) {
  struct statfs s {};
  if (::statfs(dir.c_str(), &s) != 0) return "?";
  switch (static_cast<unsigned long>(s.f_type)) {
    case 0xEF53: return "ext4";
    case 0x01021994: return "tmpfs";
    case 0x58465342: return "xfs";
    case 0x9123683E: return "btrfs";
    case 0x794C7630: return "overlayfs";
    default: {
      std::ostringstream hex;
      hex << "0x" << std::hex << s.f_type;
      return hex.str();
    }
  }
}

int Run(int argc, char** argv) {
  Options o;
  if (Status st = ParseFlags(argc, argv, &o); !st.ok()) {
    std::cerr << st.message() << "\n";
    return 2;
  }
  auto repo = FindRepo();
  fs::path exe_dir = fs::read_symlink("/proc/self/exe").parent_path();
  if (o.scheduler_bin.empty()) {
    // The scheduler of the bench's own build tree first, then build/ of the repo or the cwd.
    for (fs::path p : {exe_dir / "../scheduler/shoal-scheduler",
                       repo.value_or(".") / "build/scheduler/shoal-scheduler",
                       fs::path("build/scheduler/shoal-scheduler")}) {
      if (fs::exists(p)) {
        o.scheduler_bin = fs::canonical(p).string();
        break;
      }
    }
  }
  if (o.scheduler_bin.empty() || ::access(o.scheduler_bin.c_str(), X_OK) != 0) {
    std::cerr << "shoal-api-bench: no shoal-scheduler (give --scheduler-bin)\n";
    return 2;
  }
  if (o.spec_path.empty() && repo) o.spec_path = (*repo / "configs/jobs/tiny-mlp.yaml").string();
  std::string spec = o.spec_path.empty() ? "" : ReadFile(o.spec_path);
  if (spec.empty()) {
    std::cerr << "shoal-api-bench: cannot read the job spec (give --spec)\n";
    return 2;
  }
  if (o.out_path.empty()) o.out_path = (repo.value_or(".") / "bench/out/api.json").string();
  if (o.tmp_dir.empty()) o.tmp_dir = std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp";

  json out = {{"machine", {{"cpus", std::thread::hardware_concurrency()},
                           {"stateDirFs", FsType(o.tmp_dir)}}},
              {"scheduler", o.scheduler_bin}, {"spec", o.spec_path},
              {"warmupSec", o.warmup_sec}, {"submissions", json::array()}};
  std::printf("shoal-api-bench: %s, %u CPUs, state dirs under %s (%s), warm-up %.1f s, "
              "measured %.1f s\n\n", o.scheduler_bin.c_str(), std::thread::hardware_concurrency(),
              o.tmp_dir.c_str(), FsType(o.tmp_dir).c_str(), o.warmup_sec, o.duration_sec);
  std::printf("| submissions | clients | acked/s | p50 ms | p99 ms | max ms | acked/s 1st s → last s"
              " | errors | 201s / jobs listed | goal ≥2000/s, p99 ≤50 ms |\n"
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
  int rc = 0;
  for (int clients : o.clients) {
    if (g_stop) break;
    auto r = RunSubmissions(o, spec, clients);
    if (!r.ok()) {
      std::cerr << "submissions with " << clients << " clients: " << r.status().ToString() << "\n";
      rc = 1;
      continue;
    }
    const json& j = *r;
    const auto& ps = j["ackedPerSecond"];
    bool met = j["ackedPerSec"].get<double>() >= 2000 && j["latency"]["p99Ms"].get<double>() <= 50;
    std::printf("| POST /v1/jobs | %d | %s | %s | %s | %s | %s → %s | %s | %s / %s%s | %s |\n",
                clients, Fmt(j["ackedPerSec"].get<double>(), 0).c_str(),
                Fmt(j["latency"]["p50Ms"].get<double>(), 2).c_str(),
                Fmt(j["latency"]["p99Ms"].get<double>(), 2).c_str(),
                Fmt(j["latency"]["maxMs"].get<double>(), 2).c_str(),
                ps.front().dump().c_str(), ps.back().dump().c_str(), j["errors"].dump().c_str(),
                j["ackedTotal"].dump().c_str(), j["jobsListed"].dump().c_str(),
                j["ackedTotal"] == j["jobsListed"] ? "" : " MISMATCH", met ? "met" : "not met");
    std::fflush(stdout);
    if (!j["firstError"].get<std::string>().empty()) {
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
      bool met = j["achievedPerSec"].get<double>() >= 0.99 * o.workers &&
                 j["latencyFromSchedule"]["p99Ms"].get<double>() <= 100 &&
                 j["lostLogLines"].get<int64_t>() == 0;
      auto ms = [&](const char* which, const char* q) { return Fmt(j[which][q].get<double>(), 2); };
      std::printf("\n| heartbeats | workers | conns | registered in s | target/s | achieved/s "
                  "| p50 ms | p99 ms | max ms | p99 / max ms from schedule | missed | errors "
                  "| alive after | \"lost\" / \"back\" log lines | goal p99 ≤100 ms at W/s |\n"
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
      std::printf("| POST heartbeat?wait=0 | %d | %d | %s | %d | %s | %s | %s | %s | %s / %s | %s "
                  "| %s | %lld | %s / %s | %s |\n", o.workers, j["connections"].get<int>(),
                  Fmt(j["registerSec"].get<double>()).c_str(), o.workers,
                  Fmt(j["achievedPerSec"].get<double>(), 0).c_str(), ms("latency", "p50Ms").c_str(),
                  ms("latency", "p99Ms").c_str(), ms("latency", "maxMs").c_str(),
                  ms("latencyFromSchedule", "p99Ms").c_str(),
                  ms("latencyFromSchedule", "maxMs").c_str(), j["missed"].dump().c_str(),
                  j["errors"].dump().c_str(),
                  static_cast<long long>(j["workersByState"].value("alive", int64_t{0})),
                  j["lostLogLines"].dump().c_str(), j["backLogLines"].dump().c_str(),
                  met ? "met" : "not met");
      if (!j["firstError"].get<std::string>().empty()) {
        std::cerr << "  first error: " << j["firstError"].get<std::string>() << "\n";
      }
      out["heartbeats"] = j;
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
  } catch (const std::exception& e) {  // the daemons were stopped by their destructors already
    std::cerr << "shoal-api-bench: " << e.what() << "\n";
    return 1;
  }
}
