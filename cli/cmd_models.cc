// What only `shoal models` has (docs/registry.md, "Model library"): publish, which stores a
// succeeded job's newest checkpoint and card as a version of a model, generate, which samples text
// from a gpt version pulled into a local cache, and the model card's lines in show. The other
// actions are cli/cmd_data.cc's, shared with `shoal data`.
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli/child_process.h"
#include "cli/cmd_registry.h"
#include "cli/exit_codes.h"
#include "cli/format.h"
#include "cli/json_get.h"
#include "cli/progress.h"
#include "cli/registry_transfer.h"
#include "cli/transfer_progress.h"
#include "common/registry/manifest.h"

namespace shoal::cli {

namespace {

// A publish chunks and stores the checkpoint before it answers: more than a plain call's 10 s.
constexpr std::chrono::minutes kPublishTimeout(2);

// "mlp 784-32-10, relu, cross_entropy loss" from the spec's model section.
std::string Architecture(const json& model) {
  if (GetString(model, "kind") == "gpt") {
    // "gpt: 2 layers, 4 heads, embedDim 64, context 64, vocabulary 256"
    return "gpt: " + std::to_string(GetInt(model, "layers")) + " layers, " +
           std::to_string(GetInt(model, "heads")) + " heads, embedDim " +
           std::to_string(GetInt(model, "embedDim")) + ", context " +
           std::to_string(GetInt(model, "contextLength")) + ", vocabulary " +
           std::to_string(GetInt(model, "vocabSize"));
  }
  std::string layers;
  for (const json& l : GetArray(model, "layers")) {
    layers += (layers.empty() ? "" : "-") + (l.is_number() ? l.dump() : "?");
  }
  std::string text = GetString(model, "kind");
  if (!layers.empty()) text += (text.empty() ? "" : " ") + layers;
  if (!GetString(model, "activation").empty()) text += ", " + GetString(model, "activation");
  if (!GetString(model, "loss").empty()) text += ", " + GetString(model, "loss") + " loss";
  return text;
}

// A model card's architecture is a gpt's: the only kind `generate` samples from.
Status CheckGpt(const std::string& what, const json& architecture) {
  const std::string kind = GetString(architecture, "kind");
  if (kind == "gpt") return Status::Ok();
  return InvalidArgument(what + " is " +
                         (kind.empty() ? "of no known kind" : "an " + kind + " model") +
                         ": 'shoal models generate' samples text from gpt models only");
}

// The cache directory of a version: CACHE/models/ACCOUNT/NAME/DIGEST. Digests name content, so a
// directory there is never replaced by different bytes under the same name. The scheduler's words
// become path components only when they cannot climb out of CACHE: Internal otherwise.
Result<std::string> CacheDir(const CommandContext& ctx, const Named& n, const std::string& digest) {
  const bool hex =
      digest.size() == 64 && digest.find_first_not_of("0123456789abcdef") == std::string::npos;
  if (!hex || !IsDnsLabel(n.ref.account) || !IsDnsLabel(n.ref.name)) {
    return Internal("malformed reply for " + n.key + ": not an account, name or digest (\"" +
                    digest + "\")");
  }
  return ctx.env().cache_dir + "/models/" + n.ref.account + "/" + n.ref.name + "/" + digest;
}

// Makes `dir` hold the version of `digest` (verified): kept when a scan of it gives that digest,
// else pulled into a sibling directory (named with this process's id) that then replaces it, so
// an interrupted pull never leaves a directory of that name behind and two concurrent runs do
// not write into one directory. Errors as PullVersion's, and FailedPrecondition for the
// local file system's.
Status EnsureCached(const CommandContext& ctx, const Named& n, const std::string& version,
                    const std::string& digest, const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  auto holds_version = [&] {
    if (!fs::is_directory(dir, ec)) return false;
    Result<Manifest> held = ScanPath(dir);
    return held.ok() && ManifestDigest(*held) == digest;
  };
  if (holds_version()) return Status::Ok();
  const std::string partial = dir + ".partial-" + std::to_string(getpid());
  fs::remove_all(partial, ec);
  // The bar only on a terminal: stdout and stderr of a script stay the text and its errors.
  const bool tty = ctx.env().stderr_is_tty;
  TransferProgress progress(ctx.err(), tty, "pull", tty && !ctx.json_output());
  TransferOptions options;
  options.progress = [&](int64_t done, int64_t total) { progress.Update(done, total); };
  Result<PullStats> pulled = PullVersion(ctx.client(), n.path, version, partial, options);
  progress.Finish();
  if (pulled.ok() && pulled->digest != digest) {
    // The version's content is immutable: another digest means the card and the bytes disagree.
    pulled = Internal(n.key + "@" + version + " arrived with digest " + pulled->digest +
                      ", but its card says " + digest);
  }
  if (!pulled.ok()) {
    fs::remove_all(partial, ec);
    return pulled.status();
  }
  // Another generate may have put the version there meanwhile: it stays, being complete.
  if (holds_version()) {
    fs::remove_all(partial, ec);
    return Status::Ok();
  }
  fs::remove_all(dir, ec);
  fs::rename(partial, dir, ec);
  if (ec) {
    fs::remove_all(partial, ec);
    return FailedPrecondition("cannot move the pulled model into " + dir + ": " + ec.message());
  }
  return Status::Ok();
}

Result<json> ReadJsonFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return FailedPrecondition("cannot read " + path);
  std::stringstream text;
  text << in.rdbuf();
  json j = json::parse(text.str(), nullptr, false);
  if (!j.is_object()) return Internal(path + " is not a JSON object");
  return j;
}

}  // namespace

