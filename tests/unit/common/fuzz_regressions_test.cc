// Regression tests for what the libFuzzer targets of tests/fuzz found in common/ (issue 5: bad
// input never breaks anything). Each test names the corpus file that holds the original input.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/spec/job_spec.h"

namespace shoal {
namespace {

// True when `s` can go into a JSON reply (nlohmann's dump throws on invalid UTF-8).
bool IsJsonSafe(const std::string& s) {
  try {
    (void)nlohmann::json(s).dump();
    return true;
  } catch (const nlohmann::json::exception&) {
    return false;
  }
}

// tests/fuzz/corpus/job_spec_fuzzer/crash-yaml-escape-invalid-utf8: yaml-cpp's syntax error
// quotes the byte after a backslash ("unknown escape character: \xFE"); the scheduler then failed
// to render the 400 reply of POST /v1/jobs as JSON.
TEST(JobSpecFuzzRegressions, YamlSyntaxErrorWithInvalidUtf8IsValidUtf8) {
  for (const std::string& text :
       {std::string("a: \"\\\xFE\"\n"), std::string("apiVersion: shoal/v1\nkind: \"\\\xC3\"\n")}) {
    std::vector<SpecError> errors;
    Result<JobSpec> spec = ParseJobSpec(text, "job.yaml", &errors);
    ASSERT_FALSE(spec.ok());
    EXPECT_EQ(spec.status().code(), StatusCode::kInvalidArgument);
    ASSERT_EQ(errors.size(), 1u);
    // Since issue 12 a spec must be UTF-8 as a whole: refused before yaml-cpp sees it, with a
    // message that names the byte rather than quoting it.
    EXPECT_NE(errors[0].message.find("that is not UTF-8"), std::string::npos)
        << errors[0].message;
    EXPECT_TRUE(IsJsonSafe(errors[0].message));
    EXPECT_TRUE(IsJsonSafe(spec.status().message()));
  }
}

// Parses `text` on another thread; nullopt if ParseJobSpec did not return within `limit` (the
// thread is then left behind, so a hang fails the test instead of stalling the suite).
std::optional<std::vector<SpecError>> ParseWithin(const std::string& text,
                                                  std::chrono::seconds limit) {
  auto done = std::make_shared<std::promise<std::vector<SpecError>>>();
  std::future<std::vector<SpecError>> result = done->get_future();
  std::thread([text, done] {
    std::vector<SpecError> errors;
    (void)ParseJobSpec(text, "job.yaml", &errors);
    done->set_value(std::move(errors));
  }).detach();
  if (result.wait_for(limit) != std::future_status::ready) return std::nullopt;
  return result.get();
}

// tests/fuzz/corpus/job_spec_fuzzer/timeout-yaml-cpp-loadall-stall (and api_fuzzer's, the same
// text as the body of POST /v1/jobs): yaml-cpp 0.7's LoadAll never returns on these, its parser
// yielding empty documents forever without consuming input. That hung the scheduler's event loop.
TEST(JobSpecFuzzRegressions, StrayFlowContentAfterADocumentIsASyntaxErrorNotAHang) {
  for (const std::string& text :
       {std::string(", {a {b: }}"), std::string("{}, {a {b: }}"),
        std::string("{\"apiVersion\": \"shoal/v1\"}, {\"t\": \"p \"s {\"w\": }}")}) {
    std::optional<std::vector<SpecError>> errors = ParseWithin(text, std::chrono::seconds(10));
    ASSERT_TRUE(errors.has_value()) << "ParseJobSpec hung on: " << text;
    ASSERT_EQ(errors->size(), 1u) << text;
    EXPECT_EQ((*errors)[0].field, "");
    EXPECT_EQ((*errors)[0].line, 1);
    EXPECT_NE((*errors)[0].message.find("invalid YAML"), std::string::npos) << (*errors)[0].message;
  }
}

// The document count that replaced LoadAll still reports every document and where the second
// one starts.
TEST(JobSpecFuzzRegressions, SeveralDocumentsAreStillCounted) {
  std::optional<std::vector<SpecError>> errors =
      ParseWithin("a: 1\n---\nb: 2\n---\n- c\n", std::chrono::seconds(10));
  ASSERT_TRUE(errors.has_value());
  ASSERT_EQ(errors->size(), 1u);
  EXPECT_EQ((*errors)[0].line, 3);
  EXPECT_EQ((*errors)[0].message, "found 3 YAML documents, expected one job spec");
}

}  // namespace
}  // namespace shoal
