// Audits of cuda ranks (docs/audits.md "GPU ranks") on one GPU. An audited cuda step takes the
// host path: the local gradient is committed to and all-reduced on the host, so (with no NCCL
// communicator) several ranks can share the GPU here. Checked: the host path updates the
// parameters to the same bits as the overlapped NCCL-free path; LocalGradient (an auditor's
// recomputation) is the gradient a step commits to, bit for bit; four cuda ranks audit each
// other exactly and stop a cheating one.
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <sstream>
#include <vector>

#include <gtest/gtest.h>

#include "common/spec/job_spec.h"
#include "kernels/collectives/collective.h"
#include "tests/gpu/gpu_test_util.h"
#include "tests/testing/audit_ranks.h"
#include "worker/train/engines/cuda/cuda_step_engine.h"
#include "worker/train/trainer.h"

namespace shoal::testing {
namespace {

// Records what a step committed to and what LocalGradient recomputes for it; reduces through
// the (one-rank) collective, as AuditSession does without a transparent plan.
class RecordingAudit final : public StepAudit {
 public:
  explicit RecordingAudit(Collective& coll) : coll_(coll) {}
  void Prepare(const StepInput& in) {
    input_ = in;
    input_.audit = nullptr;
  }
  int64_t SideBandFloats() const override { return 3; }
  Status Commit(int64_t, float* local, int64_t n, float* side) override {
    committed.assign(local, local + n);
    side[0] = 1.f;  // must come back summed (one rank: unchanged)
    return Status::Ok();
  }
  Status Reduce(float* data, int64_t count) override {
    reduced_count = count;
    return coll_.AllReduceSum(data, count);
  }
  Status Verify(int64_t, const float* reduced, const float* side, StepEngine& engine) override {
    reduced_copy.assign(reduced, reduced + committed.size());
    side_seen = side[0];
    return engine.LocalGradient(input_, &recomputed);
  }

  std::vector<float> committed, recomputed, reduced_copy;
  int64_t reduced_count = 0;
  float side_seen = 0;

 private:
  Collective& coll_;
  StepInput input_;
};

bool SameBits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

JobSpec ParseOrDie(const std::string& yaml) {
  auto spec = ParseJobSpec(yaml);
  EXPECT_TRUE(spec.ok()) << spec.status().ToString() << "\n" << yaml;
  return spec.ok() ? *spec : JobSpec{};
}

JobSpec MlpSpec(const std::string& dir, int ranks, const std::string& precision) {
  std::ostringstream y;
  y << "apiVersion: shoal/v1\nkind: TrainingJob\nmetadata: {name: gpu-audit}\nspec:\n"
    << "  workers: {min: " << ranks << ", max: " << ranks << "}\n"
    << "  resources: {backend: cuda, gpusPerWorker: 1}\n"
    << "  model: {kind: mlp, layers: [8, 64, 3], activation: tanh}\n"
    << "  data: {train: " << dir << "/train.csv, test: " << dir << "/test.csv}\n"
    << "  optimizer: {kind: sgd, lr: 0.1, momentum: 0.9}\n"
    << "  training: {epochs: 6, batchSize: 16, seed: 5, precision: " << precision << "}\n";
  return ParseOrDie(y.str());
}

class GpuAuditTest : public GpuTest {
 protected:
  void SetUp() override {
    GpuTest::SetUp();
    if (IsSkipped()) return;
    dir_ =
        std::filesystem::temp_directory_path() / ("shoal-gpu-audit-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    WriteBlobsCsv(dir_.string());
  }
  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
    GpuTest::TearDown();
  }

  // Steps one engine through the host path (a RecordingAudit) and one through the plain path,
  // with the same inputs: each audited step's recomputation must be its commitment's bits, and
  // the parameters must end bit-identical.
  void CompareHostPath(const JobSpec& spec, int dim, int label_width, int classes, int batch,
                       int micro_batches) {
    auto single = MakeSingleRankCollective();
    EngineConfig config{&spec};
    auto plain = MakeCudaEngine(config, *single);
    auto audited = MakeCudaEngine(config, *single);
    ASSERT_TRUE(plain.ok()) << plain.status().ToString();
    ASSERT_TRUE(audited.ok()) << audited.status().ToString();
    EXPECT_NE((*audited)->ComputeConfig().find("cuda/"), std::string::npos);
    EXPECT_LE((*audited)->ComputeConfig().size(), 64u) << (*audited)->ComputeConfig();
    RecordingAudit recorder(*single);
    std::mt19937 rng = TestRng();
    for (int s = 1; s <= 4; ++s) {
      const int rows = batch * micro_batches;
      std::vector<float> x;
      if (label_width > 1) {  // token ids
        const std::vector<int32_t> ids = RandomLabels(rows * dim, classes, rng);
        x.assign(ids.begin(), ids.end());
      } else {
        x = RandomVector(rows * dim, rng);
      }
      const std::vector<int32_t> y = RandomLabels(rows * label_width, classes, rng);
      StepInput in;
      in.x = x.data();
      in.y = y.data();
      in.batch = batch;
      in.dim = dim;
      in.label_width = label_width;
      in.micro_batches = micro_batches;
      in.grad_scale = 1.0f / static_cast<float>(rows);
      in.step = s;
      in.lr = 0.01f;
      in.clip_norm = 1.0f;
      auto a = (*plain)->Step(in);
      ASSERT_TRUE(a.ok()) << a.status().ToString();
      recorder.Prepare(in);
      in.audit = &recorder;
      auto b = (*audited)->Step(in);
      ASSERT_TRUE(b.ok()) << b.status().ToString();
      SCOPED_TRACE("step " + std::to_string(s));
      ASSERT_EQ(static_cast<int64_t>(recorder.committed.size()), (*audited)->num_params());
      EXPECT_TRUE(SameBits(recorder.recomputed, recorder.committed));
      EXPECT_TRUE(SameBits(recorder.reduced_copy, recorder.committed));  // one rank
      EXPECT_EQ(recorder.reduced_count, (*audited)->num_params() + 2 + 3);
      EXPECT_EQ(recorder.side_seen, 1.f);
      // (The loss sums with atomics, so its last bits may differ run to run.)
      EXPECT_NEAR(a->loss_sum, b->loss_sum, 1e-5 * std::abs(a->loss_sum));
      EXPECT_EQ(a->correct, b->correct);
      EXPECT_EQ(a->grad_norm, b->grad_norm);
    }
    auto pa = (*plain)->Params();
    auto pb = (*audited)->Params();
    ASSERT_TRUE(pa.ok() && pb.ok());
    EXPECT_TRUE(SameBits(*pa, *pb)) << "the host path updated to other parameters";
  }

