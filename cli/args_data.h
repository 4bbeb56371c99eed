// The command line of `shoal data` (the dataset registry), split from cli/args.cc: its flags, its
// help footer and the checks of each action's arguments.
#pragma once

#include <string>

#include "cli/args.h"
#include "common/flags.h"
#include "common/status.h"

namespace shoal::cli {

// Values parsed as text and checked by CheckDataArgs.
struct DataRaw {
  bool is_public = false;   // push --public
  bool is_private = false;  // push --private
  std::string trusted;      // push --trusted-workers A,B
};

// The footer of `shoal data --help`.
extern const char* const kDataFooter;

// Adds the flags of the `data` subcommand.
void AddDataFlags(CLI::App* data, CliArgs* out, DataRaw* raw);

// Checks `shoal data ACTION ...` once CLI11 is done (out->sub holds the action): the number of
// words each action takes, which flags go with it, NAME[@V] and ACCOUNT (cli/registry_transfer.h,
// ParseArtifactRef), versions, durations. Sets out->visibility and out->trusted_workers.
// InvalidArgument with the usage message otherwise.
Status CheckDataArgs(const DataRaw& raw, CliArgs* out);

}  // namespace shoal::cli
