#include "worker/agent/agent.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "common/file_util.h"
#include "common/log.h"
#include "common/memory_estimate.h"
#include "common/sha256.h"
#include "common/utf8.h"
#include "common/wire/assignment.h"
#include "common/wire/cache_report.h"
#include "common/wire/gpu_samples.h"
#include "common/wire/trainer_report.h"
#include "common/wire/worker_event.h"
#include "worker/agent/data_roots.h"
#include "worker/agent/memory.h"
#include "worker/agent/process.h"

namespace shoal {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// shoal-train's exit code when an allocation failed (kTrainOutOfMemory, worker/train/trainer.h).
constexpr int kTrainOutOfMemoryExit = 4;
// Resident host memory of a CUDA context, its libraries and NCCL, on top of a rank's estimate.
constexpr int64_t kCudaHostAllowance = int64_t{1} << 30;

std::string HostName() {
  char buf[256] = {0};
  if (::gethostname(buf, sizeof(buf) - 1) != 0) return "worker";
  return buf;
}

// The local address the kernel would use to reach the scheduler (a UDP connect sends nothing).
std::string LocalAddressTowards(const std::string& url_text) {
  auto url = ParseUrl(url_text);
  if (!url.ok()) return "127.0.0.1";
  boost::asio::io_context ioc;
  boost::system::error_code ec;
  boost::asio::ip::udp::resolver resolver(ioc);
  auto endpoints = resolver.resolve(url->host, url->port, ec);
  if (ec || endpoints.empty()) return "127.0.0.1";
  boost::asio::ip::udp::socket socket(ioc);
  socket.connect(*endpoints.begin(), ec);
  if (ec) return "127.0.0.1";
  auto local = socket.local_endpoint(ec);
  return ec ? "127.0.0.1" : local.address().to_string();
}

std::string SelfDir() {
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  return ec ? "." : self.parent_path().string();
}

// The scheduler refused this worker's credentials or identity (401, 403, or 400 on its
// registration; 409 when the name is another live agent's): a configuration problem that
// retrying cannot fix.
bool IsRefusal(const Status& st) {
  return st.code() == StatusCode::kUnauthenticated || st.code() == StatusCode::kPermissionDenied ||
         st.code() == StatusCode::kInvalidArgument || st.code() == StatusCode::kAlreadyExists;
}

// 32 hex digits from the OS's random source.
std::string RandomInstanceId() {
  std::random_device rd;
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  while (out.size() < 32) {
    uint32_t bits = rd();
    for (int i = 0; i < 8; ++i, bits >>= 4) out += kHex[bits & 0xf];
  }
  return out;
}

// This installation's machine id (Worker::machine): kept in <work dir>/agent-id, made on first
// use. A restarted agent sends the same one, so the scheduler lets it take its name over at once.
// The agent holds an flock on the file while it runs (*lock_fd), so that two live agents never
// share a work directory, and so never an id: a second one is refused here.
Result<std::string> MachineId(const std::string& work_dir, int* lock_fd) {
  const std::string path = work_dir + "/agent-id";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Internal("cannot open " + path + ": " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) {
      return FailedPrecondition("another running agent uses it (" + path +
                                " is locked); give each agent its own --work-dir");
    }
    return Internal("cannot lock " + path + ": " + std::strerror(err));
  }
  char buf[64];
  const ssize_t n = ::pread(fd, buf, sizeof(buf), 0);
  std::string id(buf, n > 0 ? static_cast<size_t>(n) : 0);
  while (!id.empty() && (id.back() == '\n' || id.back() == '\r')) id.pop_back();
  if (id.size() != 32 || id.find_first_not_of("0123456789abcdef") != std::string::npos) {
    // New, or torn by a crash while it was written: a new id (the old name then waits for the
    // old instance's timeout once, as agents without an id do).
    id = RandomInstanceId();
    const std::string line = id + "\n";
    if (::ftruncate(fd, 0) != 0 ||
        ::pwrite(fd, line.data(), line.size(), 0) != static_cast<ssize_t>(line.size()) ||
        ::fsync(fd) != 0) {
      const int err = errno;
      ::close(fd);
      return Internal("cannot write " + path + ": " + std::strerror(err));
    }
  }
  *lock_fd = fd;
  return id;
}

}  // namespace

