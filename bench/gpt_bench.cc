// shoal-gpt-bench: one rank's GPT training step on the CPU (models/gpt/gpt.h forward + backward,
// then AdamW over the flat buffer), as tokens per second, for the side-by-side with PyTorch that
// bench/run.py --target gpt runs (bench/gpt_reference.py: the same model, step and threads).
// Prints one JSON object on stdout: the config, the per-step times and their median.
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/flags.h"
#include "kernels/cpu/optimizer.h"
#include "models/gpt/gpt.h"
#include "worker/train/blas_setup.h"

using namespace shoal;

int main(int argc, char** argv) {
  ReexecWithBestBlasKernels(argv);  // as shoal-train does: the same GEMM kernels
  GptConfig config;
  int batch = 8, iters = 10, warmup = 2, threads = 1;
  CLI::App app("shoal-gpt-bench: one rank's GPT training step on the CPU; JSON on stdout.");
  flags::Configure(app, "shoal-gpt-bench");
  app.add_option("--vocab", config.vocab_size, "vocabulary size")->type_name("N");
  app.add_option("--context", config.context_length, "tokens per sequence (T)")->type_name("N");
  app.add_option("--layers", config.layers, "blocks")->type_name("N");
  app.add_option("--heads", config.heads, "attention heads")->type_name("N");
  app.add_option("--embed", config.embed_dim, "channels (C)")->type_name("N");
  app.add_option("--batch", batch, "sequences per step (B)")->type_name("N");
  app.add_option("--iters", iters, "timed steps")->type_name("N");
  app.add_option("--warmup", warmup, "untimed steps first")->type_name("N");
  app.add_option("--threads", threads, "OpenBLAS threads")->type_name("N");
  if (std::optional<int> code = flags::Parse(app, argc, argv)) return *code;
  openblas_set_num_threads(std::max(1, threads));
  auto made = Gpt::Make(config);
  if (!made.ok()) {
    std::fprintf(stderr, "%s\n", made.status().ToString().c_str());
    return 2;
  }
  Gpt& gpt = **made;
  const int64_t n = gpt.num_params();
  std::vector<float> params(n), grads(n), m(n, 0.0f), v(n, 0.0f);
  gpt.InitParams(1, params.data());
  const int T = config.context_length;
  std::mt19937 rng(2);
  std::vector<int32_t> tokens(static_cast<size_t>(batch) * T), targets(tokens.size());
  for (auto& t : tokens) t = static_cast<int32_t>(rng() % config.vocab_size);
  for (auto& t : targets) t = static_cast<int32_t>(rng() % config.vocab_size);
  std::vector<double> ms;
  double loss = 0;
  for (int i = 0; i < warmup + iters; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    double loss_sum = 0;
    Status st = gpt.ForwardBackward(params.data(), tokens.data(), targets.data(), batch, T,
                                    1.0f / static_cast<float>(batch * T), grads.data(), &loss_sum);
    if (!st.ok()) {
      std::fprintf(stderr, "%s\n", st.ToString().c_str());
      return 1;
    }
    cpu::AdamWUpdate(params.data(), grads.data(), m.data(), v.data(), n, 3e-4f, 0.9f, 0.95f, 1e-8f,
                     0.1f, i + 1);
    const double elapsed =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (i >= warmup) ms.push_back(elapsed);
    loss = loss_sum / (batch * T);
  }
  std::vector<double> sorted = ms;
  std::sort(sorted.begin(), sorted.end());
  const double median = sorted[sorted.size() / 2];
  nlohmann::json out = {{"impl", "shoal"},
                        {"params", n},
                        {"vocab", config.vocab_size},
                        {"context", T},
                        {"layers", config.layers},
                        {"heads", config.heads},
                        {"embed", config.embed_dim},
                        {"batch", batch},
                        {"threads", threads},
                        {"step_ms", ms},
                        {"median_ms", median},
                        {"tokens_per_sec", batch * T / (median / 1000.0)},
                        {"last_loss", loss}};
  std::printf("%s\n", out.dump().c_str());
  return 0;
}
