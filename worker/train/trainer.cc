#include "worker/train/trainer.h"

#include <chrono>
#include <cmath>
#include <iomanip>
#include <memory>
#include <optional>
#include <ostream>
#include <random>
#include <sstream>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>

#include "common/wire/trainer_report.h"
#include "data/dataset.h"
#include "kernels/cpu/reduce.h"
#include "worker/train/audit_session.h"
#include "worker/train/checkpoint.h"
#include "worker/train/engines/engine_factory.h"
#include "worker/train/lr_schedule.h"

namespace shoal {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// The epoch's sample order, identical on every rank: Fisher-Yates driven by a 64-bit Mersenne
// twister with a plain modulo (std::shuffle's distribution is implementation-defined).
std::vector<int64_t> EpochOrder(int64_t n, uint64_t seed, int epoch, bool shuffle) {
  std::vector<int64_t> order(n);
  for (int64_t i = 0; i < n; ++i) order[i] = i;
  if (!shuffle) return order;
  std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(epoch) + 1);
  for (int64_t i = n - 1; i > 0; --i) {
    int64_t j = static_cast<int64_t>(rng() % static_cast<uint64_t>(i + 1));
    std::swap(order[i], order[j]);
  }
  return order;
}

// A report for shoal-worker as an "@shoal {json}" line, or, for a person running shoal-train,
// a readable line for the reports that no other line already covers (checkpoints, the result;
// progress is the per-epoch line).
void Report(std::ostream& out, bool json, const nlohmann::json& j) {
  if (json) {
    out << wire::ReportLine(j) << std::endl;
    return;
  }
  const std::string type = j.value("type", "");
  if (type == "checkpoint") {
    out << "checkpoint at step " << j["step"].get<int64_t>() << ": " << j["path"].get<std::string>()
        << " (" << j["bytes"].get<int64_t>() << " bytes)" << std::endl;
  } else if (type == "result") {
    std::ostringstream line;  // not `out`, whose number format the caller owns
    line << std::fixed << std::setprecision(4) << "rank " << j["rank"].get<int>() << " "
         << (j["stopped"].get<bool>() ? "stopped" : "done") << " after "
         << j["steps"].get<int64_t>() << " steps: test acc " << j["testAccuracy"].get<double>()
         << ", parameter checksum " << j["paramChecksum"].get<std::string>();
    out << line.str() << std::endl;
  }
}

Status LoadData(const JobSpec& spec, Dataset* train, Dataset* test) {
  if (spec.model.is_gpt()) {
    // Token windows: the ids are the features, never normalized.
    const JobSpec::Model& m = spec.model;
    ASSIGN_OR_RETURN(*train, LoadTokenWindows(spec.data.train, m.context_length, m.vocab_size));
    if (!spec.data.test.empty()) {
      ASSIGN_OR_RETURN(*test, LoadTokenWindows(spec.data.test, m.context_length, m.vocab_size));
    }
    return Status::Ok();
  }
  ASSIGN_OR_RETURN(*train, LoadDataset(spec.data.train, spec.data.format));
  if (!spec.data.test.empty()) {
    ASSIGN_OR_RETURN(*test, LoadDataset(spec.data.test, spec.data.format));
  }
  const int in = spec.model.layers.front(), classes = spec.model.layers.back();
  for (const Dataset* d : {train, test}) {
    if (d->size == 0 && d == test) continue;
    const char* which = d == train ? "data.train" : "data.test";
    if (d->dim != in) {
      return InvalidArgument(std::string(which) + " has " + std::to_string(d->dim) +
                             " features per sample but model.layers[0] is " + std::to_string(in));
    }
    if (d->num_classes > classes) {
      return InvalidArgument(std::string(which) + " has labels up to " +
                             std::to_string(d->num_classes - 1) + " but the model has only " +
                             std::to_string(classes) + " outputs");
    }
  }
  if (spec.data.normalize) {
    FeatureStats stats = ComputeStats(*train);
    ApplyNormalization(stats, train);
    if (test->size > 0) ApplyNormalization(stats, test);
  }
  return Status::Ok();
}

