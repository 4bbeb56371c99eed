// GPT-2's byte-level BPE (OpenAI's gpt-2/src/encoder.py): text is split by the pre-tokenizer
// (gpt2_pretokenize.cc), each piece's UTF-8 bytes become symbols of the 256-character byte
// alphabet, and the piece's adjacent symbols are merged lowest merge rank first until no ranked
// pair is left. Symbols are handled as their ids in encoder.json, which load checks to be
// consistent with the merges so that Encode cannot meet an unknown token.
#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <queue>
#include <sstream>
#include <string>
#include <unordered_map>

#include "data/gpt2_bpe_internal.h"
#include "data/tokenizer.h"

namespace shoal {
namespace {

// bytes_to_unicode(): the printable bytes ('!'..'~', U+00A1..U+00AC, U+00AE..U+00FF) stand for
// themselves, the others for U+0100 + n in byte order, so that no token contains a space or a
// control character.
std::array<char32_t, 256> ByteToChar() {
  std::array<char32_t, 256> chars{};
  char32_t n = 0;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
    chars[b] = printable ? b : 0x100 + n++;
  }
  return chars;
}

std::string Utf8(char32_t c) {
  std::string s;
  if (c < 0x80) {
    s += static_cast<char>(c);
  } else if (c < 0x800) {
    s += static_cast<char>(0xC0 | (c >> 6));
    s += static_cast<char>(0x80 | (c & 0x3F));
  } else {  // the byte alphabet stays below U+0800; kept general for the decoding of keys
    s += static_cast<char>(0xE0 | (c >> 12));
    s += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (c & 0x3F));
  }
  return s;
}

Result<std::string> ReadFile(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return InvalidArgument(std::string(what) + " " + path + ": " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return InvalidArgument(std::string(what) + " " + path + ": read error");
  return ss.str();
}

uint64_t PairKey(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(left) << 32) | static_cast<uint32_t>(right);
}

struct Merge {
  int32_t rank;
  int32_t id;  // of the merged symbol
};

// Pieces up to this length are cached (the reference caches every piece; long ones are rare and
// would only grow the cache), and the cache is emptied when it reaches kMaxCached entries.
constexpr size_t kMaxCachedPiece = 64;
constexpr size_t kMaxCached = 1 << 16;
constexpr size_t kMaxBpePiece = size_t{1} << 30;

class Gpt2Tokenizer final : public Tokenizer {
 public:
  Gpt2Tokenizer(std::vector<std::string> token_bytes, std::array<int32_t, 256> byte_ids,
                std::unordered_map<uint64_t, Merge> merges)
      : token_bytes_(std::move(token_bytes)), byte_ids_(byte_ids), merges_(std::move(merges)) {}

  std::string name() const override { return "gpt2"; }
  int vocab_size() const override { return static_cast<int>(token_bytes_.size()); }

  Result<std::vector<int32_t>> Encode(std::string_view text) const override {
    std::vector<int32_t> ids;
    ids.reserve(text.size() / 3 + 1);
    for (size_t i = 0, end; i < text.size(); i = end) {
      end = gpt2_internal::PieceEnd(text, i);
      const std::string_view piece = text.substr(i, end - i);
      if (piece.size() > kMaxCachedPiece) {
        // Positions are int32: a piece over 1 GiB (one run of letters, say) is merged in 1 GiB
        // parts, the only place where this departs from the reference.
        for (size_t at = 0; at < piece.size(); at += kMaxBpePiece) {
          Bpe(piece.substr(at, kMaxBpePiece), &ids);
        }
        continue;
      }
      {
        std::lock_guard<std::mutex> lock(cache_mu_);
        auto it = cache_.find(piece);
        if (it != cache_.end()) {
          ids.insert(ids.end(), it->second.begin(), it->second.end());
          continue;
        }
      }
      const size_t start = ids.size();
      Bpe(piece, &ids);
      std::lock_guard<std::mutex> lock(cache_mu_);
      if (cache_.size() >= kMaxCached) cache_.clear();
      cache_.emplace(std::string(piece), std::vector<int32_t>(ids.begin() + start, ids.end()));
    }
    return ids;
  }

  Result<std::string> Decode(const std::vector<int32_t>& ids) const override {
    std::string out;
    for (size_t i = 0; i < ids.size(); ++i) {
      if (ids[i] < 0 || ids[i] >= vocab_size()) {
        return InvalidArgument("token id " + std::to_string(ids[i]) + " (at " + std::to_string(i) +
                               ") is outside the vocabulary [0, " + std::to_string(vocab_size()) +
                               ")");
      }
      out += token_bytes_[ids[i]];
    }
    return out;
  }

