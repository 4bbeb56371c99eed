// shoal-train: one rank of a training job. Started by shoal-worker (rank, world size and the
// rendezvous URL on the command line), by `mpirun -np N shoal-train job.yaml` (ranks and the
// all-reduce from MPI, no scheduler), or by hand for a single rank: `shoal-train job.yaml`.
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <new>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/file_util.h"
#include "common/flags.h"
#include "common/spec/job_spec.h"
#include "common/version.h"
#include "worker/train/blas_setup.h"
#include "worker/train/generate.h"
#include "worker/train/launch.h"
#include "worker/train/trainer.h"

using namespace shoal;

namespace {

// Set by SIGTERM/SIGINT; the trainer stops at its next step boundary (TrainerOptions).
std::atomic<bool> g_stop{false};
static_assert(std::atomic<bool>::is_always_lock_free);

void OnStopSignal(int) { g_stop.store(true); }

Result<wire::AuditPlan> ReadAuditPlan(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, ReadFileLimited(path, 1 << 20));
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded()) return InvalidArgument("not JSON");
  return wire::AuditPlanFromJson(j);
}

// shoal-train's command line.
struct TrainFlags {
  std::string spec_path, rendezvous, address = "127.0.0.1", kind = "auto";
  std::string checkpoint_dir, resume_from;
  int checkpoint_every_seconds = 0;
  long rank = 0, world = 1, threads = 1, max_steps = 0, timeout_sec = 60, bucket_kb = 0;
  long device = -1;  // -1: pick (local rank under mpirun, else 0)
  bool progress_json = false;
  // --rank/--world-size/--rendezvous given: the scheduler's launch.
  bool explicit_ranks = false;
  GenerateOptions generate;  // generate.weights set: sample text instead of training
  std::string model_json;    // --generate without JOB: the model section (--model-json)
  std::string audit_plan, cheat;  // docs/audits.md
};