// Test loss and accuracy over the first `limit` samples of the test set (all of it when limit is 0
// or larger), each rank evaluating a contiguous shard and the sums all-reduced.
Status Evaluate(StepEngine& engine, const Dataset& test, int64_t limit, Collective& coll,
                double* loss, double* accuracy) {
  const int64_t size = limit > 0 ? std::min(limit, test.size) : test.size;
  const int64_t per_rank = (size + coll.size() - 1) / coll.size();
  const int64_t begin = std::min<int64_t>(size, per_rank * coll.rank());
  const int64_t end = std::min<int64_t>(size, begin + per_rank);
  double sums[2] = {0, 0};  // loss sum, correct
  // Rows per forward: a token window's activations are T times a feature row's (and attention's
  // T^2), so windows go 16 at a time.
  const int64_t kChunk = test.label_width > 1 ? 16 : 1024;
  for (int64_t i = begin; i < end; i += kChunk) {
    int n = static_cast<int>(std::min(kChunk, end - i));
    double loss_sum = 0;
    int64_t correct = 0;
    RETURN_IF_ERROR(engine.Evaluate(test.features.data() + i * test.dim,
                                    test.labels.data() + i * test.label_width, n, &loss_sum,
                                    &correct));
    sums[0] += loss_sum;
    // Accuracy per label: a token window counts the share of its positions predicted right.
    sums[1] += static_cast<double>(correct) / static_cast<double>(test.label_width);
  }
  RETURN_IF_ERROR(coll.AllReduceSum(sums, 2));
  *loss = sums[0] / static_cast<double>(size);
  *accuracy = sums[1] / static_cast<double>(size);
  return Status::Ok();
}

// Rank 0's checkpoint writer: ckpt-<step>.safetensors in the directory, the newest `keep` kept.
class Checkpointer {
 public:
  Checkpointer(const JobSpec& spec, const TrainerOptions& options, int rank)
      : spec_(spec),
        dir_(rank == 0 ? options.checkpoint_dir : ""),
        json_(options.progress_json),
        every_seconds_(options.checkpoint_every_seconds > 0 ? options.checkpoint_every_seconds
                                                            : spec.checkpoint.every_seconds),
        last_(Clock::now()) {}

  bool enabled() const { return !dir_.empty(); }
  int64_t last_step() const { return last_step_; }

  // Whether the periodic schedule asks for one after `step`.
  bool Due(int64_t step) const {
    if (!enabled()) return false;
    const int64_t every_steps = spec_.checkpoint.every_steps;
    if (every_steps > 0 && step % every_steps == 0) return true;
    return every_seconds_ > 0 && Seconds(last_, Clock::now()) >= every_seconds_;
  }

  // Writes `ckpt`, whose state was saved from t0 on.
  Status Write(const Checkpoint& ckpt, Clock::time_point t0, std::ostream& out) {
    if (!enabled()) return Status::Ok();
    const TrainPosition& position = ckpt.position;
    std::error_code ec;
    std::filesystem::create_directories(dir_, ec);
    char name[64];
    std::snprintf(name, sizeof(name), "ckpt-%012lld.safetensors",
                  static_cast<long long>(position.step));
    const std::string path = std::filesystem::absolute(std::filesystem::path(dir_) / name).string();
    RETURN_IF_ERROR(WriteCheckpoint(path, spec_, ckpt));
    last_ = Clock::now();
    last_step_ = position.step;
    const auto bytes = std::filesystem::file_size(path, ec);
    Prune();
    Report(out, json_,
           wire::ToJson(wire::CheckpointReport{.path = path,
                                               .step = position.step,
                                               .epoch = position.epoch,
                                               .bytes = ec ? 0 : static_cast<int64_t>(bytes),
                                               .seconds = Seconds(t0, last_)}));
    return Status::Ok();
  }