Agent::Agent(AgentOptions options)
    : options_(std::move(options)),
      instance_(RandomInstanceId()),
      client_(options_.scheduler_url, std::chrono::seconds(10), {options_.ca_file}),
      checkpoints_(client_, options_.work_dir, stop_),
      events_(client_, stop_,
              {[this] { return WorkerId(); },
               [this](const wire::WorkerEvent& exit) {
                 // Acknowledged: from now on the rank is not reported as held, nor restarted.
                 std::lock_guard<std::mutex> lock(mu_);
                 const RankKeyT key{exit.job, exit.attempt, exit.rank};
                 auto it = children_.find(key);
                 if (it != children_.end()) {
                   if (it->second->reader.joinable()) it->second->reader.detach();
                   children_.erase(it);
                 }
                 done_.insert(key);
               },
               [this] {
                 std::lock_guard<std::mutex> lock(mu_);
                 for (auto& [k, c] : children_) {
                   if (!c->exited) return false;
                 }
                 return true;
               }}) {
  if (!options_.token.empty())
    client_.SetDefaultHeader("Authorization", "Bearer " + options_.token);
  // Resume checkpoints come down whole: as large as the scheduler stores (16 GiB).
  client_.SetMaxResponseBytes(uint64_t{16} << 30);
}

std::string Agent::WorkerId() {
  std::lock_guard<std::mutex> lock(mu_);
  return worker_id_;
}

Agent::~Agent() {
  Stop();
  events_.Join();
  if (watchdog_.joinable()) watchdog_.join();
  if (machine_lock_fd_ >= 0) ::close(machine_lock_fd_);
}

void Agent::Stop() {
  stop_ = true;
  cv_.notify_all();
  events_.Wake();
}

Status Agent::Register() {
  json gpus = json::array();
  for (const auto& g : gpus_) {
    gpus.push_back(
        {{"name", g.name},
         {"memoryMiB", g.memory_mib},
         {"computeCapability", std::to_string(g.cc_major) + "." + std::to_string(g.cc_minor)}});
  }
  json body = {
      {"name", options_.name}, {"host", HostName()},           {"instance", instance_},
      {"machine", machine_},   {"slots", options_.slots},      {"cpus", cpus_},
      {"gpus", gpus},          {"memoryBytes", memory_total_}, {"memoryLentBytes", memory_lent_}};
  if (!options_.account.empty()) body["account"] = options_.account;
  if (!options_.test_cheat.empty()) body["testFaults"] = options_.test_cheat;
  auto registered = client_.DoJson("POST", "/v1/workers/register", &body);
  if (!registered.ok() && registered.status().code() == StatusCode::kFailedPrecondition) {
    // 409: a live agent with another instance holds this name (the scheduler says which).
    return AlreadyExists("register as \"" + options_.name + "\": " + registered.status().message() +
                         " (give this worker another --name)");
  }
  ASSIGN_OR_RETURN(json reply, std::move(registered));
  std::string id = reply.value("id", "");
  if (id.empty()) return Internal("register: the scheduler sent no worker id");
  {
    std::lock_guard<std::mutex> lock(mu_);
    worker_id_ = id;
  }
  LOG_INFO << "registered as " << worker_id_ << " with " << options_.scheduler_url << " ("
           << options_.slots << " slots, " << cpus_ << " cpus, " << gpus_.size() << " gpus, "
           << (memory_lent_ > 0 ? FormatBytes(memory_lent_) + " of RAM lent" : "RAM unknown")
           << ")";
  return Status::Ok();
}

Status Agent::Run() {
  RETURN_IF_ERROR(Prepare());
  events_.Start();
  watchdog_ = std::thread([this] { WatchMemory(); });
  Status fatal = Serve();
  Shutdown();
  return fatal;
}

