// Text formatting for the `shoal` CLI: relative times, durations, numbers, GPU summaries and the
// column-aligned tables every listing verb prints (kubectl/squeue style).
//
// All functions are pure and thread-safe.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "common/memory_estimate.h"
#include "common/spec/enums.h"
#include "common/wire/worker_view.h"

namespace shoal::cli {

// How long ago `then_ms` was, relative to `now_ms` (both Unix epoch milliseconds), in one unit
// like kubectl's AGE: "12s" (< 1 min), "5m" (< 1 h), "3h" (< 1 day), "2d". A time in the future
// (clock skew) reads "0s"; then_ms <= 0 (never happened) reads "-".
std::string FormatAge(int64_t then_ms, int64_t now_ms);

// A duration at a precision a person wants: "0s", "31s", "5m12s", "3h05m", "2d04h". Negative
// durations read as "0s".
std::string FormatDuration(int64_t ms);

// Local wall-clock time "2025-06-01 12:00:03" of Unix epoch milliseconds; "-" for ms <= 0.
std::string FormatTimestamp(int64_t ms);

// A count with an SI suffix and one decimal from thousands up: "812", "12.3K", "124.4M", "1.5B".
std::string FormatCount(int64_t n);

// The memory line of `shoal submit --dry-run` for one rank (common/memory_estimate.h), on the
// memory that `backend` holds the rank to (RankMemoryNeed): e.g. for a cpu rank
// "memory per rank: 3.4 GiB of RAM (parameters 124.4M x 16 B = 1.9 GiB, checkpoint snapshot
// 124.4M x 12 B = 1.4 GiB, activations 3.0 GiB, overhead 256.0 MiB)"; for a cuda rank the GPU
// memory (without the snapshot), then the RAM with it.
std::string FormatRankMemory(const RankMemoryEstimate& estimate, Backend backend);

// A byte count in binary units with one decimal: "812 B", "1.5 KiB", "23.4 MiB", "1.1 GiB".
std::string FormatBytes(int64_t bytes);

// UTC RFC 3339 time with milliseconds, "2025-06-15T15:06:40.000Z", of Unix epoch milliseconds
// (the `logs --timestamps` prefix); "-" for ms <= 0.
std::string FormatRfc3339(int64_t ms);

// `value` with `digits` decimals ("0.8778"); NaN and infinities print as "nan"/"inf".
std::string FormatFixed(double value, int digits);

// A worker's GPU list as "1x H200 140GiB"; different models are joined by ", " in first-seen
// order; "-" when there are none.
std::string FormatGpus(const std::vector<wire::GpuView>& gpus);
// The same of a "gpus" array as JSON; an entry without a string name is a "gpu".
std::string FormatGpus(const nlohmann::json& gpus);

// `s` cut to at most `width` terminal columns (DisplayWidth), ending in "..." when cut; width 0
// means no limit. Never splits a UTF-8 code point.
std::string Truncate(const std::string& s, size_t width);

// The terminal columns `s` takes: one per UTF-8 code point, two for East Asian wide ones (CJK
// ideographs, fullwidth punctuation), so that tables with Chinese headers stay aligned.
size_t DisplayWidth(const std::string& s);

// A plain-text table: upper-case headers (translated by the caller, cli/i18n.h), left-aligned
// columns separated by three spaces, no trailing spaces, empty cells shown as "-".
//
//   ID   NAME       STATE
//   7    tiny-mlp   RUNNING
class Table {
 public:
  // Headers are upper-cased.
  explicit Table(std::vector<std::string> headers);

  // Adds one row; missing trailing cells print as "-", extra cells are ignored.
  void AddRow(std::vector<std::string> cells);
  size_t rows() const { return rows_.size(); }

  // Writes the header line and one line per row, each ending in '\n'.
  void Render(std::ostream& out) const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace shoal::cli
