// Human-friendly byte sizes for the scheduler's config and the worker's flags: "64KiB", "50GiB",
// "10MB", "1.5MiB" or a bare number of bytes.
//
// Pure and thread-safe.
#pragma once

#include <cstdint>
#include <string_view>

#include "common/status.h"

namespace shoal {

// The largest size ParseByteSize takes by default: 1 PiB (anything larger is a typo).
inline constexpr int64_t kMaxByteSize = int64_t{1} << 50;

// Parses a size: a non-negative number (digits with an optional fraction, as in durations: "1.5")
// followed by KiB, MiB, GiB, TiB (powers of 1024), KB, MB, GB, TB (powers of 1000) or nothing
// (bytes), case-sensitive, no spaces. The bytes are rounded down. Returns bytes, or
// InvalidArgument ("bad size ...") when the text does not match or exceeds `max_bytes`.
Result<int64_t> ParseByteSize(std::string_view text, int64_t max_bytes = kMaxByteSize);

}  // namespace shoal
