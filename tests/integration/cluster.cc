#include "tests/integration/cluster.h"

#include <algorithm>
#include <atomic>

#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <random>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "data/token_shards.h"
#include "worker/agent/process.h"

namespace shoal::testing {

namespace fs = std::filesystem;

Process::Process(std::vector<std::string> argv, std::string log_file)
    : argv_(std::move(argv)), log_file_(std::move(log_file)) {}

Process::~Process() {
  if (pid_ > 0 && !reaped_) {
    SignalGroup(pid_, SIGKILL);
    ::kill(pid_, SIGKILL);
    WaitForExit(pid_);
  }
}

bool Process::Start() {
  SpawnOptions opts;
  opts.argv = argv_;
  opts.output_file = log_file_;
  auto spawned = Spawn(opts);
  if (!spawned.ok()) return false;
  pid_ = spawned->pid;
  reaped_ = false;
  return true;
}

bool Process::running() {
  if (pid_ <= 0 || reaped_) return false;
  ExitInfo info;
  if (TryReap(pid_, &info)) {
    reaped_ = true;
    exit_code_ = info.exit_code;
    return false;
  }
  return true;
}

void Process::Signal(int sig) {
  if (pid_ > 0 && !reaped_) ::kill(pid_, sig);
}

int Process::Wait(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (running()) {
    if (std::chrono::steady_clock::now() > deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return exit_code_;
}

Cluster::Cluster() {
  char tmpl[] = "/tmp/shoal-it-XXXXXX";
  char* d = ::mkdtemp(tmpl);
  if (d == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = d;
  // The first start of the scheduler takes this as its admin token (--admin-token-file).
  admin_token_ = "shoal_test_admin_" + std::to_string(::getpid()) + "_0123456789abcdef0123456789";
  std::ofstream(dir_ + "/admin-token") << admin_token_ << "\n";
}

HttpClient Cluster::client(const std::string& token) const {
  HttpClient http(url_, std::chrono::seconds(15), {ca_file_});
  if (!token.empty()) http.SetDefaultHeader("Authorization", "Bearer " + token);
  return http;
}

std::string Cluster::CreateToken(const std::string& account, const std::string& role) {
  HttpClient admin = client();
  nlohmann::json body = {{"name", account}};
  auto created = admin.Do("POST", "/v1/accounts", body.dump());
  EXPECT_TRUE(created.ok() && (created->status == 201 || created->status == 409))
      << (created.ok() ? created->body : created.status().ToString());
  body = {{"account", account}, {"role", role}, {"label", "test"}};
  auto token = admin.DoJson("POST", "/v1/tokens", &body);
  EXPECT_TRUE(token.ok()) << token.status().ToString();
  return token.ok() ? token->value("token", "") : "";
}

Cluster::~Cluster() {
  bool failed = ::testing::Test::HasFailure();
  if (failed) DumpLogs();
  // Workers first (they take their trainers with them), then the scheduler.
  for (auto& [name, w] : workers_) {
    w->Signal(SIGTERM);
    if (w->Wait(std::chrono::seconds(10)) < 0) w->Signal(SIGKILL);
  }
  workers_.clear();
  scheduler_.reset();
  for (pid_t pid : TrainerPids()) ::kill(pid, SIGKILL);
  std::error_code ec;
  if (!failed) fs::remove_all(dir_, ec);
}

void Cluster::StartScheduler(std::vector<std::string> extra_flags) {
  std::vector<std::string> argv = {SHOAL_SCHEDULER_BIN,
                                   "--port",
                                   "0",
                                   "--state-dir",
                                   dir_ + "/state",
                                   "--worker-timeout",
                                   "3s",
                                   "--heartbeat-wait",
                                   "1s",
                                   "--schedule-interval",
                                   "200ms",
                                   "--admin-token-file",
                                   dir_ + "/admin-token"};
  argv.insert(argv.end(), extra_flags.begin(), extra_flags.end());
  std::error_code ec;
  fs::remove(dir_ + "/state/scheduler.addr", ec);
  scheduler_ = std::make_unique<Process>(argv, dir_ + "/scheduler.log");
  ASSERT_TRUE(scheduler_->Start());
  ASSERT_TRUE(WaitUntil([&] { return fs::exists(dir_ + "/state/scheduler.addr"); },
                        std::chrono::seconds(20)))
      << "scheduler did not start";
  std::ifstream in(dir_ + "/state/scheduler.addr");
  std::getline(in, url_);
  ASSERT_TRUE(WaitUntil(
      [&] {
        auto r = client().Do("GET", "/healthz");
        return r.ok() && r->status == 200;
      },
      std::chrono::seconds(20)));
}

int64_t Cluster::SubmitAs(const std::string& token, const std::string& yaml) const {
  auto r = client(token).Do("POST", "/v1/jobs", yaml);
  EXPECT_TRUE(r.ok() && r->status == 201) << (r.ok() ? r->body : r.status().ToString());
  return r.ok() && r->status == 201 ? nlohmann::json::parse(r->body)["id"].get<int64_t>() : 0;
}

Cluster::CliResult Cluster::RunCli(const std::string& token, const std::vector<std::string>& args,
                                   std::chrono::seconds timeout) const {
  static std::atomic<int> runs{0};
  std::vector<std::string> argv = {SHOAL_CLI_BIN, "--scheduler", url_, "--token", token};
  argv.insert(argv.end(), args.begin(), args.end());
  const std::string log = dir_ + "/cli-" + std::to_string(++runs) + ".log";
  Process p(argv, log);
  EXPECT_TRUE(p.Start());
  const int code = p.Wait(timeout);
  std::ifstream in(log);
  std::stringstream ss;
  ss << in.rdbuf();
  return {code, ss.str()};
}

void Cluster::KillScheduler(int sig) {
  scheduler_->Signal(sig);
  scheduler_->Wait(std::chrono::seconds(10));
}

Process* Cluster::StartWorker(const std::string& name, std::vector<std::string> extra_flags) {
  std::vector<std::string> argv = {SHOAL_WORKER_BIN, "--scheduler", url_, "--name", name};
  // One thread per rank unless the test asks for another count.
  if (std::find(extra_flags.begin(), extra_flags.end(), "--threads-per-rank") == extra_flags.end()) {
    argv.insert(argv.end(), {"--threads-per-rank", "1"});
  }
  argv.insert(argv.end(), {"--no-gpu", "--trainer", SHOAL_TRAIN_BIN, "--work-dir", dir_ + "/" + name});
  if (std::find(extra_flags.begin(), extra_flags.end(), "--token") == extra_flags.end()) {
    std::string account = "pool";
    auto it = std::find(extra_flags.begin(), extra_flags.end(), "--account");
    if (it != extra_flags.end() && it + 1 != extra_flags.end()) account = *(it + 1);
    std::string& file = contributor_tokens_[account];
    if (file.empty()) {
      file = dir_ + "/token-" + account;
      std::ofstream(file) << CreateToken(account, "contributor") << "\n";
    }
    argv.insert(argv.end(), {"--token-file", file});
  }
  if (!ca_file_.empty()) argv.insert(argv.end(), {"--ca-file", ca_file_});
  argv.insert(argv.end(), extra_flags.begin(), extra_flags.end());
  auto p = std::make_unique<Process>(argv, dir_ + "/" + name + ".log");
  EXPECT_TRUE(p->Start());
  Process* raw = p.get();
  workers_[name] = std::move(p);
  return raw;
}

double Cluster::RssMiB(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  }
  return -1;
}

bool Cluster::HaveFashionMnist() {
  return std::ifstream("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz").good();
}

int64_t Cluster::Submit(const std::string& yaml) {
  auto r = client().Do("POST", "/v1/jobs", yaml, "application/yaml");
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (!r.ok()) return 0;
  EXPECT_EQ(r->status, 201) << r->body;
  auto j = nlohmann::json::parse(r->body, nullptr, false);
  return j.is_object() ? j.value("id", int64_t{0}) : 0;
}

nlohmann::json Cluster::Job(int64_t id) {
  auto r = client().DoJson("GET", "/v1/jobs/" + std::to_string(id));
  return r.ok() ? *r : nlohmann::json();
}

nlohmann::json Cluster::Workers() {
  auto r = client().DoJson("GET", "/v1/workers");
  return r.ok() ? (*r)["workers"] : nlohmann::json::array();
}

bool Cluster::WaitUntil(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return pred();
}

bool Cluster::WaitForState(int64_t id, const std::string& state,
                           std::chrono::milliseconds timeout) {
  return WaitUntil([&] { return Job(id).value("state", "") == state; }, timeout);
}

std::vector<pid_t> Cluster::TrainerPids() const {
  std::vector<pid_t> out;
  if (url_.empty()) return out;
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return out;
  while (dirent* e = ::readdir(proc)) {
    pid_t pid = std::atoi(e->d_name);
    if (pid <= 0) continue;
    std::ifstream in("/proc/" + std::string(e->d_name) + "/cmdline");
    std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (cmdline.find("shoal-train") != std::string::npos &&
        cmdline.find(url_ + "/v1/") != std::string::npos) {
      // Zombies still have a cmdline until reaped; skip them.
      std::ifstream stat("/proc/" + std::string(e->d_name) + "/stat");
      std::string s((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
      size_t paren = s.rfind(')');
      if (paren != std::string::npos && paren + 2 < s.size() && s[paren + 2] == 'Z') continue;
      out.push_back(pid);
    }
  }
  ::closedir(proc);
  return out;
}

std::string Cluster::ReadRepoFile(const std::string& relative) {
  std::ifstream in(std::string(SHOAL_SOURCE_DIR) + "/" + relative);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void Cluster::DumpLogs() const {
  for (const auto& entry : fs::directory_iterator(dir_)) {
    if (entry.path().extension() != ".log") continue;
    std::ifstream in(entry.path());
    std::vector<std::string> lines;
    for (std::string l; std::getline(in, l);) lines.push_back(l);
    std::cerr << "---- " << entry.path() << " (last 40 lines)\n";
    for (size_t i = lines.size() > 40 ? lines.size() - 40 : 0; i < lines.size(); ++i) {
      std::cerr << lines[i] << "\n";
    }
  }
}

namespace {

// Sentences drawn from a few words with a fixed generator: structure enough for the model to learn
// something, and the same bytes everywhere (std::mt19937_64 is specified bit for bit).
std::vector<int32_t> TinyText(int64_t tokens, uint64_t seed) {
  static const char* const kWords[] = {"the",   "pool",   "trains", "a",          "model",   "on",
                                       "every", "worker", "and",    "checkpoint", "resumes", "it"};
  std::mt19937_64 rng(seed);
  std::vector<int32_t> out;
  out.reserve(static_cast<size_t>(tokens));
  while (static_cast<int64_t>(out.size()) < tokens) {
    const char* word = kWords[rng() % std::size(kWords)];
    for (const char* ch = word; *ch != 0; ++ch) out.push_back(static_cast<unsigned char>(*ch));
    out.push_back(rng() % 8 == 0 ? '.' : ' ');
  }
  out.resize(static_cast<size_t>(tokens));
  return out;
}

}  // namespace

std::string WriteTinyGptData(const std::string& dir, int64_t train_tokens) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  EXPECT_TRUE(WriteTokenShard(dir + "/train_000000.bin", TinyText(train_tokens, 1)).ok());
  EXPECT_TRUE(WriteTokenShard(dir + "/val_000000.bin", TinyText(train_tokens / 10, 2)).ok());
  return dir;
}

std::string TinyGptJob(const std::string& data_dir, int epochs) {
  return "apiVersion: shoal/v1\n"
         "kind: TrainingJob\n"
         "metadata: {name: tiny-gpt}\n"
         "spec:\n"
         "  workers: {min: 2, max: 2}\n"
         "  resources: {backend: cpu, gpusPerWorker: 0}\n"
         "  model: {kind: gpt, layers: 1, vocabSize: 256, contextLength: 32, heads: 2, "
         "embedDim: 32}\n"
         "  data: {train: " +
         data_dir + "/train, test: " + data_dir +
         "/val, format: tokens}\n"
         "  optimizer: {kind: adamw, lr: 0.005}\n"
         "  training: {epochs: " +
         std::to_string(epochs) +
         ", batchSize: 8, seed: 3}\n"
         "  checkpoint: {everySeconds: 0}\n";
}

}  // namespace shoal::testing
