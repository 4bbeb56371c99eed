// The command line of `shoal tokenize` (text files -> llm.c token shards), split from
// cli/args.cc: its flags, its help footer and the checks of their values.
#pragma once

#include <string>

#include "cli/args.h"
#include "common/flags.h"
#include "common/status.h"

namespace shoal::cli {

// Values parsed as text and checked by CheckTokenizeArgs.
struct TokenizeRaw {
  std::string val_fraction;  // --val-fraction F
  std::string shard_tokens;  // --shard-tokens N
};

// The footer of `shoal tokenize --help`.
extern const char* const kTokenizeFooter;

// Adds the flags of the `tokenize` subcommand.
void AddTokenizeFlags(CLI::App* sub, CliArgs* out, TokenizeRaw* raw);

// Checks `shoal tokenize INPUT... ` once CLI11 is done: --tokenizer and --out given, --val-fraction
// a decimal in [0, 1) (stored in millionths), --shard-tokens in 1..2^31-1, --encoder and --vocab
// given together and only with gpt2. InvalidArgument with the usage message otherwise.
Status CheckTokenizeArgs(const TokenizeRaw& raw, CliArgs* out);

}  // namespace shoal::cli