Status Agent::Prepare() {
  RETURN_IF_ERROR(client_.config_status());  // a bad --scheduler URL or --ca-file
  if (options_.name.empty()) options_.name = HostName();
  cpus_ = std::max(1u, std::thread::hardware_concurrency());
  if (options_.detect_gpus) {
    // CUDA numbers devices fastest first by default, NVML by PCI bus: the same order for both,
    // so that the utilisation sampled for NVML's device i is that of the ranks' device i.
    setenv("CUDA_DEVICE_ORDER", "PCI_BUS_ID", /*overwrite=*/0);
    std::string why;
    gpus_ = DetectGpus(&why);
    if (gpus_.empty()) LOG_INFO << "no GPUs: " << why;
    for (const auto& g : gpus_) {
      LOG_INFO << "GPU " << g.index << ": " << g.name << ", " << g.memory_mib << " MiB, sm_"
               << g.cc_major << g.cc_minor;
    }
    if (!gpus_.empty()) {
      nvml_ = std::make_unique<NvmlSampler>();
      if (!nvml_->available()) {
        LOG_INFO << "GPU utilisation unknown: " << nvml_->why_unavailable();
        nvml_.reset();
      }
    }
  }
  if (options_.slots <= 0) options_.slots = gpus_.empty() ? 1 : static_cast<int>(gpus_.size());
  {
    std::string source;
    memory_total_ = DetectMemoryTotal(&source);
    ASSIGN_OR_RETURN(memory_lent_, ParseMemoryLimit(options_.memory_limit, memory_total_));
    LOG_INFO << "memory: " << FormatBytes(memory_total_) << " (" << source << "), "
             << FormatBytes(memory_lent_) << " lent to " << options_.slots
             << (options_.slots == 1 ? " slot" : " slots") << " (--memory-limit "
             << options_.memory_limit << ")";
  }
  if (options_.threads_per_rank <= 0) {
    options_.threads_per_rank = std::max(1, cpus_ / options_.slots);
  }
  if (options_.trainer_path.empty()) options_.trainer_path = SelfDir() + "/shoal-train";
  if (::access(options_.trainer_path.c_str(), X_OK) != 0) {
    return InvalidArgument("trainer " + options_.trainer_path + " is not executable");
  }
  if (options_.work_dir.empty()) options_.work_dir = "/tmp/shoal-worker-" + options_.name;
  // Absolute: trainers run with their rank directory as the working directory, and every path
  // handed to them (job file, checkpoint directory, resume file) must mean the same there.
  {
    std::error_code abs_ec;
    const fs::path abs = fs::absolute(options_.work_dir, abs_ec);
    if (!abs_ec) options_.work_dir = abs.lexically_normal().string();
  }
  std::error_code ec;
  fs::create_directories(options_.work_dir, ec);
  if (ec)
    return InvalidArgument("cannot create work dir " + options_.work_dir + ": " + ec.message());
  auto machine = MachineId(options_.work_dir, &machine_lock_fd_);
  if (!machine.ok()) {
    return InvalidArgument("work dir " + options_.work_dir + ": " + machine.status().message());
  }
  machine_ = *machine;
  // Registry data of attempts that a crash ended: plaintext that must not outlive them.
  if (int removed = RemoveLeftoverAttemptData(options_.work_dir); removed > 0) {
    LOG_INFO << "removed the data directories of " << removed << " earlier ranks";
  }
  if (options_.cache_dir.empty()) options_.cache_dir = options_.work_dir + "/cache";
  {
    std::error_code abs_ec;
    const fs::path abs = fs::absolute(options_.cache_dir, abs_ec);
    if (!abs_ec) options_.cache_dir = abs.lexically_normal().string();
  }
  auto cache = ChunkCache::Open(options_.cache_dir, options_.cache_max_bytes);
  if (!cache.ok()) return InvalidArgument("--cache-dir: " + cache.status().message());
  cache_ = std::move(cache).value();
  holdings_ = std::make_unique<CacheHoldings>(cache_.get(), options_.cache_dir + "/versions");
  // Cached chunks of private datasets are plaintext: only this worker's user may read them.
  if (::chmod(options_.cache_dir.c_str(), 0700) != 0) {
    return InvalidArgument("--cache-dir: cannot restrict " + options_.cache_dir + ": " +
                           std::strerror(errno));
  }
  {
    const ChunkCache::Stats cs = cache_->stats();
    LOG_INFO << "chunk cache " << options_.cache_dir << ": " << cs.chunks << " chunks, "
             << FormatBytes(cs.bytes) << " of " << FormatBytes(cs.max_bytes);
  }

  // Peers must reach this machine's ranks on the interface that leads to the scheduler.
  rank_address_ = LocalAddressTowards(options_.scheduler_url);
  LOG_INFO << "ranks will listen on " << rank_address_;
  return Status::Ok();
}