 private:
  void Prune() {
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir_, ec)) {
      const std::string n = e.path().filename().string();
      if (n.rfind("ckpt-", 0) == 0 && n.size() > 12 &&
          n.compare(n.size() - 12, 12, ".safetensors") == 0) {
        names.push_back(n);
      }
    }
    std::sort(names.begin(), names.end());  // zero-padded steps: oldest first
    for (size_t i = 0; i + spec_.checkpoint.keep < names.size(); ++i) {
      std::filesystem::remove(std::filesystem::path(dir_) / names[i], ec);
    }
  }

  const JobSpec& spec_;
  std::string dir_;
  bool json_;
  int every_seconds_;  // the schedule's seconds: the scheduler's override, else the spec's
  Clock::time_point last_;
  int64_t last_step_ = -1;
};

bool StopRequested(const TrainerOptions& options) {
  return options.stop_requested != nullptr && options.stop_requested->load();
}

}  // namespace

int ExitCodeFor(const Status& status) {
  switch (status.code()) {
    case StatusCode::kOk:
      return kTrainOk;
    case StatusCode::kInvalidArgument:
    case StatusCode::kNotFound:
      return kTrainBadInput;
    case StatusCode::kAborted:
      if (status.message().starts_with(kAuditDisputeMessage)) return kTrainAuditDispute;
      return kTrainPeerFailed;
    case StatusCode::kUnavailable:
    case StatusCode::kDeadlineExceeded:
      return kTrainPeerFailed;
    default:
      return kTrainError;
  }
}

Result<Backend> ResolveBackend(const JobSpec& spec, Collective& coll, const TrainerOptions& options,
                               std::ostream& out) {
  const Backend asked = spec.resources.backend;
  if (asked == Backend::kCpu) return Backend::kCpu;
  std::string why = "this shoal-train was built without CUDA";
  const bool built = static_cast<bool>(options.make_cuda_engine);
  bool usable = built && options.cuda_usable && options.cuda_usable(&why);
  if (asked == Backend::kCuda) {
    if (!built) return InvalidArgument("resources.backend cuda: " + why);
    return Backend::kCuda;  // a missing device is reported by the engine with CUDA's reason
  }
  // auto: cuda only if every rank can, so that all ranks run the same collectives.
  double ranks_with_gpu = usable ? 1 : 0;
  RETURN_IF_ERROR(coll.AllReduceSum(&ranks_with_gpu, 1));
  const bool all = ranks_with_gpu == static_cast<double>(coll.size());
  if (coll.rank() == 0) {
    if (all) {
      out << "backend auto: cuda" << std::endl;
    } else if (usable || ranks_with_gpu > 0) {
      out << "backend auto: cpu (" << ranks_with_gpu << " of " << coll.size()
          << " ranks have a usable GPU)" << std::endl;
    } else {
      out << "backend auto: cpu (" << why << ")" << std::endl;
    }
  }
  return all ? Backend::kCuda : Backend::kCpu;
}

namespace {

// One rank's run of Train(): set up (backend, data, engine, resume), then epochs of steps, then
// the final checkpoint and result. Its members are the state the steps share.
class TrainRun {
 public:
  TrainRun(const JobSpec& spec, Collective& coll, const TrainerOptions& options, std::ostream& out)
      : spec_(spec),
        coll_(coll),
        options_(options),
        out_(out),
        rank_(coll.rank()),
        world_(coll.size()) {}

  Result<TrainResult> Run() {
    RETURN_IF_ERROR(Setup());
    for (int epoch = pos_.epoch; epoch <= spec_.training.epochs && !stop_; ++epoch) {
      StartEpoch(epoch);
      RETURN_IF_ERROR(RunSteps(epoch));
      if (result_.stopped) {
        // Stopped at a step boundary (or a peer left first): checkpoint what is complete.
        SyncEpochTime();
        RETURN_IF_ERROR(SaveCheckpoint());
        break;
      }
      RETURN_IF_ERROR(EndEpoch(epoch));
    }
    return Finish();
  }

