// What only `shoal models` has (docs/registry.md, "Model library"): publish, which stores a
// succeeded job's newest checkpoint and card as a version of a model, and the model card's lines
// in show. The other actions are cli/cmd_data.cc's, shared with `shoal data`.
#include <chrono>

#include "cli/cmd_registry.h"
#include "cli/exit_codes.h"
#include "cli/format.h"
#include "cli/json_get.h"
#include "cli/progress.h"
#include "cli/registry_transfer.h"
#include "cli/transfer_progress.h"

namespace shoal::cli {

namespace {

constexpr size_t kShortDigest = 12;

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

}  // namespace

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