Status Agent::Serve() {
  auto backoff = std::chrono::milliseconds(200);
  bool registered = false;
  Status fatal = Status::Ok();
  int64_t wait_ms = 5000;
  while (!stop_) {
    if (!registered) {
      Status st = Register();
      if (IsRefusal(st)) {
        // A bad or revoked token, or a name of another account: retrying cannot help.
        fatal = st;
        Stop();
        break;
      }
      if (!st.ok()) {
        LOG_WARN << "register: " << st.message() << "; retrying in " << backoff.count() << " ms";
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait_for(lock, backoff, [&] { return stop_.load(); });
        backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
        continue;
      }
      registered = true;
      backoff = std::chrono::milliseconds(200);
    }
    json body = {{"running", RunningList()}};
    // Where the data is, for placement (docs/registry.md): bounded, most recently used first.
    if (holdings_ != nullptr) wire::AddCacheReport(holdings_->Report(), &body);
    // Its GPUs' utilisation and memory, for the dashboard (absent without NVML: unknown).
    if (nvml_ != nullptr) wire::AddGpuSamples(nvml_->Sample(), &body);
    auto reply = client_.DoJson(
        "POST", "/v1/workers/" + worker_id_ + "/heartbeat?wait=" + std::to_string(wait_ms), &body,
        std::chrono::milliseconds(wait_ms + 10000));
    if (!reply.ok()) {
      if (reply.status().code() == StatusCode::kNotFound) {
        LOG_WARN << "the scheduler does not know this worker; registering again";
        registered = false;
        continue;
      }
      if (IsRefusal(reply.status())) {
        fatal = reply.status();  // e.g. the token was revoked: stop acting for the pool
        LOG_ERROR << "the scheduler refused this worker: " << fatal.message() << "; leaving";
        Stop();
        break;
      }
      LOG_WARN << "heartbeat: " << reply.status().message();
      EscalateKills();
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, backoff, [&] { return stop_.load(); });
      backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
      continue;
    }
    backoff = std::chrono::milliseconds(200);
    wait_ms = reply->value("heartbeatWaitMs", int64_t{5000});
    if (reply->contains("assignments") && (*reply)["assignments"].is_array()) {
      Reconcile((*reply)["assignments"]);
    }
    EscalateKills();
  }

  return fatal;
}

void Agent::Shutdown() {
  // Shutting down: stop every rank, then let the sender deliver what it can.
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [key, child] : children_) {
      if (!child->exited) SignalGroup(child->pid, SIGTERM);
    }
  }
  auto deadline = std::chrono::steady_clock::now() + options_.kill_grace;
  for (;;) {
    bool all_exited = true;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto& [key, child] : children_) {
        if (!child->exited) {
          all_exited = false;
          if (std::chrono::steady_clock::now() > deadline) SignalGroup(child->pid, SIGKILL);
        }
      }
    }
    if (all_exited) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  cv_.notify_all();
  events_.Wake();
  events_.Join();
  if (watchdog_.joinable()) watchdog_.join();
  // The sender is gone, so children_ is ours alone now.
  for (auto& [key, child] : children_) {
    if (child->reader.joinable()) child->reader.join();
  }
}

json Agent::RunningList() {
  std::lock_guard<std::mutex> lock(mu_);
  json out = json::array();
  for (const auto& [key, child] : children_) {
    out.push_back({{"job", key.job}, {"attempt", key.attempt}, {"rank", key.rank}});
  }
  return out;
}

void Agent::Reconcile(const json& assignments) {
  std::set<RankKeyT> desired;
  std::map<RankKeyT, wire::Assignment> by_key;
  for (const auto& item : assignments) {
    auto a = wire::AssignmentFromJson(item);
    if (!a.ok()) {
      LOG_WARN << "ignoring a malformed assignment (" << a.status().message()
               << "): " << item.dump().substr(0, 200);
      continue;
    }
    RankKeyT key{a->job, a->attempt, a->rank};
    desired.insert(key);
    by_key[key] = std::move(a).value();
  }
  std::vector<RankKeyT> to_start;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [key, child] : children_) {
      if (!desired.count(key) && !child->exited && !child->killing) {
        LOG_INFO << "stopping job " << key.job << " attempt " << key.attempt << " rank " << key.rank
                 << " (no longer assigned)";
        SignalGroup(child->pid, SIGTERM);
        child->killing = true;
        child->kill_sent = std::chrono::steady_clock::now();
      }
    }
    for (const auto& key : desired) {
      if (!children_.count(key) && !done_.count(key)) to_start.push_back(key);
    }
  }
  for (const auto& key : to_start) {
    // A job whose spec or data this worker refuses is bad input (exit 2: the scheduler does not
    // retry it); a rank that cannot be started for another reason exits 127 (retried).
    Status allowed = CheckJobAllowed(by_key[key]);
    if (allowed.ok()) {
      auto spec = ParseJobSpec(by_key[key].spec, "job.yaml");
      if (spec.ok() && NamesRegistryData(*spec)) {
        // Fetching may take minutes: on the rank's own thread, so heartbeats go on.
        std::lock_guard<std::mutex> lock(mu_);
        auto child = std::make_unique<Child>();
        child->reader = std::thread([this, key, a = by_key[key]] { PrepareAndRun(key, a); });
        children_[key] = std::move(child);
        continue;
      }
    }
    Status st = allowed.ok() ? StartRank(key, by_key[key]) : allowed;
    if (!st.ok()) {
      LOG_ERROR << "cannot start job " << key.job << " rank " << key.rank << ": " << st.message();
      wire::WorkerEvent ev =
          wire::ExitEvent(key.job, key.attempt, key.rank, allowed.ok() ? 127 : 2);
      ev.message = st.message();
      events_.Enqueue(std::move(ev));
      std::lock_guard<std::mutex> lock(mu_);
      done_.insert(key);
    }
  }
}

