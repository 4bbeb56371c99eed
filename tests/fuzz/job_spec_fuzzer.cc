// libFuzzer target: ParseJobSpec on arbitrary YAML/JSON text (what `shoal submit` and the
// scheduler's POST /v1/jobs accept from users).
//
// Besides "no crash, leak, UB or hang" it checks the parser's documented contract:
//  - a failure is InvalidArgument with 1..kMaxReportedSpecErrors structured errors whose
//    ToString()s, joined by '\n', are the status message, and every error is JSON-serializable
//    (valid UTF-8: the scheduler sends them back in a JSON reply);
//  - a success round-trips: ParseJobSpec(JobSpecToJson(spec).dump()) gives back an equal spec.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/spec/job_spec.h"

namespace {

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "job_spec_fuzzer: %s\n", what.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<shoal::SpecError> errors;
  auto spec = shoal::ParseJobSpec(text, "fuzz.yaml", &errors);
  if (!spec.ok()) {
    if (spec.status().code() != shoal::StatusCode::kInvalidArgument) {
      Fail("failure is not InvalidArgument: " + spec.status().ToString());
    }
    if (errors.empty() || errors.size() > shoal::kMaxReportedSpecErrors) {
      Fail("a failure reported " + std::to_string(errors.size()) + " errors");
    }
    std::string joined;
    for (const shoal::SpecError& e : errors) {
      if (!joined.empty()) joined += '\n';
      joined += e.ToString();
    }
    if (joined != spec.status().message()) Fail("message is not the joined errors");
    try {
      (void)nlohmann::json{{"message", spec.status().message()}, {"field", errors[0].field}}.dump();
    } catch (const nlohmann::json::exception& e) {
      Fail(std::string("error message is not valid UTF-8 JSON: ") + e.what());
    }
    return 0;
  }
  if (!errors.empty()) Fail("a successful parse reported errors");
  const std::string json = shoal::JobSpecToJson(*spec).dump();
  std::vector<shoal::SpecError> again_errors;
  auto again = shoal::ParseJobSpec(json, "roundtrip.json", &again_errors);
  if (!again.ok()) Fail("canonical JSON does not parse: " + again.status().message() + "\n" + json);
  if (!(*again == *spec)) Fail("canonical JSON parses to a different spec: " + json);
  return 0;
}
