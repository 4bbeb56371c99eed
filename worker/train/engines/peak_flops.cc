#include "worker/train/engines/peak_flops.h"

#include <cctype>
#include <string>

namespace shoal {
namespace {

// Whether `word` occurs in `text` as a whole word, ignoring case.
bool HasWord(std::string_view text, std::string_view word) {
  auto lower = [](std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
  };
  const std::string t = lower(text), w = lower(word);
  for (size_t at = t.find(w); at != std::string::npos; at = t.find(w, at + 1)) {
    const bool start = at == 0 || !std::isalnum(static_cast<unsigned char>(t[at - 1]));
    const size_t end = at + w.size();
    const bool stop = end == t.size() || !std::isalnum(static_cast<unsigned char>(t[end]));
    if (start && stop) return true;
  }
  return false;
}

struct Peak {
  const char* model;
  bool pcie;                  // the PCIe variant of the model
  double fp32, tf32, bf16;    // TFLOP/s, dense
};

// NVIDIA datasheets (dense tensor-core rates; fp32 is the SIMT rate).
constexpr Peak kPeaks[] = {
    {"H200", false, 66.9, 494.7, 989.4}, {"H100", false, 66.9, 494.7, 989.4},
    {"H100", true, 51.2, 378.0, 756.0},  {"A100", false, 19.5, 156.0, 312.0},
    {"A100", true, 19.5, 156.0, 312.0},  {"L40S", false, 91.6, 183.0, 362.05},
    {"A10", false, 31.2, 62.5, 125.0},   {"L4", false, 30.3, 60.0, 121.0},
};

}  // namespace

double PeakFlopsOf(std::string_view device_name, Precision precision) {
  const bool pcie = HasWord(device_name, "PCIe");
  for (const Peak& p : kPeaks) {
    if (!HasWord(device_name, p.model) || p.pcie != pcie) continue;
    const double tflops = precision == Precision::kBf16   ? p.bf16
                          : precision == Precision::kTf32 ? p.tf32
                                                          : p.fp32;
    return tflops * 1e12;
  }
  return 0;
}

}  // namespace shoal