 private:
  // Backend, data, the resume checkpoint and the engine; restores the position when resuming.
  Status Setup() {
    ASSIGN_OR_RETURN(Backend backend, ResolveBackend(spec_, coll_, options_, out_));
    RETURN_IF_ERROR(LoadData(spec_, &train_, &test_));
    batch_ = spec_.training.batch_size;
    micro_batches_ = spec_.training.grad_accumulation;
    rank_rows_ = batch_ * micro_batches_;
    global_batch_ = rank_rows_ * world_;
    steps_per_epoch_ = train_.size / global_batch_;
    if (steps_per_epoch_ == 0) {
      return InvalidArgument("data.train has " + std::to_string(train_.size) +
                             " samples, fewer than one global batch (" +
                             std::to_string(global_batch_) + " = batchSize x " +
                             std::to_string(world_) + " ranks x " + std::to_string(micro_batches_) +
                             " gradAccumulation)");
    }
    total_steps_ = steps_per_epoch_ * spec_.training.epochs;
    if (spec_.training.eval_batches > 0) {
      eval_limit_ = int64_t{spec_.training.eval_batches} * batch_ * world_;
    }
    // A resume checkpoint is read before the engine exists: reading holds the file and its parsed
    // copy at once (24 B per parameter), and the engine's buffers (16 B per parameter) come only
    // after the file is freed, so the peak stays within common/memory_estimate.h's 28 B.
    std::optional<Checkpoint> resume;
    if (!options_.resume_from.empty()) {
      ASSIGN_OR_RETURN(resume, ReadCheckpoint(options_.resume_from, spec_,
                                              CheckpointDataBytes(spec_) + (16 << 20)));
    }
    // model.init only starts a run: a restarted attempt continues from its own checkpoint, which
    // already descends from those weights. Every rank reads the same file, so parameters agree.
    std::optional<ModelWeights> init;
    if (!spec_.model.init.empty()) {
      if (resume) {
        if (rank_ == 0) {
          out_ << "model.init " << spec_.model.init << " not loaded: resuming from "
               << options_.resume_from << " takes precedence" << std::endl;
        }
      } else {
        ASSIGN_OR_RETURN(init, ReadModelWeights(spec_.model.init, spec_));
      }
    }
    EngineConfig engine_config{&spec_,
                               std::max(1, options_.threads),
                               options_.bucket_bytes,
                               options_.device,
                               options_.timeout_sec,
                               options_.reduce_on_host || options_.audit_plan.has_value()};
    ASSIGN_OR_RETURN(engine_, MakeEngine(backend, engine_config, coll_, options_.make_cuda_engine));
    RETURN_IF_ERROR(SetupAudits());
    out_ << "rank " << rank_ << "/" << world_ << " on " << engine_->Describe() << ": "
         << train_.size << " train / " << test_.size << " test samples, dim " << train_.dim << ", "
         << steps_per_epoch_ << " steps per epoch, global batch " << global_batch_ << std::endl;
    peak_flops_ = engine_->PeakFlops() * world_;
    xb_.resize(rank_rows_ * train_.dim);
    yb_.resize(rank_rows_ * train_.label_width);
    grad_scale_ = 1.0f / static_cast<float>(global_batch_);
    pos_.world_size = world_;
    if (resume) {
      RETURN_IF_ERROR(engine_->LoadState(resume->state));
      Resumed(resume->position);
    } else if (init) {
      RETURN_IF_ERROR(Initialize(std::move(*init)));
    }
    // The checkpoint schedule and the progress reports count from here, once set up.
    checkpointer_.emplace(spec_, options_, rank_);
    last_report_ = Clock::now();
    return Status::Ok();
  }

  // The attempt's audit plan (docs/audits.md), when it has one.
  Status SetupAudits() {
    ASSIGN_OR_RETURN(cheat_, ParseCheatMode(options_.cheat));
    if (!options_.audit_plan) {
      if (cheat_.kind != CheatMode::kNone) {
        return InvalidArgument("--cheat needs an audit plan (--audit-plan): it tests audits");
      }
      return Status::Ok();
    }
    const wire::AuditPlan& plan = *options_.audit_plan;
    if (static_cast<int>(plan.rates.size()) != world_ ||
        static_cast<int>(plan.auditors.size()) != world_) {
      return InvalidArgument("the audit plan has " + std::to_string(plan.rates.size()) +
                             " ranks where the job has " + std::to_string(world_));
    }
    const std::string config = engine_->ComputeConfig();
    if (config.empty()) {
      return InvalidArgument(engine_->Describe() + " does not take part in audits yet");
    }
    audit_ = std::make_unique<AuditSession>(
        plan, coll_, config, cheat_,
        [this](const nlohmann::json& j) { Report(out_, options_.progress_json, j); }, out_);
    // Every rank: which configurations meet decides hashes or sketches (docs/audits.md).
    out_ << "rank " << rank_ << " audits on: " << config << std::endl;
    return Status::Ok();
  }

