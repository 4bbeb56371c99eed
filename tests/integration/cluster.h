// Test harness: a real shoal-scheduler and shoal-workers on 127.0.0.1, each a child process with
// its output in a log file under a fresh temporary directory. Everything started is killed when
// the Cluster is destroyed (and, via PDEATHSIG, if the test process itself dies).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/http_client.h"
#include "tests/testing/test_util.h"  // Replace

namespace shoal::testing {

class Process {
 public:
  Process(std::vector<std::string> argv, std::string log_file);
  ~Process();  // SIGKILL if still running
  bool Start();
  pid_t pid() const { return pid_; }
  bool running();
  void Signal(int sig);
  // Waits up to `timeout` for exit; returns the exit code, or -1 on timeout.
  int Wait(std::chrono::milliseconds timeout);
  const std::string& log_file() const { return log_file_; }

 private:
  std::vector<std::string> argv_;
  std::string log_file_;
  pid_t pid_ = -1;
  bool reaped_ = false;
  int exit_code_ = -1;
};

class Cluster {
 public:
  Cluster();   // creates the temp dir
  ~Cluster();  // kills everything, removes the temp dir unless the test failed

  // Starts the scheduler on an ephemeral port with short timeouts; waits until /healthz answers.
  void StartScheduler(std::vector<std::string> extra_flags = {});
  void KillScheduler(int sig);
  // The running scheduler's process (nullptr before StartScheduler).
  Process* scheduler() { return scheduler_.get(); }
  // Starts a worker named `name` with one slot and one thread per rank. It joins with a
  // contributor token of the account named by `--account X` in `extra_flags`, else of "pool"
  // (created through the admin API on first use), unless `extra_flags` has its own --token.
  Process* StartWorker(const std::string& name, std::vector<std::string> extra_flags = {});
  Process* worker(const std::string& name) { return workers_.at(name).get(); }

  const std::string& url() const { return url_; }
  const std::string& dir() const { return dir_; }
  // Trust this CA for an https:// scheduler (clients and workers started after the call).
  void set_ca_file(std::string ca_file) { ca_file_ = std::move(ca_file); }
  // A client that sends `token` (default: the admin token the scheduler was bootstrapped with).
  HttpClient client() const { return client(admin_token_); }
  HttpClient client(const std::string& token) const;
  const std::string& admin_token() const { return admin_token_; }
  // A new token of `role` for `account`, created (with the account, if missing) by the admin.
  std::string CreateToken(const std::string& account, const std::string& role);

  // Submits YAML text; returns the job id (fails the test on error).
  int64_t Submit(const std::string& yaml);
  // The same as the account of `token` (a user token); 0 after failing the test.
  int64_t SubmitAs(const std::string& token, const std::string& yaml) const;
  // Runs `shoal --scheduler URL --token TOKEN ARGS...` and waits up to `timeout` for it.
  struct CliResult {
    int code;            // -1 when it did not end in time
    std::string output;  // stdout and stderr
  };
  CliResult RunCli(const std::string& token, const std::vector<std::string>& args,
                   std::chrono::seconds timeout = std::chrono::seconds(120)) const;
  nlohmann::json Job(int64_t id);
  nlohmann::json Workers();
  // Polls `pred` every 100 ms until true or `timeout`; returns whether it became true.
  static bool WaitUntil(const std::function<bool()>& pred, std::chrono::milliseconds timeout);
  bool WaitForState(int64_t id, const std::string& state, std::chrono::milliseconds timeout);
  // Pids of shoal-train processes whose command line mentions this cluster's scheduler URL.
  std::vector<pid_t> TrainerPids() const;

  // Resident memory of a process, from /proc/PID/status, in MiB (-1 if unknown).
  static double RssMiB(pid_t pid);
  // Whether Debian's dataset-fashion-mnist is installed (the demo job's data).
  static bool HaveFashionMnist();
  // Reads a file of the repository (e.g. "configs/jobs/fashion-mnist-mlp.yaml").
  static std::string ReadRepoFile(const std::string& relative);
  // Prints the tail of every log (call on failure).
  void DumpLogs() const;

 private:
  std::string dir_;
  std::string url_;
  std::string admin_token_;
  std::string ca_file_;
  std::map<std::string, std::string> contributor_tokens_;  // account -> token file
  std::unique_ptr<Process> scheduler_;
  std::map<std::string, std::unique_ptr<Process>> workers_;
};

// A tiny gpt job for the integration tests that need one fast (1 block of 2 heads, 32 channels,
// windows of 32 byte tokens; 2 ranks of batch 8; `epochs` epochs), with the token shards it reads.
// WriteTinyGptData writes DIR/train_000000.bin and DIR/val_000000.bin (llm.c's format, what
// `shoal tokenize` writes) holding `train_tokens` and train_tokens / 10 byte tokens of a
// deterministic text (the same bytes on every call); workers read them with --data-root DIR.
// Returns DIR. TinyGptJob is the spec over those shards; its checkpoint line is
// "checkpoint: {everySeconds: 0}" for callers to Replace.
std::string WriteTinyGptData(const std::string& dir, int64_t train_tokens);
std::string TinyGptJob(const std::string& data_dir, int epochs);

}  // namespace shoal::testing
