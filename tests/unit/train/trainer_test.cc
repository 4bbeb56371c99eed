// Data-parallel training with real Gloo ranks (threads in this process, in-memory rendezvous).
#include "worker/train/trainer.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>
#include <thread>

#include <gloo/rendezvous/hash_store.h>
#include <gtest/gtest.h>

#include "common/safetensors.h"
#include "common/wire/trainer_report.h"
#include "kernels/collectives/gloo_collective.h"
#include "kernels/cpu/reduce.h"
#include "tests/testing/test_util.h"
#include "worker/train/checkpoint.h"
#include "worker/train/engines/cpu/cpu_step_engine.h"
#include "worker/train/lr_schedule.h"

namespace shoal {
namespace {

class TrainerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/shoal-trainer-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    testing::WriteBlobsCsv(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  JobSpec Spec(int ranks, const std::string& optimizer,
               const std::string& training = "{epochs: 3, batchSize: 16, seed: 5}") {
    std::ostringstream y;
    y << "apiVersion: shoal/v1\nkind: TrainingJob\nmetadata: {name: blobs}\nspec:\n"
      << "  workers: {min: " << ranks << ", max: " << ranks << "}\n"
      << "  resources: {backend: cpu, gpusPerWorker: 0}\n"
      << "  model: {kind: mlp, layers: [8, 16, 3], activation: tanh}\n"
      << "  data: {train: " << dir_ << "/train.csv, test: " << dir_ << "/test.csv}\n"
      << "  optimizer: " << optimizer << "\n"
      << "  training: " << training << "\n";
    auto spec = ParseJobSpec(y.str(), "test");
    EXPECT_TRUE(spec.ok()) << spec.status().ToString();
    return *spec;
  }

  // Runs `ranks` trainers as threads joined by Gloo over loopback TCP.
  std::vector<TrainResult> RunRanks(const JobSpec& spec, int ranks, int64_t bucket_bytes = 0,
                                    const std::function<void(TrainerOptions&)>& tweak = {}) {
    std::vector<TrainResult> results(ranks);
    auto store = std::make_shared<gloo::rendezvous::HashStore>();
    std::vector<std::thread> threads;
    for (int r = 0; r < ranks; ++r) {
      threads.emplace_back([&, r] {
        auto coll = MakeGlooCollective(r, ranks, *store, GlooOptions{});
        ASSERT_TRUE(coll.ok()) << coll.status().ToString();
        // Every pair is connected before any rank may leave (a rank stopped before its first
        // step would otherwise close its connections while a peer is still completing them).
        float ready = 1;
        ASSERT_TRUE((*coll)->AllReduceSum(&ready, 1).ok());
        std::ostringstream out;
        TrainerOptions opts;
        opts.bucket_bytes = bucket_bytes;
        if (tweak) tweak(opts);
        auto res = Train(spec, **coll, opts, out);
        ASSERT_TRUE(res.ok()) << res.status().ToString();
        results[r] = *res;
      });
    }
    for (auto& t : threads) t.join();
    return results;
  }

  std::string dir_;
};

TEST_F(TrainerTest, RanksEndWithBitIdenticalParametersAndLearn) {
  for (const std::string opt : {"{kind: adamw, lr: 0.01}", "{kind: sgd, lr: 0.1, momentum: 0.9}"}) {
    auto results = RunRanks(Spec(2, opt), 2);
    ASSERT_EQ(results.size(), 2u);
    EXPECT_EQ(results[0].param_checksum, results[1].param_checksum) << opt;
    EXPECT_EQ(results[0].test_accuracy, results[1].test_accuracy);
    EXPECT_GT(results[0].test_accuracy, 0.85) << opt;
    EXPECT_EQ(results[0].steps, 3 * (384 / 32));
  }
}

TEST_F(TrainerTest, SameSeedSameWorldSizeIsDeterministic) {
  JobSpec spec = Spec(2, "{kind: adamw, lr: 0.01}");
  auto a = RunRanks(spec, 2);
  auto b = RunRanks(spec, 2);
  EXPECT_EQ(a[0].param_checksum, b[0].param_checksum);
  EXPECT_EQ(a[0].train_loss, b[0].train_loss);
  spec.training.seed = 6;
  auto c = RunRanks(spec, 2);
  EXPECT_NE(a[0].param_checksum, c[0].param_checksum);
}

TEST_F(TrainerTest, BucketedOverlappedAllReduceGivesTheSameParameters) {
  JobSpec spec = Spec(2, "{kind: adamw, lr: 0.01}");
  spec.model.layers = {8, 64, 32, 3};
  auto whole = RunRanks(spec, 2, /*bucket_bytes=*/0);
  // 64 floats per bucket: the first layer's gradient arrives in several row chunks.
  auto bucketed = RunRanks(spec, 2, /*bucket_bytes=*/256);
  EXPECT_EQ(bucketed[0].param_checksum, bucketed[1].param_checksum);
  // The same training up to float rounding: the chunked first-layer GEMM may round differently
  // from the whole one (it does with OpenBLAS's Haswell/Zen kernels, not with SkylakeX's).
  EXPECT_NEAR(bucketed[0].train_loss, whole[0].train_loss, 1e-4 * whole[0].train_loss);
  EXPECT_NEAR(bucketed[0].test_accuracy, whole[0].test_accuracy, 0.02);
  auto three = RunRanks(Spec(3, "{kind: adamw, lr: 0.01}"), 3, 256);
  EXPECT_EQ(three[0].param_checksum, three[1].param_checksum);
  EXPECT_EQ(three[0].param_checksum, three[2].param_checksum);
}

// A global batch trains the same however it is split among ranks and micro-batches, up to float
// rounding (the gradient sums are grouped differently), with or without the bucketed all-reduce.
TEST_F(TrainerTest, GradAccumulationSplitsTheGlobalBatch) {
  const std::string opt = "{kind: adamw, lr: 0.01}";
  auto whole = RunRanks(Spec(1, opt, "{epochs: 3, batchSize: 32, seed: 5}"), 1);
  const JobSpec split_spec =
      Spec(2, opt, "{epochs: 3, batchSize: 8, seed: 5, gradAccumulation: 2}");
  for (int64_t bucket_bytes : {0, 256}) {
    SCOPED_TRACE(bucket_bytes);
    auto split = RunRanks(split_spec, 2, bucket_bytes);
    EXPECT_EQ(split[0].param_checksum, split[1].param_checksum);
    EXPECT_EQ(split[0].steps, whole[0].steps);
    EXPECT_NEAR(split[0].test_loss, whole[0].test_loss, 1e-4 * whole[0].test_loss);
    EXPECT_NEAR(split[0].train_loss, whole[0].train_loss, 1e-4 * whole[0].train_loss);
  }
  // And differently from a global batch of half the size.
  auto half = RunRanks(Spec(2, opt, "{epochs: 3, batchSize: 8, seed: 5}"), 2);
  EXPECT_EQ(half[0].steps, 2 * whole[0].steps);
}

// clipGradNorm: a plain SGD update moves the parameters by lr x the gradient, so the step's size
// is lr x norm without clipping and lr x clipGradNorm with it.
TEST_F(TrainerTest, ClipGradNormBoundsTheUpdate) {
  const JobSpec spec = Spec(1, "{kind: sgd, lr: 0.1, momentum: 0}");
  auto single = MakeSingleRankCollective();
  EngineConfig config{&spec};
  auto free_engine = MakeCpuEngine(config, *single);
  auto clipped_engine = MakeCpuEngine(config, *single);
  ASSERT_TRUE(free_engine.ok() && clipped_engine.ok());
  const std::vector<float> p0 = *(*free_engine)->Params();
  std::mt19937 rng(3);
  std::normal_distribution<float> normal;
  std::vector<float> x(16 * 8);
  for (float& v : x) v = 3 * normal(rng);
  std::vector<int32_t> y(16);
  for (size_t i = 0; i < y.size(); ++i) y[i] = static_cast<int32_t>(i % 3);
  StepInput in;
  in.x = x.data();
  in.y = y.data();
  in.batch = 16;
  in.dim = 8;
  in.grad_scale = 1.0f / 16;
  in.lr = 0.1f;
  auto moved = [&](StepEngine& engine) {
    const std::vector<float> p = *engine.Params();
    double sq = 0;
    for (size_t i = 0; i < p.size(); ++i) sq += (p[i] - p0[i]) * double{p[i] - p0[i]};
    return std::sqrt(sq);
  };
  auto a = (*free_engine)->Step(in);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_GT(a->grad_norm, 0.01);
  EXPECT_NEAR(moved(**free_engine), 0.1 * a->grad_norm, 1e-4 * a->grad_norm);
  in.clip_norm = 0.01f;
  auto b = (*clipped_engine)->Step(in);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_DOUBLE_EQ(b->grad_norm, a->grad_norm);  // reported before clipping
  EXPECT_NEAR(moved(**clipped_engine), 0.1 * 0.01, 1e-6);
}

// evalEverySteps: a progress report with the test loss every N steps, whose learning rate is the
// schedule's; evalBatches bounds the samples evaluated.
TEST_F(TrainerTest, EvaluatesEveryNStepsAndFollowsTheSchedule) {
  auto run = [&](const std::string& training, std::vector<nlohmann::json>* reports) {
    const JobSpec spec =
        Spec(1, "{kind: adamw, lr: 0.01, schedule: {kind: cosine, warmupSteps: 4, minLr: 0.001}}",
             training);
    auto coll = MakeSingleRankCollective();
    std::ostringstream out;
    TrainerOptions opts;
    opts.report_every_sec = 1e9;  // only the evaluations' and the epochs' reports
    opts.progress_json = true;
    auto res = Train(spec, *coll, opts, out);
    EXPECT_TRUE(res.ok()) << res.status().ToString();
    std::istringstream lines(out.str());
    for (std::string line; std::getline(lines, line);) {
      auto report = wire::ParseReportLine(line);
      if (report && report->type == wire::TrainerReportType::kProgress) {
        reports->push_back(report->fields);
      }
    }
    return spec;
  };
  std::vector<nlohmann::json> reports;
  const JobSpec spec =
      run("{epochs: 2, batchSize: 16, seed: 5, evalEverySteps: 5, evalBatches: 2}", &reports);
  // 384 samples / 16 = 24 steps per epoch, 48 in all: evaluations after 5, 10, ..., 45.
  std::vector<int64_t> eval_steps;
  for (const auto& r : reports) {
    if (r.value("epochDone", false)) continue;
    ASSERT_TRUE(r.contains("testLoss")) << r.dump();
    eval_steps.push_back(r["step"].get<int64_t>());
    EXPECT_DOUBLE_EQ(r["lr"].get<double>(), LearningRate(spec.optimizer, r["step"], 48));
    EXPECT_GT(r["gradNorm"].get<double>(), 0);
    EXPECT_FALSE(r.contains("tokensPerSec"));  // an mlp
  }
  EXPECT_EQ(eval_steps, (std::vector<int64_t>{5, 10, 15, 20, 25, 30, 35, 40, 45}));
  // evalBatches: 2 batches of 16 are a third of the 96 test samples, so the loss differs from the
  // whole set's; a bound past the set's size is the whole set.
  std::vector<nlohmann::json> all, beyond;
  run("{epochs: 2, batchSize: 16, seed: 5}", &all);
  run("{epochs: 2, batchSize: 16, seed: 5, evalBatches: 100}", &beyond);
  ASSERT_FALSE(all.empty());
  ASSERT_FALSE(beyond.empty());
  EXPECT_EQ(all.back()["testLoss"], beyond.back()["testLoss"]);
  EXPECT_NE(all.back()["testLoss"], reports.back()["testLoss"]);
}

TEST_F(TrainerTest, ReportsProgressAndResultLines) {
  JobSpec spec = Spec(1, "{kind: adamw, lr: 0.01}");
  auto coll = MakeSingleRankCollective();
  std::ostringstream out;
  TrainerOptions opts;
  opts.report_every_sec = 0;
  opts.progress_json = true;  // as shoal-worker runs it
  auto res = Train(spec, *coll, opts, out);
  ASSERT_TRUE(res.ok());
  std::string text = out.str();
  EXPECT_NE(text.find("@shoal {"), std::string::npos);
  EXPECT_NE(text.find("\"type\":\"progress\""), std::string::npos);
  EXPECT_NE(text.find("\"testAccuracy\""), std::string::npos);
  EXPECT_NE(text.find("\"type\":\"result\""), std::string::npos);
  EXPECT_NE(text.find("epoch 3/3"), std::string::npos);
}

TEST_F(TrainerTest, WithoutProgressJsonOnlyReadableLines) {
  JobSpec spec = Spec(1, "{kind: adamw, lr: 0.01}");
  auto coll = MakeSingleRankCollective();
  std::ostringstream out;
  TrainerOptions opts;
  opts.report_every_sec = 0;
  opts.checkpoint_dir = dir_ + "/ckpt-human";
  auto res = Train(spec, *coll, opts, out);
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  const std::string text = out.str();
  EXPECT_EQ(text.find("@shoal"), std::string::npos) << text;
  EXPECT_NE(text.find("epoch 3/3"), std::string::npos) << text;
  EXPECT_NE(text.find("checkpoint at step " + std::to_string(res->steps) + ": "), std::string::npos)
      << text;
  EXPECT_NE(text.find("rank 0 done after " + std::to_string(res->steps) + " steps: test acc "),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("parameter checksum " + res->param_checksum), std::string::npos) << text;
}

TEST_F(TrainerTest, BadInputsAreInvalidArgumentAndExitTwo) {
  auto coll = MakeSingleRankCollective();
  std::ostringstream out;
  JobSpec wrong_dim = Spec(1, "{kind: adamw, lr: 0.01}");
  wrong_dim.model.layers = {9, 16, 3};
  auto r = Train(wrong_dim, *coll, TrainerOptions{}, out);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(ExitCodeFor(r.status()), kTrainBadInput);
  EXPECT_NE(r.status().message().find("features"), std::string::npos);

  JobSpec missing = Spec(1, "{kind: adamw, lr: 0.01}");
  missing.data.train = dir_ + "/nope.csv";
  r = Train(missing, *coll, TrainerOptions{}, out);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(ExitCodeFor(r.status()), kTrainBadInput);

  JobSpec diverge = Spec(1, "{kind: sgd, lr: 10, momentum: 0.99}");
  diverge.model.activation = Activation::kRelu;
  diverge.model.layers = {8, 512, 512, 3};
  r = Train(diverge, *coll, TrainerOptions{}, out);
  ASSERT_FALSE(r.ok()) << "lr 10 with momentum 0.99 should diverge";
  EXPECT_EQ(ExitCodeFor(r.status()), kTrainBadInput);
  EXPECT_NE(r.status().message().find("diverged"), std::string::npos) << r.status().ToString();
}

// Backend selection: cpu never asks for CUDA; cuda without CUDA support is a bad request (exit
// 2); auto trains on cuda only when every rank can, decided together.
TEST_F(TrainerTest, BackendResolution) {
  auto single = MakeSingleRankCollective();
  JobSpec spec = Spec(1, "{kind: adamw, lr: 0.01}");
  TrainerOptions none;  // a build without CUDA
  std::ostringstream out;
  EXPECT_EQ(*ResolveBackend(spec, *single, none, out), Backend::kCpu);

  spec.resources.backend = Backend::kCuda;
  auto r = ResolveBackend(spec, *single, none, out);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(ExitCodeFor(r.status()), kTrainBadInput);
  EXPECT_NE(r.status().message().find("without CUDA"), std::string::npos);
  auto t = Train(spec, *single, none, out);  // the same, through Train
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(ExitCodeFor(t.status()), kTrainBadInput);

  spec.resources.backend = Backend::kAuto;
  out.str("");
  EXPECT_EQ(*ResolveBackend(spec, *single, none, out), Backend::kCpu);
  EXPECT_NE(out.str().find("backend auto: cpu (this shoal-train was built without CUDA)"),
            std::string::npos)
      << out.str();

  // Two ranks: rank 0 has a GPU, rank 1 has none -> both train on the cpu.
  for (const bool rank1_has_gpu : {false, true}) {
    auto store = std::make_shared<gloo::rendezvous::HashStore>();
    std::vector<Backend> chosen(2);
    std::vector<std::string> logs(2);
    std::vector<std::thread> threads;
    for (int rank = 0; rank < 2; ++rank) {
      threads.emplace_back([&, rank] {
        auto coll = MakeGlooCollective(rank, 2, *store, GlooOptions{});
        ASSERT_TRUE(coll.ok()) << coll.status().ToString();
        TrainerOptions options;
        options.make_cuda_engine = [](const EngineConfig&,
                                      Collective&) -> Result<std::unique_ptr<StepEngine>> {
          return Internal("not called");
        };
        const bool usable = rank == 0 || rank1_has_gpu;
        options.cuda_usable = [usable](std::string* why) {
          *why = "no device";
          return usable;
        };
        std::ostringstream log;
        auto b = ResolveBackend(spec, **coll, options, log);
        ASSERT_TRUE(b.ok()) << b.status().ToString();
        chosen[rank] = *b;
        logs[rank] = log.str();
      });
    }
    for (auto& th : threads) th.join();
    const Backend want = rank1_has_gpu ? Backend::kCuda : Backend::kCpu;
    EXPECT_EQ(chosen[0], want);
    EXPECT_EQ(chosen[1], want);
    EXPECT_NE(logs[0].find(rank1_has_gpu ? "backend auto: cuda" : "1 of 2 ranks have a usable GPU"),
              std::string::npos)
        << logs[0];
  }
}

std::vector<std::string> Checkpoints(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

// Interrupted at step 19 (checkpoints every 5 steps, 2 kept: mid-epoch, 12 steps per epoch) and
// resumed from either kept checkpoint, 2 Gloo ranks end bit-identical to an uninterrupted run,
// for both optimizers.
TEST_F(TrainerTest, ResumeFromACheckpointIsBitIdentical) {
  for (const std::string opt : {"{kind: adamw, lr: 0.01}", "{kind: sgd, lr: 0.1, momentum: 0.9}"}) {
    JobSpec spec = Spec(2, opt);
    spec.checkpoint.every_seconds = 0;
    spec.checkpoint.every_steps = 5;
    spec.checkpoint.keep = 2;
    const auto whole = RunRanks(spec, 2);
    const std::string ckpt_dir = dir_ + "/ckpt";
    std::filesystem::remove_all(ckpt_dir);
    const auto cut = RunRanks(spec, 2, 0, [&](TrainerOptions& o) {
      o.max_steps = 19;
      o.checkpoint_dir = ckpt_dir;  // only rank 0 writes
    });
    EXPECT_EQ(cut[0].steps, 19);
    ASSERT_EQ(Checkpoints(ckpt_dir), (std::vector<std::string>{"ckpt-000000000010.safetensors",
                                                               "ckpt-000000000015.safetensors"}));
    for (const char* name : {"ckpt-000000000010.safetensors", "ckpt-000000000015.safetensors"}) {
      const auto resumed =
          RunRanks(spec, 2, 0, [&](TrainerOptions& o) { o.resume_from = ckpt_dir + "/" + name; });
      EXPECT_EQ(resumed[0].param_checksum, whole[0].param_checksum) << opt << " " << name;
      EXPECT_EQ(resumed[1].param_checksum, whole[0].param_checksum);
      EXPECT_EQ(resumed[0].train_loss, whole[0].train_loss);
      EXPECT_EQ(resumed[0].test_accuracy, whole[0].test_accuracy);
      EXPECT_EQ(resumed[0].steps, whole[0].steps);
      EXPECT_GT(resumed[0].resumed_step, 0);
    }
    // The weights load under the names other tools expect.
    auto file = ReadCheckpoint(ckpt_dir + "/ckpt-000000000015.safetensors", spec, 1 << 20);
    ASSERT_TRUE(file.ok()) << file.status().ToString();
    EXPECT_EQ(file->position.step, 15);
    EXPECT_EQ(file->position.epoch, 2);
    EXPECT_EQ(file->position.epoch_samples, 3 * 32);
  }
}

// A stop request (SIGTERM in shoal-train): every rank stops at the next step boundary, rank 0
// after writing a checkpoint; resuming from it finishes like an uninterrupted run. (The request
// is made before a resumed run's first step, so the boundary is known: step 10, mid-epoch.)
TEST_F(TrainerTest, StopRequestCheckpointsAndResumesExactly) {
  JobSpec spec = Spec(2, "{kind: adamw, lr: 0.01}");
  spec.checkpoint.every_seconds = 0;
  const auto whole = RunRanks(spec, 2);
  spec.checkpoint.every_steps = 10;
  RunRanks(spec, 2, 0, [&](TrainerOptions& o) {
    o.max_steps = 10;
    o.checkpoint_dir = dir_ + "/first";
  });
  spec.checkpoint.every_steps = 0;
  std::atomic<bool> stop{true};
  const auto stopped = RunRanks(spec, 2, 0, [&](TrainerOptions& o) {
    o.resume_from = dir_ + "/first/ckpt-000000000010.safetensors";
    o.checkpoint_dir = dir_ + "/stop";
    o.stop_requested = &stop;
  });
  ASSERT_TRUE(stopped[0].stopped);
  ASSERT_TRUE(stopped[1].stopped);
  EXPECT_EQ(stopped[0].steps, 10);
  ASSERT_EQ(Checkpoints(dir_ + "/stop"), std::vector<std::string>{"ckpt-000000000010.safetensors"});
  const auto resumed = RunRanks(spec, 2, 0, [&](TrainerOptions& o) {
    o.resume_from = dir_ + "/stop/ckpt-000000000010.safetensors";
  });
  EXPECT_EQ(resumed[0].param_checksum, whole[0].param_checksum);
  EXPECT_EQ(resumed[0].steps, whole[0].steps);
}

TEST_F(TrainerTest, ResumeRefusesAForeignOrBrokenCheckpoint) {
  JobSpec spec = Spec(1, "{kind: adamw, lr: 0.01}");
  spec.checkpoint.every_steps = 4;
  const std::string ckpt_dir = dir_ + "/foreign";
  RunRanks(spec, 1, 0, [&](TrainerOptions& o) {
    o.max_steps = 4;
    o.checkpoint_dir = ckpt_dir;
  });
  const std::string path = ckpt_dir + "/ckpt-000000000004.safetensors";
  ASSERT_TRUE(std::filesystem::exists(path));
  auto coll = MakeSingleRankCollective();
  std::ostringstream out;
  TrainerOptions opts;
  opts.resume_from = path;
  JobSpec other = spec;
  other.model.layers = {8, 32, 3};
  auto r = Train(other, *coll, opts, out);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("layers"), std::string::npos) << r.status().ToString();
  EXPECT_EQ(ExitCodeFor(r.status()), kTrainBadInput);
  other = spec;
  other.optimizer.kind = OptimizerKind::kSgd;
  EXPECT_EQ(ExitCodeFor(Train(other, *coll, opts, out).status()), kTrainBadInput);
  std::ofstream(dir_ + "/junk.safetensors") << "not a checkpoint at all";
  opts.resume_from = dir_ + "/junk.safetensors";
  EXPECT_EQ(ExitCodeFor(Train(spec, *coll, opts, out).status()), kTrainBadInput);
  opts.resume_from = dir_ + "/missing.safetensors";
  EXPECT_EQ(ExitCodeFor(Train(spec, *coll, opts, out).status()), kTrainBadInput);
}

// A checkpoint of `spec` with recognizable weights and non-zero optimizer buffers, written to
// `path` as a published model would be; returns the weights.
std::vector<float> WriteModelFile(const std::string& path, const JobSpec& spec) {
  const int64_t n = MlpParameterCount(spec.model.layers);
  Checkpoint ckpt;
  for (int64_t i = 0; i < n; ++i) ckpt.state.params.push_back(0.001f * (i % 97) - 0.05f);
  ckpt.state.state_a.assign(n, 1.f);
  ckpt.state.state_b.assign(n, 2.f);
  EXPECT_TRUE(WriteCheckpoint(path, spec, ckpt).ok());
  return ckpt.state.params;
}

// model.init: every rank starts from the file's weights (not the seed's), with a fresh optimizer
// at step 0, whatever optimizer wrote the file.
TEST_F(TrainerTest, ModelInitStartsEveryRankFromTheFilesWeights) {
  JobSpec spec = Spec(2, "{kind: adamw, lr: 0.01}");
  spec.checkpoint.every_seconds = 0;
  const std::string model = dir_ + "/model.safetensors";
  const std::vector<float> weights = WriteModelFile(model, spec);
  const std::string checksum = cpu::Fnv1aChecksum(weights.data(), weights.size());
  spec.model.init = model;
  std::atomic<bool> stop{true};  // stops before the first step, after a step-0 checkpoint
  const auto at_start = RunRanks(spec, 2, 0, [&](TrainerOptions& o) {
    o.checkpoint_dir = dir_ + "/start";
    o.stop_requested = &stop;
  });
  ASSERT_TRUE(at_start[0].stopped);
  EXPECT_EQ(at_start[0].steps, 0);
  EXPECT_EQ(at_start[0].param_checksum, checksum);
  EXPECT_EQ(at_start[1].param_checksum, checksum);
  auto saved = ReadCheckpoint(dir_ + "/start/ckpt-000000000000.safetensors", spec, 1 << 20);
  ASSERT_TRUE(saved.ok()) << saved.status().ToString();
  EXPECT_EQ(saved->state.params, weights);
  EXPECT_EQ(saved->state.state_a, std::vector<float>(weights.size(), 0.f));
  EXPECT_EQ(saved->state.state_b, std::vector<float>(weights.size(), 0.f));

  // One step from the file's weights: the ranks agree, and differ from a start from the seed.
  const auto one = RunRanks(spec, 2, 0, [&](TrainerOptions& o) { o.max_steps = 1; });
  EXPECT_EQ(one[0].steps, 1);
  EXPECT_EQ(one[0].param_checksum, one[1].param_checksum);
  JobSpec seeded = spec;
  seeded.model.init = "";
  EXPECT_NE(RunRanks(seeded, 2, 0, [&](TrainerOptions& o) { o.max_steps = 1; })[0].param_checksum,
            one[0].param_checksum);

  // The log says where the weights came from; sgd takes adamw's file (its buffers are ignored).
  auto coll = MakeSingleRankCollective();
  std::ostringstream out;
  JobSpec sgd = Spec(1, "{kind: sgd, lr: 0.1}");
  sgd.model.init = model;
  TrainerOptions opts;
  opts.stop_requested = &stop;
  auto r = Train(sgd, *coll, opts, out);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->param_checksum, checksum);
  EXPECT_NE(out.str().find("initialized from " + model + ": 4 tensors (8 others ignored)"),
            std::string::npos)
      << out.str();
}

// A file that does not fit the spec's model fails the rank with exit code 2, naming the first
// tensor that differs (in layer order) and both shapes.
TEST_F(TrainerTest, ModelInitRefusesAnotherModelNamingTheFirstTensor) {
  const JobSpec spec = Spec(1, "{kind: adamw, lr: 0.01}");
  const std::string model = dir_ + "/model.safetensors";
  const std::vector<float> weights = WriteModelFile(model, spec);
  auto coll = MakeSingleRankCollective();
  std::ostringstream out;
  auto train = [&](std::vector<int> layers, const std::string& init) {
    JobSpec other = spec;
    other.model.layers = std::move(layers);
    other.model.init = init;
    return Train(other, *coll, TrainerOptions{}, out).status();
  };
  Status st = train({8, 32, 3}, model);
  EXPECT_EQ(st.message(),
            "model.init: tensor layers.0.weight is [16, 8] in the model, [32, 8] in this spec's "
            "model (layers: [8, 32, 3])");
  EXPECT_EQ(ExitCodeFor(st), kTrainBadInput);
  st = train({8, 16, 4}, model);
  EXPECT_EQ(st.message(),
            "model.init: tensor layers.1.weight is [3, 16] in the model, [4, 16] in this spec's "
            "model (layers: [8, 16, 4])");
  st = train({8, 16, 16, 3}, model);
  EXPECT_NE(st.message().find("tensor layers.1.weight is [3, 16] in the model, [16, 16]"),
            std::string::npos)
      << st.ToString();

  // A missing tensor, and a layer the spec's model does not have, are named.
  const std::string part = dir_ + "/part.safetensors";
  ASSERT_TRUE(WriteSafetensors(part,
                               {{"layers.0.weight", {16, 8}, weights.data()},
                                {"layers.0.bias", {16}, weights.data()}},
                               {})
                  .ok());
  st = train({8, 16, 3}, part);
  EXPECT_EQ(st.message(),
            "model.init: tensor layers.1.weight [3, 16] of this spec's model "
            "(layers: [8, 16, 3]) is missing from " +
                part);
  EXPECT_EQ(ExitCodeFor(st), kTrainBadInput);
  st = train({8, 16}, model);  // the file has a second layer
  EXPECT_NE(st.message().find("tensor layers.1.bias [3] of the model is not in this spec's model"),
            std::string::npos)
      << st.ToString();
  EXPECT_EQ(ExitCodeFor(st), kTrainBadInput);

  // Not safetensors, a dtype other than F32, no file at all.
  std::ofstream(dir_ + "/junk.safetensors") << "not a model at all";
  st = train({8, 16, 3}, dir_ + "/junk.safetensors");
  EXPECT_NE(
      st.message().find("model.init: " + dir_ + "/junk.safetensors is not a safetensors file"),
      std::string::npos)
      << st.ToString();
  EXPECT_EQ(ExitCodeFor(st), kTrainBadInput);
  {
    const std::string header =
        R"({"layers.0.weight":{"dtype":"F16","shape":[16,8],"data_offsets":[0,256]}})";
    std::string bytes(8, '\0');
    for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((header.size() >> (8 * i)) & 0xff);
    std::ofstream(dir_ + "/f16.safetensors", std::ios::binary)
        << bytes << header << std::string(256, '\0');
  }
  st = train({8, 16, 3}, dir_ + "/f16.safetensors");
  EXPECT_NE(st.message().find("F16"), std::string::npos) << st.ToString();
  EXPECT_EQ(ExitCodeFor(st), kTrainBadInput);
  st = train({8, 16, 3}, dir_ + "/missing.safetensors");
  EXPECT_NE(st.message().find("model.init: "), std::string::npos) << st.ToString();
  EXPECT_EQ(ExitCodeFor(st), kTrainBadInput);
}

// A restarted attempt resumes from its checkpoint; model.init is then not even read.
TEST_F(TrainerTest, AResumeTakesPrecedenceOverModelInit) {
  JobSpec spec = Spec(1, "{kind: adamw, lr: 0.01}");
  const std::string ckpt = dir_ + "/ckpt.safetensors";
  WriteModelFile(ckpt, spec);
  spec.model.init = dir_ + "/no-such-model.safetensors";
  auto coll = MakeSingleRankCollective();
  std::ostringstream out;
  TrainerOptions opts;
  opts.resume_from = ckpt;
  opts.max_steps = 1;
  auto r = Train(spec, *coll, opts, out);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_NE(out.str().find("model.init " + spec.model.init + " not loaded: resuming from " + ckpt +
                           " takes precedence"),
            std::string::npos)
      << out.str();
}

}  // namespace
}  // namespace shoal