  // Replaces the seed's weights by model.init's, with a fresh optimizer (zero moments, as a new
  // engine has) at step 0.
  Status Initialize(ModelWeights weights) {
    const size_t n = weights.params.size();
    EngineState state;
    state.params = std::move(weights.params);
    state.state_a.assign(n, 0.f);
    state.state_b.assign(n, 0.f);
    RETURN_IF_ERROR(engine_->LoadState(state));
    if (rank_ == 0) {
      out_ << "initialized from " << spec_.model.init << ": " << weights.tensors << " tensors";
      if (weights.ignored > 0) out_ << " (" << weights.ignored << " others ignored)";
      out_ << std::endl;
    }
    return Status::Ok();
  }

  // Continues from a checkpoint's position (the engine already holds its state).
  void Resumed(const TrainPosition& position) {
    pos_ = position;
    result_.resumed_step = pos_.step;
    if (rank_ == 0) {
      out_ << "resumed from " << options_.resume_from << ": step " << pos_.step << ", epoch "
           << pos_.epoch << ", " << pos_.epoch_samples << " samples into it"
           << (pos_.world_size != world_
                   ? " (written by " + std::to_string(pos_.world_size) +
                         " ranks: the data position is rounded to this world's global batch)"
                   : "")
           << std::endl;
    }
    if (pos_.world_size != world_) {
      pos_.epoch_samples = pos_.epoch_samples / global_batch_ * global_batch_;
      pos_.world_size = world_;
    }
  }

  void StartEpoch(int epoch) {
    order_ = EpochOrder(train_.size, spec_.training.seed, epoch, spec_.data.shuffle);
    if (epoch != pos_.epoch) {  // a fresh epoch (the resumed one keeps its sums)
      pos_.epoch = epoch;
      pos_.epoch_samples = 0;
      pos_.epoch_loss = pos_.epoch_correct = pos_.epoch_reduce_sec = pos_.epoch_time_sec = 0;
    }
    // Time already spent on this epoch before a resume counts toward its rate.
    epoch_start_ = Clock::now() - std::chrono::duration_cast<Clock::duration>(
                                      std::chrono::duration<double>(pos_.epoch_time_sec));
  }

  void SyncEpochTime() { pos_.epoch_time_sec = Seconds(epoch_start_, Clock::now()); }

  // After a step whose state rank 0 checkpoints: rank 0 writes it, and in an audited attempt
  // every rank first attests the state's digest, so that the scheduler resumes only from
  // checkpoints that ranks of other accounts vouch for (docs/audits.md "Checkpoints").
  Status SaveCheckpoint() {
    const bool attest = audit_ != nullptr && attested_step_ != pos_.step;
    if (!checkpointer_->enabled() && !attest) return Status::Ok();
    const auto t0 = Clock::now();
    Checkpoint ckpt;
    ckpt.position = pos_;
    ASSIGN_OR_RETURN(ckpt.state, engine_->SaveState());
    if (cheat_.kind == CheatMode::kForge && checkpointer_->enabled()) {
      for (float& p : ckpt.state.params) p += 0.01f;  // and attests the forgery's digest
    }
    if (attest) {
      ASSIGN_OR_RETURN(std::string digest, CheckpointDigest(spec_, ckpt));
      Report(out_, options_.progress_json,
             wire::ToJson(wire::Attestation{pos_.step, rank_, std::move(digest)}));
      attested_step_ = pos_.step;
    }
    return checkpointer_->Write(ckpt, t0, out_);
  }