int GenerateFromModel(const CommandContext& ctx) {
  const CliArgs& args = ctx.args();
  if (ctx.env().cache_dir.empty()) {
    ctx.err() << "shoal models generate: no cache directory for the pulled model (set "
                 "XDG_CACHE_HOME or HOME)\n";
    return kExitUsage;
  }
  Result<Named> n = Resolve(ctx, args.positional[1], VersionRule::kOptional);
  if (!n.ok()) return ctx.Fail(n.status());
  Result<json> card = ctx.Call("GET", n->path);
  if (!card.ok()) return FailOn(ctx, card.status(), *n);
  const json* entry = FindVersion(*card, n->ref.version);
  if (entry == nullptr) {
    ctx.err() << "shoal: " << n->key << " has "
              << (n->ref.version.empty() ? "no versions" : "no version " + n->ref.version)
              << " ('shoal models show " << n->ref.name << "' lists them)\n";
    return kExitNotFound;
  }
  const std::string version = GetString(*entry, "version");
  const std::string digest = GetString(*entry, "digest");
  const std::string what = n->key + "@" + version;
  // The card's architecture is that of the latest publish: refuse another kind before pulling.
  if (entry == Latest(*card)) {
    const Status gpt = CheckGpt(what, GetObject(GetObject(*card, "card"), "architecture"));
    if (!gpt.ok()) return ctx.Fail(gpt);
  }
  Result<std::string> cache_dir = CacheDir(ctx, *n, digest);
  if (!cache_dir.ok()) return ctx.Fail(cache_dir.status());
  const std::string& dir = *cache_dir;
  if (Status cached = EnsureCached(ctx, *n, version, digest, dir); !cached.ok()) {
    if (cached.code() == StatusCode::kFailedPrecondition) {
      ctx.err() << "shoal models generate: " << cached.message() << "\n";
      return kExitUsage;
    }
    return ctx.Fail(cached, what + " not found");
  }
  // The version's own card says what its weights are.
  Result<json> version_card = ReadJsonFile(dir + "/model-card.json");
  if (!version_card.ok()) return ctx.Fail(version_card.status());
  const json& architecture = GetObject(*version_card, "architecture");
  if (Status gpt = CheckGpt(what, architecture); !gpt.ok()) return ctx.Fail(gpt);

  const std::string train = ctx.env().train_bin.empty() ? "shoal-train" : ctx.env().train_bin;
  std::vector<std::string> argv = {train,
                                   "--generate",
                                   dir + "/model.safetensors",
                                   "--model-json",
                                   architecture.dump(),
                                   "--prompt",
                                   args.prompt,
                                   "--tokens",
                                   std::to_string(args.gen_tokens),
                                   "--temperature",
                                   args.temperature,
                                   "--top-k",
                                   std::to_string(args.top_k),
                                   "--sample-seed",
                                   std::to_string(args.seed)};
  if (!args.gpt2_dir.empty()) argv.insert(argv.end(), {"--gpt2-dir", args.gpt2_dir});
  Result<ChildResult> ran = RunChild(argv);
  if (!ran.ok()) {
    ctx.err() << "shoal models generate: " << ran.status().message()
              << " (shoal-train samples the text: install it beside shoal or on PATH)\n";
    return kExitUsage;
  }
  ctx.err() << ran->stderr_text;
  if (ran->exit_code != 0) {
    ctx.err() << "shoal models generate: shoal-train exited with " << ran->exit_code << "\n";
    return ran->exit_code == kExitUsage ? kExitUsage : kExitJobFailed;
  }
  if (ctx.json_output()) {
    std::string text = ran->stdout_text;
    if (!text.empty() && text.back() == '\n') text.pop_back();  // shoal-train ends with a newline
    ctx.PrintJson(
        json{{"model", n->key}, {"version", version}, {"digest", digest}, {"text", text}});
    return kExitOk;
  }
  ctx.out() << ran->stdout_text;
  return kExitOk;
}

