// The spec field table (common/spec/spec_fields.h) against the validator (ParseJobSpec), the JSON
// Schema generated from the table against docs/job-spec.schema.json, and ExplainSpecField.
#include "common/spec/spec_fields.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "common/duration.h"
#include "common/spec/job_spec.h"
#include "tests/testing/test_util.h"

namespace shoal {
namespace {

using nlohmann::json;
using ::shoal::testing::ReadFile;
using ::shoal::testing::RepoRoot;

// The smallest valid spec; every case below changes one field of it.
json BaseSpec() {
  return json::parse(R"({"apiVersion": "shoal/v1", "kind": "TrainingJob",
    "metadata": {"name": "m"},
    "spec": {"model": {"layers": [4, 3]}, "data": {"train": "/d"}}})");
}

json::json_pointer Pointer(const std::string& path) {
  std::string pointer;
  for (char c : path) pointer += c == '.' ? '/' : c;
  return json::json_pointer(path.empty() ? "" : "/" + pointer);
}

// Rules that tie a field to another one, which the cases must satisfy to test the field alone.
void AddContext(const std::string& path, const json& value, json* doc) {
  if (path == "spec.resources.gpusPerWorker" && value == 0) {
    (*doc)["spec"]["resources"]["backend"] = "cpu";
  }
  // A cosine schedule's fields need kind cosine, and minLr an lr at least as large.
  if (path == "spec.optimizer.schedule.minLr" || path == "spec.optimizer.schedule.decaySteps") {
    (*doc)["spec"]["optimizer"]["schedule"]["kind"] = "cosine";
    (*doc)["spec"]["optimizer"]["lr"] = 10;
  }
  // A gpt's fields (and an integer model.layers) apply with kind gpt, which needs its sizes, token
  // data and the cpu backend; heads then divides any embedDim, and embedDim any heads.
  const SpecField* f = FindSpecField(path);
  const bool gpt = (f != nullptr && f->applies_when == "spec.model.kind=gpt") ||
                   (path == "spec.model.layers" && value.is_number_integer()) ||
                   (path == "spec.model.kind" && value == "gpt") ||
                   (path == "spec.data.format" && value == "tokens");
  if (gpt) {
    json& model = (*doc)["spec"]["model"];
    model = {{"kind", "gpt"},      {"layers", 1}, {"vocabSize", 2},
             {"contextLength", 4}, {"heads", 1},  {"embedDim", 2}};
    if (path == "spec.model.heads" && value.is_number_integer()) {
      model["embedDim"] = std::max<int64_t>(1, value.get<int64_t>());
    }
    (*doc)["spec"]["data"]["format"] = "tokens";
    (*doc)["spec"]["resources"]["backend"] = "cpu";
  }
}

json With(const std::string& path, const json& value) {
  json doc = BaseSpec();
  AddContext(path, value, &doc);
  doc[Pointer(path)] = value;
  return doc;
}

std::string Errors(const std::vector<SpecError>& errors) {
  std::string out;
  for (const SpecError& e : errors) out += "  " + e.ToString() + "\n";
  return out;
}

// Expects `doc` (sent as JSON, which is YAML) to parse.
Result<JobSpec> ExpectAccepted(const json& doc, const std::string& what) {
  std::vector<SpecError> errors;
  Result<JobSpec> spec = ParseJobSpec(doc.dump(), "t.json", &errors);
  EXPECT_TRUE(spec.ok()) << what << " was rejected:\n" << Errors(errors);
  return spec;
}

// Expects `doc` to be rejected with an error on `path` or inside it.
void ExpectRejected(const json& doc, const std::string& path, const std::string& what) {
  std::vector<SpecError> errors;
  Result<JobSpec> spec = ParseJobSpec(doc.dump(), "t.json", &errors);
  ASSERT_FALSE(spec.ok()) << what << " was accepted";
  bool at_path = false;
  for (const SpecError& e : errors) {
    at_path |=
        e.field == path || e.field.starts_with(path + ".") || e.field.starts_with(path + "[");
  }
  EXPECT_TRUE(at_path) << what << ": no error on " << path << ":\n" << Errors(errors);
}

void ExpectValue(const SpecField& f, const json& value) {
  const std::string what = f.path + " = " + value.dump().substr(0, 80);
  Result<JobSpec> spec = ExpectAccepted(With(f.path, value), what);
  if (!spec.ok()) return;
  // Fields whose canonical JSON is what was written must come back unchanged.
  const bool verbatim = f.type != SpecFieldType::kIntegerOrName &&
                        f.type != SpecFieldType::kDuration && f.type != SpecFieldType::kStringMap &&
                        f.type != SpecFieldType::kObject;
  if (verbatim) {
    EXPECT_EQ(JobSpecToJson(*spec)[Pointer(f.path)], value) << what;
  }
}

void ExpectNoValue(const SpecField& f, const json& value) {
  ExpectRejected(With(f.path, value), f.path, f.path + " = " + value.dump().substr(0, 80));
}

// A valid element for a list or map of `f`.
json ValidItem(const SpecField& f) {
  const SpecValueRule& r = f.value;
  switch (f.type) {
    case SpecFieldType::kIntegerList:
    case SpecFieldType::kIntegerListOrInteger:
      // 2, not the minimum: a last layer of 1 is a cross-field error with cross_entropy.
      return std::max<int64_t>(2, r.minimum->get<int64_t>());
    case SpecFieldType::kNumberList:
      return r.minimum_exclusive ? (r.minimum->get<double>() + r.maximum->get<double>()) / 2
                                 : r.minimum->get<double>();
    default:
      return std::string(std::max<size_t>(1, r.min_length.value_or(0)), 'x');
  }
}

json Repeat(const json& item, size_t n) { return json(std::vector<json>(n, item)); }

// Both ends of an integer range accepted, one past each rejected.
void CheckIntegerBounds(const SpecField& f, const std::function<json(json)>& wrap) {
  const SpecValueRule& r = f.value;
  ASSERT_TRUE(r.minimum && r.maximum) << f.path;
  const int64_t lo = r.minimum->get<int64_t>();
  const uint64_t hi = r.maximum->get<uint64_t>();
  ExpectValue(f, wrap(lo));
  ExpectValue(f, wrap(hi));
  ExpectNoValue(f, wrap(lo - 1));
  ExpectNoValue(f, wrap(hi + 1));
}

void CheckNumberBounds(const SpecField& f, const std::function<json(json)>& wrap) {
  const SpecValueRule& r = f.value;
  ASSERT_TRUE(r.minimum && r.maximum) << f.path;
  const double lo = r.minimum->get<double>();
  const double hi = r.maximum->get<double>();
  constexpr double kInf = INFINITY;
  // An inclusive bound is accepted and the next double beyond it is not; an exclusive bound is
  // rejected and the next double inside it accepted.
  if (r.minimum_exclusive) {
    ExpectNoValue(f, wrap(lo));
    ExpectValue(f, wrap(std::nextafter(lo, kInf)));
  } else {
    ExpectValue(f, wrap(lo));
    ExpectNoValue(f, wrap(std::nextafter(lo, -kInf)));
  }
  if (r.maximum_exclusive) {
    ExpectNoValue(f, wrap(hi));
    ExpectValue(f, wrap(std::nextafter(hi, -kInf)));
  } else {
    ExpectValue(f, wrap(hi));
    ExpectNoValue(f, wrap(std::nextafter(hi, kInf)));
  }
}

void CheckLengthBounds(const SpecField& f, const std::function<json(json)>& wrap) {
  const SpecValueRule& r = f.value;
  ASSERT_TRUE(r.max_length) << f.path;
  const size_t lo = r.min_length.value_or(0);
  // Letters and digits only, so that a DNS label's pattern holds too.
  ExpectValue(f, wrap(std::string(std::max<size_t>(lo, 1), 'a')));
  ExpectValue(f, wrap(std::string(*r.max_length, 'a')));
  ExpectNoValue(f, wrap(std::string(*r.max_length + 1, 'a')));
  if (lo > 0) {
    ExpectNoValue(f, wrap(std::string(lo - 1, 'a')));
  } else {
    ExpectValue(f, wrap(""));
  }
}

void CheckItemCount(const SpecField& f) {
  const json item = ValidItem(f);
  if (f.min_items) {
    ExpectValue(f, Repeat(item, *f.min_items));
    if (*f.min_items > 0) ExpectNoValue(f, Repeat(item, *f.min_items - 1));
  } else {
    ExpectValue(f, json::array());
  }
  ASSERT_TRUE(f.max_items) << f.path;
  ExpectValue(f, Repeat(item, *f.max_items));
  ExpectNoValue(f, Repeat(item, *f.max_items + 1));
}

// A list of the minimum length (at least 2) with its first element replaced.
std::function<json(json)> FirstOfList(const SpecField& f) {
  return [&f](json first) {
    json list = Repeat(ValidItem(f), std::max<size_t>(2, f.min_items.value_or(0)));
    list[0] = std::move(first);
    return list;
  };
}

TEST(SpecFields, TableIsWellFormed) {
  const std::vector<SpecField>& table = SpecFields();
  ASSERT_FALSE(table.empty());
  EXPECT_EQ(table.front().path, "");
  std::set<std::string> seen;
  for (const SpecField& f : table) {
    SCOPED_TRACE(f.path);
    EXPECT_TRUE(seen.insert(f.path).second) << "duplicate row";
    if (!f.path.empty()) {
      const size_t dot = f.path.rfind('.');
      const std::string parent = dot == std::string::npos ? "" : f.path.substr(0, dot);
      ASSERT_TRUE(seen.count(parent)) << "parent must come first";
      EXPECT_EQ(FindSpecField(parent)->type, SpecFieldType::kObject);
      // A required field makes its parent required: the schema's "required" lists follow it.
      if (f.required) {
        EXPECT_TRUE(FindSpecField(parent)->required);
      }
    }
    EXPECT_FALSE(f.description.empty());
    EXPECT_EQ(f.description.find('\n'), std::string::npos) << "one paragraph";
    if (f.type != SpecFieldType::kObject) {
      EXPECT_FALSE(f.allowed.empty());
    }
    // Optional leaves have a default, except workers.max (whose default is workers.min) and
    // fields that apply only with another field's value.
    if (f.type != SpecFieldType::kObject && !f.required && f.path != "spec.workers.max" &&
        f.applies_when.empty()) {
      EXPECT_TRUE(f.default_value.has_value());
    }
    if (f.required) {
      EXPECT_FALSE(f.default_value.has_value());
    }
  }
}

// The defaults of the table are the validator's: the smallest spec's canonical JSON carries them.
TEST(SpecFields, DefaultsAreTheValidators) {
  Result<JobSpec> spec = ExpectAccepted(BaseSpec(), "the base spec");
  ASSERT_TRUE(spec.ok());
  const json canonical = JobSpecToJson(*spec);
  for (const SpecField& f : SpecFields()) {
    if (!f.default_value) continue;
    SCOPED_TRACE(f.path);
    ASSERT_TRUE(canonical.contains(Pointer(f.path)));
    json expected = *f.default_value;
    if (f.path == "spec.priority") expected = 500;  // stored as its number
    EXPECT_EQ(canonical[Pointer(f.path)], expected);
  }
  EXPECT_EQ(canonical["spec"]["workers"]["max"], canonical["spec"]["workers"]["min"]);
}

// Every value the table allows is accepted and stored; every value just outside is rejected.
TEST(SpecFields, ValidatorAcceptsExactlyWhatTheTableAllows) {
  const auto self = [](json v) { return v; };
  for (const SpecField& f : SpecFields()) {
    SCOPED_TRACE(f.path);
    if (f.path.empty()) continue;
    // The wrong kind of value is rejected at the field itself.
    ExpectNoValue(f, f.type == SpecFieldType::kObject || f.type == SpecFieldType::kStringMap
                         ? json::array({1})
                         : json{{"a", 1}});
    if (f.default_value) ExpectValue(f, *f.default_value);
    switch (f.type) {
      case SpecFieldType::kObject:
        if (!f.required) ExpectValue(f, json::object());  // every field inside has a default
        break;
      case SpecFieldType::kString:
        if (!f.enum_values.empty()) {
          for (const std::string& v : f.enum_values) ExpectValue(f, v);
          ExpectNoValue(f, f.enum_values[0] + "x");
          ExpectNoValue(f, "");
        } else {
          CheckLengthBounds(f, self);
        }
        if (!f.value.pattern.empty()) {
          for (const char* bad : {"A", "-a", "a-", "a_b", "a.b"}) ExpectNoValue(f, bad);
          ExpectValue(f, "a-0");
        }
        break;
      case SpecFieldType::kInteger:
        CheckIntegerBounds(f, self);
        ExpectNoValue(f, 1.5);
        ExpectNoValue(f, "1");  // quoted scalars are strings
        break;
      case SpecFieldType::kNumber:
        CheckNumberBounds(f, self);
        ExpectNoValue(f, "0.5");
        break;
      case SpecFieldType::kBoolean:
        ExpectValue(f, true);
        ExpectValue(f, false);
        ExpectNoValue(f, "true");
        ExpectNoValue(f, 1);
        break;
      case SpecFieldType::kIntegerList:
        CheckItemCount(f);
        CheckIntegerBounds(f, FirstOfList(f));
        break;
      case SpecFieldType::kNumberList:
        CheckItemCount(f);
        CheckNumberBounds(f, FirstOfList(f));
        break;
      case SpecFieldType::kStringList:
        CheckItemCount(f);
        CheckLengthBounds(f, [](json v) { return json::array({v}); });
        break;
      case SpecFieldType::kStringMap: {
        ASSERT_TRUE(f.max_items && f.value.max_length);
        json many = json::object();
        for (size_t i = 0; i < *f.max_items; ++i) many["k" + std::to_string(i)] = "v";
        ExpectValue(f, many);
        many["one-more"] = "v";
        ExpectNoValue(f, many);
        CheckLengthBounds(f, [](json v) { return json{{"key", v}}; });
        const std::string longest(*f.value.max_length, 'k');
        ExpectValue(f, json{{longest, "v"}});
        ExpectNoValue(f, json{{longest + "k", "v"}});
        ExpectNoValue(f, json{{"", "v"}});
        ExpectValue(f, json{{"version", 2}, {"on", true}});  // scalars kept as text
        break;
      }
      case SpecFieldType::kIntegerOrName:
        for (const std::string& v : f.enum_values) ExpectValue(f, v);
        ExpectNoValue(f, f.enum_values[0] + "x");
        CheckIntegerBounds(f, self);
        break;
      case SpecFieldType::kIntegerListOrInteger: {
        CheckItemCount(f);
        CheckIntegerBounds(f, FirstOfList(f));
        SpecField single = f;  // the integer alternative, checked as an integer of its own
        single.value = f.integer_alternative;
        CheckIntegerBounds(single, self);
        ExpectNoValue(f, 1.5);
        break;
      }
      case SpecFieldType::kDuration: {
        CheckIntegerBounds(f, self);
        const int64_t hi = f.value.maximum->get<int64_t>();
        ExpectValue(f, FormatDurationSeconds(hi));
        ExpectNoValue(f, FormatDurationSeconds(hi + 1));
        for (const char* ok : {"90s", "30m", "2h", "1h30m", "1d12h", "2h0m5s", "3600"}) {
          ExpectValue(f, ok);
        }
        for (const char* bad : {"", "0s", "1.5h", "5s1m", "1h1h", "2 h", "-5", "1w"}) {
          ExpectNoValue(f, bad);
        }
        break;
      }
    }
  }
}

// The schema's regular expressions say what IsDnsLabel and ParseDurationSeconds say.
TEST(SpecFields, PatternsAgreeWithTheParsers) {
  const std::regex dns(FindSpecField("metadata.name")->value.pattern);
  const std::vector<std::string> labels = {"a",
                                           "a-b",
                                           "0",
                                           "abc-123",
                                           "A",
                                           "-a",
                                           "a-",
                                           "",
                                           "a_b",
                                           "a.b",
                                           "ä",
                                           std::string(63, 'a'),
                                           std::string(64, 'a')};
  for (const std::string& s : labels) {
    EXPECT_EQ(std::regex_match(s, dns), IsDnsLabel(s)) << "\"" << s << "\"";
  }
  const std::regex duration(FindSpecField("spec.limits.maxRuntime")->value.pattern);
  for (const char* s : {"1", "90s", "30m", "2h", "1h30m", "1d", "1d12h", "2h0m5s", "007m", "5s1m",
                        "1h1h", "1.5h", "-5", "+5", "1w", "h", "2 h", "1D"}) {
    EXPECT_EQ(std::regex_match(s, duration), ParseDurationSeconds(s).ok()) << s;
  }
}

// The keys the validator allows, read from its "unknown field" error, are the table's children;
// the unknown key is reported at every level.
TEST(SpecFields, UnknownFieldAtEveryLevelIsRejectedAndAllowedKeysAreTheTables) {
  for (const SpecField& f : SpecFields()) {
    if (f.type != SpecFieldType::kObject) continue;
    SCOPED_TRACE(f.path.empty() ? "<root>" : f.path);
    json doc = BaseSpec();
    if (!doc.contains(Pointer(f.path))) doc[Pointer(f.path)] = json::object();
    doc[Pointer(f.path)]["bogusField"] = 1;
    std::vector<SpecError> errors;
    ASSERT_FALSE(ParseJobSpec(doc.dump(), "t.json", &errors).ok());
    const std::string bogus = f.path.empty() ? "bogusField" : f.path + ".bogusField";
    const SpecError* error = nullptr;
    for (const SpecError& e : errors) {
      if (e.field == bogus) error = &e;
    }
    ASSERT_NE(error, nullptr) << Errors(errors);
    const size_t at = error->message.find("allowed: ");
    ASSERT_NE(at, std::string::npos) << error->message;
    std::set<std::string> allowed;
    std::string rest = error->message.substr(at + 9);
    for (size_t start = 0; start <= rest.size();) {
      size_t end = rest.find(", ", start);
      if (end == std::string::npos) end = rest.size();
      allowed.insert(rest.substr(start, end - start));
      start = end + 2;
    }
    std::set<std::string> table;
    for (const SpecField* child : SpecFieldChildren(f.path)) {
      table.insert(child->path.substr(f.path.empty() ? 0 : f.path.size() + 1));
    }
    EXPECT_EQ(allowed, table);
  }
}

// A spec with every field written parses, and its canonical JSON has exactly the table's paths.
TEST(SpecFields, MaximalSpecHasExactlyTheTablesFields) {
  json doc = BaseSpec();
  for (const SpecField& f : SpecFields()) {
    // Fields that apply only with another value (a gpt's sizes) are not part of this mlp spec.
    if (f.path.empty() || f.type == SpecFieldType::kObject || doc.contains(Pointer(f.path)) ||
        !f.applies_when.empty()) {
      continue;
    }
    doc[Pointer(f.path)] = f.default_value ? *f.default_value : json(1);
  }
  doc["metadata"]["labels"] = {{"team", "vision"}};
  Result<JobSpec> spec = ExpectAccepted(doc, "the maximal spec");
  ASSERT_TRUE(spec.ok());

  std::set<std::string> canonical;
  std::function<void(const json&, const std::string&)> walk = [&](const json& j,
                                                                  const std::string& path) {
    canonical.insert(path);
    const SpecField* f = FindSpecField(path);
    if (!j.is_object() || (f && f->type == SpecFieldType::kStringMap)) return;
    for (const auto& [key, value] : j.items()) walk(value, path.empty() ? key : path + "." + key);
  };
  walk(JobSpecToJson(*spec), "");
  std::set<std::string> table;
  for (const SpecField& f : SpecFields()) {
    if (f.applies_when.empty()) table.insert(f.path);
  }
  EXPECT_EQ(canonical, table);
  // A gpt's canonical JSON has its sizes instead of the mlp's activation and loss.
  json gpt = BaseSpec();
  AddContext("spec.model.kind", "gpt", &gpt);
  Result<JobSpec> gpt_spec = ExpectAccepted(gpt, "the gpt spec");
  ASSERT_TRUE(gpt_spec.ok());
  const json model = JobSpecToJson(*gpt_spec)["spec"]["model"];
  std::set<std::string> keys;
  for (const auto& [key, value] : model.items()) keys.insert(key);
  EXPECT_EQ(keys, (std::set<std::string>{"kind", "layers", "vocabSize", "contextLength", "heads",
                                         "embedDim", "init"}));
}

void CheckClosed(const json& schema, const std::string& where) {
  if (!schema.is_object()) return;
  if (schema.value("type", json()) == "object" && schema.contains("properties")) {
    EXPECT_EQ(schema.value("additionalProperties", json()), false) << where;
  }
  for (const auto& [key, value] : schema.items()) {
    if (value.is_structured()) CheckClosed(value, where + "/" + key);
  }
}

TEST(JobSpecSchema, ClosedAtEveryLevelAndDescribed) {
  const json schema = JobSpecJsonSchema();
  EXPECT_EQ(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
  CheckClosed(schema, "");
  EXPECT_EQ(schema["required"], json({"apiVersion", "kind", "metadata", "spec"}));
  const json& workers = schema["properties"]["spec"]["properties"]["workers"];
  EXPECT_EQ(workers["properties"]["min"]["minimum"], 1);
  EXPECT_EQ(workers["properties"]["min"]["maximum"], 4096);
  EXPECT_EQ(workers["properties"]["min"]["default"], 1);
  const json& lr = schema["properties"]["spec"]["properties"]["optimizer"]["properties"]["lr"];
  EXPECT_EQ(lr["exclusiveMinimum"], 0.0);
  EXPECT_FALSE(lr.contains("minimum"));
  EXPECT_EQ(schema["properties"]["spec"]["properties"]["model"]["properties"]["activation"]["enum"],
            json({"relu", "gelu", "tanh"}));
  EXPECT_EQ(schema["properties"]["spec"]["properties"]["model"]["required"], json({"layers"}));
  // Every row is described.
  for (const SpecField& f : SpecFields()) {
    if (f.path.empty()) continue;
    std::string pointer;
    for (char c : f.path) pointer += c == '.' ? std::string("/properties/") : std::string(1, c);
    const json& node = schema[json::json_pointer("/properties/" + pointer)];
    EXPECT_EQ(node["description"], f.description) << f.path;
  }
}

// docs/job-spec.schema.json is generated: rerun with SHOAL_UPDATE_SCHEMA=1 to rewrite it.
TEST(JobSpecSchema, CheckedInFileIsCurrent) {
  const std::filesystem::path file = RepoRoot() / "docs" / "job-spec.schema.json";
  const std::string generated = JobSpecJsonSchema().dump(2) + "\n";
  if (const char* update = std::getenv("SHOAL_UPDATE_SCHEMA"); update && *update == '1') {
    std::ofstream(file, std::ios::binary) << generated;
  }
  EXPECT_EQ(ReadFile(file), generated)
      << file
      << " differs from JobSpecJsonSchema(). If the change to common/spec/spec_fields.cc is "
      << "intended, regenerate it: SHOAL_UPDATE_SCHEMA=1 build/tests/spec_fields_test "
      << "--gtest_filter='JobSpecSchema.*'";
}

// Markdown table cells: '|' would end the cell.
std::string Cell(const std::string& text) {
  std::string out;
  for (char c : text) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}

// docs/job-spec.md's field reference, as generated from the table.
std::string FieldTableMarkdown() {
  std::string out = "| field | type | required | default | allowed | description |\n";
  out += "|---|---|---|---|---|---|\n";
  for (const SpecField& f : SpecFields()) {
    if (f.path.empty()) continue;
    const std::string def = f.default_value                ? "`" + f.default_value->dump() + "`"
                            : f.path == "spec.workers.max" ? "`min`"
                                                           : "—";
    out += "| `" + f.path + "` | " + Cell(ToString(f.type)) + " | " + (f.required ? "yes" : "no") +
           " | " + Cell(def) + " | " + Cell(f.allowed.empty() ? "—" : f.allowed) + " | " +
           Cell(f.description) + " |\n";
  }
  return out;
}

// docs/job-spec.md's field reference is the table's: rerun with SHOAL_UPDATE_SCHEMA=1 to rewrite
// it.
TEST(JobSpecSchema, ReferenceDocumentTableIsCurrent) {
  const std::filesystem::path file = RepoRoot() / "docs" / "job-spec.md";
  std::string doc = ReadFile(file);
  const std::string begin_marker = "<!-- BEGIN FIELDS";
  const std::string end_marker = "<!-- END FIELDS -->";
  const size_t begin = doc.find(begin_marker);
  const size_t end = doc.find(end_marker);
  ASSERT_NE(begin, std::string::npos) << file;
  ASSERT_NE(end, std::string::npos) << file;
  const size_t table = doc.find('\n', begin) + 1;
  ASSERT_LE(table, end);
  const std::string generated = FieldTableMarkdown();
  if (const char* update = std::getenv("SHOAL_UPDATE_SCHEMA"); update && *update == '1') {
    doc.replace(table, end - table, generated);
    std::ofstream(file, std::ios::binary) << doc;
    return;
  }
  EXPECT_EQ(doc.substr(table, end - table), generated)
      << "the field table in " << file
      << " differs from common/spec/spec_fields.cc; regenerate it: "
      << "SHOAL_UPDATE_SCHEMA=1 build/tests/spec_fields_test --gtest_filter='JobSpecSchema.*'";
  for (const SpecField& f : SpecFields()) {
    if (f.path.empty()) continue;
    EXPECT_NE(doc.find("| `" + f.path + "` |"), std::string::npos) << f.path;
  }
}

TEST(ExplainSpecField, LeafField) {
  Result<std::string> text = ExplainSpecField("spec.workers.min");
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  EXPECT_NE(text->find("FIELD:    spec.workers.min\n"), std::string::npos) << *text;
  EXPECT_NE(text->find("TYPE:     integer\n"), std::string::npos) << *text;
  EXPECT_NE(text->find("DEFAULT:  1\n"), std::string::npos) << *text;
  EXPECT_NE(text->find("ALLOWED:  1..4096\n"), std::string::npos) << *text;
  EXPECT_NE(text->find("REQUIRED: no\n"), std::string::npos) << *text;
  EXPECT_NE(text->find("DESCRIPTION:\n    Fewest ranks"), std::string::npos) << *text;
  EXPECT_EQ(text->find("FIELDS:"), std::string::npos) << *text;
}

TEST(ExplainSpecField, ObjectListsItsChildrenAndSpecIsImplied) {
  Result<std::string> full = ExplainSpecField("spec.model");
  Result<std::string> shorter = ExplainSpecField("model");
  ASSERT_TRUE(full.ok() && shorter.ok());
  EXPECT_EQ(*full, *shorter);
  EXPECT_NE(full->find("TYPE:     object\n"), std::string::npos) << *full;
  EXPECT_NE(full->find("REQUIRED: yes\n"), std::string::npos) << *full;
  EXPECT_NE(full->find("FIELDS:\n"), std::string::npos) << *full;
  EXPECT_NE(full->find("    layers         <[]integer|integer>  -required-\n"), std::string::npos)
      << *full;
  EXPECT_NE(full->find("    activation     <string>\n"), std::string::npos) << *full;
  EXPECT_NE(ExplainSpecField("optimizer.betas")->find("DEFAULT:  [0.9,0.999]"), std::string::npos);
  EXPECT_NE(ExplainSpecField("metadata.name")->find("FIELD:    metadata.name"), std::string::npos);
  // A top-level name wins over spec.<name>.
  EXPECT_NE(ExplainSpecField("kind")->find("FIELD:    kind\n"), std::string::npos);
  EXPECT_NE(ExplainSpecField("model.kind")->find("FIELD:    spec.model.kind\n"), std::string::npos);
}

TEST(ExplainSpecField, RootByEmptyPathOrKind) {
  Result<std::string> empty = ExplainSpecField("");
  Result<std::string> kind = ExplainSpecField("TrainingJob");
  ASSERT_TRUE(empty.ok() && kind.ok());
  EXPECT_EQ(*empty, *kind);
  EXPECT_NE(empty->find("FIELD:    TrainingJob\n"), std::string::npos) << *empty;
  for (const char* child : {"apiVersion", "kind", "metadata", "spec"}) {
    EXPECT_NE(empty->find("    " + std::string(child)), std::string::npos) << child;
  }
}

TEST(ExplainSpecField, EveryTableFieldExplains) {
  for (const SpecField& f : SpecFields()) {
    Result<std::string> text = ExplainSpecField(f.path);
    ASSERT_TRUE(text.ok()) << f.path;
    EXPECT_NE(text->find(f.description.substr(0, 20)), std::string::npos) << f.path;
  }
}

TEST(ExplainSpecField, UnknownPathIsNotFoundWithASuggestion) {
  Result<std::string> typo = ExplainSpecField("spec.wrokers.min");
  ASSERT_FALSE(typo.ok());
  EXPECT_EQ(typo.status().code(), StatusCode::kNotFound);
  EXPECT_NE(typo.status().message().find("did you mean \"spec.workers.min\"?"), std::string::npos)
      << typo.status().message();
  Result<std::string> short_typo = ExplainSpecField("training.bachSize");
  ASSERT_FALSE(short_typo.ok());
  EXPECT_NE(short_typo.status().message().find("did you mean \"training.batchSize\"?"),
            std::string::npos)
      << short_typo.status().message();
  // Case-sensitive: camelCase only, but the suggestion shows the right spelling.
  Result<std::string> cased = ExplainSpecField("spec.training.batchsize");
  ASSERT_FALSE(cased.ok());
  EXPECT_NE(cased.status().message().find("spec.training.batchSize"), std::string::npos);
  Result<std::string> nothing_close = ExplainSpecField("completely.unrelated");
  ASSERT_FALSE(nothing_close.ok());
  EXPECT_EQ(nothing_close.status().message().find("did you mean"), std::string::npos);
  EXPECT_FALSE(ExplainSpecField("spec.").ok());
  EXPECT_FALSE(ExplainSpecField("metadata.labels.team").ok());
}

}  // namespace
}  // namespace shoal
