// The cuda backend end to end on one GPU: CudaEngine against the CPU engine step by step (fp32
// within rounding, tf32/bf16 within their precision), Train() with backend cuda on a small
// dataset, divergence, and NcclCommunicator's bootstrap, group all-reduce, abort and its timeout
// when a peer never arrives (one GPU cannot host two NCCL ranks, so two-rank NCCL training runs
// only on a multi-GPU machine).
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include <gtest/gtest.h>

#include "common/spec/job_spec.h"
#include "tests/gpu/gpu_test_util.h"
#include "worker/train/engines/cpu/cpu_step_engine.h"
#include "worker/train/engines/cuda/cuda_step_engine.h"
#include "worker/train/trainer.h"
#ifdef SHOAL_HAVE_NCCL
#include "kernels/collectives/nccl_communicator.h"
#endif

namespace shoal::testing {
namespace {

JobSpec SpecFor(const std::string& data_prefix, const std::string& extra_training,
                const std::string& optimizer = "{kind: adamw, lr: 0.001}",
                const std::string& layers = "[20, 64, 32, 4]") {
  std::ostringstream y;
  y << "apiVersion: shoal/v1\nkind: TrainingJob\nmetadata: {name: gpu-test}\nspec:\n"
    << "  workers: {min: 1, max: 1}\n  resources: {backend: cuda, gpusPerWorker: 1}\n"
    << "  model: {layers: " << layers << ", activation: relu}\n"
    << "  data: {train: " << data_prefix << "/train.csv, test: " << data_prefix
    << "/test.csv, format: csv}\n"
    << "  optimizer: " << optimizer << "\n"
    << "  training: {epochs: 3, batchSize: 32, seed: 7" << extra_training << "}\n";
  auto spec = ParseJobSpec(y.str());
  EXPECT_TRUE(spec.ok()) << spec.status().ToString() << "\n" << y.str();
  return spec.ok() ? *spec : JobSpec{};
}

// Four well separated Gaussian clusters in 20 dimensions, label first (the CSV reader's layout).
void WriteClusters(const std::string& path, int rows, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> noise(0.0f, 0.5f);
  std::ofstream out(path);
  for (int i = 0; i < rows; ++i) {
    const int label = i % 4;
    out << label;
    for (int d = 0; d < 20; ++d) out << "," << (d % 4 == label ? 2.0f : 0.0f) + noise(rng);
    out << "\n";
  }
}

class CudaEngineTest : public GpuTest {
 protected:
  void SetUp() override {
    GpuTest::SetUp();
    if (IsSkipped()) return;
    dir_ = std::filesystem::temp_directory_path() /
           ("shoal-cuda-engine-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    WriteClusters(dir_ / "train.csv", 2048, 1);
    WriteClusters(dir_ / "test.csv", 512, 2);
  }
  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
    GpuTest::TearDown();
  }

  // Runs `steps` identical steps through the CPU and the CUDA engine; returns the relative error
  // of the final parameters and the largest relative loss difference of a step.
  // micro_batches and clip_norm exercise gradAccumulation and clipGradNorm (with a schedule-like
  // changing learning rate).
  void CompareEngines(const JobSpec& cpu_spec, const JobSpec& gpu_spec, int steps,
                      double* param_err, double* loss_err, int micro_batches = 1,
                      float clip_norm = 0) {
    auto single = MakeSingleRankCollective();
    EngineConfig cpu_config{&cpu_spec};
    EngineConfig gpu_config{&gpu_spec};
    auto cpu = MakeCpuEngine(cpu_config, *single);
    auto gpu = MakeCudaEngine(gpu_config, *single);
    ASSERT_TRUE(cpu.ok()) << cpu.status().ToString();
    ASSERT_TRUE(gpu.ok()) << gpu.status().ToString();
    std::mt19937 rng = TestRng();
    const int batch = 37;  // not a multiple of any tile
    *loss_err = 0;
    for (int s = 1; s <= steps; ++s) {
      const auto x = RandomVector(batch * micro_batches * 20, rng);
      const auto y = RandomLabels(batch * micro_batches, 4, rng);
      StepInput in;
      in.x = x.data();
      in.y = y.data();
      in.batch = batch;
      in.dim = 20;
      in.micro_batches = micro_batches;
      in.grad_scale = 1.0f / static_cast<float>(batch * micro_batches);
      in.step = s;
      in.lr = static_cast<float>(cpu_spec.optimizer.lr) * static_cast<float>(s) / steps;
      in.clip_norm = clip_norm;
      auto a = (*cpu)->Step(in);
      auto b = (*gpu)->Step(in);
      ASSERT_TRUE(a.ok()) << a.status().ToString();
      ASSERT_TRUE(b.ok()) << b.status().ToString();
      EXPECT_NEAR(a->grad_norm, b->grad_norm, 1e-4 * a->grad_norm + 1e-7);
      *loss_err = std::max(*loss_err, std::abs(a->loss_sum - b->loss_sum) / a->loss_sum);
    }
    auto pa = (*cpu)->Params();
    auto pb = (*gpu)->Params();
    ASSERT_TRUE(pa.ok() && pb.ok());
    *param_err = RelError(*pb, *pa);
  }