  // The epoch's remaining steps; sets stop_ at --max-steps and result_.stopped when told to stop.
  Status RunSteps(int epoch) {
    for (int64_t s = pos_.epoch_samples / global_batch_; s < steps_per_epoch_; ++s) {
      // Audited ranks stop together, one step later: the request rides in the step's side band
      // (AuditSession::StopsAfter).
      if (StopRequested(options_) && !audit_) {
        result_.stopped = true;
        return Status::Ok();
      }
      // This rank's rows of the global batch: its micro-batches, one after another.
      const int64_t begin = s * global_batch_ + rank_ * rank_rows_;
      GatherBatch(train_, order_, begin, begin + rank_rows_, xb_.data(), yb_.data());
      StepInput in;
      in.x = xb_.data();
      in.y = yb_.data();
      in.batch = static_cast<int>(batch_);
      in.dim = train_.dim;
      in.label_width = train_.label_width;
      in.micro_batches = micro_batches_;
      in.grad_scale = grad_scale_;
      in.step = pos_.step + 1;
      // The schedule is a function of the step alone, so a resumed run continues it exactly.
      lr_ = LearningRate(spec_.optimizer, in.step, total_steps_);
      in.lr = static_cast<float>(lr_);
      in.clip_norm = static_cast<float>(spec_.training.clip_grad_norm);
      // Decided before the step, so that rank 0's word reaches every audited rank in the step's
      // side band (AuditSession::Prepare).
      const bool checkpoint_due = checkpointer_->Due(in.step);
      if (audit_) {
        audit_->Prepare(
            in,
            [this, s](int q, StepInput* other) {
              const int64_t from = s * global_batch_ + q * rank_rows_;
              audit_xb_.resize(xb_.size());
              audit_yb_.resize(yb_.size());
              GatherBatch(train_, order_, from, from + rank_rows_, audit_xb_.data(),
                          audit_yb_.data());
              other->x = audit_xb_.data();
              other->y = audit_yb_.data();
            },
            checkpoint_due, StopRequested(options_));
        in.audit = audit_.get();
      }
      auto stepped = engine_->Step(in);
      if (!stepped.ok()) {
        // Told to stop and a peer already left: the last completed step is still intact.
        // (An audit dispute is Aborted too, and never a stop.)
        if (StopRequested(options_) && ExitCodeFor(stepped.status()) == kTrainPeerFailed) {
          result_.stopped = true;
          return Status::Ok();
        }
        return stepped.status();
      }
      Count(*stepped);
      const int every = spec_.training.eval_every_steps;
      if (every > 0 && test_.size > 0 && pos_.step % every == 0) {
        RETURN_IF_ERROR(EvaluatePeriodically(epoch));
      }
      const auto now = Clock::now();
      if (rank_ == 0 && Seconds(last_report_, now) >= options_.report_every_sec) {
        ReportProgress(epoch, now);
      }
      if (checkpoint_due || (audit_ && audit_->RankZeroCheckpointsAfter(in.step))) {
        SyncEpochTime();
        RETURN_IF_ERROR(SaveCheckpoint());
      }
      if (audit_ && audit_->StopsAfter(in.step)) {
        result_.stopped = true;
        return Status::Ok();
      }
      if (options_.max_steps > 0 && pos_.step >= options_.max_steps) {
        stop_ = true;
        return Status::Ok();
      }
    }
    return Status::Ok();
  }

  void Count(const StepStats& st) {
    ++pos_.step;
    pos_.epoch_reduce_sec += st.reduce_sec;
    pos_.epoch_loss += st.loss_sum;
    // Accuracy per label (a token window's positions), so that it stays a share of samples.
    const double correct = st.correct / static_cast<double>(train_.label_width);
    pos_.epoch_correct += correct;
    pos_.epoch_samples += global_batch_;
    window_loss_ += st.loss_sum;
    window_correct_ += correct;
    window_samples_ += static_cast<double>(global_batch_);
    grad_norm_ = st.grad_norm;
  }

