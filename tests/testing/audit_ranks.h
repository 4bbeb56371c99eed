// Audited ranks for tests (docs/audits.md): real Gloo ranks as threads of the test process, each
// training through Train() with its own plan and test fault, and what each reported. Shared by
// the CPU audit tests (tests/unit/train) and the GPU ones (tests/gpu), where a rank's spec or
// options may choose the cuda backend.
#pragma once

#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gloo/rendezvous/hash_store.h>
#include <gtest/gtest.h>

#include "common/audit/blake3.h"
#include "common/wire/audit_report.h"
#include "common/wire/trainer_report.h"
#include "kernels/collectives/gloo_collective.h"
#include "worker/train/trainer.h"

namespace shoal::testing {

struct AuditedRankRun {
  Status status;
  TrainResult result;
  std::vector<wire::AuditRecord> records;
  std::vector<wire::Attestation> attestations;  // in the order written
  std::string out;
  int64_t all_reduces = 0;  // AllReduceSum calls Train made (float or double)
  int64_t all_gathers = 0;  // AllGather calls
  // A fingerprint of what this rank put into each of those calls, in order, by kind.
  std::vector<std::string> float_inputs, double_inputs, gather_inputs;
};

// Counts the all-reduces made through it and fingerprints their inputs; passes every call on to
// `inner`.
class CountingCollective final : public Collective {
 public:
  explicit CountingCollective(Collective& inner) : inner_(inner) {}
  int rank() const override { return inner_.rank(); }
  int size() const override { return inner_.size(); }
  Status AllReduceSum(float* data, int64_t n) override {
    ++all_reduces;
    float_inputs.push_back(audit::Blake3Hex(data, n * sizeof(float)));
    return inner_.AllReduceSum(data, n);
  }
  Status AllReduceSum(double* data, int64_t n) override {
    ++all_reduces;
    double_inputs.push_back(audit::Blake3Hex(data, n * sizeof(double)));
    return inner_.AllReduceSum(data, n);
  }
  Status Barrier() override { return inner_.Barrier(); }
  Status Broadcast(void* data, int64_t bytes, int root) override {
    return inner_.Broadcast(data, bytes, root);
  }
  Status AllGather(const void* mine, void* all, int64_t bytes) override {
    ++all_gathers;
    gather_inputs.push_back(audit::Blake3Hex(mine, static_cast<size_t>(bytes)));
    return inner_.AllGather(mine, all, bytes);
  }
  int64_t all_reduces = 0, all_gathers = 0;
  std::vector<std::string> float_inputs, double_inputs, gather_inputs;

 private:
  Collective& inner_;
};

// Every rank's plan: rank q is audited at `rate[q]` per step by ranks of other accounts.
inline std::vector<wire::AuditPlan> AuditPlans(const std::vector<std::string>& accounts,
                                               const std::vector<double>& rate) {
  const int n = static_cast<int>(accounts.size());
  std::vector<std::vector<int>> auditors(n);
  for (int q = 0; q < n; ++q) {
    for (int a = 0; a < n; ++a) {
      if (a != q && accounts[a] != accounts[q]) auditors[q].push_back(a);
    }
  }
  std::vector<wire::AuditPlan> plans(n);
  for (int r = 0; r < n; ++r) {
    plans[r].nonce = "0123abcd";
    plans[r].key = "00" + std::to_string(r) + "0";
    plans[r].accounts = accounts;
    plans[r].rates = rate;
    plans[r].auditors = auditors;
  }
  return plans;
}

// Trains specs[r] as rank r of specs.size() (a plan with an empty key: unaudited), with test fault
// cheats[r] ("" or none given: honest) and `tweak` applied to each rank's options last.
inline std::vector<AuditedRankRun> RunAuditedRanks(
    const std::vector<JobSpec>& specs, const std::vector<wire::AuditPlan>& plans,
    const std::vector<std::string>& cheats,
    const std::function<void(int rank, TrainerOptions*)>& tweak = {}) {
  const int ranks = static_cast<int>(plans.size());
  std::vector<AuditedRankRun> runs(ranks);
  auto store = std::make_shared<gloo::rendezvous::HashStore>();
  std::vector<std::thread> threads;
  for (int r = 0; r < ranks; ++r) {
    threads.emplace_back([&, r] {
      GlooOptions gloo;
      gloo.timeout = std::chrono::milliseconds(30000);
      auto coll = MakeGlooCollective(r, ranks, *store, gloo);
      ASSERT_TRUE(coll.ok()) << coll.status().ToString();
      float ready = 1;
      ASSERT_TRUE((*coll)->AllReduceSum(&ready, 1).ok());
      std::ostringstream out;
      TrainerOptions opts;
      opts.progress_json = true;
      if (!plans[r].key.empty()) opts.audit_plan = plans[r];
      opts.cheat = cheats.empty() ? "" : cheats[r];
      if (tweak) tweak(r, &opts);
      CountingCollective counting(**coll);
      auto res = Train(specs[r], counting, opts, out);
      runs[r].all_reduces = counting.all_reduces;
      runs[r].float_inputs = std::move(counting.float_inputs);
      runs[r].double_inputs = std::move(counting.double_inputs);
      runs[r].all_gathers = counting.all_gathers;
      runs[r].gather_inputs = std::move(counting.gather_inputs);
      runs[r].status = res.ok() ? Status::Ok() : res.status();
      if (res.ok()) runs[r].result = *res;
      runs[r].out = out.str();
      std::istringstream lines(runs[r].out);
      for (std::string line; std::getline(lines, line);) {
        auto report = wire::ParseReportLine(line);
        if (report && wire::IsAttestation(report->fields)) {
          auto a = wire::AttestationFromJson(report->fields);
          ASSERT_TRUE(a.ok()) << a.status().ToString();
          runs[r].attestations.push_back(*a);
          continue;
        }
        if (!report || report->fields.value("type", "") != "audit") continue;
        auto rec = wire::AuditRecordFromJson(report->fields);
        ASSERT_TRUE(rec.ok()) << rec.status().ToString();
        runs[r].records.push_back(*rec);
      }
    });
  }
  for (auto& t : threads) t.join();
  return runs;
}

}  // namespace shoal::testing