void Agent::EscalateKills() {
  std::lock_guard<std::mutex> lock(mu_);
  auto now = std::chrono::steady_clock::now();
  for (auto& [key, child] : children_) {
    // (A rank still fetching its data has no process yet: its fetch stops by itself.)
    if (child->killing && !child->exited && child->pid > 0 &&
        now - child->kill_sent > options_.kill_grace) {
      LOG_WARN << "rank " << key.rank << " of job " << key.job << " ignored SIGTERM; SIGKILL";
      SignalGroup(child->pid, SIGKILL);
    }
  }
}

void Agent::WatchMemory() {
  // A watchdog on resident memory rather than RLIMIT_AS: address-space limits count what
  // OpenBLAS, Gloo and the CUDA driver merely reserve (GiBs of virtual memory per thread pool or
  // context), so they kill healthy ranks; and a delegated cgroup is rarely writable by a
  // contributor's agent. Resident memory is what the lent RAM is about.
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    for (auto& [key, child] : children_) {
      if (child->exited || child->memory_limit <= 0 || !child->oom.empty()) continue;
      const int64_t rss = ProcessRssBytes(child->pid);
      if (rss <= child->memory_limit) continue;
      child->oom = "the rank used " + FormatBytes(rss) + " of RAM, over its limit of " +
                   FormatBytes(child->memory_limit) +
                   " (its memory estimate with headroom, at most this worker's " +
                   FormatBytes(memory_lent_ / std::max(1, options_.slots)) +
                   " per slot; the data set is not in the estimate)";
      LOG_WARN << "job " << key.job << " rank " << key.rank << " out of memory: " << child->oom
               << "; SIGKILL";
      SignalGroup(child->pid, SIGKILL);
    }
    cv_.wait_for(lock, options_.memory_poll, [&] { return stop_.load(); });
  }
}

int Agent::ReserveGpu(Child* child) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& g : gpus_) {
    bool taken = false;
    for (const auto& [k, c] : children_) {
      taken = taken || (c.get() != child && !c->exited && c->gpu == g.index);
    }
    if (!taken) return child->gpu = g.index;
  }
  return child->gpu = -1;
}

std::string Agent::RankDir(const RankKeyT& key) const {
  return options_.work_dir + "/job-" + std::to_string(key.job) + "/attempt-" +
         std::to_string(key.attempt) + "/rank-" + std::to_string(key.rank);
}

Status Agent::CheckJobAllowed(const wire::Assignment& a) const {
  // The spec comes from the job's owner, a stranger to this machine: it may read data only inside
  // this contributor's data roots.
  auto spec = ParseJobSpec(a.spec, "job.yaml");
  if (!spec.ok())
    return InvalidArgument("the job's spec does not parse: " + spec.status().message());
  return CheckDataPaths(*spec, options_.data_roots, a.pins);
}

Status Agent::StartRank(const RankKeyT& key, const wire::Assignment& a) {
  Child* child = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto owned = std::make_unique<Child>();
    child = owned.get();
    children_[key] = std::move(owned);
  }
  auto proc = LaunchRank(key, a, a.spec, child);
  std::lock_guard<std::mutex> lock(mu_);
  if (!proc.ok()) {
    children_.erase(key);
    return proc.status();
  }
  child->reader = std::thread(
      [this, key, pid = proc->pid, fd = proc->output_fd] { RunRank(key, pid, fd, nullptr); });
  return Status::Ok();
}

