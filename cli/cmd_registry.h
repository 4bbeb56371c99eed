// What the registry verbs share: cli/cmd_data.cc runs the actions common to `shoal data` and
// `shoal models` (ls, show, pull, grant, revoke, access, audit, rm, and data's push) with the
// artifact's kind taken from the verb; cli/cmd_models.cc holds what only models have (publish,
// generate, and the model card's lines in show).
#pragma once

#include <cstddef>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/context.h"
#include "cli/registry_transfer.h"
#include "common/registry/uri.h"

namespace shoal::cli {

// Hex digits of a version's digest that tables and messages show.
inline constexpr size_t kShortDigest = 12;

// A NAME[@V] of the command line with its account known.
struct Named {
  ArtifactRef ref;
  std::string key;   // "KIND/ACCOUNT/NAME"
  std::string path;  // "/v1/KIND/ACCOUNT/NAME"
};

// Parses `text` (ParseArtifactRef) and fills in the caller's account (GET /v1/whoami) when the
// reference names none. The parse's or the call's error otherwise.
Result<Named> Resolve(const CommandContext& ctx, const std::string& text, VersionRule rule);

// ctx.Fail with "KEY not found (or you may not read it)" for NotFound.
int FailOn(const CommandContext& ctx, const Status& st, const Named& n);

// The newest entry of a card's "versions" (by creation time), or null.
const nlohmann::json* Latest(const nlohmann::json& card);

// The entry of a card's "versions" that `version` names (a name, "latest" or "sha256:<hex>"; ""
// is the latest), or null.
const nlohmann::json* FindVersion(const nlohmann::json& card, const std::string& version);

// The kind a registry verb acts on: `data` → datasets, `models` → models.
ArtifactKind KindOf(const CommandContext& ctx);

// Prints "name:" padded to the column of the card's values, then `value` ("-" when empty).
void PrintCardField(const CommandContext& ctx, const std::string& name, const std::string& value);

// Prints a card (the reply to GET /v1/KIND/A/N) as `show NAME` does: its fields, a model's card
// (PrintModelCard) and its versions. `key` is "KIND/ACCOUNT/NAME".
void PrintCard(const CommandContext& ctx, const std::string& key, const nlohmann::json& card);

// The lines of a model's "card" object: architecture, the datasets it was trained on, the job,
// its metrics and the checkpoint published.
void PrintModelCard(const CommandContext& ctx, const nlohmann::json& card);

// models publish JOB --name NAME ...: POST /v1/jobs/{id}/publish, then the card.
int PublishModel(const CommandContext& ctx);

// models generate NAME[@V] --prompt ...: pulls the version into the cache (env().cache_dir) unless
// it is there already, then prints the prompt and its continuation sampled by shoal-train
// --generate (env().train_bin). A model that is not a gpt, or no cache directory, exits 2; a
// missing shoal-train exits 2; shoal-train's own exit 2 (bad weights, no tokenizer) is passed on,
// any other failure of it exits 1.
int GenerateFromModel(const CommandContext& ctx);

}  // namespace shoal::cli