  // training.evalEverySteps: every rank evaluates; rank 0 prints the numbers and sends them in a
  // progress report at once. The evaluation's time is left out of the epoch's throughput.
  Status EvaluatePeriodically(int epoch) {
    const auto t0 = Clock::now();
    double loss = 0, accuracy = 0;
    RETURN_IF_ERROR(Evaluate(*engine_, test_, eval_limit_, coll_, &loss, &accuracy));
    const auto now = Clock::now();
    epoch_start_ += now - t0;
    if (rank_ == 0) {
      std::ostringstream line;
      line << std::fixed << std::setprecision(4) << "step " << pos_.step << ": val loss " << loss
           << " acc " << accuracy;
      out_ << line.str() << std::endl;
      ReportProgress(epoch, now, loss, accuracy);
    }
    return Status::Ok();
  }

  // The rate fields of a report over `samples` in `seconds`: samples/s, tokens/s for a language
  // model, MFU when the device's peak is known, the latest learning rate and gradient norm.
  void FillRates(double samples, double seconds, wire::ProgressReport* report) const {
    report->samples_per_sec = samples / seconds;
    if (spec_.model.is_gpt()) {
      report->tokens_per_sec = report->samples_per_sec * static_cast<double>(train_.label_width);
    }
    if (peak_flops_ > 0) {
      report->mfu = report->samples_per_sec * ModelFlopsPerSample(spec_.model) / peak_flops_;
    }
    report->lr = lr_;
    report->grad_norm = grad_norm_;
  }

  // Rank 0's periodic progress report over the steps since the last one (at least the step just
  // counted), with the evaluation just made when there is one.
  void ReportProgress(int epoch, Clock::time_point now, std::optional<double> test_loss = {},
                      std::optional<double> test_accuracy = {}) {
    const double elapsed = Seconds(epoch_start_, now);
    wire::ProgressReport report;
    report.epoch = epoch;
    report.epochs = spec_.training.epochs;
    report.step = pos_.step;
    report.steps_per_epoch = steps_per_epoch_;
    report.loss = window_loss_ / window_samples_;
    report.train_accuracy = window_correct_ / window_samples_;
    FillRates(static_cast<double>(pos_.epoch_samples), elapsed, &report);
    report.test_loss = test_loss;
    report.test_accuracy = test_accuracy;
    report.step_sec =
        elapsed * static_cast<double>(global_batch_) / static_cast<double>(pos_.epoch_samples);
    report.all_reduce_sec = pos_.epoch_reduce_sec * static_cast<double>(global_batch_) /
                            static_cast<double>(pos_.epoch_samples);
    Report(out_, options_.progress_json, wire::ToJson(report));
    last_report_ = now;
    window_loss_ = window_correct_ = window_samples_ = 0;
  }

  // The epoch's totals, its test evaluation (every rank) and rank 0's epoch line and report.
  Status EndEpoch(int epoch) {
    SyncEpochTime();
    const double epoch_time = pos_.epoch_time_sec;
    const int64_t epoch_samples = pos_.epoch_samples;
    pos_.train_time_sec += epoch_time;
    pos_.trained_samples += epoch_samples;
    result_.train_loss = pos_.epoch_loss / static_cast<double>(epoch_samples);
    double train_acc = pos_.epoch_correct / static_cast<double>(epoch_samples);
    const double steps_done = static_cast<double>(epoch_samples / global_batch_);
    wire::ProgressReport report;
    report.epoch = epoch;
    report.epochs = spec_.training.epochs;
    report.step = pos_.step;
    report.steps_per_epoch = steps_per_epoch_;
    report.loss = result_.train_loss;
    report.train_accuracy = train_acc;
    FillRates(static_cast<double>(epoch_samples), epoch_time, &report);
    report.step_sec = epoch_time / steps_done;
    report.all_reduce_sec = pos_.epoch_reduce_sec / steps_done;
    report.epoch_done = true;
    std::ostringstream line;
    line << std::fixed << std::setprecision(4) << "epoch " << epoch << "/" << spec_.training.epochs
         << ": train loss " << result_.train_loss << " acc " << train_acc;
    if (test_.size > 0) {
      RETURN_IF_ERROR(Evaluate(*engine_, test_, eval_limit_, coll_, &result_.test_loss,
                               &result_.test_accuracy));
      report.test_loss = result_.test_loss;
      report.test_accuracy = result_.test_accuracy;
      line << " | test loss " << result_.test_loss << " acc " << result_.test_accuracy;
    }
    line << std::setprecision(0) << " | " << report.samples_per_sec << " samples/s";
    if (report.tokens_per_sec) line << ", " << *report.tokens_per_sec << " tokens/s";
    line << std::setprecision(1);
    if (report.mfu) line << ", MFU " << 100.0 * *report.mfu << "%";
    line << " | all-reduce " << 100.0 * pos_.epoch_reduce_sec / epoch_time << "% of step time";
    if (const std::string note = engine_->StepNote(); !note.empty()) line << " " << note;
    if (rank_ == 0) {
      out_ << line.str() << std::endl;
      Report(out_, options_.progress_json, wire::ToJson(report));
    }
    return Status::Ok();
  }