// Parses the command line into *f. Returns an exit code when the process should end (help,
// version, a usage error), std::nullopt when it should train.
std::optional<int> ParseFlags(int argc, char** argv, TrainFlags* f) {
  CLI::App app("shoal-train: one rank of a training job.");
  flags::Configure(app, "shoal-train");
  app.footer(flags::Wrap(
      "Started by shoal-worker (rank, world size and rendezvous given), by `mpirun -np N "
      "shoal-train JOB.yaml` (rank and world size from MPI), or by hand for a single rank: "
      "`shoal-train JOB.yaml`.\nExit codes: 0 ok, 1 error, 2 bad spec/data/flags or divergence, "
      "3 a peer rank failed, 4 out of memory, 5 an audit dispute (docs/audits.md), 143 stopped by SIGTERM/SIGINT (after rank 0's "
      "checkpoint).\n\n" +
      VersionLine("shoal-train")));
  app.add_option("job", f->spec_path, "the job spec (YAML)")->type_name("JOB.yaml");
  CLI::Option* rank_flag = app.add_option("--rank", f->rank, "this rank")
                               ->type_name("R")
                               ->check(CLI::Range(0L, 1L << 20));
  CLI::Option* world_flag = app.add_option("--world-size", f->world, "number of ranks")
                                ->type_name("N")
                                ->check(CLI::Range(1L, 1L << 20));
  CLI::Option* rendezvous_flag =
      app.add_option("--rendezvous", f->rendezvous,
                     "the scheduler's KV for this attempt (needed when N > 1); the worker passes "
                     "its token in $SHOAL_TOKEN (and a CA in $SHOAL_CA_FILE)")
          ->type_name("URL");
  app.add_option("--address", f->address, "address peers reach this rank on")->type_name("ADDR");
  app.add_option("--threads", f->threads, "compute threads")
      ->type_name("N")
      ->check(CLI::Range(1L, 1024L));
  app.add_option("--max-steps", f->max_steps,
                 "stop after N steps (benchmarks); 0 = the spec's epochs")
      ->type_name("N")
      ->check(CLI::Range(0L, 1L << 40));
  app.add_option("--bucket-kb", f->bucket_kb,
                 "all-reduce gradients in buckets of N KiB while backward runs; 0 = one "
                 "all-reduce after backward, faster on CPU ranks that share cores")
      ->type_name("N")
      ->check(CLI::Range(0L, 1L << 22));
  app.add_option("--timeout-sec", f->timeout_sec, "collective/rendezvous timeout (Gloo and NCCL)")
      ->type_name("S")
      ->check(CLI::Range(1L, 86400L));
  app.add_option("--device", f->device,
                 "CUDA device for the cuda backend (default: the launcher's local rank under "
                 "mpirun, else 0; shoal-worker gives each rank one GPU through "
                 "CUDA_VISIBLE_DEVICES, so 0 is that GPU)")
      ->type_name("N")
      ->default_str("")
      ->check(CLI::Range(0L, 1023L));
  app.add_option("--checkpoint-dir", f->checkpoint_dir,
                 "rank 0 writes checkpoints (safetensors) here, on the job's checkpoint schedule "
                 "and when stopped by SIGTERM/SIGINT (default: none)")
      ->type_name("DIR");
  app.add_option("--checkpoint-every-seconds", f->checkpoint_every_seconds,
                 "checkpoint every N seconds instead of the spec's checkpoint.everySeconds (the "
                 "scheduler's Young/Daly interval; default: the spec's)")
      ->type_name("N")
      ->check(CLI::Range(1, 7 * 86400));
  app.add_option("--resume", f->resume_from,
                 "start from this checkpoint (every rank; default: from the start)")
      ->type_name("FILE");
  app.add_option("--audit-plan", f->audit_plan,
                 "this rank's audit plan (JSON, written by shoal-worker; docs/audits.md)")
      ->type_name("FILE");
  app.add_option("--cheat", f->cheat,
                 "tests only: make this rank misbehave (zero, stale, noise:S, scale:X, skip:P, "
                 "collude, evade, split, split-sent, misclaim, forge); needs --audit-plan")
      ->type_name("MODE");
  app.add_option("--collective", f->kind,
                 "auto, mpi or gloo. auto: mpi when started by mpirun and none of "
                 "--rank/--world-size/--rendezvous is given, gloo when --world-size > 1, else a "
                 "single rank")
      ->type_name("KIND")
      ->check(CLI::IsMember({"auto", "mpi", "gloo"}));
  app.add_option("--generate", f->generate.weights,
                 "instead of training, print text sampled from a gpt's weights (a checkpoint or "
                 "a published model.safetensors of this job's model)")
      ->type_name("WEIGHTS");
  app.add_option("--model-json", f->model_json,
                 "--generate without JOB: the model section as JSON (a model card's "
                 "architecture, as in model-card.json); `shoal models generate` passes it")
      ->type_name("JSON");
  app.add_option("--prompt", f->generate.prompt, "--generate: text to continue")->type_name("TEXT");
  app.add_option("--tokens", f->generate.tokens, "--generate: new tokens (default 200)")
      ->type_name("N");
  app.add_option("--temperature", f->generate.temperature,
                 "--generate: sampling temperature, 0 = greedy (default 1)")
      ->type_name("T");
  app.add_option("--top-k", f->generate.top_k, "--generate: sample among the K likeliest (0 = all)")
      ->type_name("K");
  app.add_option("--sample-seed", f->generate.seed, "--generate: the sampler's seed (default 1)")
      ->type_name("S");
  app.add_option("--gpt2-dir", f->generate.gpt2_dir,
                 "--generate: encoder.json and vocab.bpe for a vocabSize 50257 model (default "
                 "$SHOAL_GPT2_DIR)")
      ->type_name("DIR");
  app.add_flag("--progress-json", f->progress_json,
               "write progress, checkpoint and result reports as \"@shoal {json}\" lines on "
               "stdout, for shoal-worker (default: only human-readable lines)");
  if (std::optional<int> code = flags::Parse(app, argc, argv)) return code;
  if (!f->model_json.empty()) {
    if (f->generate.weights.empty())
      return flags::UsageError(app, "--model-json goes with --generate");
    if (!f->spec_path.empty())
      return flags::UsageError(app, "give JOB.yaml or --model-json, not both");
  } else if (f->spec_path.empty()) {
    return flags::UsageError(app, "a job file (JOB.yaml) is required");
  }
  f->explicit_ranks =
      rank_flag->count() > 0 || world_flag->count() > 0 || rendezvous_flag->count() > 0;
  return std::nullopt;
}

}  // namespace

