// Audits (docs/audits.md) measured: how fast a cheater is caught, what audits cost, and how far
// honest gradients of different CPU configurations drift apart (the sketch tolerance's margin).
// bench/run.py --target audits runs every mode and writes bench/out/audits.json.
//
//   --detect MODE     seeded trials of 4 in-process Gloo ranks, rank 2 cheating with MODE (a
//                     --cheat mode, or "none" for honest runs); prints the steps to the dispute
//   --overhead        honest 4-rank (--ranks N) runs with audits at --rate against none; ratio
//                     (--rate 0: only the per-step commitments and the norm screen;
//                     --screen-z 1e9: no screen audits)
//   --gradients-out F one rank's commitments of --batches local gradients at fixed parameters,
//                     one JSON line each (run under different OPENBLAS_CORETYPE / --threads)
//   --compare A B     the verdicts of two --gradients-out files, batch by batch
//   --impact MODE...  Fashion-MNIST test accuracy with rank 2 cheating unaudited, vs honest
//   --hash-speed      the commitment hash on this bench model's gradient (85,002 floats): BLAKE3
//                     on each path this CPU has, against OpenSSL's SHA-256 (the hash until
//                     2026-12-05), in one run
//   --backend cuda    the ranks on the cuda engine instead (all on GPU 0, reducing on the host
//                     whether audited or not), at --precision; builds with CUDA only
//   --model gpt       --detect and --overhead on the demo's character-level GPT (configs/jobs/
//                     gpt-fortunes.yaml's shape, 0.13M parameters, 16 windows of 64 bytes per rank
//                     and step) on synthetic text, instead of the 85k-parameter MLP
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <thread>

#include <gloo/rendezvous/hash_store.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "common/audit/blake3.h"
#include "common/audit/commitment.h"
#include "common/audit/state_digest.h"
#include "common/flags.h"
#include "common/safetensors.h"
#include "common/sha256.h"
#include "common/wire/audit_report.h"
#include "data/token_shards.h"
#include "kernels/collectives/gloo_collective.h"
#include "worker/train/engines/cpu/cpu_step_engine.h"
#include "worker/train/trainer.h"
#ifdef SHOAL_HAVE_CUDA
#include "worker/train/engines/cuda/cuda_step_engine.h"
#endif

using namespace shoal;
using nlohmann::json;