 private:
  // Appends the ids of one piece. Equivalent to the reference's loop (merge every occurrence of
  // the lowest-ranked pair, left to right, then look again) in O(n log n): a heap of candidate
  // pairs ordered by (rank, position), taken one rank at a time so that pairs a merge creates
  // wait for the next round, as they do in the reference.
  void Bpe(std::string_view piece, std::vector<int32_t>* out) const {
    const int n = static_cast<int>(piece.size());
    if (n == 1) {
      out->push_back(byte_ids_[static_cast<unsigned char>(piece[0])]);
      return;
    }
    std::vector<int32_t> sym(n), next(n), prev(n);  // a linked list of symbols; -1: merged away
    for (int i = 0; i < n; ++i) {
      sym[i] = byte_ids_[static_cast<unsigned char>(piece[i])];
      prev[i] = i - 1;
      next[i] = i + 1;
    }
    struct Candidate {
      int32_t rank, pos, left, right, merged;
      bool operator>(const Candidate& o) const {
        return rank != o.rank ? rank > o.rank : pos > o.pos;
      }
    };
    std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> heap;
    auto push = [&](int pos) {
      if (pos < 0 || next[pos] >= n) return;
      auto it = merges_.find(PairKey(sym[pos], sym[next[pos]]));
      if (it != merges_.end()) {
        heap.push({it->second.rank, pos, sym[pos], sym[next[pos]], it->second.id});
      }
    };
    for (int i = 0; i + 1 < n; ++i) push(i);
    std::vector<int> merged_at;
    while (!heap.empty()) {
      const int32_t rank = heap.top().rank;
      merged_at.clear();
      while (!heap.empty() && heap.top().rank == rank) {
        const Candidate c = heap.top();
        heap.pop();
        const int right = next[c.pos];
        // Stale when either symbol has been merged since the candidate was pushed.
        if (sym[c.pos] != c.left || right >= n || sym[right] != c.right) continue;
        sym[c.pos] = c.merged;
        sym[right] = -1;
        next[c.pos] = next[right];
        if (next[right] < n) prev[next[right]] = c.pos;
        merged_at.push_back(c.pos);
      }
      for (int pos : merged_at) {
        push(prev[pos]);
        push(pos);
      }
    }
    for (int i = 0; i < n; i = next[i]) out->push_back(sym[i]);
  }

  std::vector<std::string> token_bytes_;  // id -> the bytes it stands for
  std::array<int32_t, 256> byte_ids_;     // byte -> id of its one-character token
  std::unordered_map<uint64_t, Merge> merges_;

  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  mutable std::mutex cache_mu_;
  mutable std::unordered_map<std::string, std::vector<int32_t>, Hash, std::equal_to<>> cache_;
};

// Splits `s` at ASCII whitespace, as Python's str.split() does for the reference's lines.
std::vector<std::string_view> SplitFields(std::string_view s) {
  std::vector<std::string_view> fields;
  size_t i = 0;
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; };
  while (i < s.size()) {
    while (i < s.size() && space(s[i])) ++i;
    size_t j = i;
    while (j < s.size() && !space(s[j])) ++j;
    if (j > i) fields.push_back(s.substr(i, j - i));
    i = j;
  }
  return fields;
}

}  // namespace