void Agent::PrepareAndRun(RankKeyT key, wire::Assignment a) {
  Child* child = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    child = children_.at(key).get();  // stays until its exit is acknowledged
  }
  auto stopped = [this, child] {
    if (stop_) return true;
    std::lock_guard<std::mutex> lock(mu_);
    return child->killing;  // no longer assigned
  };
  FetchOptions fetch;
  fetch.partial_dir = options_.cache_dir + "/partial";
  fetch.cancelled = stopped;
  AttemptData data(cache_.get(),
                   std::make_unique<HttpChunkSource>(client_, a.read_capability, WorkerId()),
                   std::move(fetch), RankDir(key) + "/data");
  std::vector<std::string> notes;
  auto spec_text = [&]() -> Result<std::string> {
    ASSIGN_OR_RETURN(JobSpec spec, ParseJobSpec(a.spec, "job.yaml"));
    ASSIGN_OR_RETURN(JobSpec local, data.Prepare(spec, a.pins, &notes));
    // The user's spec with only the data paths changed (JobSpecToJson round-trips exactly).
    return JobSpecToJson(local).dump(2) + "\n";
  }();
  int64_t fetched_bytes = 0;
  for (const FetchedVersion& v : data.versions()) {
    fetched_bytes += v.bytes_fetched;
    if (holdings_ != nullptr) {
      holdings_->Record(v.pin.digest, v.manifest, v.chunks_cached, v.chunks,
                        /*persist=*/!v.pin.is_private);
    }
  }
  if (!notes.empty()) {
    for (auto& n : notes) {
      LOG_INFO << "job " << key.job << " rank " << key.rank << ": " << n;
      n = "[shoal-worker] " + n;
    }
    wire::WorkerEvent ev = wire::LogEvent(key.job, key.attempt, key.rank, std::move(notes));
    // What the scheduler shows per rank (shoal status's FETCHED), once the data is all here.
    if (spec_text.ok() && !data.versions().empty()) ev.fetched_bytes = fetched_bytes;
    events_.Enqueue(std::move(ev));
  }
  Status st = spec_text.status();
  const bool data_failed = !st.ok();
  if (st.ok() && stopped()) st = Aborted("stopped before it started");
  Result<SpawnedProcess> proc =
      st.ok() ? LaunchRank(key, a, *spec_text, child) : Result<SpawnedProcess>(st);
  if (!proc.ok()) {
    data.Release();
    st = proc.status();
    // Data the job names wrongly (a path inside the version that holds nothing, a manifest that
    // is not the pinned one) is the job's fault (exit 2, not retried); the rest may mend
    // elsewhere (127), as for other ranks that cannot start.
    const bool bad_input = data_failed && (st.code() == StatusCode::kInvalidArgument ||
                                           st.code() == StatusCode::kFailedPrecondition);
    LOG_ERROR << "cannot start job " << key.job << " rank " << key.rank << ": " << st.message();
    wire::WorkerEvent ev = wire::ExitEvent(key.job, key.attempt, key.rank, bad_input ? 2 : 127);
    ev.message = data_failed ? "shoal-worker: fetching the job's registry data: " + st.message()
                             : st.message();
    {
      std::lock_guard<std::mutex> lock(mu_);
      child->exited = true;
    }
    events_.Enqueue(std::move(ev));  // from here on, `child` may be gone
    return;
  }
  RunRank(key, proc->pid, proc->output_fd, &data);
}

