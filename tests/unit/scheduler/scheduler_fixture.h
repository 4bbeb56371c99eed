// A Scheduler over a real SQLite store in a fresh temp dir, with a fake clock (now_), for the
// scheduler's unit tests. Reopen() restarts it on the same store, as a daemon restart would.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "common/wire/worker_event.h"
#include "scheduler/scheduler.h"

namespace shoal::testing {

class SchedulerFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/shoal-sched-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    Reopen();
  }
  void TearDown() override {
    sched_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  // Opens the store and a Scheduler on it with worker_timeout_ms_, policy_ and queues_.
  void Reopen() {
    sched_.reset();
    store_.reset();
    auto store = Store::Open(dir_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    SchedulerOptions opts;
    opts.worker_timeout_ms = worker_timeout_ms_;
    opts.silent_after_end_ms = silent_after_end_ms_;
    opts.policy = policy_;
    opts.queues = queues_;
    opts.quotas = quotas_;
    opts.new_worker_ranks_per_job = new_worker_ranks_per_job_;
    opts.gpu_speeds = gpu_speeds_;
    opts.young_daly = young_daly_;
    opts.worker_mtbf_prior_ms = worker_mtbf_prior_ms_;
    opts.audits = audits_;
    auto s = Scheduler::Open(store_.get(), opts, [this] { return now_; });
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    sched_ = std::move(s).value();
  }
  // Parses `events` (a JSON array) as the events route does, then applies them: the parse's
  // error (nothing applied) or ApplyEvents's status.
  Status ApplyEvents(const std::string& worker_id, const nlohmann::json& events) {
    auto parsed = wire::WorkerEventsFromJson(events);
    if (!parsed.ok()) return parsed.status();
    return sched_->ApplyEvents(worker_id, *parsed);
  }
  // A worker's "exit" event for rank `rank` of the job's current attempt.
  static nlohmann::json Exit(const Job& j, int rank, int code) {
    return {{"type", "exit"},
            {"job", j.id},
            {"attempt", j.current_attempt()->number},
            {"rank", rank},
            {"exitCode", code},
            {"result", {{"paramChecksum", "abc"}, {"testAccuracy", 0.9}}}};
  }

  std::string dir_;
  int64_t now_ = 1'000'000;
  int64_t worker_timeout_ms_ = 3000;
  int64_t silent_after_end_ms_ = kSilentAfterEndMs;
  PolicyOptions policy_;
  std::vector<std::string> queues_ = {"default"};
  QuotaOptions quotas_;
  int new_worker_ranks_per_job_ = 0;  // tests of the bound set it
  std::map<std::string, double> gpu_speeds_;  // heterogeneity-aware placement's seeds
  bool young_daly_ = false;                   // Young/Daly checkpoint intervals
  int64_t worker_mtbf_prior_ms_ = int64_t{7} * 86400 * 1000;
  bool audits_ = false;  // audit plans for new attempts (docs/audits.md)
  std::unique_ptr<Store> store_;
  std::unique_ptr<Scheduler> sched_;
};

}  // namespace shoal::testing
