// The job spec's contract as data: one table row per field of a `shoal/v1 TrainingJob`, from which
// the JSON Schema (docs/job-spec.schema.json), the field table of docs/job-spec.md and `shoal
// explain FIELD` are generated.
//
// The table describes what ParseJobSpec (common/spec/job_spec.h) accepts; tests/unit/common/
// spec_fields_test.cc checks the two against each other field by field (every enum value, both
// ends of every range, an unknown key at every level), so a change to the validator that is not
// made here too fails a test. Rules that tie two fields together (gpusPerWorker 0 needs backend
// cpu, tf32/bf16 need a GPU backend, workers.max >= workers.min, the model's parameter count, two
// or more classes with cross_entropy) are stated in the fields' descriptions; the JSON Schema
// does not encode them, so a document the schema accepts can still be rejected by the validator
// with one of those messages. The reverse does not happen.
//
// Everything here is immutable after static initialization: thread-safe, never throws.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace shoal {

enum class SpecFieldType {
  kObject,         // a map with fixed field names (its children are rows of the table)
  kStringMap,      // a map whose keys are data (metadata.labels): string -> scalar
  kString,         // text; with `enum_values`, exactly one of them
  kInteger,        // decimal integer
  kNumber,         // finite real number
  kBoolean,        // true or false
  kIntegerList,    // list of integers
  kNumberList,     // list of numbers
  kStringList,     // list of strings
  kIntegerOrName,  // an integer, or one of `enum_values` naming one (priority)
  kDuration,       // "90s", "30m", "2h", "1h30m", "1d" or an integer number of seconds
  // A list of integers (its rule: `value`, min/max_items) or one integer (its rule:
  // `integer_alternative`): model.layers, widths for an mlp and the block count for a gpt.
  kIntegerListOrInteger,
};

// "object", "integer", "[]integer", "integer|string", "duration", ...: the TYPE of `explain`.
const char* ToString(SpecFieldType type);

// Constraints on a scalar value (the field itself, or each element of a list or map).
struct SpecValueRule {
  // Inclusive bounds unless the matching *_exclusive is set. For integers and durations (in
  // seconds) the bounds are exact integers; for numbers, doubles.
  std::optional<nlohmann::json> minimum;
  std::optional<nlohmann::json> maximum;
  bool minimum_exclusive = false;
  bool maximum_exclusive = false;
  // Strings: length bounds in bytes of UTF-8 (the JSON Schema's minLength/maxLength count
  // characters, which is the same for ASCII) and an ECMA-262 regular expression, "" for none.
  std::optional<size_t> min_length;
  std::optional<size_t> max_length;
  std::string pattern;
};

// One field of the spec.
struct SpecField {
  std::string path;  // dotted path from the document root: "spec.workers.min"; "" is the root
  SpecFieldType type = SpecFieldType::kString;
  bool required = false;  // must be written (for an object: it holds a required field)
  // The value used when the field is not written, as JSON; nullopt when there is none (required
  // fields, objects, and workers.max, whose default is workers.min).
  std::optional<nlohmann::json> default_value;
  std::vector<std::string> enum_values;  // the only strings accepted (names for kIntegerOrName)
  SpecValueRule value;                   // the scalar itself, or each element of a list / map
  std::optional<size_t> min_items;       // lists: length; kStringMap: number of entries
  std::optional<size_t> max_items;
  SpecValueRule integer_alternative;  // kIntegerListOrInteger: the bounds of the single integer
  // Set when the field applies only with another field's value, e.g. "spec.model.kind=gpt":
  // such a field has no default and may be required then (stated in its description).
  std::string applies_when;
  std::string allowed;      // the ALLOWED line of explain, e.g. "1..4096" or "relu | gelu | tanh"
  std::string description;  // one paragraph: what it means, cross-field rules
};

// Every field, parents before children, in the order the fields are documented. The root (path
// "") is the first row. The returned reference is valid for the life of the program.
const std::vector<SpecField>& SpecFields();

// The row with this exact path, or nullptr.
const SpecField* FindSpecField(std::string_view path);

// The rows whose parent is `path` (the root's children for ""), in table order.
std::vector<const SpecField*> SpecFieldChildren(std::string_view path);

// JSON Schema (draft 2020-12) of a job spec in its JSON form (JobSpecToJson's output, or a YAML
// spec read as JSON): every object closed with additionalProperties:false, enums, ranges,
// lengths, defaults and descriptions from the table. docs/job-spec.schema.json is this value
// dumped with 2-space indentation and a trailing newline; a unit test keeps the two equal.
nlohmann::json JobSpecJsonSchema();

// `kubectl explain` for one field: lines FIELD, TYPE, DEFAULT, ALLOWED, REQUIRED, then
// DESCRIPTION and, for objects, FIELDS listing each child with its type. `path` is a dotted path
// as in SpecField::path, case-sensitive camelCase; "spec." may be left out ("model" is
// "spec.model"; a top-level name wins, so "kind" is the document's kind, "model.kind" the
// model's), and "" or "TrainingJob" is the root. Returns the text (lines end in '\n') on success;
// NotFound for any other path, with a "did you mean" suggestion when a path within two edits
// (letters compared case-insensitively) exists. Thread-safe.
Result<std::string> ExplainSpecField(std::string_view path);

}  // namespace shoal
