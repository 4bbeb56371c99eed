#include "worker/agent/memory.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <utility>

#include "common/byte_size.h"

namespace shoal {
namespace {

// The value of a "Key:   123 kB" line of a /proc status-like file, in bytes; -1 when absent.
int64_t ReadKbField(const std::string& path, std::string_view key) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.compare(0, key.size(), key) != 0 || line.size() <= key.size() ||
        line[key.size()] != ':') {
      continue;
    }
    return std::strtoll(line.c_str() + key.size() + 1, nullptr, 10) * 1024;
  }
  return -1;
}

// A number in a one-line file ("max" and unreadable files: -1).
int64_t ReadNumberFile(const std::string& path) {
  std::ifstream in(path);
  std::string text;
  if (!(in >> text) || text.empty() || !std::isdigit(static_cast<unsigned char>(text[0]))) {
    return -1;
  }
  return std::strtoll(text.c_str(), nullptr, 10);
}

// The memory limit of this process's cgroup, or -1 when there is none.
int64_t CgroupLimit(std::string* which) {
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  while (std::getline(in, line)) {
    // v2: "0::/path"; v1: "N:memory:/path" (or "N:...,memory,...:/path").
    const size_t a = line.find(':');
    const size_t b = a == std::string::npos ? a : line.find(':', a + 1);
    if (b == std::string::npos) continue;
    const std::string controllers = line.substr(a + 1, b - a - 1);
    const std::string path = line.substr(b + 1);
    std::string file;
    if (controllers.empty()) {
      file = "/sys/fs/cgroup" + (path == "/" ? std::string() : path) + "/memory.max";
    } else if (("," + controllers + ",").find(",memory,") != std::string::npos) {
      file =
          "/sys/fs/cgroup/memory" + (path == "/" ? std::string() : path) + "/memory.limit_in_bytes";
    } else {
      continue;
    }
    const int64_t limit = ReadNumberFile(file);
    // cgroup v1 writes "no limit" as a huge number (PAGE_COUNTER_MAX pages).
    if (limit > 0 && limit < (int64_t{1} << 60)) {
      *which = file;
      return limit;
    }
  }
  return -1;
}

}  // namespace

int64_t DetectMemoryTotal(std::string* source) {
  std::string which = "/proc/meminfo";
  int64_t total = std::max<int64_t>(0, ReadKbField("/proc/meminfo", "MemTotal"));
  std::string cgroup;
  const int64_t limit = CgroupLimit(&cgroup);
  if (limit > 0 && (total == 0 || limit < total)) {
    total = limit;
    which = cgroup;
  }
  if (source != nullptr) *source = total > 0 ? which : "nothing readable";
  return total;
}

Result<int64_t> ParseMemoryLimit(std::string_view text, int64_t total) {
  auto bad = [&] {
    return InvalidArgument("--memory-limit: \"" + std::string(text.substr(0, 40)) +
                           "\" is not a percentage of the machine's RAM (1%..100%) or a size "
                           "(e.g. 512M, 16G, 16GiB, or bytes)");
  };
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  if (digits == 0 || digits > 18) return bad();
  const int64_t n = std::strtoll(std::string(text.substr(0, digits)).c_str(), nullptr, 10);
  std::string suffix(text.substr(digits));
  for (char& c : suffix) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (suffix == "%") {
    if (n < 1 || n > 100) return bad();
    return total / 100 * n + total % 100 * n / 100;  // exact, without overflow
  }
  // The flag's binary shorthands (any case: "16G", "2t", "16gib") spelled as common's sizes.
  static const std::pair<const char*, const char*> kSuffixes[] = {
      {"", ""},       {"B", ""},         {"K", "KiB"}, {"KIB", "KiB"}, {"M", "MiB"},
      {"MIB", "MiB"}, {"G", "GiB"},      {"GIB", "GiB"}, {"T", "TiB"},   {"TIB", "TiB"}};
  const auto it = std::find_if(std::begin(kSuffixes), std::end(kSuffixes),
                               [&](const auto& s) { return suffix == s.first; });
  if (it == std::end(kSuffixes)) return bad();
  // Whole numbers up to 2^62 bytes: the flag takes no fractions and no decimal units.
  Result<int64_t> bytes =
      ParseByteSize(std::string(text.substr(0, digits)) + it->second, int64_t{1} << 62);
  if (!bytes.ok() || *bytes <= 0) return bad();
  return *bytes;
}

int64_t ProcessRssBytes(pid_t pid) {
  return ReadKbField("/proc/" + std::to_string(pid) + "/status", "VmRSS");
}

}  // namespace shoal