namespace {

int ranks = 4;  // --ranks (the overhead runs may take 2..8; the rest need 4)
constexpr int kDim = 64, kClasses = 10, kSamples = 8192;
int batch_size = 64;  // --batch: rows per rank per step (the overhead's main lever)
bool gpt = false;     // --model gpt
constexpr int kContext = 64;

// Text for the GPT: words of a small seeded vocabulary, so there is something to learn; kSamples
// windows of kContext byte tokens (plus one) as DIR/train_000000.bin, a tenth of that as val.
void WriteTokens(const std::string& dir) {
  std::mt19937_64 rng(7);
  std::vector<std::string> words;
  for (int w = 0; w < 500; ++w) {
    std::string word;
    const int len = 2 + static_cast<int>(rng() % 7);
    for (int c = 0; c < len; ++c) word += static_cast<char>('a' + rng() % 26);
    words.push_back(word);
  }
  for (const char* name : {"train", "val"}) {
    const size_t want = (std::string(name) == "train" ? kSamples : 1024) * kContext + 1;
    std::vector<uint16_t> tokens;
    tokens.reserve(want + 16);
    while (tokens.size() < want) {
      // Zipf-like: low word ids are common.
      const size_t w =
          static_cast<size_t>(words.size() * std::pow(rng() / 18446744073709551616.0, 3));
      for (char c : words[w]) tokens.push_back(static_cast<uint8_t>(c));
      tokens.push_back(rng() % 9 == 0 ? '.' : ' ');
    }
    tokens.resize(want);
    if (Status st = WriteTokenShard(dir + "/" + name + "_000000.bin", tokens); !st.ok()) {
      std::fprintf(stderr, "%s\n", st.message().c_str());
      std::exit(1);
    }
  }
}

// Ten Gaussian blobs in 64 dimensions, as CSV under `dir`.
void WriteData(const std::string& dir) {
  std::mt19937_64 rng(3);
  std::normal_distribution<double> noise(0.0, 1.0);
  for (const char* name : {"train", "test"}) {
    std::ofstream out(dir + "/" + name + ".csv");
    out << "label";
    for (int d = 0; d < kDim; ++d) out << ",f" << d;
    out << "\n";
    const int n = std::string(name) == "train" ? kSamples : 1024;
    for (int i = 0; i < n; ++i) {
      const int label = i % kClasses;
      out << label;
      for (int d = 0; d < kDim; ++d) out << "," << (d % kClasses == label ? 1.0 : 0.0) + noise(rng);
      out << "\n";
    }
  }
}

// --backend and --precision: cuda ranks share the machine's first GPU.
std::string backend = "cpu", precision = "fp32";

std::string PrecisionField() { return backend == "cuda" ? ", precision: " + precision : ""; }

// The cuda engine when this bench was built with CUDA, else nothing (--backend cuda is refused).
EngineMaker CudaEngineMaker() {
#ifdef SHOAL_HAVE_CUDA
  return MakeCudaEngine;
#else
  return {};
#endif
}

JobSpec Spec(const std::string& dir, int epochs) {
  std::ostringstream y;
  y << "apiVersion: shoal/v1\nkind: TrainingJob\nmetadata: {name: audit-bench}\nspec:\n"
    << "  workers: {min: " << ranks << ", max: " << ranks << "}\n"
    << "  resources: {backend: " << backend << ", gpusPerWorker: " << (backend == "cuda") << "}\n";
  if (gpt) {
    y << "  model: {kind: gpt, layers: 2, vocabSize: 256, contextLength: " << kContext
      << ", heads: 4, embedDim: 64}\n"
      << "  data: {train: " << dir << "/train, test: " << dir << "/val, format: tokens}\n"
      << "  optimizer: {kind: adamw, lr: 0.003, weightDecay: 0.01}\n"
      << "  training: {epochs: " << epochs << ", batchSize: " << batch_size
      << ", seed: 5, clipGradNorm: 1.0" << PrecisionField() << "}\n";
  } else {
    y << "  model: {kind: mlp, layers: [" << kDim << ", 256, 256, " << kClasses
      << "], activation: relu}\n"
      << "  data: {train: " << dir << "/train.csv, test: " << dir << "/test.csv}\n"
      << "  optimizer: {kind: sgd, lr: 0.05, momentum: 0.9}\n"
      << "  training: {epochs: " << epochs << ", batchSize: " << batch_size << ", seed: 5"
      << PrecisionField() << "}\n";
  }
  auto spec = ParseJobSpec(y.str(), "bench");
  if (!spec.ok()) {
    std::fprintf(stderr, "spec: %s\n", spec.status().message().c_str());
    std::exit(1);
  }
  return *spec;
}

// Plans for ranks of one account each: every rank audited at `rate`, by any other rank.
double screen_z = 0;  // --screen-z: > 0 replaces the plans' norm-screen z

std::vector<wire::AuditPlan> Plans(int trial, double rate) {
  std::vector<wire::AuditPlan> plans(ranks);
  for (int r = 0; r < ranks; ++r) {
    if (screen_z > 0) plans[r].screen_z = screen_z;
    plans[r].nonce = audit::SketchSeed("nonce", trial, {}).substr(0, 16);
    plans[r].key = audit::SketchSeed("key", trial * ranks + r, {});
    plans[r].auditors.resize(ranks);
    for (int q = 0; q < ranks; ++q) {
      plans[r].accounts.push_back(std::string(1, static_cast<char>('a' + q)));
      plans[r].rates.push_back(rate);
      for (int a = 0; a < ranks; ++a) {
        if (a != q) plans[r].auditors[q].push_back(a);
      }
    }
  }
  return plans;
}

struct Run {
  int64_t dispute_step = -1;  // -1: none
  double seconds = 0;
  int64_t steps = 0;
  double test_accuracy = -1;
  int64_t recomputations = 0;  // over every rank (TrainResult::audit_recomputations)
  std::string error;
};

// Four ranks as threads; rank 2 cheats with `cheat` ("" = honest); no plan when rate < 0.
Run RunRanks(const JobSpec& spec, int trial, double rate, const std::string& cheat,
             int64_t max_steps) {
  auto store = std::make_shared<gloo::rendezvous::HashStore>();
  const auto plans = Plans(trial, rate);
  std::vector<Status> status(ranks);
  std::vector<TrainResult> results(ranks);
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int r = 0; r < ranks; ++r) {
    threads.emplace_back([&, r] {
      auto coll = MakeGlooCollective(r, ranks, *store, GlooOptions{});
      if (!coll.ok()) {
        status[r] = coll.status();
        return;
      }
      std::ostringstream out;
      TrainerOptions opts;
      opts.max_steps = max_steps;
      if (rate >= 0) opts.audit_plan = plans[r];
      if (r == 2) opts.cheat = cheat;
      // Several cuda ranks share one GPU, which NCCL refuses: audited or not, they reduce on the
      // host, so the ratio is the audits' alone.
      opts.make_cuda_engine = CudaEngineMaker();
      opts.reduce_on_host = backend == "cuda";
      auto res = Train(spec, **coll, opts, out);
      status[r] = res.ok() ? Status::Ok() : res.status();
      if (res.ok()) results[r] = *res;
    });
  }
  for (auto& t : threads) t.join();
  Run run;
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  run.steps = results[0].steps;
  run.test_accuracy = results[0].test_accuracy;
  for (const TrainResult& res : results) run.recomputations += res.audit_recomputations;
  for (const Status& st : status) {
    if (st.ok()) continue;
    const std::string& m = st.message();
    const size_t at = m.find("at step ");
    if (ExitCodeFor(st) == kTrainAuditDispute && at != std::string::npos) {
      run.dispute_step = std::stoll(m.substr(at + 8));
    } else {
      run.error = st.ToString();
    }
  }
  return run;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5)];
}

