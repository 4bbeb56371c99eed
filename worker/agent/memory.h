// The worker's side of memory admission (docs/design.md §9): how much RAM the machine has, how
// much of it the contributor lends to ranks, and how much a rank uses now.
//
// All functions are thread-safe (they read /proc and /sys only) and never throw.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace shoal {

// The RAM this agent and its ranks can use: /proc/meminfo's MemTotal, lowered to the memory limit
// of the agent's own cgroup when it runs under one (cgroup v2 memory.max, or v1
// memory.limit_in_bytes; e.g. a Kubernetes pod's limit). 0 when nothing can be read. *source
// (if given) says which it was, for the start-up log.
int64_t DetectMemoryTotal(std::string* source = nullptr);

// Parses --memory-limit against `total` bytes: "90%" (a percentage of total, 1..100), or a size
// with an optional binary suffix: "512M", "16G", "16GiB", "1T", "1048576" (bytes). Returns the
// bytes lent to ranks, or InvalidArgument saying what is allowed. A percentage of an unknown total
// (0) is 0 (= not reported, the scheduler lets any job run here).
Result<int64_t> ParseMemoryLimit(std::string_view text, int64_t total);

// Resident memory of process `pid` (VmRSS in /proc/PID/status), in bytes; -1 when it cannot be
// read (the process is gone).
int64_t ProcessRssBytes(pid_t pid);

}  // namespace shoal
