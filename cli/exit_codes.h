// The `shoal` CLI's exit codes (docs/states.md §4) and how a Status maps onto them.
//
// Scripts branch on these, so they are a contract: never renumber them.
#pragma once

#include "common/status.h"

namespace shoal::cli {

inline constexpr int kExitOk = 0;             // success
inline constexpr int kExitJobFailed = 1;      // the job failed or was cancelled (when waiting), or
                                              // the request conflicts with the job's state (409)
inline constexpr int kExitUsage = 2;          // usage error or bad job spec; nothing was sent
inline constexpr int kExitUnavailable = 3;    // scheduler unreachable, 5xx, or a malformed reply
inline constexpr int kExitNotFound = 4;       // not found or not allowed (404/401/403)
inline constexpr int kExitInterrupted = 130;  // Ctrl-C while waiting (128 + SIGINT)

// The exit code for a failed call: InvalidArgument and ResourceExhausted (a 400/413 answer or a
// client-side check) → 2; Unavailable, DeadlineExceeded, Internal → 3; NotFound,
// PermissionDenied, Unauthenticated → 4; FailedPrecondition, AlreadyExists, Aborted → 1.
// OK → 0. Thread-safe.
int ExitCodeFor(StatusCode code);
inline int ExitCodeFor(const Status& status) { return ExitCodeFor(status.code()); }

}  // namespace shoal::cli
