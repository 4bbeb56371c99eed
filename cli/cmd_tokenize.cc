// shoal tokenize: text files -> one token stream -> train/val token shards in llm.c's format.
// Everything happens locally; every input is checked before any work, and the output directory
// must not already hold shards, so a run either writes a consistent set or fails early.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/help.h"
#include "common/file_util.h"
#include "data/token_shards.h"
#include "data/tokenizer.h"

namespace shoal::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// The largest input file read (whole, into memory).
constexpr int64_t kMaxInputBytes = 8LL << 30;

int Fail(std::ostream& err, const std::string& message) {
  err << "shoal tokenize: " << message << "\n";
  return kExitUsage;
}

bool IsRegularFile(const std::string& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec);
}

// The tokenizer the flags name; gpt2's files come from --encoder/--vocab, else $SHOAL_GPT2_DIR.
Result<std::unique_ptr<Tokenizer>> MakeTokenizer(const CliArgs& args, const CliEnv& env) {
  if (args.tokenizer == "bytes") return MakeBytesTokenizer();
  std::string encoder = args.encoder_path, vocab = args.vocab_path;
  if (encoder.empty()) {
    if (env.gpt2_dir_env.empty()) {
      return InvalidArgument(
          "the gpt2 tokenizer needs --encoder FILE --vocab FILE, or $SHOAL_GPT2_DIR naming a "
          "directory that holds encoder.json and vocab.bpe");
    }
    encoder = env.gpt2_dir_env + "/encoder.json";
    vocab = env.gpt2_dir_env + "/vocab.bpe";
  }
  for (const std::string& file : {encoder, vocab}) {
    if (!IsRegularFile(file)) return InvalidArgument(file + ": no such file (gpt2 tokenizer)");
  }
  return LoadGpt2Tokenizer(encoder, vocab);
}

std::string ShardName(const std::string& split, size_t index) {
  char name[32];
  std::snprintf(name, sizeof(name), "%s_%06zu.bin", split.c_str(), index);
  return name;
}

// The first shard-like file already in `dir` ("" when none): rerunning into a directory that holds
// a previous run's shards would mix the two sets (fewer new shards leave old ones behind).
std::string ExistingShard(const fs::path& dir) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if ((name.starts_with("train_") || name.starts_with("val_")) && name.ends_with(".bin")) {
      return entry.path().string();
    }
  }
  return "";
}

struct Shard {
  std::string path;
  std::string split;
  int64_t tokens = 0;
};

}  // namespace

int CmdTokenize(const CliArgs& args, const CliEnv& env, std::ostream& out, std::ostream& err) {
  for (const std::string& input : args.positional) {
    std::error_code ec;
    if (fs::is_directory(input, ec)) return Fail(err, input + ": is a directory (name the files)");
    if (!fs::exists(input, ec)) return Fail(err, input + ": no such file");
  }
  const fs::path dir(args.out_dir);
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec)) {
    return Fail(err, "--out " + args.out_dir + ": exists and is not a directory");
  }
  if (fs::is_directory(dir, ec)) {
    if (std::string old = ExistingShard(dir); !old.empty()) {
      return Fail(err, "--out " + args.out_dir + " already holds shards (" + old +
                           "); remove them or choose another directory");
    }
  }
  auto tokenizer = MakeTokenizer(args, env);
  if (!tokenizer.ok()) {
    err << "shoal tokenize: " << tokenizer.status().message() << "\n"
        << UsageHint("tokenize") << "\n";
    return kExitUsage;
  }
  const Tokenizer& tok = **tokenizer;
  // GPT-2's last id is <|endoftext|> (data/tokenizer.h): llm.c starts every document with it.
  const int32_t document_start = tok.name() == "gpt2" ? tok.vocab_size() - 1 : -1;

  std::vector<int32_t> stream;
  int64_t input_bytes = 0;
  for (const std::string& input : args.positional) {
    auto text = ReadFileLimited(input, kMaxInputBytes);
    if (!text.ok()) return Fail(err, "cannot read " + input + ": " + text.status().message());
    input_bytes += static_cast<int64_t>(text->size());
    auto ids = tok.Encode(*text);
    if (!ids.ok()) return Fail(err, input + ": " + ids.status().message());
    if (document_start >= 0) stream.push_back(document_start);
    stream.insert(stream.end(), ids->begin(), ids->end());
  }
  const auto total = static_cast<int64_t>(stream.size());
  if (total == 0) return Fail(err, "the inputs hold no text, so there is nothing to write");
  // The validation split: ceil(F * total) tokens from the end, leaving training at least one.
  int64_t val = (total * args.val_fraction_ppm + 999'999) / 1'000'000;
  val = std::min(val, total - 1);
  const int64_t train = total - val;

  fs::create_directories(dir, ec);
  if (ec) return Fail(err, "cannot create --out " + args.out_dir + ": " + ec.message());
  std::vector<Shard> shards;
  auto write_split = [&](const std::string& split, int64_t begin, int64_t end) -> Status {
    for (int64_t at = begin, index = 0; at < end; at += args.shard_tokens, ++index) {
      const int64_t n = std::min(args.shard_tokens, end - at);
      Shard shard{(dir / ShardName(split, static_cast<size_t>(index))).string(), split, n};
      RETURN_IF_ERROR(WriteTokenShard(
          shard.path, std::span<const int32_t>(stream.data() + at, static_cast<size_t>(n))));
      shards.push_back(std::move(shard));
    }
    return Status::Ok();
  };
  if (Status st = write_split("train", 0, train); !st.ok()) return Fail(err, st.message());
  if (Status st = write_split("val", train, total); !st.ok()) return Fail(err, st.message());

  if (args.output == OutputFormat::kJson) {
    json files = json::array();
    for (const Shard& s : shards) {
      files.push_back({{"path", s.path}, {"split", s.split}, {"tokens", s.tokens}});
    }
    out << json{{"tokenizer", tok.name()},
                {"vocabSize", tok.vocab_size()},
                {"inputs", args.positional},
                {"inputBytes", input_bytes},
                {"trainTokens", train},
                {"valTokens", val},
                {"shards", files}}
               .dump(2, ' ', false, json::error_handler_t::replace)
        << "\n";
    return kExitOk;
  }
  for (const Shard& s : shards) out << "wrote " << s.path << " (" << s.tokens << " tokens)\n";
  out << "tokenizer " << tok.name() << " (vocabulary " << tok.vocab_size()
      << "): " << args.positional.size() << (args.positional.size() == 1 ? " file, " : " files, ")
      << input_bytes << " bytes -> " << total << " tokens (train " << train << ", val " << val
      << ")\n";
  return kExitOk;
}

}  // namespace shoal::cli
