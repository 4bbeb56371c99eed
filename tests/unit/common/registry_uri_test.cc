#include <gtest/gtest.h>

#include "common/registry/uri.h"

namespace shoal {
namespace {

TEST(RegistryUri, ParsesEveryPart) {
  auto uri = ParseRegistryUri("shoal://datasets/demo/fashion-mnist@v1.2/train/images");
  ASSERT_TRUE(uri.ok()) << uri.status().message();
  EXPECT_EQ(uri->kind, ArtifactKind::kDataset);
  EXPECT_EQ(uri->account, "demo");
  EXPECT_EQ(uri->name, "fashion-mnist");
  EXPECT_EQ(uri->version, "v1.2");
  EXPECT_EQ(uri->path, "train/images");
  EXPECT_EQ(uri->ArtifactKey(), "datasets/demo/fashion-mnist");
  EXPECT_EQ(ToString(*uri), "shoal://datasets/demo/fashion-mnist@v1.2/train/images");
}

TEST(RegistryUri, VersionAndPathAreOptional) {
  auto uri = ParseRegistryUri("shoal://models/alice/mlp");
  ASSERT_TRUE(uri.ok());
  EXPECT_EQ(uri->kind, ArtifactKind::kModel);
  EXPECT_EQ(uri->version, "");
  EXPECT_EQ(uri->path, "");
  EXPECT_EQ(ToString(*uri), "shoal://models/alice/mlp");
  const std::string digest = "sha256:" + std::string(64, 'a');
  auto pinned = ParseRegistryUri("shoal://datasets/a/b@" + digest + "/x.csv");
  ASSERT_TRUE(pinned.ok());
  EXPECT_EQ(pinned->version, digest);
  EXPECT_EQ(pinned->path, "x.csv");
}

TEST(RegistryUri, RefusesWhatBreaksTheRules) {
  for (const char* bad : {"/data/x", "shoal://", "shoal://things/a/b", "shoal://datasets/A/b",
                          "shoal://datasets/a/B", "shoal://datasets/a/-b", "shoal://datasets/a",
                          "shoal://datasets/a/b@", "shoal://datasets/a/b@latest",
                          "shoal://datasets/a/b@sha256:abc", "shoal://datasets/a/b/../etc",
                          "shoal://datasets/a/b//x", "shoal://datasets/a/b/x/"}) {
    EXPECT_FALSE(ParseRegistryUri(bad).ok()) << bad;
  }
  auto st = ParseRegistryUri("shoal://datasets/a/b/../etc").status();
  EXPECT_NE(st.message().find(".."), std::string::npos) << st.message();
}

TEST(RegistryUri, NameRules) {
  EXPECT_TRUE(IsDnsLabel("a"));
  EXPECT_TRUE(IsDnsLabel("fashion-mnist-2"));
  EXPECT_FALSE(IsDnsLabel(""));
  EXPECT_FALSE(IsDnsLabel(std::string(64, 'a')));
  EXPECT_FALSE(IsDnsLabel("a_b"));
  EXPECT_TRUE(IsVersionName("1"));
  EXPECT_TRUE(IsVersionName("2026-12.v_3"));
  EXPECT_FALSE(IsVersionName("latest"));
  EXPECT_FALSE(IsVersionName(".x"));
  EXPECT_FALSE(IsVersionName("a/b"));
  EXPECT_TRUE(IsDigestRef("sha256:" + std::string(64, '0')));
  EXPECT_FALSE(IsDigestRef("sha256:" + std::string(64, 'A')));
}

}  // namespace
}  // namespace shoal