  std::filesystem::path dir_;
};

TEST_F(GpuAuditTest, TheHostPathStepsAsThePlainPathAndLocalGradientIsItsCommitment) {
  for (const char* precision : {"fp32", "tf32", "bf16"}) {
    SCOPED_TRACE(precision);
    const JobSpec spec = MlpSpec(dir_.string(), 1, precision);
    CompareHostPath(spec, 8, 1, 3, 37, 1);
    CompareHostPath(spec, 8, 1, 3, 37, 3);  // gradAccumulation: the same order of sums
  }
  const JobSpec gpt = ParseOrDie(
      "apiVersion: shoal/v1\nkind: TrainingJob\nmetadata: {name: gpu-gpt}\nspec:\n"
      "  workers: {min: 1, max: 1}\n  resources: {backend: cuda, gpusPerWorker: 1}\n"
      "  model: {kind: gpt, layers: 2, vocabSize: 64, contextLength: 16, heads: 2, embedDim: 32}\n"
      "  data: {train: unused/train, format: tokens}\n"
      "  optimizer: {kind: adamw, lr: 0.001, weightDecay: 0.01}\n"
      "  training: {epochs: 1, batchSize: 8, seed: 3}\n");
  CompareHostPath(gpt, 16, 16, 64, 5, 2);
}

const std::vector<std::string> kFourAccounts = {"a", "b", "c", "d"};

std::function<void(int, TrainerOptions*)> OnCuda() {
  return [](int, TrainerOptions* opts) { opts->make_cuda_engine = MakeCudaEngine; };
}

// Four cuda ranks on one GPU: one configuration, so audits compare hashes. Honest ranks are
// audited exactly and end with the same parameters; a rank sending zeros is caught by an audit
// that a third rank arbitrates, and every rank stops with the dispute (exit 5).
TEST_F(GpuAuditTest, FourCudaRanksAuditEachOtherExactlyAndStopACheater) {
  const JobSpec spec = MlpSpec(dir_.string(), 4, "fp32");
  auto honest = RunAuditedRanks(std::vector<JobSpec>(4, spec),
                                AuditPlans(kFourAccounts, {0.3, 0.3, 0.3, 0.3}), {}, OnCuda());
  int audits = 0;
  for (int r = 0; r < 4; ++r) {
    ASSERT_TRUE(honest[r].status.ok()) << honest[r].status.ToString() << "\n" << honest[r].out;
    EXPECT_NE(honest[r].out.find("audits on: cuda/fp32/"), std::string::npos) << honest[r].out;
    EXPECT_EQ(honest[r].result.param_checksum, honest[0].result.param_checksum);
    for (const auto& rec : honest[r].records) {
      if (rec.role != wire::AuditRole::kAuditor) continue;
      ++audits;
      EXPECT_EQ(rec.verdict, "exact") << "step " << rec.step;
    }
  }
  EXPECT_GT(audits, 10);
  EXPECT_GT(honest[0].result.test_accuracy, 0.5);  // three blobs: chance is 1/3

  for (const std::string mode : {"zero", "split"}) {
    SCOPED_TRACE(mode);
    auto runs = RunAuditedRanks(std::vector<JobSpec>(4, spec),
                                AuditPlans(kFourAccounts, {0.3, 0.3, 0.3, 0.3}), {"", "", mode, ""},
                                OnCuda());
    for (int r = 0; r < 4; ++r) {
      EXPECT_EQ(ExitCodeFor(runs[r].status), kTrainAuditDispute) << runs[r].status.ToString();
    }
    if (mode == "split") {
      // Commits honestly, sends zeros: the sum check stops the step (docs/audits.md).
      EXPECT_NE(runs[0].status.message().find("not the sum"), std::string::npos)
          << runs[0].status.message();
      continue;
    }
    bool arbiter_confirmed = false;
    for (int r = 0; r < 4; ++r) {
      for (const auto& rec : runs[r].records) {
        arbiter_confirmed |=
            rec.role == wire::AuditRole::kArbiter && rec.auditee == 2 && rec.verdict == "mismatch";
      }
    }
    EXPECT_TRUE(arbiter_confirmed);
  }
}

}  // namespace
}  // namespace shoal::testing