int Detect(const std::string& dir, const std::string& mode, int trials, double rate,
           int64_t max_steps) {
  const JobSpec spec = Spec(dir, 1000);
  std::vector<double> steps;
  int caught = 0, accused_honest = 0, errors = 0;
  int64_t honest_steps = 0;
  for (int t = 0; t < trials; ++t) {
    Run run = RunRanks(spec, t, rate, mode == "none" ? "" : mode, max_steps);
    if (!run.error.empty()) {
      ++errors;
      std::fprintf(stderr, "trial %d: %s\n", t, run.error.c_str());
      continue;
    }
    if (mode == "none") {
      honest_steps += run.steps;
      accused_honest += run.dispute_step >= 0;
    } else if (run.dispute_step >= 0) {
      ++caught;
      steps.push_back(static_cast<double>(run.dispute_step));
    }
  }
  json out = {{"mode", mode},
              {"trials", trials},
              {"rate", rate},
              {"maxSteps", max_steps},
              {"errors", errors}};
  if (mode == "none") {
    out["honestSteps"] = honest_steps;
    out["falseAccusations"] = accused_honest;
  } else {
    out["caught"] = caught;
    out["stepsMedian"] = Percentile(steps, 0.5);
    out["stepsP90"] = Percentile(steps, 0.9);
    out["stepsP99"] = Percentile(steps, 0.99);
    out["stepsMax"] = Percentile(steps, 1.0);
  }
  std::cout << out.dump() << std::endl;
  return 0;
}

int Overhead(const std::string& dir, double rate, int64_t steps, int repeats) {
  const JobSpec spec = Spec(dir, 1000);
  std::vector<double> off, on;
  int64_t recomputations = 0, steps_on = 0;
  for (int i = 0; i < repeats; ++i) {
    Run a = RunRanks(spec, i, -1, "", steps);
    Run b = RunRanks(spec, i, rate, "", steps);
    if (!a.error.empty() || !b.error.empty() || b.dispute_step >= 0) {
      std::fprintf(stderr, "overhead run failed: %s %s\n", a.error.c_str(), b.error.c_str());
      return 1;
    }
    off.push_back(a.seconds / static_cast<double>(a.steps));
    on.push_back(b.seconds / static_cast<double>(b.steps));
    recomputations += b.recomputations;
    steps_on += b.steps;
  }
  const double m_off = Percentile(off, 0.5), m_on = Percentile(on, 0.5);
  std::cout << json{{"rate", rate},
                    {"steps", steps},
                    {"repeats", repeats},
                    {"stepSecOff", m_off},
                    {"stepSecOn", m_on},
                    {"ratio", m_on / m_off},
                    // Audits' extra forward and backward passes, all ranks together.
                    {"recomputationsPerStep",
                     static_cast<double>(recomputations) / static_cast<double>(steps_on)}}
                   .dump()
            << std::endl;
  return 0;
}

