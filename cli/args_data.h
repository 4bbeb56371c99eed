// The command lines of `shoal data` (the dataset registry) and `shoal models` (the model library),
// split from cli/args.cc: their flags, their help footers and the checks of each action's
// arguments. Both verbs share one set of actions on the registry's routes; the artifact's kind
// comes from the verb. Models are published from jobs (`models publish JOB`) instead of pushed.
#pragma once

#include <string>

#include "cli/args.h"
#include "common/flags.h"
#include "common/status.h"

namespace shoal::cli {

// Values parsed as text and checked by CheckRegistryArgs.
struct RegistryRaw {
  bool is_public = false;   // data push, models publish: --public
  bool is_private = false;  // data push, models publish: --private
  std::string trusted;      // data push: --trusted-workers A,B
  // models generate: --tokens, --temperature, --top-k, --seed as written.
  std::string tokens, temperature, top_k, seed;
  bool prompt = false;    // --prompt given
  bool gpt2_dir = false;  // --gpt2-dir given
};

// The footers of `shoal data --help` and `shoal models --help`.
extern const char* const kDataFooter;
extern const char* const kModelsFooter;

// Adds the flags of the `data` or the `models` subcommand (`sub`'s name says which).
void AddRegistryFlags(CLI::App* sub, CliArgs* out, RegistryRaw* raw);

// Checks `shoal data|models ACTION ...` once CLI11 is done (out->verb names the kind, out->sub
// holds the action): the number of words each action takes, which flags go with it, NAME[@V] and
// ACCOUNT (cli/registry_transfer.h, ParseArtifactRef), versions, durations, publish's JOB (put in
// out->job_refs), generate's sampling options. Sets out->visibility, out->trusted_workers and
// generate's fields. InvalidArgument with the usage
// message otherwise.
Status CheckRegistryArgs(const RegistryRaw& raw, CliArgs* out);

}  // namespace shoal::cli
