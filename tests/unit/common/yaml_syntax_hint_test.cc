// Hints added to yaml-cpp's structure errors ("end of map not found", "illegal map value", ...)
// when a job spec is not valid YAML: the real messages, on real malformed files, through
// ParseJobSpec, keeping file:line:column.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/spec/job_spec.h"
#include "common/spec/yaml_reader.h"

namespace shoal {
namespace {

// The one error ParseJobSpec reports for `text`.
SpecError OnlyError(const std::string& text) {
  std::vector<SpecError> errors;
  EXPECT_FALSE(ParseJobSpec(text, "job.yaml", &errors).ok()) << text;
  EXPECT_EQ(errors.size(), 1u) << text;
  return errors.empty() ? SpecError{} : errors[0];
}

YAML::Mark At(int line, int column) {
  YAML::Mark mark;  // yaml-cpp's (pos, line, column) constructor is private
  mark.line = line;
  mark.column = column;
  return mark;
}

constexpr char kHead[] = "apiVersion: shoal/v1\nkind: TrainingJob\n";

TEST(YamlSyntaxHint, TabInIndentationNamesLineAndColumn) {
  // Line 5 indents `layers` with a tab.
  const SpecError e =
      OnlyError(std::string(kHead) + "metadata: {name: m}\nspec:\n  model:\n\tlayers: [4, 3]\n");
  EXPECT_EQ(e.ToString(),
            "job.yaml:6:2: invalid YAML: end of map not found; hint: line 6 has a tab in column 1: "
            "YAML indents with spaces, never tabs");
}

TEST(YamlSyntaxHint, TabAfterSpacesInTheIndentation) {
  const SpecError e = OnlyError(std::string(kHead) + "metadata:\n  \tname: m\n  project: p\n");
  EXPECT_EQ(e.ToString(),
            "job.yaml:4:8: invalid YAML: illegal map value; hint: line 4 has a tab in column 3: "
            "YAML indents with spaces, never tabs");
}

TEST(YamlSyntaxHint, TabBetweenTokensIsNotBlamed) {
  // The tab inside the flow list on line 2 is legal; line 3's indentation is the mistake.
  EXPECT_EQ(YamlSyntaxHint("a:\n  b: [1,\t2]\n c: 2\n", At(2, 1), "end of map not found"),
            "check the indentation of line 3: keys of one map must start in the same column");
  EXPECT_EQ(YamlSyntaxHint("a:\n  b: 1 \t# x\n    c: 2\n", At(2, 4), "end of map not found"),
            "check the indentation of line 3: keys of one map must start in the same column");
  // A tab indenting the line before the mark is still found.
  EXPECT_EQ(YamlSyntaxHint("a:\n\tb: 1\n  c: 2\n", At(2, 2), "end of map not found"),
            "line 2 has a tab in column 1: YAML indents with spaces, never tabs");
}

TEST(YamlSyntaxHint, IllegalTabMessageGetsTheColumnToo) {
  const SpecError e = OnlyError(std::string(kHead) + "metadata:\n  name: m\n\tproject: x\n");
  EXPECT_EQ(e.ToString(),
            "job.yaml:5:1: invalid YAML: illegal tab when looking for indentation; hint: line 5 "
            "has a tab in column 1: YAML indents with spaces, never tabs");
}

TEST(YamlSyntaxHint, KeyLessIndentedThanItsSiblings) {
  // `data` (column 4) is neither under `model` (column 5) nor beside `spec`'s other keys.
  const SpecError e = OnlyError(std::string(kHead) +
                                "metadata: {name: m}\nspec:\n  model:\n    layers: [4, 3]\n"
                                "   data: {train: /d}\n");
  EXPECT_EQ(e.ToString(),
            "job.yaml:7:4: invalid YAML: end of map not found; hint: check the indentation of line "
            "7: keys of one map must start in the same column");
}

TEST(YamlSyntaxHint, KeyMoreIndentedThanItsSibling) {
  const SpecError e = OnlyError(std::string(kHead) + "metadata:\n  name: m\n    project: x\n");
  EXPECT_EQ(e.ToString(),
            "job.yaml:5:12: invalid YAML: illegal map value; hint: check the indentation of line "
            "5: keys of one map must start in the same column");
}

TEST(YamlSyntaxHint, ListItemsOutOfLine) {
  const SpecError e = OnlyError(std::string(kHead) +
                                "metadata: {name: m}\nspec:\n  model:\n    layers:\n      - 4\n"
                                "     - 3\n");
  EXPECT_EQ(e.line, 8);
  EXPECT_EQ(e.column, 6);
  EXPECT_NE(e.message.find("end of map not found; hint: check the indentation of line 8: items of "
                           "one list must start in the same column"),
            std::string::npos)
      << e.ToString();
}

TEST(YamlSyntaxHint, EndOfSequenceNotFound) {
  // Line 7's item starts in column 6, between the outer list's (5) and the inner one's (7).
  const SpecError e =
      OnlyError(std::string(kHead) + "spec:\n  model:\n    layers:\n    - - 4\n     - 3\n");
  EXPECT_EQ(e.ToString(),
            "job.yaml:7:6: invalid YAML: end of sequence not found; hint: check the indentation "
            "of line 7: items of one list must start in the same column");
}

TEST(YamlSyntaxHint, MissingSpaceAfterColon) {
  // "name:m" is one scalar, so the next line's "project: x" is an illegal map value.
  const SpecError e = OnlyError(std::string(kHead) + "metadata:\n  name:m\n  project: x\n");
  EXPECT_EQ(e.ToString(),
            "job.yaml:5:10: invalid YAML: illegal map value; hint: line 4 has no space after a ':' "
            "(write \"key: value\", not \"key:value\")");
}

TEST(YamlSyntaxHint, UnquotedColonInAValue) {
  const SpecError e = OnlyError(std::string(kHead) +
                                "metadata: {name: m}\nspec:\n  data:\n    train: /d\n"
                                "    test: see: notes\n");
  EXPECT_EQ(e.ToString(),
            "job.yaml:7:14: invalid YAML: illegal map value; hint: the value on line 7 contains "
            "\": \"; put it in quotes, e.g. key: \"a: b\"");
}

TEST(YamlSyntaxHint, UnclosedFlowMap) {
  const SpecError e = OnlyError(std::string(kHead) + "metadata: {name: m\nspec: {}\n");
  EXPECT_EQ(e.line, 4);
  EXPECT_NE(e.message.find("end of map flow not found; hint: check the brackets before line 4, "
                           "column 5: every '[' needs its ']'"),
            std::string::npos)
      << e.ToString();
}

TEST(YamlSyntaxHint, NoHintForOtherErrorsOrUnknownPositions) {
  EXPECT_EQ(YamlSyntaxHint("a: \"\\q\"\n", At(0, 3), "unknown escape character: q"), "");
  EXPECT_EQ(YamlSyntaxHint("a:\n\tb: 1\n", YAML::Mark::null_mark(), "end of map not found"), "");
  // A URL's ':' is not a missing space; the line is then an indentation problem.
  EXPECT_EQ(YamlSyntaxHint("a:\n  url: http://h:80/x\n    b: 1\n", At(2, 5), "illegal map value"),
            "check the indentation of line 3: keys of one map must start in the same column");
  // A mark past the end of the text (yaml-cpp reports end of input) still gives a hint.
  EXPECT_EQ(YamlSyntaxHint("a: [1, 2\n", At(5, 0), "end of sequence flow not found"),
            "check the brackets before line 6, column 1: every '[' needs its ']' and every '{' "
            "its '}', closed in the reverse order");
}

TEST(YamlSyntaxHint, CarriageReturnLineEndingsAreNotTabs) {
  const SpecError e = OnlyError(std::string("apiVersion: shoal/v1\r\nkind: TrainingJob\r\n") +
                                "metadata:\r\n  name: m\r\n    project: x\r\n");
  EXPECT_NE(e.message.find("check the indentation of line 5"), std::string::npos) << e.ToString();
}

}  // namespace
}  // namespace shoal