// Fashion-MNIST (the demo's data) on an MLP 784-128-10, for --impact: a task where a few percent
// of accuracy can move.
JobSpec FashionSpec(const std::string& fashion_dir, int epochs) {
  std::ostringstream y;
  y << "apiVersion: shoal/v1\nkind: TrainingJob\nmetadata: {name: audit-impact}\nspec:\n"
    << "  workers: {min: " << ranks << ", max: " << ranks << "}\n"
    << "  resources: {backend: cpu, gpusPerWorker: 0}\n"
    << "  model: {kind: mlp, layers: [784, 128, 10], activation: relu}\n"
    << "  data: {train: " << fashion_dir << "/train, test: " << fashion_dir
    << "/t10k, format: idx}\n"
    << "  optimizer: {kind: sgd, lr: 0.05, momentum: 0.9}\n"
    << "  training: {epochs: " << epochs << ", batchSize: 64, seed: 1}\n";
  auto spec = ParseJobSpec(y.str(), "bench");
  if (!spec.ok()) {
    std::fprintf(stderr, "spec: %s\n", spec.status().message().c_str());
    std::exit(1);
  }
  return *spec;
}

// What a cheat that audits across configurations would let through does to accuracy: rank 2
// cheats on every step with nobody auditing (rate 0, no screen), against an honest run.
int Impact(const std::string& fashion_dir, const std::vector<std::string>& modes, int epochs) {
  const JobSpec spec = FashionSpec(fashion_dir, epochs);
  screen_z = 1e9;
  const Run honest = RunRanks(spec, 0, -1, "", 0);
  if (!honest.error.empty()) {
    std::fprintf(stderr, "honest run: %s\n", honest.error.c_str());
    return 1;
  }
  for (const std::string& mode : modes) {
    const Run cheat = RunRanks(spec, 0, 0, mode, 0);
    std::cout << json{{"mode", mode},
                      {"epochs", epochs},
                      {"honestAccuracy", honest.test_accuracy},
                      {"cheatingAccuracy", cheat.test_accuracy},
                      {"error", cheat.error}}
                     .dump()
              << std::endl;
  }
  return 0;
}

int GradientsOut(const std::string& dir, const std::string& path, int batches, int threads) {
  const JobSpec spec = Spec(dir, 1);
  auto coll = MakeSingleRankCollective();
  EngineConfig config{&spec, threads, 0, 0, 60};
  auto engine = backend == "cuda" ? CudaEngineMaker()(config, *coll) : MakeCpuEngine(config, *coll);
  if (!engine.ok()) {
    std::fprintf(stderr, "%s\n", engine.status().message().c_str());
    return 1;
  }
  std::mt19937_64 rng(11);
  std::normal_distribution<float> noise(0.f, 1.f);
  std::vector<float> x(static_cast<size_t>(batch_size) * kDim);
  std::vector<int32_t> y(batch_size);
  std::ofstream out(path);
  std::vector<float> g;
  for (int b = 0; b < batches; ++b) {
    for (int i = 0; i < batch_size; ++i) {
      y[i] = static_cast<int32_t>(rng() % kClasses);
      for (int d = 0; d < kDim; ++d)
        x[i * kDim + d] = (d % kClasses == y[i] ? 1.f : 0.f) + noise(rng);
    }
    StepInput in;
    in.x = x.data();
    in.y = y.data();
    in.batch = batch_size;
    in.dim = kDim;
    in.grad_scale = 1.0f / batch_size;
    if (Status st = (*engine)->LocalGradient(in, &g); !st.ok()) {
      std::fprintf(stderr, "%s\n", st.message().c_str());
      return 1;
    }
    const std::string seed = audit::SketchSeed("bench", b, {});
    out << wire::ToJson(audit::Commit(g.data(), static_cast<int64_t>(g.size()), seed,
                                      (*engine)->ComputeConfig()))
               .dump()
        << "\n";
  }
  return 0;
}

