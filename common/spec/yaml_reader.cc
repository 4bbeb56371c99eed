#include "common/spec/yaml_reader.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>

#include "common/edit_distance.h"
#include "common/utf8.h"

namespace shoal {
namespace {

// Longest scalar quoted verbatim in a message; longer ones are cut so that a pasted blob does not
// bury the error.
constexpr size_t kMaxQuotedBytes = 60;

std::string Join(const std::vector<std::string_view>& items) {
  std::string out;
  for (std::string_view item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

std::string FormatDouble(double value) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value);
  return ec == std::errc() ? std::string(buf, end) : "?";
}

// yaml-cpp marks a scalar written in quotes with the non-specific tag "!"; plain ones get "?" and
// explicitly tagged ones their tag. Quoted scalars must stay strings (`epochs: "5"` is an error).
bool IsQuoted(const YAML::Node& node) { return node.Tag() == "!"; }

bool IsPlainScalar(const YAML::Node& node) { return node.IsScalar() && !IsQuoted(node); }

bool HasControlCharacter(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7F;
  });
}

// Checks the YAML 1.2 core-schema float syntax (plus plain integers) before std::from_chars, which
// would also accept "inf", "nan" and hex forms that YAML spells differently.
bool IsDecimalNumber(std::string_view s) {
  size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  size_t digits = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++digits;
  }
  if (digits == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    size_t exponent_digits = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++exponent_digits;
    if (exponent_digits == 0) return false;
  }
  return i == s.size();
}

std::optional<double> ParseYamlNumber(std::string_view s) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  for (std::string_view inf : {".inf", ".Inf", ".INF"}) {
    if (s == inf || (s.size() == inf.size() + 1 && s.substr(1) == inf && s[0] == '+')) return kInf;
    if (s.size() == inf.size() + 1 && s.substr(1) == inf && s[0] == '-') return -kInf;
  }
  if (s == ".nan" || s == ".NaN" || s == ".NAN") return std::numeric_limits<double>::quiet_NaN();
  if (!IsDecimalNumber(s)) return std::nullopt;
  if (s[0] == '+') s.remove_prefix(1);  // from_chars takes no '+'
  double value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec == std::errc::result_out_of_range) return s[0] == '-' ? -kInf : kInf;
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return value;
}

bool InRange(const YamlReader::ParsedInt& v, int64_t lo, uint64_t hi) {
  if (v.negative && v.magnitude != 0) {
    if (lo >= 0) return false;
    // -lo computed without overflowing for INT64_MIN.
    const uint64_t max_magnitude = static_cast<uint64_t>(-(lo + 1)) + 1;
    return v.magnitude <= max_magnitude;
  }
  if (lo > 0 && v.magnitude < static_cast<uint64_t>(lo)) return false;
  return v.magnitude <= hi;
}

std::string ParentPath(std::string_view path) {
  const size_t cut = path.find_last_of(".[");
  return cut == std::string_view::npos ? "" : std::string(path.substr(0, cut));
}

}  // namespace

std::string_view SuggestSimilar(std::string_view word,
                                const std::vector<std::string_view>& candidates) {
  std::string_view best;
  size_t best_distance = 3;
  for (std::string_view candidate : candidates) {
    const size_t d = EditDistance(word, candidate, /*ignore_case=*/true);
    if (d < best_distance && d < candidate.size()) {
      best = candidate;
      best_distance = d;
    }
  }
  return best;
}