void PrintModelCard(const CommandContext& ctx, const json& card) {
  PrintCardField(ctx, "architecture:", Architecture(GetObject(card, "architecture")));
  // One line per dataset the job pinned; a job that read files of its workers pinned none.
  const json& datasets = GetArray(card, "datasets");
  if (datasets.empty()) PrintCardField(ctx, "trained on:", "no registry dataset (workers' files)");
  bool first = true;
  for (const json& d : datasets) {
    const std::string kind = GetString(d, "kind", "datasets");
    PrintCardField(ctx, first ? "trained on:" : "",
                   kind + "/" + GetString(d, "account") + "/" + GetString(d, "name") + "@" +
                       GetString(d, "version") + " (digest " +
                       GetString(d, "digest").substr(0, kShortDigest) + ")");
    first = false;
  }
  const int64_t job = GetInt(card, "job");
  const std::string job_name = GetString(card, "jobName");
  PrintCardField(
      ctx,
      "job:", job > 0 ? std::to_string(job) + (job_name.empty() ? "" : " (" + job_name + ")") : "");
  const json& metrics = GetObject(card, "metrics");
  PrintCardField(ctx, "test accuracy:", FormatAccuracy(metrics, "testAccuracy", 4));
  PrintCardField(
      ctx, "test loss:",
      HasNumber(metrics, "testLoss") ? FormatFixed(GetDouble(metrics, "testLoss"), 4) : "");
  const json& checkpoint = GetObject(card, "checkpoint");
  PrintCardField(ctx, "checkpoint:",
                 checkpoint.empty() ? ""
                                    : "step " + std::to_string(GetInt(checkpoint, "step")) +
                                          ", sha256:" + GetString(checkpoint, "sha256"));
}

int PublishModel(const CommandContext& ctx) {
  const CliArgs& args = ctx.args();
  Result<int64_t> id = ctx.ResolveJob(args.job_refs.at(0));
  if (!id.ok()) return ctx.Fail(id.status());
  json body = {{"name", args.name}, {"visibility", args.visibility}};
  if (!args.data_version.empty()) body["version"] = args.data_version;
  if (!args.license.empty()) body["license"] = args.license;
  if (!args.description.empty()) body["description"] = args.description;
  Result<json> reply =
      ctx.Call("POST", JobPath(*id) + "/publish", body.dump(), "application/json", kPublishTimeout);
  if (!reply.ok()) return ctx.Fail(reply.status(), "job " + std::to_string(*id) + " not found");
  if (ctx.json_output()) {
    ctx.PrintJson(*reply);
    return kExitOk;
  }
  const std::string account = GetString(*reply, "account");
  const std::string name = GetString(*reply, "name", args.name);
  const std::string key = std::string(ToString(ArtifactKind::kModel)) + "/" + account + "/" + name;
  const json& version = GetObject(*reply, "version");
  ctx.out() << "published " << key << "@" << GetString(version, "version") << " from job " << *id
            << " (" << FormatMegabytes(GetInt(version, "bytes"))
            << " MB, digest sha256:" << GetString(version, "digest") << ")\n";
  // The reply has the card without its versions: show the whole of it, as `show` would.
  Result<json> card = ctx.Call("GET", ArtifactPath(ArtifactKind::kModel, account, name));
  if (!card.ok()) return ctx.Fail(card.status(), key + " not found (or you may not read it)");
  PrintCard(ctx, key, *card);
  return kExitOk;
}

}  // namespace shoal::cli