int Compare(const std::string& a_path, const std::string& b_path) {
  std::ifstream a(a_path), b(b_path);
  int64_t exact = 0, within = 0, mismatch = 0;
  double worst = 0;
  std::string config_a, config_b;
  for (std::string la, lb; std::getline(a, la) && std::getline(b, lb);) {
    auto ca = wire::CommitmentFromJson(json::parse(la));
    auto cb = wire::CommitmentFromJson(json::parse(lb));
    if (!ca.ok() || !cb.ok()) return 1;
    config_a = ca->config;
    config_b = cb->config;
    audit::Comparison c = audit::Compare(*ca, *cb, audit::DefaultTolerance(ca->config, cb->config));
    exact += c.verdict == audit::Verdict::kExact;
    within += c.verdict == audit::Verdict::kWithinTolerance;
    mismatch += c.verdict == audit::Verdict::kMismatch;
    worst = std::max(worst, c.worst);
  }
  std::cout << json{{"a", config_a},
                    {"b", config_b},
                    {"exact", exact},
                    {"within", within},
                    {"mismatch", mismatch},
                    {"worstRelative", worst},
                    {"tolerance", audit::DefaultTolerance(config_a, config_b)}}
                   .dump()
            << std::endl;
  return 0;
}

// Median seconds of one call of `hash` over `reps` calls, in `rounds` rounds.
template <typename F>
double MedianSeconds(F hash, int reps, int rounds) {
  std::vector<double> t;
  for (int r = 0; r < rounds; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < reps; ++i) hash();
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() /
                reps);
  }
  return Percentile(t, 0.5);
}

int HashSpeed() {
  const size_t floats = kDim * 256 + 256 + 256 * 256 + 256 + 256 * kClasses + kClasses;
  std::vector<float> g(floats);
  std::mt19937 gen(1);
  std::normal_distribution<float> dist(0.f, 1e-3f);
  for (float& v : g) v = dist(gen);
  const size_t bytes = floats * sizeof(float);
  unsigned sink = 0;
  auto rate = [&](double sec) { return static_cast<double>(bytes) / sec / 1e9; };
  const double sha = MedianSeconds(
      [&] {
        sink += Sha256Hex(std::string_view(reinterpret_cast<const char*>(g.data()), bytes))[0];
      },
      500, 7);
  json out = {{"bytes", bytes}, {"sha256Us", sha * 1e6}, {"sha256GBs", rate(sha)}};
  using audit::internal::Blake3Path;
  const Blake3Path best = audit::internal::Blake3BestPath();
  for (auto [path, name] :
       {std::pair{Blake3Path::kScalar, "scalar"}, std::pair{Blake3Path::kAvx2, "avx2"},
        std::pair{Blake3Path::kAvx512, "avx512"}}) {
    if (static_cast<int>(path) > static_cast<int>(best)) continue;  // not on this CPU
    const double sec =
        MedianSeconds([&] { sink += audit::internal::Blake3On(path, g.data(), bytes)[0]; }, 500, 7);
    out[std::string("blake3_") + name + "Us"] = sec * 1e6;
    out[std::string("blake3_") + name + "GBs"] = rate(sec);
    if (path == best) out["bestVsSha256"] = sha / sec;
  }
  out["sink"] = sink;  // keeps the hashing from being optimised away
  std::cout << out.dump() << std::endl;
  return 0;
}

