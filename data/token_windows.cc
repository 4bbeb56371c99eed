// LoadTokenWindows (dataset.h): llm.c token shards as the trainer's rows.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/token_shards.h"

namespace shoal {

namespace {

// The shard files `location` names, in order.
Result<std::vector<std::string>> ShardFiles(const std::string& location) {
  std::error_code ec;
  if (std::filesystem::is_regular_file(location, ec)) return std::vector<std::string>{location};
  std::vector<std::string> files;
  for (int i = 0; i < 1000000; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "_%06d.bin", i);
    const std::string path = location + name;
    if (!std::filesystem::is_regular_file(path, ec)) break;
    files.push_back(path);
  }
  if (files.empty()) {
    return NotFound("no token shards at " + location + ": neither a file nor " + location +
                    "_000000.bin (shoal tokenize --out DIR writes DIR/train_000000.bin, ...)");
  }
  return files;
}

}  // namespace

Result<Dataset> LoadTokenWindows(const std::string& location, int context_length, int vocab_size,
                                 const DatasetLimits& limits) {
  if (context_length < 1 || vocab_size < 2) {
    return InvalidArgument("token windows need contextLength >= 1 and vocabSize >= 2");
  }
  ASSIGN_OR_RETURN(std::vector<std::string> files, ShardFiles(location));
  std::vector<uint16_t> tokens;
  for (const std::string& file : files) {
    ASSIGN_OR_RETURN(int64_t count, ReadTokenShardHeader(file));
    // Each token becomes a float feature and an int32 label: 8 bytes.
    if (static_cast<int64_t>(tokens.size()) + count > limits.max_bytes / 8) {
      return InvalidArgument(file + ": the shards hold more tokens than fit in memory (" +
                             std::to_string(limits.max_bytes / 8) + " at most)");
    }
    ASSIGN_OR_RETURN(std::vector<uint16_t> part, ReadTokenShard(file, vocab_size));
    tokens.insert(tokens.end(), part.begin(), part.end());
  }
  const int64_t T = context_length;
  const int64_t windows = tokens.empty() ? 0 : (static_cast<int64_t>(tokens.size()) - 1) / T;
  if (windows < 1) {
    return InvalidArgument(location + ": " + std::to_string(tokens.size()) +
                           " tokens, fewer than contextLength + 1 = " + std::to_string(T + 1) +
                           ": not one training window");
  }
  Dataset d;
  d.size = windows;
  d.dim = T;
  d.label_width = T;
  d.features.resize(static_cast<size_t>(windows * T));
  d.labels.resize(static_cast<size_t>(windows * T));
  int32_t highest = 0;
  for (int64_t i = 0; i < windows * T; ++i) {
    d.features[static_cast<size_t>(i)] = static_cast<float>(tokens[static_cast<size_t>(i)]);
    d.labels[static_cast<size_t>(i)] = tokens[static_cast<size_t>(i + 1)];
    highest = std::max<int32_t>(highest, tokens[static_cast<size_t>(i + 1)]);
  }
  d.num_classes = highest + 1;
  return d;
}

}  // namespace shoal
