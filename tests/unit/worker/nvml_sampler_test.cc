// The NVML sampler against a stand-in library (tests/testing/fake_nvml.cc): loading, reading two
// GPUs, and being unavailable (no library, failed init) without failing the worker.
#include "worker/agent/nvml_sampler.h"

#include <cstdlib>

#include <gtest/gtest.h>

namespace shoal {
namespace {

class NvmlSamplerTest : public ::testing::Test {
 protected:
  void TearDown() override {
    unsetenv("SHOAL_NVML_LIBRARY");
    unsetenv("SHOAL_FAKE_NVML_FAIL");
  }
};

TEST_F(NvmlSamplerTest, SamplesEveryDeviceTheLibraryReports) {
  setenv("SHOAL_NVML_LIBRARY", SHOAL_FAKE_NVML, 1);
  NvmlSampler sampler;
  ASSERT_TRUE(sampler.available()) << sampler.why_unavailable();
  const std::vector<wire::GpuSample> samples = sampler.Sample();
  ASSERT_EQ(samples.size(), 2u);
  EXPECT_EQ(samples[0].index, 0);
  EXPECT_DOUBLE_EQ(samples[0].utilization, 0.37);
  EXPECT_EQ(samples[0].memory_used_mib, 5 * 1024);
  EXPECT_EQ(samples[0].memory_total_mib, 80 * 1024);
  EXPECT_EQ(samples[1].index, 1);
  EXPECT_EQ(samples[1].utilization, 0.0);
  // What the heartbeat carries reads back the same on the scheduler's side.
  nlohmann::json body = nlohmann::json::object();
  wire::AddGpuSamples(samples, &body);
  auto parsed = wire::ParseGpuSamples(body);
  ASSERT_TRUE(parsed.ok() && parsed->has_value());
  EXPECT_EQ(**parsed, samples);
}

TEST_F(NvmlSamplerTest, UnavailableWithoutTheLibraryOrWhenInitFails) {
  setenv("SHOAL_NVML_LIBRARY", "/nonexistent/libnvidia-ml.so.1", 1);
  NvmlSampler missing;
  EXPECT_FALSE(missing.available());
  EXPECT_NE(missing.why_unavailable().find("not loadable"), std::string::npos);
  EXPECT_TRUE(missing.Sample().empty());
  setenv("SHOAL_NVML_LIBRARY", SHOAL_FAKE_NVML, 1);
  setenv("SHOAL_FAKE_NVML_FAIL", "1", 1);
  NvmlSampler failing;
  EXPECT_FALSE(failing.available());
  EXPECT_NE(failing.why_unavailable().find("nvmlInit failed"), std::string::npos);
}

TEST(GpuSamplesTest, RefusesMalformedSamples) {
  using nlohmann::json;
  auto absent = wire::ParseGpuSamples(json{{"running", json::array()}});
  ASSERT_TRUE(absent.ok());
  EXPECT_FALSE(absent->has_value());
  const json good = {{"index", 0}, {"utilization", 0.5}, {"memoryUsedMiB", 1}, {"memoryTotalMiB", 2}};
  auto with = [&](const char* key, json value) {
    json s = good;
    s[key] = std::move(value);
    return json{{"gpuSamples", {s}}};
  };
  EXPECT_TRUE(wire::ParseGpuSamples(json{{"gpuSamples", {good}}}).ok());
  for (const json& bad : {json{{"gpuSamples", "x"}}, with("index", -1), with("index", 64),
                          with("utilization", 1.5), with("utilization", "high"),
                          with("memoryUsedMiB", -3), json{{"gpuSamples", {good, good}}}}) {
    EXPECT_EQ(wire::ParseGpuSamples(bad).status().code(), StatusCode::kInvalidArgument)
        << bad.dump();
  }
  json many = json::array();
  for (int i = 0; i < 65; ++i) {
    json s = good;
    s["index"] = i % 64;
    many.push_back(s);
  }
  EXPECT_FALSE(wire::ParseGpuSamples(json{{"gpuSamples", many}}).ok());
}

}  // namespace
}  // namespace shoal
