// YamlReader: typed, positioned reading of a parsed YAML tree for config parsers (job specs first).
//
// It turns "the value at spec.workers.min is wrong" into a SpecError with the file, 1-based line
// and column and the dotted field path, and keeps going so that one run reports every problem. The
// caller parses the text with yaml-cpp (catching its exceptions) and then walks its schema with
// YamlMap views:
//
//   YamlReader reader("job.yaml", &errors);
//   YamlMap root = reader.Map(YamlField{document, ""}, {"apiVersion", "kind", "spec"});
//   YamlMap workers = root.Map("spec", {...}).Map("workers", {"min", "max"});
//   workers.Int("min", 1, 4096, &spec.workers.min);
//
// Rules every reader applies: an absent value or an explicit null leaves *out untouched (so the
// default stays) and returns false; a present value is checked, stored only when valid, and the
// call returns true only then. Quoted scalars are strings, never numbers or booleans. Integers are
// decimal ("007" is 7; no 0x, no 1e3); numbers also accept .inf/.nan spellings so that they can be
// rejected with a clear message. Strings must be valid UTF-8 without control characters.
//
// Not thread-safe: use one reader per document. Never throws (it only reads nodes that exist).
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "common/spec/job_spec.h"

namespace shoal {

// A value inside the document and its dotted path ("spec.model.layers[1]"; "" for the root).
// `node` is a null node when the key is absent or its value is null.
struct YamlField {
  YAML::Node node;
  std::string path;
  bool present() const { return node.IsDefined() && !node.IsNull(); }
};

// An interval of real numbers for YamlReader::Number, printed as "(0, 10]".
struct NumberRange {
  double lo;
  double hi;
  bool lo_open = false;  // exclude lo
  bool hi_open = false;  // exclude hi
  std::string ToString() const;
};

class YamlMap;

// The candidate closest to `word` within two edits (letters compared case-insensitively), for "did
// you mean" hints on typos like "wrokers" or "bachSize"; "" when none is that close. A candidate
// is never suggested for a word it could be reached from only by rewriting it whole (distance >=
// its length). Pure and thread-safe.
std::string_view SuggestSimilar(std::string_view word,
                                const std::vector<std::string_view>& candidates);

// A hint for a YAML syntax error that yaml-cpp reports only as e.g. "end of map not found",
// "illegal map value", "end of sequence not found" or "bad indentation", from the text at the
// error's mark (0-based, as in YAML::Exception::mark). In order of preference:
//   - a tab in the indentation of the error's line or the one before: "line 7 has a tab in column
//     1: YAML indents with spaces, never tabs";
//   - for "illegal map value": a key with no space after its ':' on that line or the one before
//     ("name:m"), or a plain value that itself contains ": " ("test: a: b"), which needs quotes;
//   - for a flow collection error ("end of map flow not found", "illegal flow end", ...): which
//     brackets to check;
//   - else, for the indentation messages: "check the indentation of line N: keys of one map must
//     start in the same column" (or "items of one list" when the line starts with "- ").
// Lines in the hint are 1-based, columns 1-based. Returns "" when the message is not one of these
// or the mark is unknown. Pure and thread-safe.
std::string YamlSyntaxHint(std::string_view text, const YAML::Mark& mark, std::string_view message);

class YamlReader {
 public:
  // Errors are appended to *errors, which must outlive the reader.
  YamlReader(std::string_view file, std::vector<SpecError>* errors);

  // Appends an error at a yaml-cpp (0-based) mark; a null mark (-1) becomes line/column 0.
  // Invalid UTF-8 in `message` is replaced by U+FFFD, so every message is valid UTF-8.
  void Error(const YAML::Mark& mark, std::string field, std::string message);
  // Appends an error for `path` at the position of that value if it was seen, else at the key of
  // its nearest ancestor that was (the best place to report a missing field).
  void ErrorAt(const std::string& path, std::string message);
  // Appends "found <Describe(f.node)>, expected <expected>" at the value of `f`.
  void Mismatch(const YamlField& f, std::string_view expected);

  // Opens the map at `f`, reporting a non-map value and every key not in `allowed` (with a
  // "did you mean" hint) or written twice. An absent or wrongly typed value gives an empty view.
  YamlMap Map(const YamlField& f, std::initializer_list<std::string_view> allowed);
  // Same, for maps whose keys are data (labels): any scalar key is allowed.
  YamlMap AnyMap(const YamlField& f);
  // The elements of the list at `f` (paths "path[i]"); nullopt when absent or not a list (then
  // reported as "found ..., expected <expected>"). Elements may be null: check present().
  std::optional<std::vector<YamlField>> Sequence(const YamlField& f, std::string_view expected);

