// shoal-train: one rank of a training job. Started by shoal-worker (rank, world size and the
// rendezvous URL on the command line) or by hand for a single rank: `shoal-train job.yaml`.
#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>

#include "common/job_spec.h"
#include "kernels/collectives/gloo_collective.h"
#include "kernels/collectives/kv_store.h"
#include "worker/train/trainer.h"

using namespace shoal;

namespace {

const char kUsage[] = R"(usage: shoal-train JOB.yaml [flags]

  --rank R             this rank (default 0)
  --world-size N       number of ranks (default 1)
  --rendezvous URL     the scheduler's KV for this attempt (needed when N > 1)
  --address ADDR       address peers reach this rank on (default 127.0.0.1)
  --threads N          compute threads (default 1)
  --max-steps N        stop after N steps (benchmarks; default: the spec's epochs)
  --timeout-sec S      collective/rendezvous timeout (default 60)
Exit codes: 0 ok, 1 error, 2 bad spec/data/flags or divergence, 3 a peer rank failed.
)";

bool ParseLong(const char* s, long lo, long hi, long* out) {
  char* end = nullptr;
  long v = std::strtol(s, &end, 10);
  if (end == s || *end != '\0' || v < lo || v > hi) return false;
  *out = v;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::string spec_path, rendezvous, address = "127.0.0.1";
  long rank = 0, world = 1, threads = 1, max_steps = 0, timeout_sec = 60;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (arg.rfind("--", 0) != 0) {
      if (!spec_path.empty()) {
        std::fprintf(stderr, "shoal-train: more than one job file given\n");
        return 2;
      }
      spec_path = arg;
      continue;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "shoal-train: %s needs a value\n", arg.c_str());
      return 2;
    }
    const char* v = argv[++i];
    bool ok = true;
    if (arg == "--rank") ok = ParseLong(v, 0, 1 << 20, &rank);
    else if (arg == "--world-size") ok = ParseLong(v, 1, 1 << 20, &world);
    else if (arg == "--threads") ok = ParseLong(v, 1, 1024, &threads);
    else if (arg == "--max-steps") ok = ParseLong(v, 0, 1L << 40, &max_steps);
    else if (arg == "--timeout-sec") ok = ParseLong(v, 1, 86400, &timeout_sec);
    else if (arg == "--rendezvous") rendezvous = v;
    else if (arg == "--address") address = v;
    else {
      std::fprintf(stderr, "shoal-train: unknown flag %s (see --help)\n", arg.c_str());
      return 2;
    }
    if (!ok) {
      std::fprintf(stderr, "shoal-train: bad value \"%s\" for %s\n", v, arg.c_str());
      return 2;
    }
  }
  if (spec_path.empty()) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  if (rank >= world) {
    std::fprintf(stderr, "shoal-train: --rank %ld must be below --world-size %ld\n", rank, world);
    return 2;
  }
  auto spec = LoadJobSpecFile(spec_path);
  if (!spec.ok()) {
    std::fprintf(stderr, "error: %s\n", spec.status().message().c_str());
    return 2;
  }

  std::unique_ptr<Collective> collective;
  std::unique_ptr<HttpKvStore> store;
  if (world == 1) {
    collective = MakeSingleRankCollective();
  } else {
    if (rendezvous.empty()) {
      std::fprintf(stderr, "shoal-train: --rendezvous is required when --world-size > 1\n");
      return 2;
    }
    store = std::make_unique<HttpKvStore>(rendezvous, std::chrono::seconds(timeout_sec));
    GlooOptions gloo;
    gloo.address = address;
    gloo.timeout = std::chrono::seconds(timeout_sec);
    auto made = MakeGlooCollective(static_cast<int>(rank), static_cast<int>(world), *store, gloo);
    if (!made.ok()) {
      std::fprintf(stderr, "error: %s\n", made.status().message().c_str());
      return ExitCodeFor(made.status());
    }
    collective = std::move(made).value();
  }

  TrainerOptions options;
  options.threads = static_cast<int>(threads);
  options.max_steps = max_steps;
  auto result = Train(*spec, *collective, options, std::cout);
  std::cout.flush();
  if (!result.ok()) {
    std::fprintf(stderr, "error: %s\n", result.status().message().c_str());
    return ExitCodeFor(result.status());
  }
  return 0;
}
