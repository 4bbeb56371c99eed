// What the registry verbs share: cli/cmd_data.cc runs the actions common to `shoal data` and
// `shoal models` (ls, show, pull, grant, revoke, access, audit, rm, and data's push) with the
// artifact's kind taken from the verb; cli/cmd_models.cc holds what only models have (publish,
// and the model card's lines in show).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "cli/context.h"
#include "common/registry/uri.h"

namespace shoal::cli {

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

}  // namespace shoal::cli
