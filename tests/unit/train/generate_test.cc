// shoal-train --generate's spec from a model section alone (--model-json, what `shoal models
// generate` passes): the section is checked as in a job file, and a model card's architecture
// (JobSpecToJson's spec.model) gives back the job's model.
#include "worker/train/generate.h"

#include <gtest/gtest.h>

#include <string>

#include "common/spec/job_spec.h"

namespace shoal {
namespace {

TEST(SpecForModelTest, AModelCardsArchitectureGivesBackTheJobsModel) {
  const std::string yaml = R"(apiVersion: shoal/v1
kind: TrainingJob
metadata: {name: g}
spec:
  resources: {backend: cpu, gpusPerWorker: 0}
  model: {kind: gpt, layers: 2, vocabSize: 256, contextLength: 32, heads: 4, embedDim: 32}
  data: {train: /data/train}
)";
  Result<JobSpec> job = ParseJobSpec(yaml);
  ASSERT_TRUE(job.ok()) << job.status().message();
  const std::string architecture = JobSpecToJson(*job)["spec"]["model"].dump();
  Result<JobSpec> spec = SpecForModel(architecture);
  ASSERT_TRUE(spec.ok()) << spec.status().message();
  EXPECT_EQ(spec->model, job->model);
  EXPECT_EQ(spec->model.blocks, 2);
  EXPECT_EQ(spec->model.embed_dim, 32);
}

TEST(SpecForModelTest, ABadSectionIsRefusedNamingTheField) {
  Result<JobSpec> not_object = SpecForModel("[1, 2]");
  EXPECT_EQ(not_object.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(not_object.status().message().find("needs a JSON object"), std::string::npos);
  EXPECT_FALSE(SpecForModel("{\"kind\": \"gpt\"").ok());  // not JSON
  Result<JobSpec> missing = SpecForModel(R"({"kind": "gpt", "layers": 1, "vocabSize": 256})");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("spec.model.heads"), std::string::npos)
      << missing.status().message();
  Result<JobSpec> uneven = SpecForModel(
      R"({"kind": "gpt", "layers": 1, "vocabSize": 256, "contextLength": 8, "heads": 3,
          "embedDim": 32})");
  EXPECT_FALSE(uneven.ok());
}

}  // namespace
}  // namespace shoal