  std::filesystem::path dir_;
};

TEST_F(CudaEngineTest, Fp32StepsMatchTheCpuEngine) {
  for (const char* opt :
       {"{kind: adamw, lr: 0.001, weightDecay: 0.01}", "{kind: sgd, lr: 0.05, momentum: 0.9}"}) {
    SCOPED_TRACE(opt);
    const JobSpec spec = SpecFor(dir_.string(), "", opt);
    JobSpec cpu_spec = spec;
    cpu_spec.resources.backend = Backend::kCpu;
    double param_err = 1, loss_err = 1;
    CompareEngines(cpu_spec, spec, 20, &param_err, &loss_err);
    EXPECT_LT(param_err, 1e-4);
    EXPECT_LT(loss_err, 1e-4);
  }
}

TEST_F(CudaEngineTest, AccumulationAndClippingMatchTheCpuEngine) {
  const JobSpec spec = SpecFor(dir_.string(), "", "{kind: adamw, lr: 0.01}");
  JobSpec cpu_spec = spec;
  cpu_spec.resources.backend = Backend::kCpu;
  double param_err = 1, loss_err = 1;
  // A clip norm well below the gradients' so that every step is clipped.
  CompareEngines(cpu_spec, spec, 10, &param_err, &loss_err, /*micro_batches=*/3,
                 /*clip_norm=*/0.01f);
  EXPECT_LT(param_err, 1e-4);
  EXPECT_LT(loss_err, 1e-4);
}

TEST_F(CudaEngineTest, ReducedPrecisionStaysCloseToFp32) {
  for (const auto& [precision, tol] : {std::pair{"tf32", 2e-2}, std::pair{"bf16", 5e-2}}) {
    SCOPED_TRACE(precision);
    const JobSpec gpu_spec = SpecFor(dir_.string(), std::string(", precision: ") + precision);
    JobSpec cpu_spec = gpu_spec;
    cpu_spec.resources.backend = Backend::kCpu;
    cpu_spec.training.precision = Precision::kFp32;
    double param_err = 1, loss_err = 1;
    CompareEngines(cpu_spec, gpu_spec, 10, &param_err, &loss_err);
    EXPECT_LT(param_err, tol);
    EXPECT_LT(loss_err, tol);
  }
}

// A gpt row is contextLength token ids with as many labels: the engine must stage all of them for
// Step and Evaluate. The spec refuses gpt off the cpu backend (the model is CPU-only for users
// until this runs on a GPU), so the test parses a cpu spec and switches the copy to cuda itself.
TEST_F(CudaEngineTest, GptStepsAndEvaluateMatchTheCpuEngine) {
  constexpr int kV = 64, kT = 16;
  const std::string yaml =
      "apiVersion: shoal/v1\nkind: TrainingJob\nmetadata: {name: gpu-gpt}\nspec:\n"
      "  workers: {min: 1, max: 1}\n  resources: {backend: cpu, gpusPerWorker: 0}\n"
      "  model: {kind: gpt, layers: 2, vocabSize: 64, contextLength: 16, heads: 2, embedDim: 32}\n"
      "  data: {train: unused/train, format: tokens}\n"
      "  optimizer: {kind: adamw, lr: 0.001, weightDecay: 0.01}\n"
      "  training: {epochs: 1, batchSize: 8, seed: 3}\n";
  auto parsed = ParseJobSpec(yaml);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  const JobSpec cpu_spec = *parsed;
  JobSpec gpu_spec = cpu_spec;
  gpu_spec.resources.backend = Backend::kCuda;
  auto single = MakeSingleRankCollective();
  EngineConfig cpu_config{&cpu_spec};
  EngineConfig gpu_config{&gpu_spec};
  auto cpu = MakeCpuEngine(cpu_config, *single);
  auto gpu = MakeCudaEngine(gpu_config, *single);
  ASSERT_TRUE(cpu.ok()) << cpu.status().ToString();
  ASSERT_TRUE(gpu.ok()) << gpu.status().ToString();
  ASSERT_EQ((*gpu)->num_params(), (*cpu)->num_params());
  std::mt19937 rng = TestRng();
  auto ids = [&](int n) {
    const std::vector<int32_t> v = RandomLabels(n, kV, rng);
    return std::vector<float>(v.begin(), v.end());
  };
  // The second batch is larger, so the staging buffers grow (by rows * contextLength labels).
  int step = 0;
  for (const int batch : {5, 5, 9, 9, 9}) {
    ++step;
    // Odd steps accumulate two micro-batches.
    const int micro = step % 2 + 1;
    const std::vector<float> x = ids(micro * batch * kT);
    const std::vector<int32_t> y = RandomLabels(micro * batch * kT, kV, rng);
    StepInput in;
    in.x = x.data();
    in.y = y.data();
    in.batch = batch;
    in.dim = kT;
    in.label_width = kT;
    in.micro_batches = micro;
    in.grad_scale = 1.0f / static_cast<float>(micro * batch);
    in.step = step;
    in.lr = 0.001f;
    in.clip_norm = 1.0f;
    auto a = (*cpu)->Step(in);
    auto b = (*gpu)->Step(in);
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    EXPECT_LT(std::abs(a->loss_sum - b->loss_sum) / a->loss_sum, 1e-4) << "step " << step;
    // fp32 rounding may flip a near tie of the argmax at most rarely.
    EXPECT_NEAR(a->correct, b->correct, 1) << "step " << step;
  }
  auto pa = (*cpu)->Params();
  auto pb = (*gpu)->Params();
  ASSERT_TRUE(pa.ok() && pb.ok());
  EXPECT_LT(RelError(*pb, *pa), 1e-4);

  const int n = 7;
  const std::vector<float> x = ids(n * kT);
  const std::vector<int32_t> y = RandomLabels(n * kT, kV, rng);
  double cpu_loss = 0, gpu_loss = 0;
  int64_t cpu_correct = 0, gpu_correct = 0;
  ASSERT_TRUE((*cpu)->Evaluate(x.data(), y.data(), n, &cpu_loss, &cpu_correct).ok());
  ASSERT_TRUE((*gpu)->Evaluate(x.data(), y.data(), n, &gpu_loss, &gpu_correct).ok());
  EXPECT_LT(std::abs(gpu_loss - cpu_loss) / cpu_loss, 1e-4);
  EXPECT_NEAR(gpu_correct, cpu_correct, 1);
}

TEST_F(CudaEngineTest, TrainWithTheCudaBackendLearnsLikeTheCpuBackend) {
  const JobSpec spec = SpecFor(dir_.string(), "");
  JobSpec cpu_spec = spec;
  cpu_spec.resources.backend = Backend::kCpu;
  auto single = MakeSingleRankCollective();
  TrainerOptions options;
  options.make_cuda_engine = MakeCudaEngine;
  options.cuda_usable = [](std::string* why) { return CudaDeviceCount(why) > 0; };
  std::ostringstream gpu_log, cpu_log;
  auto gpu = Train(spec, *single, options, gpu_log);
  auto cpu = Train(cpu_spec, *single, options, cpu_log);
  ASSERT_TRUE(gpu.ok()) << gpu.status().ToString() << "\n" << gpu_log.str();
  ASSERT_TRUE(cpu.ok()) << cpu.status().ToString();
  EXPECT_NE(gpu_log.str().find("on cuda ("), std::string::npos) << gpu_log.str();
  EXPECT_GE(gpu->test_accuracy, 0.95);
  EXPECT_NEAR(gpu->test_accuracy, cpu->test_accuracy, 0.01);
  EXPECT_NEAR(gpu->train_loss, cpu->train_loss, 1e-3 * std::max(1.0, cpu->train_loss));
  EXPECT_EQ(gpu->steps, cpu->steps);

  // auto picks cuda here.
  JobSpec auto_spec = spec;
  auto_spec.resources.backend = Backend::kAuto;
  std::ostringstream auto_log;
  auto a = Train(auto_spec, *single, options, auto_log);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_NE(auto_log.str().find("backend auto: cuda"), std::string::npos) << auto_log.str();
}

TEST_F(CudaEngineTest, CheckpointResumeOnTheGpuIsBitIdentical) {
  // Deterministic GEMMs (fp32 SIMT, no atomics) make a resumed GPU run repeat an uninterrupted
  // one exactly; the checkpoint itself is the same safetensors file as on CPU.
  JobSpec spec = SpecFor(dir_.string(), "");
  spec.checkpoint.every_seconds = 0;
  spec.checkpoint.every_steps = 100;
  auto single = MakeSingleRankCollective();
  TrainerOptions options;
  options.make_cuda_engine = MakeCudaEngine;
  options.cuda_usable = [](std::string* why) { return CudaDeviceCount(why) > 0; };
  std::ostringstream log;
  auto whole = Train(spec, *single, options, log);
  ASSERT_TRUE(whole.ok()) << whole.status().ToString();
  TrainerOptions cut = options;
  cut.max_steps = 100;
  cut.checkpoint_dir = (dir_ / "ckpt").string();
  ASSERT_TRUE(Train(spec, *single, cut, log).ok());
  TrainerOptions resume = options;
  resume.resume_from = (dir_ / "ckpt" / "ckpt-000000000100.safetensors").string();
  auto resumed = Train(spec, *single, resume, log);
  ASSERT_TRUE(resumed.ok()) << resumed.status().ToString() << "\n" << log.str();
  EXPECT_EQ(resumed->resumed_step, 100);
  EXPECT_EQ(resumed->param_checksum, whole->param_checksum);
  // A CPU checkpoint resumes on the GPU (and learns on): the format is backend-neutral.
  JobSpec cpu_spec = spec;
  cpu_spec.resources.backend = Backend::kCpu;
  TrainerOptions cpu_cut = cut;
  cpu_cut.checkpoint_dir = (dir_ / "cpu").string();
  ASSERT_TRUE(Train(cpu_spec, *single, cpu_cut, log).ok());
  resume.resume_from = (dir_ / "cpu" / "ckpt-000000000100.safetensors").string();
  auto cross = Train(spec, *single, resume, log);
  ASSERT_TRUE(cross.ok()) << cross.status().ToString();
  EXPECT_NEAR(cross->test_accuracy, whole->test_accuracy, 0.02);
}

TEST_F(CudaEngineTest, DivergenceIsInvalidArgument) {
  // The CPU backend diverges on this at step 6 (checked with shoal-train on the same data).
  const JobSpec spec =
      SpecFor(dir_.string(), "", "{kind: sgd, lr: 10, momentum: 0.99}", "[20, 512, 512, 4]");
  auto single = MakeSingleRankCollective();
  TrainerOptions options;
  options.make_cuda_engine = MakeCudaEngine;
  options.cuda_usable = [](std::string* why) { return CudaDeviceCount(why) > 0; };
  std::ostringstream log;
  auto r = Train(spec, *single, options, log);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().ToString();
  EXPECT_EQ(ExitCodeFor(r.status()), kTrainBadInput);
}

#ifdef SHOAL_HAVE_NCCL
// A bootstrap of `size` ranks in which only this rank exists: Broadcast from rank 0 leaves the
// bytes as they are. For the one-rank communicator that is exact; for two it models a peer that
// never shows up.
class LoneBootstrap final : public Collective {
 public:
  explicit LoneBootstrap(int size) : size_(size) {}
  int rank() const override { return 0; }
  int size() const override { return size_; }
  Status AllReduceSum(float*, int64_t) override { return Status::Ok(); }
  Status AllReduceSum(double*, int64_t) override { return Status::Ok(); }
  Status Barrier() override { return Status::Ok(); }
  Status Broadcast(void*, int64_t, int) override { return Status::Ok(); }
  Status AllGather(const void*, void*, int64_t) override { return Status::Ok(); }