Result<SpawnedProcess> Agent::LaunchRank(const RankKeyT& key, const wire::Assignment& a,
                                         const std::string& spec_text, Child* child) {
  const std::string dir = RankDir(key);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Internal("cannot create " + dir + ": " + ec.message());
  std::string spec_path = dir + "/job.yaml";
  {
    std::ofstream out(spec_path, std::ios::trunc);
    out << spec_text;
    if (!out) return Internal("cannot write " + spec_path);
  }
  ASSIGN_OR_RETURN(std::string resume, checkpoints_.FetchResume(key.job, key.attempt, key.rank));
  SpawnOptions spawn;
  spawn.argv = {options_.trainer_path,
                spec_path,
                "--rank",
                std::to_string(key.rank),
                "--world-size",
                std::to_string(a.world_size),
                "--rendezvous",
                options_.scheduler_url + "/v1/jobs/" + std::to_string(key.job) + "/attempts/" +
                    std::to_string(key.attempt) + "/kv",
                "--threads",
                std::to_string(options_.threads_per_rank),
                "--address",
                rank_address_,
                "--checkpoint-dir",
                dir + "/checkpoints",
                "--progress-json"};  // the "@shoal" reports this agent forwards
  if (a.checkpoint_every_seconds > 0) {  // the scheduler's Young/Daly interval
    spawn.argv.push_back("--checkpoint-every-seconds");
    spawn.argv.push_back(std::to_string(a.checkpoint_every_seconds));
  }
  if (!resume.empty()) {
    spawn.argv.push_back("--resume");
    spawn.argv.push_back(resume);
  }
  if (a.audit) {
    // The rank's secret audit key: readable by this user only, and never in argv.
    const std::string plan_path = dir + "/audit-plan.json";
    RETURN_IF_ERROR(WriteFileAtomic(plan_path, wire::ToJson(*a.audit).dump(), 0600));
    spawn.argv.push_back("--audit-plan");
    spawn.argv.push_back(plan_path);
    if (!options_.test_cheat.empty()) {
      spawn.argv.push_back("--cheat");
      spawn.argv.push_back(options_.test_cheat);
    }
  }
  spawn.env["OPENBLAS_NUM_THREADS"] = std::to_string(options_.threads_per_rank);
  // One GPU per rank: the lowest one no live rank holds. The trainer then sees only that GPU (as
  // device 0); a rank without one sees none, so `backend: auto` trains it on the CPU rather than
  // on a GPU another rank owns.
  const int gpu = ReserveGpu(child);
  spawn.env["CUDA_VISIBLE_DEVICES"] = gpu >= 0 ? std::to_string(gpu) : "";
  spawn.env["SHOAL_ATTEMPT"] = std::to_string(key.attempt);
  // The trainer's rendezvous runs as this worker (in the environment, not argv: `ps` shows argv).
  spawn.env["SHOAL_TOKEN"] = options_.token;
  spawn.env["SHOAL_CA_FILE"] = options_.ca_file;
  spawn.cwd = dir;
  // The rank's memory limit: its host estimate with headroom, capped at this slot's share of the
  // lent RAM (the scheduler placed it here because the estimate fits that share).
  int64_t memory_limit = 0;
  if (memory_lent_ > 0) {
    auto spec = ParseJobSpec(a.spec, "job.yaml");
    if (spec.ok()) {
      int64_t estimate = EstimateRankMemory(*spec).host_bytes;
      // A rank given a GPU also holds the CUDA driver's and NCCL's host memory, which the
      // estimate's fixed part does not cover (the model's state lives on the GPU instead).
      if (gpu >= 0) estimate += kCudaHostAllowance;
      memory_limit = RankMemoryLimit(estimate, memory_lent_ / std::max(1, options_.slots));
    }
  }
  auto spawned = Spawn(spawn);
  if (!spawned.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    child->gpu = -1;
    return spawned.status();
  }
  const SpawnedProcess proc = *spawned;
  LOG_INFO << "started job " << key.job << " attempt " << key.attempt << " rank " << key.rank << "/"
           << a.world_size << " as pid " << proc.pid
           << (gpu >= 0 ? " on GPU " + std::to_string(gpu) : std::string())
           << (memory_limit > 0 ? ", memory limit " + FormatBytes(memory_limit) : std::string());
  std::lock_guard<std::mutex> lock(mu_);
  child->pid = proc.pid;
  child->memory_limit = memory_limit;
  if (child->killing || stop_) {
    // Unassigned (or the agent stopping) while its data was fetched: stopped like any rank.
    SignalGroup(proc.pid, SIGTERM);
    child->killing = true;
    child->kill_sent = std::chrono::steady_clock::now();
  }
  return proc;
}

void Agent::RunRank(RankKeyT key, pid_t pid, int fd, AttemptData* data) {
  // One job's surprise must not end the daemon (an exception escaping a thread is
  // std::terminate): the rank is killed and reported as failed instead.
  try {
    ReadOutput(key, pid, fd, data);
  } catch (const std::exception& e) {
    LOG_ERROR << "job " << key.job << " rank " << key.rank << ": reading its output: " << e.what();
    ::kill(pid, SIGKILL);
    const ExitInfo info = WaitForExit(pid);
    if (data != nullptr) data->Release();
    {
      std::lock_guard<std::mutex> lock(mu_);
      children_[key]->exited = true;
    }
    wire::WorkerEvent ev =
        wire::ExitEvent(key.job, key.attempt, key.rank, info.exit_code == 0 ? 1 : info.exit_code);
    ev.signal = info.signal;
    ev.message =
        SanitizeUtf8(std::string("shoal-worker: reading the rank's output failed: ") + e.what());
    events_.Enqueue(std::move(ev));
  }
}

