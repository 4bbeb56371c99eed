#include "cli/args_tokenize.h"

#include "common/parse_number.h"
#include "data/token_shards.h"

namespace shoal::cli {

const char* const kTokenizeFooter =
    "Usage: shoal tokenize INPUT... --tokenizer bytes|gpt2 --out DIR [--val-fraction F] "
    "[--shard-tokens N] [--encoder FILE --vocab FILE]\n\n"
    "Reads the INPUT files (any bytes), tokenizes them in order into one token stream and writes "
    "it as token shards in llm.c's format (docs/text-data.md): DIR/train_000000.bin, "
    "train_000001.bin, ... and DIR/val_000000.bin, ..., each at most N tokens (default "
    "100000000). The last F of the stream (default 0.1; 0: no validation shards) is the "
    "validation split. bytes: one token per byte, vocabulary 256. gpt2: GPT-2's BPE, vocabulary "
    "50257, each file preceded by <|endoftext|> (50256) as llm.c does; it reads encoder.json and "
    "vocab.bpe from --encoder and --vocab, else from the directory $SHOAL_GPT2_DIR. DIR is "
    "created when missing; one that already holds shards is refused (nothing is overwritten). "
    "Needs no scheduler; push the shards with 'shoal data push DIR --name NAME ...'. Exit 2 on "
    "a missing or unreadable input, a bad flag or a failed write.";

void AddTokenizeFlags(CLI::App* sub, CliArgs* out, TokenizeRaw* raw) {
  sub->add_option("--tokenizer", out->tokenizer, "bytes (one token per byte) or gpt2 (GPT-2 BPE)")
      ->type_name("NAME")
      ->check(CLI::IsMember({"bytes", "gpt2"}));
  sub->add_option("--out", out->out_dir, "write the shards into DIR")->type_name("DIR");
  sub->add_option("--val-fraction", raw->val_fraction,
                  "the last F of the tokens are the validation split (default 0.1)")
      ->type_name("F");
  sub->add_option("--shard-tokens", raw->shard_tokens,
                  "at most N tokens per shard (default 100000000)")
      ->type_name("N");
  sub->add_option("--encoder", out->encoder_path, "gpt2: encoder.json (else $SHOAL_GPT2_DIR)")
      ->type_name("FILE");
  sub->add_option("--vocab", out->vocab_path, "gpt2: vocab.bpe (else $SHOAL_GPT2_DIR)")
      ->type_name("FILE");
}

Status CheckTokenizeArgs(const TokenizeRaw& raw, CliArgs* out) {
  if (out->tokenizer.empty()) {
    return InvalidArgument("'shoal tokenize' needs --tokenizer bytes|gpt2");
  }
  if (out->out_dir.empty()) return InvalidArgument("'shoal tokenize' needs --out DIR");
  if (!raw.val_fraction.empty()) {
    std::optional<int64_t> ppm = ScaleDecimal(raw.val_fraction, 1'000'000, 999'999);
    if (!ppm.has_value()) {
      return InvalidArgument("--val-fraction needs a number in [0, 1) like 0.1, got \"" +
                             raw.val_fraction + "\"");
    }
    out->val_fraction_ppm = *ppm;
  }
  if (!raw.shard_tokens.empty()) {
    int64_t n = 0;
    if (!ParseInteger(raw.shard_tokens, &n) || n < 1 || n > kTokenShardMaxTokens) {
      return InvalidArgument("--shard-tokens needs an integer from 1 to " +
                             std::to_string(kTokenShardMaxTokens) + ", got \"" + raw.shard_tokens +
                             "\"");
    }
    out->shard_tokens = n;
  }
  if (out->encoder_path.empty() != out->vocab_path.empty()) {
    return InvalidArgument("--encoder and --vocab go together");
  }
  if (!out->encoder_path.empty() && out->tokenizer != "gpt2") {
    return InvalidArgument("--encoder and --vocab go with --tokenizer gpt2");
  }
  return Status::Ok();
}

}  // namespace shoal::cli