 private:
  int size_;
};

TEST_F(CudaEngineTest, NcclOneRankGroupAllReduceIsTheIdentityAndAbortIsFinal) {
  LoneBootstrap boot(1);
  auto comm = NcclCommunicator::Create(boot, NcclOptions{});
  ASSERT_TRUE(comm.ok()) << comm.status().ToString();
  std::mt19937 rng = TestRng();
  const auto a = RandomVector(1000, rng), b = RandomVector(3, rng);
  DeviceBuffer<float> da(a), db(b);
  const NcclCommunicator::Range ranges[2] = {{da.get(), 1000}, {db.get(), 3}};
  ASSERT_TRUE((*comm)->AllReduceSumAsync(ranges, stream_).ok());
  ASSERT_TRUE((*comm)->Synchronize(stream_).ok());
  EXPECT_EQ(da.Download(), a);
  EXPECT_EQ(db.Download(), b);
  (*comm)->Abort();
  EXPECT_EQ((*comm)->AllReduceSumAsync(da.get(), 1000, stream_).code(),
            StatusCode::kFailedPrecondition);
}

TEST_F(CudaEngineTest, NcclInitTimesOutWhenAPeerNeverArrives) {
  LoneBootstrap boot(2);
  NcclOptions options;
  options.timeout = std::chrono::seconds(3);
  const auto start = std::chrono::steady_clock::now();
  auto comm = NcclCommunicator::Create(boot, options);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_FALSE(comm.ok());
  EXPECT_TRUE(comm.status().code() == StatusCode::kDeadlineExceeded ||
              comm.status().code() == StatusCode::kAborted)
      << comm.status().ToString();
  EXPECT_LT(seconds, 30.0) << "init must not hang past its timeout";
}
#endif

}  // namespace
}  // namespace shoal::testing