// What a checkpoint attestation costs each rank (docs/audits.md "Checkpoints"): the state digest
// of N parameters and two optimizer buffers, against writing the same tensors as rank 0 does
// (a safetensors file: temporary, fsync, rename) in `dir`. One JSON line per size.
int AttestCost(const std::string& dir) {
  for (const int64_t n : {int64_t{85'000}, int64_t{1'000'000}, int64_t{25'000'000}}) {
    std::vector<std::vector<float>> state(3, std::vector<float>(static_cast<size_t>(n)));
    std::mt19937 gen(1);
    std::normal_distribution<float> dist(0.f, 1e-2f);
    for (auto& t : state) {
      for (float& v : t) v = dist(gen);
    }
    const std::vector<TensorView> views = {
        {"layers.0.weight", {n}, state[0].data()},
        {"optimizer.exp_avg.layers.0.weight", {n}, state[1].data()},
        {"optimizer.exp_avg_sq.layers.0.weight", {n}, state[2].data()}};
    const std::map<std::string, std::string> meta = {{"format", "shoal-checkpoint/1"},
                                                     {"step", "40"}};
    const int reps = n > 5'000'000 ? 1 : 20;
    unsigned sink = 0;
    const double digest =
        MedianSeconds([&] { sink += audit::StateDigest(views, meta)[0]; }, reps, 5);
    const std::string path = dir + "/attest-cost.safetensors";
    const double write = MedianSeconds(
        [&] {
          if (!WriteSafetensors(path, views, meta).ok()) std::abort();
        },
        reps, 5);
    std::filesystem::remove(path);
    std::cout << json{{"params", n},
                      {"stateBytes", 3 * n * 4},
                      {"digestMs", digest * 1e3},
                      {"writeMs", write * 1e3},
                      {"digestVsWrite", digest / write},
                      {"sink", sink}}
                     .dump()
              << std::endl;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("shoal-audit-bench: audits' detection, cost and cross-configuration drift");
  flags::Configure(app, "shoal-audit-bench");
  std::string detect, gradients_out;
  std::vector<std::string> compare, impact;
  std::string fashion_dir = "/usr/share/datasets/fashion-mnist";
  int epochs = 3;
  bool overhead = false, hash_speed = false;
  int trials = 100, batches = 1000, threads = 1, repeats = 3;
  double rate = 0.1;
  int64_t max_steps = 300;
  app.add_option("--detect", detect, "a --cheat mode, or none");
  app.add_flag("--overhead", overhead);
  app.add_flag("--hash-speed", hash_speed, "the commitment hash's speed: BLAKE3 vs SHA-256");
  std::string attest_cost_dir;
  app.add_option("--attest-cost", attest_cost_dir,
                 "a checkpoint attestation's digest vs writing the checkpoint (in this directory)");
  app.add_option("--gradients-out", gradients_out);
  app.add_option("--compare", compare)->expected(2);
  app.add_option("--impact", impact, "cheat modes to train with unaudited (accuracy impact)");
  app.add_option("--fashion-dir", fashion_dir);
  app.add_option("--epochs", epochs);
  app.add_option("--batch", batch_size, "rows per rank per step (default 64; 16 for gpt)");
  std::string model = "mlp";
  app.add_option("--model", model, "the trained model of --detect and --overhead")
      ->check(CLI::IsMember({"mlp", "gpt"}));
  app.add_option("--trials", trials);
  app.add_option("--rate", rate, "each rank's chance of being audited per step");
  app.add_option("--max-steps", max_steps);
  app.add_option("--batches", batches);
  app.add_option("--threads", threads);
  app.add_option("--repeats", repeats);
  app.add_option("--ranks", ranks, "ranks (threads) of the --overhead runs (default 4)")
      ->check(CLI::Range(2, 8));
  app.add_option("--screen-z", screen_z, "the norm screen's z (default: the plan's, 3.5)");
  app.add_option("--backend", backend, "the ranks' engine (cuda: every rank on GPU 0)")
      ->check(CLI::IsMember({"cpu", "cuda"}));
  app.add_option("--precision", precision, "cuda ranks' precision")
      ->check(CLI::IsMember({"fp32", "tf32", "bf16"}));
  CLI11_PARSE(app, argc, argv);
  if (backend == "cuda" && !CudaEngineMaker()) {
    std::fprintf(stderr, "--backend cuda: this shoal-audit-bench was built without CUDA\n");
    return 2;
  }
  gpt = model == "gpt";
  if (gpt && app.count("--batch") == 0) batch_size = 16;
  if (gpt && (!gradients_out.empty() || !impact.empty() || hash_speed)) {
    std::fprintf(stderr, "--model gpt is for --detect and --overhead\n");
    return 2;
  }
  if (compare.size() == 2) return Compare(compare[0], compare[1]);
  if (!impact.empty()) return Impact(fashion_dir, impact, epochs);
  if (hash_speed) return HashSpeed();
  if (!attest_cost_dir.empty()) return AttestCost(attest_cost_dir);
  if (ranks != 4 && !overhead) {
    std::fprintf(stderr, "--ranks is for --overhead (detection needs 4 ranks: rank 2 cheats)\n");
    return 2;
  }
  char tmpl[] = "/tmp/shoal-audit-bench-XXXXXX";
  const std::string dir = ::mkdtemp(tmpl);
  WriteData(dir);
  if (gpt) WriteTokens(dir);
  int rc = 2;
  if (!detect.empty()) {
    rc = Detect(dir, detect, trials, rate, max_steps);
  } else if (overhead) {
    rc = Overhead(dir, rate, max_steps, repeats);
  } else if (!gradients_out.empty()) {
    rc = GradientsOut(dir, gradients_out, batches, threads);
  } else {
    std::fprintf(stderr,
                 "one of --detect, --overhead, --gradients-out, --compare, --impact, "
                 "--hash-speed\n");
  }
  std::filesystem::remove_all(dir);
  return rc;
}