Result<std::unique_ptr<Tokenizer>> LoadGpt2Tokenizer(const std::string& encoder_json_path,
                                                     const std::string& vocab_bpe_path) {
  const std::string enc_name = "GPT-2 encoder.json " + encoder_json_path;
  const std::string bpe_name = "GPT-2 vocab.bpe " + vocab_bpe_path;

  // encoder.json: {"token": id, ...}, the ids 0..N-1 each once.
  ASSIGN_OR_RETURN(std::string enc_text, ReadFile(encoder_json_path, "GPT-2 encoder.json"));
  const nlohmann::json enc = nlohmann::json::parse(enc_text, nullptr, /*allow_exceptions=*/false);
  if (enc.is_discarded()) return InvalidArgument(enc_name + ": not valid JSON");
  if (!enc.is_object()) return InvalidArgument(enc_name + ": not a JSON object of token -> id");
  const size_t vocab = enc.size();
  if (vocab < 256 || vocab > (1u << 30)) {
    return InvalidArgument(enc_name + ": " + std::to_string(vocab) +
                           " tokens; a byte-level vocabulary has at least 256");
  }
  std::unordered_map<std::string, int32_t> ids;
  std::vector<std::string> keys(vocab);
  std::vector<bool> seen(vocab, false);
  for (const auto& [key, value] : enc.items()) {
    if (!value.is_number_integer() || value.get<int64_t>() < 0 ||
        value.get<int64_t>() >= static_cast<int64_t>(vocab)) {
      return InvalidArgument(enc_name + ": the id of \"" + key + "\" is " +
                             value.dump().substr(0, 40) + ", not an integer in [0, " +
                             std::to_string(vocab) + ")");
    }
    const auto id = value.get<int32_t>();
    if (seen[id]) return InvalidArgument(enc_name + ": id " + std::to_string(id) + " given twice");
    seen[id] = true;
    keys[id] = key;
    ids.emplace(key, id);
  }

  // Each token's bytes: its characters mapped back through the byte alphabet. A token with a
  // character outside it (none in GPT-2's file) stands for its own UTF-8.
  const std::array<char32_t, 256> byte_to_char = ByteToChar();
  std::unordered_map<std::string, unsigned char> char_to_byte;
  std::array<int32_t, 256> byte_ids{};
  for (int b = 0; b < 256; ++b) {
    const std::string ch = Utf8(byte_to_char[b]);
    char_to_byte.emplace(ch, static_cast<unsigned char>(b));
    auto it = ids.find(ch);
    if (it == ids.end()) {
      return InvalidArgument(enc_name + ": no token for byte " + std::to_string(b) + " (\"" + ch +
                             "\"); not GPT-2's byte-level alphabet");
    }
    byte_ids[b] = it->second;
  }
  std::vector<std::string> token_bytes(vocab);
  for (size_t id = 0; id < vocab; ++id) {
    const std::string& key = keys[id];
    std::string bytes;
    for (size_t i = 0; i < key.size();) {
      const auto lead = static_cast<unsigned char>(key[i]);
      const size_t len = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
      auto it = char_to_byte.find(key.substr(i, len));
      if (it == char_to_byte.end()) {
        bytes = key;
        break;
      }
      bytes += static_cast<char>(it->second);
      i += len;
    }
    token_bytes[id] = std::move(bytes);
  }

  // vocab.bpe: "#version: ..." then one merge "left right" a line, highest priority first.
  ASSIGN_OR_RETURN(std::string bpe_text, ReadFile(vocab_bpe_path, "GPT-2 vocab.bpe"));
  if (bpe_text.rfind("#version", 0) != 0) {
    return InvalidArgument(bpe_name + ": the first line is not a \"#version: ...\" comment");
  }
  std::unordered_map<uint64_t, Merge> merges;
  const size_t first_nl = bpe_text.find('\n');
  std::string_view rest = std::string_view(bpe_text).substr(
      first_nl == std::string::npos ? bpe_text.size() : first_nl + 1);
  int32_t rank = 0;
  for (int line_no = 2; !rest.empty(); ++line_no) {
    const size_t nl = rest.find('\n');
    const std::string_view line = rest.substr(0, nl);
    rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
    const std::vector<std::string_view> fields = SplitFields(line);
    if (fields.empty()) continue;
    const std::string where = bpe_name + " line " + std::to_string(line_no);
    if (fields.size() != 2) {
      return InvalidArgument(where + ": " + std::to_string(fields.size()) +
                             " fields, expected a merge \"left right\"");
    }
    const std::string left(fields[0]), right(fields[1]);
    auto l = ids.find(left), r = ids.find(right), m = ids.find(left + right);
    if (l == ids.end() || r == ids.end() || m == ids.end()) {
      const std::string& missing = l == ids.end() ? left : r == ids.end() ? right : left + right;
      return InvalidArgument(where + ": token \"" + missing + "\" of the merge \"" + left + " " +
                             right + "\" is not in " + encoder_json_path);
    }
    // A repeated pair takes its last rank, as the reference's dict(zip(merges, ranks)) does.
    merges[PairKey(l->second, r->second)] = Merge{rank++, m->second};
  }
  if (merges.empty()) return InvalidArgument(bpe_name + ": no merges");
  return std::unique_ptr<Tokenizer>(
      new Gpt2Tokenizer(std::move(token_bytes), byte_ids, std::move(merges)));
}

}  // namespace shoal
