// The repository's documentation stays inside the repository: nothing cites the old out-of-tree
// design document, every docs/ file the code or README cites exists, and the links between the
// documents resolve.
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "tests/testing/test_util.h"

namespace shoal {
namespace {

namespace fs = std::filesystem;
using ::shoal::testing::ReadFile;
using ::shoal::testing::RepoRoot;

// Tracked-looking text files: build outputs, caches and binary assets are skipped.
std::vector<fs::path> SourceFiles() {
  std::vector<fs::path> files;
  const fs::path root = RepoRoot();
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator();
       ++it) {
    const std::string name = it->path().filename().string();
    if (it->is_directory()) {
      if (name.starts_with(".git") || name.starts_with("build") || name == "node_modules" ||
          name == "corpus" || name == "out") {
        it.disable_recursion_pending();
      }
      continue;
    }
    static const std::set<std::string> kText = {".h",   ".cc",   ".cu",   ".cuh",   ".md",
                                                ".txt", ".sh",   ".py",   ".yaml",  ".tpl",
                                                ".mjs", ".dict", ".json", ".cmake", ""};
    if (it->is_regular_file() && kText.count(it->path().extension().string()) &&
        it->file_size() < (1 << 20)) {
      files.push_back(it->path());
    }
  }
  return files;
}

TEST(Docs, NothingCitesTheOutOfTreeDesignDocument) {
  const std::string old_name = std::string("DESIGN") + ".md";  // not spelled whole in this file
  const std::vector<fs::path> files = SourceFiles();
  ASSERT_GT(files.size(), 100u);
  for (const fs::path& file : files) {
    EXPECT_EQ(ReadFile(file).find(old_name), std::string::npos)
        << file << " cites " << old_name << "; cite the docs/ file instead";
  }
}

TEST(Docs, CitedDocsExist) {
  const std::regex cited(R"(docs/([a-z0-9_-]+\.(md|json)))");
  int citations = 0;
  for (const fs::path& file : SourceFiles()) {
    const std::string text = ReadFile(file);
    for (auto m = std::sregex_iterator(text.begin(), text.end(), cited);
         m != std::sregex_iterator(); ++m) {
      ++citations;
      EXPECT_TRUE(fs::exists(RepoRoot() / "docs" / (*m)[1].str()))
          << file << " cites docs/" << (*m)[1] << ", which does not exist";
    }
  }
  EXPECT_GT(citations, 20);
}

TEST(Docs, RelativeLinksBetweenDocumentsResolve) {
  const std::regex link(R"(\]\(([^)#:]+)(#[^)]*)?\))");
  for (const auto& entry : fs::directory_iterator(RepoRoot() / "docs")) {
    if (entry.path().extension() != ".md") continue;
    const std::string text = ReadFile(entry.path());
    for (auto m = std::sregex_iterator(text.begin(), text.end(), link); m != std::sregex_iterator();
         ++m) {
      EXPECT_TRUE(fs::exists(entry.path().parent_path() / (*m)[1].str()))
          << entry.path() << " links to " << (*m)[1] << ", which does not exist";
    }
  }
}

}  // namespace
}  // namespace shoal
