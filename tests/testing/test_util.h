// Small helpers shared by the unit tests: locating repository files and comparing numbers.
#pragma once

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace shoal::testing {

// Writes train.csv (384 rows) and test.csv (96 rows) into `dir`: three Gaussian blobs in 8
// dimensions, label first; learnable, but not in one step.
inline void WriteBlobsCsv(const std::string& dir) {
  std::mt19937_64 rng(7);
  std::normal_distribution<double> noise(0.0, 1.0);
  for (const char* name : {"train", "test"}) {
    std::ofstream out(dir + "/" + name + ".csv");
    out << "label";
    for (int d = 0; d < 8; ++d) out << ",f" << d;
    out << "\n";
    const int n = std::string(name) == "train" ? 384 : 96;
    for (int i = 0; i < n; ++i) {
      const int label = i % 3;
      out << label;
      for (int d = 0; d < 8; ++d) out << "," << (d == label ? 2.0 : 0.0) + noise(rng);
      out << "\n";
    }
  }
}

// The repository root: the first directory holding configs/jobs above the working directory (ctest
// runs in the build tree) or above this header.
inline std::filesystem::path RepoRoot() {
  namespace fs = std::filesystem;
  for (fs::path start : {fs::current_path(), fs::path(__FILE__).parent_path()}) {
    for (fs::path dir = fs::absolute(start); !dir.empty(); dir = dir.parent_path()) {
      if (fs::is_directory(dir / "configs" / "jobs")) return dir;
      if (dir == dir.parent_path()) break;
    }
  }
  ADD_FAILURE() << "no configs/jobs above " << fs::current_path() << " or " << __FILE__;
  return fs::current_path();
}

// The *.yaml files of `dir`, sorted.
inline std::vector<std::filesystem::path> YamlFiles(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == ".yaml") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

inline std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// ‖out − ref‖ / ‖ref‖ (docs/design.md §6), with the reference in double precision.
template <typename T>
double RelError(const std::vector<float>& out, const std::vector<T>& ref) {
  double num = 0.0, den = 0.0;
  for (size_t i = 0; i < out.size(); ++i) {
    const double d = static_cast<double>(out[i]) - static_cast<double>(ref[i]);
    num += d * d;
    den += static_cast<double>(ref[i]) * static_cast<double>(ref[i]);
  }
  // A reference of exact zeros (e.g. the gradient of a 1-class softmax) has no scale: then the
  // absolute error is the measure.
  return den > 0 ? std::sqrt(num / den) : std::sqrt(num);
}

// Central differences of a double objective: d f / d x[e] for every e, perturbing x in place
// (and restoring it) by ±h.
template <typename F>
std::vector<double> CentralDifferences(std::vector<double>& x, F&& f, double h = 1e-6) {
  std::vector<double> grad(x.size());
  for (size_t e = 0; e < x.size(); ++e) {
    const double saved = x[e];
    x[e] = saved + h;
    const double plus = f();
    x[e] = saved - h;
    const double minus = f();
    x[e] = saved;
    grad[e] = (plus - minus) / (2 * h);
  }
  return grad;
}

// `text` with the first `from` replaced by `to`; a `from` that is not there fails the test.
inline std::string Replace(std::string text, const std::string& from, const std::string& to) {
  const size_t pos = text.find(from);
  EXPECT_NE(pos, std::string::npos) << "\"" << from << "\" not in text";
  if (pos != std::string::npos) text.replace(pos, from.size(), to);
  return text;
}

}  // namespace shoal::testing