  // An integer in lo..hi (T: int, int64_t or uint64_t; the bounds must fit T).
  template <typename T>
  bool Int(const YamlField& f, int64_t lo, uint64_t hi, T* out) {
    static_assert(std::is_integral_v<T>);
    uint64_t bits = 0;
    if (!ReadInteger(f, lo, hi, &bits)) return false;
    if constexpr (std::is_signed_v<T>) {
      *out = static_cast<T>(static_cast<int64_t>(bits));
    } else {
      *out = static_cast<T>(bits);
    }
    return true;
  }
  // A finite number (integer or decimal) in `range`.
  bool Number(const YamlField& f, const NumberRange& range, double* out);
  // true or false, unquoted (yes/no/on/off/1/0 are errors).
  bool Bool(const YamlField& f, bool* out);
  // Any scalar as text, at most max_bytes long.
  bool String(const YamlField& f, size_t max_bytes, std::string* out);
  // A scalar that is exactly one of `names`; stores its index.
  bool OneOf(const YamlField& f, std::span<const char* const> names, int* index);

  // Writes "found X" for an error message: a plain scalar as written (-1, .nan) when it looks like
  // a number, any other scalar quoted and shortened, else "a map", "a list" or "null".
  static std::string Describe(const YAML::Node& node);
  // The integer a plain scalar spells (decimal, optional sign), as sign + magnitude; nullopt when
  // it is not an integer or does not fit in 64 bits (*overflow set then).
  struct ParsedInt {
    bool negative = false;
    uint64_t magnitude = 0;
  };
  static std::optional<ParsedInt> ParseInt(std::string_view text, bool* overflow);

 private:
  friend class YamlMap;
  struct Marks {
    YAML::Mark key;    // where the field's name is written
    YAML::Mark value;  // where a scalar value starts; the key again for a map, list or null
  };

  bool ReadInteger(const YamlField& f, int64_t lo, uint64_t hi, uint64_t* bits);
  void Remember(const std::string& path, const YAML::Mark& key, const YAML::Node& value);
  YamlMap OpenMap(const YamlField& f, const std::vector<std::string_view>* allowed);

  std::string file_;
  std::vector<SpecError>* errors_;
  std::map<std::string, Marks> marks_;  // by path, for ErrorAt
};

// The fields of one YAML map (or of an absent one: every Get is then absent). Cheap to copy.
class YamlMap {
 public:
  struct Entry {
    std::string key;
    YamlField key_field;  // the key node itself, for errors about keys
    YamlField value;
  };

  // The value of `key` with path "<path>.<key>"; a null node when absent.
  YamlField Get(std::string_view key) const;
  bool Has(std::string_view key) const { return Get(key).present(); }
  // Reports "<path>.<key>" as missing unless it is present or this map (or one above it) was
  // wrongly typed: that error was already reported and a second one would only be noise.
  void Require(std::string_view key) const;
  const std::string& path() const { return path_; }
  bool present() const { return present_; }
  const std::vector<Entry>& entries() const { return entries_; }
  std::string ChildPath(std::string_view key) const;

  // Shorthands for reader().X(Get(key), ...).
  YamlMap Map(std::string_view key, std::initializer_list<std::string_view> allowed) const;
  YamlMap AnyMap(std::string_view key) const;
  template <typename T>
  bool Int(std::string_view key, int64_t lo, uint64_t hi, T* out) const {
    return reader_->Int(Get(key), lo, hi, out);
  }
  bool Number(std::string_view key, const NumberRange& range, double* out) const {
    return reader_->Number(Get(key), range, out);
  }
  bool Bool(std::string_view key, bool* out) const { return reader_->Bool(Get(key), out); }
  bool String(std::string_view key, size_t max_bytes, std::string* out) const {
    return reader_->String(Get(key), max_bytes, out);
  }
  bool OneOf(std::string_view key, std::span<const char* const> names, int* index) const {
    return reader_->OneOf(Get(key), names, index);
  }
  YamlReader& reader() const { return *reader_; }

 private:
  friend class YamlReader;
  YamlReader* reader_ = nullptr;
  std::string path_;
  bool present_ = false;           // the document had a map here
  bool suppress_missing_ = false;  // this map or an ancestor had the wrong type
  std::vector<Entry> entries_;
};

}  // namespace shoal
