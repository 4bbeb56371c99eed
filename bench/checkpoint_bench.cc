// shoal-checkpoint-bench: checkpoint write and restore time and size (worker/train/checkpoint.h)
// for the demo model and a ~100M-parameter MLP, side by side with the anchor: writing and reading
// the same number of bytes as one plain file (write + fsync / read) on the same disk. Also the
// SHA-256 the scheduler verifies every upload with. Medians of --repeat runs; JSON on stdout.
//
//   shoal-checkpoint-bench [--dir DIR] [--repeat 3] [--skip-large]
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/file_util.h"
#include "common/flags.h"
#include "common/spec/job_spec.h"
#include "common/sha256.h"
#include "worker/train/checkpoint.h"

using namespace shoal;
using Clock = std::chrono::steady_clock;

namespace {

double Since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

JobSpec SpecWithLayers(const std::string& layers) {
  const std::string y = "apiVersion: shoal/v1\nkind: TrainingJob\nmetadata: {name: bench}\nspec:\n"
                        "  model: {layers: " + layers + "}\n  data: {train: /dev/null}\n"
                        "  optimizer: {kind: adamw, lr: 0.001}\n";
  auto spec = ParseJobSpec(y, "bench");
  if (!spec.ok()) {
    std::fprintf(stderr, "%s\n", spec.status().ToString().c_str());
    std::exit(1);
  }
  return *spec;
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = "/tmp/shoal-checkpoint-bench";
  int repeat = 3;
  bool skip_large = false;
  CLI::App app(
      "shoal-checkpoint-bench: checkpoint write/restore time and size against plain file I/O of "
      "the same bytes, and SHA-256; JSON on stdout.");
  flags::Configure(app, "shoal-checkpoint-bench");
  app.add_option("--dir", dir, "where the checkpoints and plain files are written")
      ->type_name("DIR");
  // As before the shared flags, a count below 1 means 1.
  app.add_option("--repeat", repeat, "runs per measurement, the median reported (< 1 means 1)")
      ->type_name("N");
  app.add_flag("--skip-large", skip_large, "only the demo MLP, not the ~100M-parameter one");
  if (std::optional<int> code = flags::Parse(app, argc, argv)) return *code;
  repeat = std::max(1, repeat);
  std::filesystem::create_directories(dir);
  std::vector<std::pair<std::string, std::string>> models = {
      {"demo MLP (784-256-128-10)", "[784, 256, 128, 10]"}};
  if (!skip_large) models.push_back({"100M MLP (4096-8192-8192-512)", "[4096, 8192, 8192, 512]"});
  nlohmann::json out = {{"repeat", repeat}, {"dir", dir}, {"models", nlohmann::json::array()}};
  for (const auto& [name, layers] : models) {
    const JobSpec spec = SpecWithLayers(layers);
    const int64_t n = CheckpointDataBytes(spec) / 12;  // adamw: three buffers of n floats
    Checkpoint ckpt;
    std::mt19937 rng(1);
    std::uniform_real_distribution<float> u(-1, 1);
    for (auto* v : {&ckpt.state.params, &ckpt.state.state_a, &ckpt.state.state_b}) {
      v->resize(n);
      for (auto& x : *v) x = u(rng);
    }
    ckpt.position.step = 1000;
    const std::string path = dir + "/ckpt.safetensors", plain = dir + "/plain.bin";
    std::vector<double> write_s, read_s, plain_write_s, plain_read_s, sha_s;
    int64_t bytes = 0;
    for (int r = 0; r < repeat; ++r) {
      auto t = Clock::now();
      if (Status st = WriteCheckpoint(path, spec, ckpt); !st.ok()) {
        std::fprintf(stderr, "%s\n", st.ToString().c_str());
        return 1;
      }
      write_s.push_back(Since(t));
      bytes = static_cast<int64_t>(std::filesystem::file_size(path));
      // Anchor: the same bytes as one plain file, written and fsync'd.
      std::string blob(static_cast<size_t>(bytes), '\x5a');
      t = Clock::now();
      const int fd = ::open(plain.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      for (size_t off = 0; off < blob.size();) {
        const ssize_t w = ::write(fd, blob.data() + off, blob.size() - off);
        if (w <= 0) return 1;
        off += static_cast<size_t>(w);
      }
      ::fsync(fd);
      ::close(fd);
      plain_write_s.push_back(Since(t));
      t = Clock::now();
      auto back = ReadCheckpoint(path, spec, bytes + (1 << 20));
      read_s.push_back(Since(t));
      if (!back.ok() || back->state.params != ckpt.state.params) {
        std::fprintf(stderr, "read back failed: %s\n", back.status().ToString().c_str());
        return 1;
      }
      t = Clock::now();
      auto raw = ReadFileLimited(plain, bytes + 1);
      plain_read_s.push_back(Since(t));
      t = Clock::now();
      const std::string digest = Sha256Hex(*raw);
      sha_s.push_back(Since(t));
      if (digest.size() != 64) return 1;
    }
    std::filesystem::remove(path);
    std::filesystem::remove(plain);
    const double w = Median(write_s), rd = Median(read_s), pw = Median(plain_write_s),
                 pr = Median(plain_read_s), sh = Median(sha_s);
    out["models"].push_back({{"model", name},
                             {"params", n},
                             {"bytes", bytes},
                             {"writeSec", w},
                             {"readSec", rd},
                             {"plainWriteSec", pw},
                             {"plainReadSec", pr},
                             {"sha256Sec", sh},
                             {"writeVsPlain", w / pw},
                             {"readVsPlain", rd / pr}});
  }
  std::printf("%s\n", out.dump(2).c_str());
  return 0;
}
