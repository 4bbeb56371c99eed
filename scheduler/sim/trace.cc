#include "scheduler/sim/trace.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <numbers>
#include <random>
#include <string_view>

#include "common/parse_number.h"

namespace shoal::sim {
namespace {

std::vector<std::string_view> SplitCsv(std::string_view line) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    const size_t comma = line.find(',', start);
    out.push_back(line.substr(start, comma == std::string_view::npos ? line.npos : comma - start));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

}  // namespace

Result<Trace> ReadTraceCsv(const std::string& path, int64_t max_jobs) {
  std::ifstream in(path);
  if (!in) return NotFound(path + ": cannot open the trace");
  std::string line;
  if (!std::getline(in, line)) return InvalidArgument(path + ": empty file (no header)");
  if (!line.empty() && line.back() == '\r') line.pop_back();
  auto header = SplitCsv(line);
  static const char* const kColumns[] = {"job_id", "submit_time_s", "num_gpus", "duration_s",
                                         "vc",     "status"};
  for (size_t i = 0; i < 6; ++i) {
    if (i >= header.size() || header[i] != kColumns[i]) {
      return InvalidArgument(path + ":1: the header must begin with job_id,submit_time_s," +
                             "num_gpus,duration_s,vc,status (column " + std::to_string(i + 1) +
                             " is \"" + (i < header.size() ? std::string(header[i]) : "") + "\")");
    }
  }
  const auto limit_at = std::find(header.begin() + 6, header.end(), "limit_s");
  const size_t limit_column = limit_at == header.end() ? 0 : limit_at - header.begin();
  Trace trace;
  int64_t line_no = 1;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    auto f = SplitCsv(line);
    auto bad = [&](const std::string& what) {
      return InvalidArgument(path + ":" + std::to_string(line_no) + ": " + what);
    };
    if (f.size() < 6) return bad("expected at least 6 columns, found " + std::to_string(f.size()));
    int64_t submit = 0, gpus = 0, duration = 0;
    if (!ParseInteger(f[1], &submit) || submit < 0)
      return bad("submit_time_s is not an integer >= 0");
    if (!ParseInteger(f[2], &gpus) || gpus < 0 || gpus > 1 << 20) {
      return bad("num_gpus is not an integer in 0..1048576");
    }
    if (f[3].empty()) {
      ++trace.skipped_never_ran;
      continue;
    }
    if (!ParseInteger(f[3], &duration) || duration < 0)
      return bad("duration_s is not an integer >= 0");
    if (gpus == 0) {
      ++trace.skipped_no_gpu;
      continue;
    }
    int64_t limit = 0;
    if (limit_column > 0 && limit_column < f.size() && !f[limit_column].empty() &&
        (!ParseInteger(f[limit_column], &limit) || limit < 0)) {
      return bad("limit_s is not an integer >= 0");
    }
    trace.jobs.push_back({std::string(f[0]), submit, static_cast<int>(gpus),
                          std::max<int64_t>(1, duration), std::string(f[4]), limit});
    if (max_jobs > 0 && static_cast<int64_t>(trace.jobs.size()) >= max_jobs) break;
  }
  std::stable_sort(trace.jobs.begin(), trace.jobs.end(),
                   [](const TraceJob& a, const TraceJob& b) { return a.submit_s < b.submit_s; });
  return trace;
}

Trace SyntheticTrace(int64_t jobs, int total_gpus, double load, int vcs, uint64_t seed,
                     double heavy_share, double diurnal) {
  std::mt19937_64 rng(seed);
  // Philly-like: 96% 1 GPU, then 2, 4, 8, 16, 32.
  const int sizes[] = {1, 2, 4, 8, 16, 32};
  std::discrete_distribution<int> size_of({96.4, 1.6, 0.8, 1.2, 0.08, 0.06});
  std::lognormal_distribution<double> duration_of(7.8, 1.6);  // median ~2400 s
  std::uniform_int_distribution<int> vc_of(0, std::max(1, vcs) - 1);
  // Mean demand per job (GPU-seconds), to set the arrival rate for the requested load.
  const double mean_gpus =
      0.964 * 1 + 0.016 * 2 + 0.008 * 4 + 0.012 * 8 + 0.0008 * 16 + 0.0006 * 32;
  const double mean_duration = std::exp(7.8 + 1.6 * 1.6 / 2);
  heavy_share = std::clamp(heavy_share, 0.0, 0.95);
  const int heavy_gpus = std::min(8, total_gpus);
  // Arrival rates (jobs per second) of the ordinary jobs and of the heavy account's gangs.
  const double rate = (1 - heavy_share) * load * total_gpus / (mean_gpus * mean_duration);
  const double heavy_rate = heavy_share * load * total_gpus / (heavy_gpus * mean_duration);
  diurnal = std::clamp(diurnal, 0.0, 0.99);
  // Arrivals at the day's peak rate, each kept with probability rate(now) / peak (thinning: a
  // Poisson process with the day's rate). No thinning draws without a day, so that the trace
  // stays what it was.
  std::exponential_distribution<double> gap((rate + heavy_rate) * (1 + diurnal));
  std::uniform_real_distribution<double> keep_of(0.0, 1.0);
  constexpr double kDayS = 24 * 3600;
  std::bernoulli_distribution heavy_of(heavy_rate / (rate + heavy_rate));
  Trace t;
  double now = 0;
  for (int64_t i = 0; i < jobs; ++i) {
    now += gap(rng);
    while (diurnal > 0 && keep_of(rng) * (1 + diurnal) >
                              1 + diurnal * std::sin(2 * std::numbers::pi * now / kDayS)) {
      now += gap(rng);
    }
    TraceJob j;
    j.id = "syn-" + std::to_string(i);
    j.submit_s = static_cast<int64_t>(now);
    const bool heavy = heavy_share > 0 && heavy_of(rng);
    j.gpus = heavy ? heavy_gpus : std::min(sizes[size_of(rng)], total_gpus);
    j.duration_s = std::max<int64_t>(1, static_cast<int64_t>(duration_of(rng)));
    j.vc = heavy ? "heavy" : "vc" + std::to_string(vc_of(rng));
    t.jobs.push_back(std::move(j));
  }
  return t;
}

}  // namespace shoal::sim
