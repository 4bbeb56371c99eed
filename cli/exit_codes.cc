#include "cli/exit_codes.h"

namespace shoal::cli {

int ExitCodeFor(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return kExitOk;
    case StatusCode::kInvalidArgument:
    case StatusCode::kResourceExhausted:
      return kExitUsage;
    case StatusCode::kUnavailable:
    case StatusCode::kDeadlineExceeded:
    case StatusCode::kInternal:
      return kExitUnavailable;
    case StatusCode::kNotFound:
    case StatusCode::kPermissionDenied:
    case StatusCode::kUnauthenticated:
      return kExitNotFound;
    case StatusCode::kFailedPrecondition:
    case StatusCode::kAlreadyExists:
    case StatusCode::kAborted:
      return kExitJobFailed;
  }
  // A code added later without a mapping is most likely a server-side problem.
  return kExitUnavailable;
}

}  // namespace shoal::cli