namespace {

// Line `index` (0-based) of `text` without its line break; "" past the end.
std::string_view LineOf(std::string_view text, int index) {
  size_t start = 0;
  for (int i = 0; i < index; ++i) {
    const size_t end = text.find('\n', start);
    if (end == std::string_view::npos) return {};
    start = end + 1;
  }
  std::string_view line = text.substr(start);
  line = line.substr(0, line.find('\n'));
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

// "name:m" or "- name:m": a key glued to its value, which YAML reads as one scalar "name:m", so
// that a later "key: value" under it is an illegal map value.
bool HasKeyWithoutSpace(std::string_view line) {
  size_t i = line.find_first_not_of(' ');
  if (i == std::string_view::npos) return false;
  if (line.substr(i, 2) == "- ") i = line.find_first_not_of(' ', i + 2);
  if (i == std::string_view::npos || line[i] == '#' || line[i] == '"' || line[i] == '\'') {
    return false;
  }
  const size_t colon = line.find(':', i);
  if (colon == std::string_view::npos || colon == i || colon + 1 >= line.size()) return false;
  const std::string_view key = line.substr(i, colon - i);
  const bool key_like = std::all_of(key.begin(), key.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
  // "http://host" and "C:/data" are values that may hold ':'; a key is followed by a letter or
  // digit here.
  const char next = line[colon + 1];
  return key_like && (std::isalnum(static_cast<unsigned char>(next)) || next == '[' || next == '{');
}

// "key: a: b": a plain value holding ": ", which YAML reads as a second mapping on one line.
bool ValueHasColonSpace(std::string_view line) {
  const size_t first = line.find(": ");
  if (first == std::string_view::npos) return false;
  const size_t value = line.find_first_not_of(' ', first + 2);
  if (value == std::string_view::npos || line[value] == '"' || line[value] == '\'') return false;
  const size_t second = line.find(": ", value);
  if (second == std::string_view::npos) return false;
  const size_t comment = line.find(" #", value);
  return comment == std::string_view::npos || second < comment;
}

}  // namespace

std::string YamlSyntaxHint(std::string_view text, const YAML::Mark& mark,
                           std::string_view message) {
  if (mark.line < 0) return "";
  const bool indentation = message == "end of map not found" ||
                           message == "end of sequence not found" || message == "bad indentation";
  const bool map_value = message == "illegal map value";
  const bool flow = message.find("flow") != std::string_view::npos;
  if (!indentation && !map_value && !flow && message.find("tab") == std::string_view::npos) {
    return "";
  }
  // The error's own line first: yaml-cpp marks the token it could not place, which is usually on
  // the offending line, and sometimes on the line after it.
  const int lines[] = {mark.line, mark.line - 1};
  for (int index : lines) {
    if (index < 0) continue;
    // Only a tab in the indentation: one between tokens or in a comment is legal YAML and
    // unrelated to a structure error.
    const std::string_view line = LineOf(text, index);
    const std::string_view indent = line.substr(0, line.find_first_not_of(" \t"));
    if (const size_t tab = indent.find('\t'); tab != std::string_view::npos) {
      return "line " + std::to_string(index + 1) + " has a tab in column " +
             std::to_string(tab + 1) + ": YAML indents with spaces, never tabs";
    }
  }
  if (map_value) {
    for (int index : lines) {
      if (index < 0) continue;
      const std::string_view line = LineOf(text, index);
      if (HasKeyWithoutSpace(line)) {
        return "line " + std::to_string(index + 1) +
               " has no space after a ':' (write \"key: value\", not \"key:value\")";
      }
    }
    if (ValueHasColonSpace(LineOf(text, mark.line))) {
      return "the value on line " + std::to_string(mark.line + 1) +
             " contains \": \"; put it in quotes, e.g. key: \"a: b\"";
    }
  }
  if (flow) {
    return "check the brackets before line " + std::to_string(mark.line + 1) + ", column " +
           std::to_string(mark.column + 1) +
           ": every '[' needs its ']' and every '{' its '}', closed in the reverse order";
  }
  const std::string_view line = LineOf(text, mark.line);
  const size_t first = line.find_first_not_of(' ');
  const bool item = first != std::string_view::npos && line.substr(first, 2) == "- ";
  return "check the indentation of line " + std::to_string(mark.line + 1) + ": " +
         (item ? "items of one list" : "keys of one map") + " must start in the same column";
}

std::string NumberRange::ToString() const {
  return std::string(lo_open ? "(" : "[") + FormatDouble(lo) + ", " + FormatDouble(hi) +
         (hi_open ? ")" : "]");
}

YamlReader::YamlReader(std::string_view file, std::vector<SpecError>* errors)
    : file_(file), errors_(errors) {}

void YamlReader::Error(const YAML::Mark& mark, std::string field, std::string message) {
  SpecError error;
  error.file = file_;
  if (mark.line >= 0) {
    error.line = mark.line + 1;
    error.column = mark.column >= 0 ? mark.column + 1 : 0;
  }
  error.field = std::move(field);
  // Messages end up in JSON replies: yaml-cpp's own (e.g. "unknown escape character: \xFE") may
  // quote invalid UTF-8 from the input.
  error.message = IsValidUtf8(message) ? std::move(message) : SanitizeUtf8(message);
  errors_->push_back(std::move(error));
}

void YamlReader::ErrorAt(const std::string& path, std::string message) {
  if (auto it = marks_.find(path); it != marks_.end()) {
    Error(it->second.value, path, std::move(message));
    return;
  }
  // Not in the document: point at the closest enclosing key that is, e.g. "data:" for a missing
  // spec.data.train.
  std::string ancestor = path;
  while (!ancestor.empty()) {
    ancestor = ParentPath(ancestor);
    if (auto it = marks_.find(ancestor); it != marks_.end()) {
      Error(it->second.key, path, std::move(message));
      return;
    }
  }
  Error(YAML::Mark::null_mark(), path, std::move(message));
}

void YamlReader::Mismatch(const YamlField& f, std::string_view expected) {
  std::string message = "found " + Describe(f.node) + ", expected " + std::string(expected);
  if (marks_.count(f.path)) {
    ErrorAt(f.path, std::move(message));
  } else {
    Error(f.node.Mark(), f.path, std::move(message));
  }
}

void YamlReader::Remember(const std::string& path, const YAML::Mark& key, const YAML::Node& value) {
  // A null has no mark of its own (yaml-cpp puts it on the next token), and a block map or list
  // starts on the line after its key: for those the key is where the reader looks for a mistake.
  marks_[path] = Marks{key, value.IsScalar() ? value.Mark() : key};
}

YamlMap YamlReader::Map(const YamlField& f, std::initializer_list<std::string_view> allowed) {
  const std::vector<std::string_view> keys(allowed);
  return OpenMap(f, &keys);
}

YamlMap YamlReader::AnyMap(const YamlField& f) { return OpenMap(f, nullptr); }

YamlMap YamlReader::OpenMap(const YamlField& f, const std::vector<std::string_view>* allowed) {
  YamlMap map;
  map.reader_ = this;
  map.path_ = f.path;
  // Children were remembered by their parent; this records the root.
  if (f.present() && !marks_.count(f.path)) Remember(f.path, f.node.Mark(), f.node);
  if (!f.present()) return map;
  if (!f.node.IsMap()) {
    Mismatch(f, allowed ? "a map with fields: " + Join(*allowed) : std::string("a map"));
    map.suppress_missing_ = true;
    return map;
  }
  map.present_ = true;
  for (auto it = f.node.begin(); it != f.node.end(); ++it) {
    // Copies, not references: yaml-cpp's operator-> returns a temporary proxy.
    const YAML::Node key = it->first;
    const YAML::Node value = it->second;
    if (!key.IsScalar()) {
      Error(key.Mark(), f.path,
            "found " + Describe(key) + " as a field name, expected " +
                (allowed ? "one of: " + Join(*allowed) : std::string("a string")));
      continue;
    }
    const std::string& name = key.Scalar();
    const std::string shown = SanitizeUtf8(name);
    const std::string path = map.ChildPath(shown);
    if (allowed && std::find(allowed->begin(), allowed->end(), name) == allowed->end()) {
      std::string message = "unknown field \"" + shown + "\"";
      if (std::string_view hint = SuggestSimilar(name, *allowed); !hint.empty()) {
        message += " (did you mean \"" + std::string(hint) + "\"?)";
      }
      Error(key.Mark(), path, message + "; allowed: " + Join(*allowed));
      continue;
    }
    auto same = [&](const YamlMap::Entry& e) { return e.key == name; };
    if (auto first = std::find_if(map.entries_.begin(), map.entries_.end(), same);
        first != map.entries_.end()) {
      Error(key.Mark(), path,
            "duplicate field \"" + shown + "\" (first written on line " +
                std::to_string(first->key_field.node.Mark().line + 1) + ")");
      continue;
    }
    map.entries_.push_back(YamlMap::Entry{name, YamlField{key, path}, YamlField{value, path}});
    Remember(path, key.Mark(), value);
  }
  return map;
}

std::optional<std::vector<YamlField>> YamlReader::Sequence(const YamlField& f,
                                                           std::string_view expected) {
  if (!f.present()) return std::nullopt;
  if (!f.node.IsSequence()) {
    Mismatch(f, expected);
    return std::nullopt;
  }
  std::vector<YamlField> items;
  items.reserve(f.node.size());
  for (size_t i = 0; i < f.node.size(); ++i) {
    const YAML::Node element = f.node[i];
    items.push_back(YamlField{element, f.path + "[" + std::to_string(i) + "]"});
    Remember(items.back().path, element.Mark(), element);
  }
  return items;
}

bool YamlReader::ReadInteger(const YamlField& f, int64_t lo, uint64_t hi, uint64_t* bits) {
  if (!f.present()) return false;
  const std::string expected = "an integer in " + std::to_string(lo) + ".." + std::to_string(hi);
  std::optional<ParsedInt> value;
  bool overflow = false;
  if (IsPlainScalar(f.node)) value = ParseInt(f.node.Scalar(), &overflow);
  if (!value || !InRange(*value, lo, hi)) {
    Mismatch(f, overflow ? expected + " (the value does not fit in 64 bits)" : expected);
    return false;
  }
  *bits = value->negative ? 0 - value->magnitude : value->magnitude;
  return true;
}

bool YamlReader::Number(const YamlField& f, const NumberRange& range, double* out) {
  if (!f.present()) return false;
  std::optional<double> value;
  if (IsPlainScalar(f.node)) value = ParseYamlNumber(f.node.Scalar());
  const bool in_range = value && std::isfinite(*value) &&
                        (range.lo_open ? *value > range.lo : *value >= range.lo) &&
                        (range.hi_open ? *value < range.hi : *value <= range.hi);
  if (!in_range) {
    Mismatch(f, "a finite number in " + range.ToString());
    return false;
  }
  *out = *value;
  return true;
}

bool YamlReader::Bool(const YamlField& f, bool* out) {
  if (!f.present()) return false;
  if (IsPlainScalar(f.node) && (f.node.Scalar() == "true" || f.node.Scalar() == "false")) {
    *out = f.node.Scalar() == "true";
    return true;
  }
  Mismatch(f, "true or false");
  return false;
}

bool YamlReader::String(const YamlField& f, size_t max_bytes, std::string* out) {
  if (!f.present()) return false;
  const std::string expected = "a string of at most " + std::to_string(max_bytes) + " bytes";
  if (!f.node.IsScalar()) {
    Mismatch(f, expected);
    return false;
  }
  const std::string& text = f.node.Scalar();
  if (text.size() > max_bytes) {
    Error(f.node.Mark(), f.path,
          "found a string of " + std::to_string(text.size()) + " bytes, expected " + expected);
    return false;
  }
  if (!IsValidUtf8(text)) {
    Mismatch(f, "valid UTF-8 text");
    return false;
  }
  if (HasControlCharacter(text)) {
    Mismatch(f, "text without control characters (newlines, tabs, ...)");
    return false;
  }
  *out = text;
  return true;
}

bool YamlReader::OneOf(const YamlField& f, std::span<const char* const> names, int* index) {
  if (!f.present()) return false;
  const std::vector<std::string_view> choices(names.begin(), names.end());
  if (f.node.IsScalar()) {
    const std::string& text = f.node.Scalar();
    for (size_t i = 0; i < choices.size(); ++i) {
      if (text == choices[i]) {
        *index = static_cast<int>(i);
        return true;
      }
    }
    if (std::string_view hint = SuggestSimilar(text, choices); !hint.empty()) {
      Mismatch(f, "one of: " + Join(choices) + " (did you mean " + std::string(hint) + "?)");
      return false;
    }
  }
  Mismatch(f, "one of: " + Join(choices));
  return false;
}

std::string YamlReader::Describe(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return "null";
  if (node.IsMap()) return "a map";
  if (node.IsSequence()) return "a list";
  const std::string& text = node.Scalar();
  // Numbers read best as written ("found -1", "found .nan"); anything else is quoted so that an
  // empty string or trailing spaces are visible.
  const bool numeric_looking =
      !IsQuoted(node) && !text.empty() && text.size() <= 40 &&
      (std::isdigit(static_cast<unsigned char>(text[0])) || text[0] == '-' || text[0] == '+' ||
       text[0] == '.') &&
      std::all_of(text.begin(), text.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '+';
      });
  if (numeric_looking) return text;
  std::string shown = text.substr(0, kMaxQuotedBytes);
  const bool cut = shown.size() < text.size();
  // `replace` turns invalid UTF-8 (including a sequence the cut split) into U+FFFD, not a throw.
  std::string quoted =
      nlohmann::json(shown).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (cut) quoted.insert(quoted.size() - 1, "...");
  return quoted;
}

std::optional<YamlReader::ParsedInt> YamlReader::ParseInt(std::string_view text, bool* overflow) {
  *overflow = false;
  ParsedInt value;
  size_t i = 0;
  if (!text.empty() && (text[0] == '-' || text[0] == '+')) {
    value.negative = text[0] == '-';
    i = 1;
  }
  if (i == text.size()) return std::nullopt;
  for (; i < text.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) return std::nullopt;
    const uint64_t digit = static_cast<uint64_t>(text[i] - '0');
    if (value.magnitude > (std::numeric_limits<uint64_t>::max() - digit) / 10) {
      *overflow = true;
      return std::nullopt;
    }
    value.magnitude = value.magnitude * 10 + digit;
  }
  return value;
}

YamlField YamlMap::Get(std::string_view key) const {
  for (const Entry& entry : entries_) {
    if (entry.key == key) return entry.value;
  }
  return YamlField{YAML::Node(), ChildPath(key)};
}

void YamlMap::Require(std::string_view key) const {
  if (suppress_missing_ || Has(key)) return;
  reader_->ErrorAt(ChildPath(key), "required field is missing");
}

std::string YamlMap::ChildPath(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

YamlMap YamlMap::Map(std::string_view key, std::initializer_list<std::string_view> allowed) const {
  YamlMap child = reader_->Map(Get(key), allowed);
  child.suppress_missing_ = child.suppress_missing_ || suppress_missing_;
  return child;
}

YamlMap YamlMap::AnyMap(std::string_view key) const {
  YamlMap child = reader_->AnyMap(Get(key));
  child.suppress_missing_ = child.suppress_missing_ || suppress_missing_;
  return child;
}

}  // namespace shoal
