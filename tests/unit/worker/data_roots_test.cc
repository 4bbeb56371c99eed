// CheckDataPaths: a job reads data only inside the worker's data roots, whatever "..", "." or
// symbolic links its paths use.
#include "worker/agent/data_roots.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace shoal {
namespace {

namespace fs = std::filesystem;

class DataRootsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/shoal-data-policy-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    fs::create_directories(dir_ + "/root/set");
    fs::create_directories(dir_ + "/outside");
    std::ofstream(dir_ + "/root/set/train.csv") << "1,2\n";
    std::ofstream(dir_ + "/outside/secret.csv") << "3,4\n";
    fs::create_symlink(dir_ + "/outside", dir_ + "/root/escape");
    fs::create_symlink(dir_ + "/outside/secret.csv", dir_ + "/root/set/link.csv");
  }
  void TearDown() override { fs::remove_all(dir_); }
  Status Check(const std::string& train, const std::string& test = "") {
    JobSpec spec;
    spec.data.train = train;
    spec.data.test = test;
    return CheckDataPaths(spec, {dir_ + "/root"});
  }
  std::string dir_;
};

TEST_F(DataRootsTest, PathsInsideARootPass) {
  EXPECT_TRUE(Check(dir_ + "/root/set/train.csv").ok());
  EXPECT_TRUE(Check(dir_ + "/root/set/train", dir_ + "/root/set/t10k").ok());  // IDX prefixes
  EXPECT_TRUE(Check(dir_ + "/root/./set/../set/train.csv").ok());
  EXPECT_TRUE(Check(dir_ + "/root/set/not-there-yet.npy").ok());  // the reader reports it
}

TEST_F(DataRootsTest, EscapesAreRefused) {
  for (const std::string& path :
       {dir_ + "/outside/secret.csv", dir_ + "/root/../outside/secret.csv",
        dir_ + "/root/escape/secret.csv", dir_ + "/root/set/link.csv",
        std::string("/etc/passwd"), dir_ + "/rootx/set/train.csv", std::string("relative.csv"),
        dir_ + "/root/set/.."}) {
    Status st = Check(path);
    EXPECT_EQ(st.code(), StatusCode::kPermissionDenied) << path;
  }
  // The test set is checked too.
  Status st = Check(dir_ + "/root/set/train.csv", "/etc/shadow");
  EXPECT_EQ(st.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(st.message().find("--data-root"), std::string::npos) << st.message();
}

TEST_F(DataRootsTest, ARegistryUriPassesOnlyWithItsPin) {
  JobSpec spec;
  spec.data.train = "shoal://datasets/alice/mnist@v1/train";
  spec.data.test = dir_ + "/root/set/train.csv";
  wire::Pin pin;
  pin.kind = "datasets";
  pin.account = "alice";
  pin.name = "mnist";
  pin.version = "v1";
  pin.digest = std::string(64, 'a');
  EXPECT_TRUE(CheckDataPaths(spec, {dir_ + "/root"}, {pin}).ok());
  Status st = CheckDataPaths(spec, {dir_ + "/root"});
  EXPECT_EQ(st.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(st.message().find("did not pin"), std::string::npos) << st.message();
  pin.name = "other";
  EXPECT_EQ(CheckDataPaths(spec, {dir_ + "/root"}, {pin}).code(), StatusCode::kPermissionDenied);
  // The local path next to it is still checked.
  pin.name = "mnist";
  spec.data.test = "/etc/shadow";
  EXPECT_EQ(CheckDataPaths(spec, {dir_ + "/root"}, {pin}).code(), StatusCode::kPermissionDenied);
  spec.data.test = "shoal://datasets/Alice/x";
  EXPECT_EQ(CheckDataPaths(spec, {dir_ + "/root"}, {pin}).code(), StatusCode::kInvalidArgument);
}

// model.init is opened by the trainer like data: a local file inside the roots, or a pinned URI.
TEST_F(DataRootsTest, ModelInitIsCheckedLikeTheData) {
  JobSpec spec;
  spec.data.train = dir_ + "/root/set/train.csv";
  spec.model.init = dir_ + "/root/set/model.safetensors";
  EXPECT_TRUE(CheckDataPaths(spec, {dir_ + "/root"}).ok());
  spec.model.init = dir_ + "/root/escape/secret.csv";
  Status st = CheckDataPaths(spec, {dir_ + "/root"});
  EXPECT_EQ(st.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(st.message().find("model.init"), std::string::npos) << st.message();
  spec.model.init = "shoal://models/alice/mlp@v1";
  st = CheckDataPaths(spec, {dir_ + "/root"});
  EXPECT_EQ(st.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(st.message().find("did not pin"), std::string::npos) << st.message();
  wire::Pin pin;
  pin.kind = "models";
  pin.account = "alice";
  pin.name = "mlp";
  pin.version = "v1";
  pin.digest = std::string(64, 'b');
  EXPECT_TRUE(CheckDataPaths(spec, {dir_ + "/root"}, {pin}).ok());
}

}  // namespace
}  // namespace shoal