int main(int argc, char** argv) {
  ReexecWithBestBlasKernels(argv);
  TrainFlags f;
  if (std::optional<int> code = ParseFlags(argc, argv, &f)) return *code;
  std::string& kind = f.kind;
  const long rank = f.rank, world = f.world;
  const bool explicit_ranks = f.explicit_ranks;
  if (rank >= world) {
    std::fprintf(stderr, "shoal-train: --rank %ld must be below --world-size %ld\n", rank, world);
    return 2;
  }

  // Explicit ranks win: shoal-worker always passes them, and a worker that was itself started
  // under mpirun hands its OMPI_* environment down to the trainers it spawns.
  const MpiLaunch launch = explicit_ranks ? MpiLaunch{} : DetectMpiLaunch();
  Result<std::string> resolved = ResolveCollectiveKind(kind, explicit_ranks, world, launch);
  if (!resolved.ok()) {
    std::fprintf(stderr, "shoal-train: %s\n", resolved.status().message().c_str());
    return 2;
  }
  kind = *resolved;

  // The spec is checked before MPI starts, so a bad spec fails every rank alike and fast.
  auto spec = f.model_json.empty() ? LoadJobSpecFile(f.spec_path) : SpecForModel(f.model_json);
  if (!spec.ok()) {
    std::fprintf(stderr, "error: %s\n", spec.status().message().c_str());
    return 2;
  }

  if (!f.generate.weights.empty()) {
    Result<std::string> text = Generate(*spec, f.generate);
    if (!text.ok()) {
      std::fprintf(stderr, "error: %s\n", text.status().message().c_str());
      return 2;
    }
    std::cout << *text << std::endl;
    return 0;
  }

  if (kind == "gloo" && f.rendezvous.empty()) {
    std::fprintf(stderr, "shoal-train: --rendezvous is required when --world-size > 1\n");
    return 2;
  }
  Result<JoinedRanks> ranks =
      JoinRanks({kind, rank, world, f.rendezvous, f.address, f.timeout_sec}, launch);
  if (!ranks.ok()) {
    std::fprintf(stderr, "error: %s\n", ranks.status().message().c_str());
    return ExitCodeFor(ranks.status());
  }
  Collective& collective = *ranks->collective;

  TrainerOptions options;
  options.threads = static_cast<int>(f.threads);
  options.max_steps = f.max_steps;
  options.bucket_bytes = static_cast<int64_t>(f.bucket_kb) * 1024;
  options.timeout_sec = static_cast<double>(f.timeout_sec);
  UseBuiltInEngines(kind, f.device, &options);
  options.checkpoint_dir = f.checkpoint_dir;
  options.checkpoint_every_seconds = f.checkpoint_every_seconds;
  options.resume_from = f.resume_from;
  options.stop_requested = &g_stop;
  options.progress_json = f.progress_json;
  options.cheat = f.cheat;
  if (!f.audit_plan.empty()) {
    Result<wire::AuditPlan> plan = ReadAuditPlan(f.audit_plan);
    if (!plan.ok()) {
      std::fprintf(stderr, "error: --audit-plan %s: %s\n", f.audit_plan.c_str(),
                   plan.status().message().c_str());
      EndMpi(*ranks, plan.status());
      return kTrainBadInput;
    }
    options.audit_plan = std::move(*plan);
  }
  struct sigaction sa {};
  sa.sa_handler = OnStopSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  // An allocation that fails (a model or data set larger than the memory this process may use:
  // RLIMIT_AS, a cgroup without swap, no overcommit) is the job's fault, told apart by its exit
  // code so that the scheduler does not retry it elsewhere.
  Result<TrainResult> result = Internal("not run");
  try {
    result = Train(*spec, collective, options, std::cout);
  } catch (const std::bad_alloc&) {
    std::cout.flush();
    std::fprintf(stderr,
                 "error: out of memory: an allocation failed (the job's model, batch or "
                 "data set needs more memory than this rank may use)\n");
    return kTrainOutOfMemory;
  }
  std::cout.flush();
  if (!result.ok()) {
    std::fprintf(stderr, "error: %s\n", result.status().message().c_str());
    EndMpi(*ranks, result.status());
    return ExitCodeFor(result.status());
  }
  EndMpi(*ranks, Status::Ok());
  return result->stopped ? kTrainStopped : kTrainOk;
}