  // The final checkpoint (unless the last periodic one holds the trained model already), the
  // parameter checksum and the result report.
  Result<TrainResult> Finish() {
    if (!result_.stopped && options_.max_steps == 0 && checkpointer_->last_step() != pos_.step) {
      RETURN_IF_ERROR(SaveCheckpoint());
    }
    result_.steps = pos_.step;
    if (audit_) result_.audit_recomputations = audit_->recomputations();
    result_.samples_per_sec = pos_.train_time_sec > 0
                                  ? static_cast<double>(pos_.trained_samples) / pos_.train_time_sec
                                  : 0;
    ASSIGN_OR_RETURN(std::vector<float> params, engine_->Params());
    result_.param_checksum = cpu::Fnv1aChecksum(params.data(), static_cast<int64_t>(params.size()));
    result_.wall_seconds = Seconds(t_start_, Clock::now());
    Report(out_, options_.progress_json,
           wire::ToJson(wire::ResultReport{.rank = rank_,
                                           .param_checksum = result_.param_checksum,
                                           .test_accuracy = result_.test_accuracy,
                                           .test_loss = result_.test_loss,
                                           .train_loss = result_.train_loss,
                                           .samples_per_sec = result_.samples_per_sec,
                                           .steps = result_.steps,
                                           .resumed_step = result_.resumed_step,
                                           .stopped = result_.stopped,
                                           .wall_sec = result_.wall_seconds}));
    return result_;
  }

  const JobSpec& spec_;
  Collective& coll_;
  const TrainerOptions& options_;
  std::ostream& out_;
  const int rank_, world_;
  const Clock::time_point t_start_ = Clock::now();
  Dataset train_, test_;
  int64_t batch_ = 0, global_batch_ = 0, steps_per_epoch_ = 0;
  int micro_batches_ = 1;          // training.gradAccumulation
  int64_t rank_rows_ = 0;          // rows per step of this rank: batchSize x gradAccumulation
  int64_t total_steps_ = 0;        // of the whole run, for the learning-rate schedule
  int64_t eval_limit_ = 0;         // test samples per evaluation (0 = all): evalBatches' bound
  double peak_flops_ = 0;          // of all ranks together; 0 = unknown (no MFU)
  double lr_ = 0, grad_norm_ = 0;  // of the latest update
  std::unique_ptr<StepEngine> engine_;
  std::unique_ptr<AuditSession> audit_;
  CheatMode cheat_;              // a test fault (--cheat)
  int64_t attested_step_ = -1;   // the last step this rank attested the state of
  std::vector<float> audit_xb_;  // another rank's rows, for an audit
  std::vector<int32_t> audit_yb_;
  std::vector<float> xb_;
  std::vector<int32_t> yb_;
  float grad_scale_ = 1;
  std::vector<int64_t> order_;  // this epoch's sample order
  TrainResult result_;
  TrainPosition pos_;  // where training stands; restored from a checkpoint when resuming
  std::optional<Checkpointer> checkpointer_;  // from the end of Setup
  Clock::time_point epoch_start_;
  Clock::time_point last_report_;
  double window_loss_ = 0, window_correct_ = 0, window_samples_ = 0;  // since the last report
  bool stop_ = false;                                                 // --max-steps reached
};

}  // namespace

Result<TrainResult> Train(const JobSpec& spec, Collective& coll, const TrainerOptions& options,
                          std::ostream& out) {
  return TrainRun(spec, coll, options, out).Run();
}

}  // namespace shoal
