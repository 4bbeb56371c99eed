#include "common/utf8.h"

#include <gtest/gtest.h>

#include "common/spec/job_spec.h"

namespace shoal {
namespace {

TEST(Utf8Test, FindsTheFirstInvalidByteAndRepairsWithReplacementCharacters) {
  EXPECT_EQ(FirstInvalidUtf8("plain ascii"), std::string_view::npos);
  EXPECT_EQ(FirstInvalidUtf8("caf\xC3\xA9 \xE4\xB8\xAD\xF0\x9F\x90\x9F"), std::string_view::npos);
  EXPECT_EQ(FirstInvalidUtf8("caf\xE9!"), 3u);          // Latin-1
  EXPECT_EQ(FirstInvalidUtf8("ab\xC0\xAF"), 2u);        // overlong '/'
  EXPECT_EQ(FirstInvalidUtf8("x\xED\xA0\x80"), 1u);     // a UTF-16 surrogate
  EXPECT_EQ(FirstInvalidUtf8("\xF4\x90\x80\x80"), 0u);  // past U+10FFFF
  EXPECT_EQ(FirstInvalidUtf8("ok\xE4\xB8"), 2u);        // cut short
  EXPECT_EQ(SanitizeUtf8("caf\xE9!"), "caf\xEF\xBF\xBD!");
  EXPECT_EQ(SanitizeUtf8("\xE4\xB8"), "\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(SanitizeUtf8("caf\xC3\xA9"), "caf\xC3\xA9");  // valid text is untouched
  EXPECT_TRUE(IsValidUtf8(SanitizeUtf8("\xFF\xFE\x80 mixed \xC3")));
}

TEST(Utf8Test, ASpecIsRefusedForInvalidUtf8EvenInAComment) {
  const std::string spec =
      "apiVersion: shoal/v1\nkind: TrainingJob\nmetadata: {name: x}  # caf\xE9\n"
      "spec:\n  model: {layers: [4, 2]}\n  data: {train: /d/train}\n";
  std::vector<SpecError> errors;
  auto parsed = ParseJobSpec(spec, "job.yaml", &errors);
  ASSERT_FALSE(parsed.ok());
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].line, 3);
  EXPECT_EQ(errors[0].column, 27);
  EXPECT_NE(parsed.status().message().find("job.yaml:3:27: found byte 0xE9 that is not UTF-8"),
            std::string::npos)
      << parsed.status().message();
  EXPECT_TRUE(IsValidUtf8(parsed.status().message()));
}

}  // namespace
}  // namespace shoal