void Agent::ReadOutput(RankKeyT key, pid_t pid, int fd, AttemptData* data) {
  std::string pending, last_line;
  json result = json::object();
  std::vector<std::string> batch;
  auto flush = [&] {
    if (batch.empty()) return;
    events_.Enqueue(wire::LogEvent(key.job, key.attempt, key.rank, std::move(batch)));
    batch.clear();
  };
  auto handle_line = [&](std::string line) {
    // A stranger's job prints what it likes (a Latin-1 CSV quoted in an error): repaired here, at
    // the edge, so that nothing after it holds text that JSON cannot carry.
    if (!IsValidUtf8(line)) line = SanitizeUtf8(line);
    if (auto report = wire::ParseReportLine(line)) {
      if (report->type == wire::TrainerReportType::kResult) {
        result = std::move(report->fields);
        result.erase("type");
      } else if (report->type == wire::TrainerReportType::kCheckpoint) {
        // Uploaded before anything later of this rank (its exit included) is reported, so
        // the next attempt always finds it.
        const auto t0 = std::chrono::steady_clock::now();
        auto ckpt = wire::CheckpointReportFromJson(report->fields);
        Status st = ckpt.ok()
                        ? checkpoints_.Upload(key.job, key.attempt, key.rank, WorkerId(), *ckpt)
                        : ckpt.status();
        const double sec =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::string note = st.ok()
                               ? "checkpoint at step " + std::to_string(ckpt->step) +
                                     " stored by the scheduler (" + std::to_string(ckpt->bytes) +
                                     " bytes, upload " + std::to_string(sec).substr(0, 5) + " s)"
                               : "checkpoint upload failed: " + st.message();
        if (!st.ok()) LOG_WARN << "job " << key.job << ": " << note;
        batch.push_back("[shoal-worker] " + note);
      } else if (report->type == wire::TrainerReportType::kAudit) {
        flush();
        events_.Enqueue(
            wire::AuditEvent(key.job, key.attempt, key.rank, std::move(report->fields)));
      } else {
        flush();  // keep logs and progress in order
        events_.Enqueue(
            wire::ProgressEvent(key.job, key.attempt, key.rank, std::move(report->fields)));
      }
      return;
    }
    if (!line.empty()) last_line = line;
    batch.push_back(std::move(line));
    if (batch.size() >= 100) flush();
  };
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    pending.append(buf, static_cast<size_t>(n));
    size_t pos;
    while ((pos = pending.find('\n')) != std::string::npos) {
      handle_line(pending.substr(0, pos));
      pending.erase(0, pos + 1);
    }
    if (pending.size() > 64 * 1024) {  // a runaway line without newline
      handle_line(std::move(pending));
      pending.clear();
    }
    flush();
  }
  if (!pending.empty()) handle_line(std::move(pending));
  flush();
  ::close(fd);
  ExitInfo info = WaitForExit(pid);
  // The attempt's plaintext goes with it (docs/registry.md, "Privacy").
  if (data != nullptr) data->Release();
  LOG_INFO << "job " << key.job << " attempt " << key.attempt << " rank " << key.rank
           << " exited with code " << info.exit_code
           << (info.signal ? " (signal " + std::to_string(info.signal) + ")" : std::string());
  wire::WorkerEvent ev = wire::ExitEvent(key.job, key.attempt, key.rank, info.exit_code);
  ev.signal = info.signal;
  if (info.exit_code != 0) ev.message = last_line;
  ev.result = result;
  {
    std::lock_guard<std::mutex> lock(mu_);
    children_[key]->exited = true;
    // Killed by the watchdog, or the trainer ran out of memory itself (std::bad_alloc): the
    // job's fault, which the scheduler does not retry on the next contributor.
    if (!children_[key]->oom.empty()) {
      ev.cause = "OutOfMemory";
      ev.message = children_[key]->oom;
    } else if (info.exit_code == kTrainOutOfMemoryExit) {
      ev.cause = "OutOfMemory";
    }
  }
  events_.Enqueue(std::move(ev));
}

}  // namespace shoal
