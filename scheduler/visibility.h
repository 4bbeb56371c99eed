// Visibility: what a caller may see of other accounts (docs/security.md §2, "What is public").
//
// The scheduler's config sets it (the `visibility` table of scheduler.yaml, or the
// --visibility-* flags); the defaults keep account, job and worker names to their owners and
// admins. The API (scheduler/api/api.cc) applies it; this header only holds the settings.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace shoal {

struct Visibility {
  // metricsNames: whether unauthenticated /metrics labels its per-job series with the job's
  // name and account, and the ledger per account. false: per-job series carry only the job id,
  // and the ledger is one pool-wide total. An admin token on /metrics always gets the names.
  bool metrics_names = false;
  // workers: kOwner: GET /v1/workers shows a non-admin caller its own account's workers in full
  // and the others anonymised (id, state, capacity and GPUs; no name, host or account, and only
  // the ranks of the caller's own jobs). kAll: every worker in full to every token.
  enum class Workers { kOwner, kAll };
  Workers workers = Workers::kOwner;
  // jobs: kOwner: a job the caller may not see (another account's, and not run by the caller's
  // workers) is answered 404 exactly as a job that does not exist, on every job route. kExists:
  // 403, which confirms that the id exists.
  enum class Jobs { kOwner, kExists };
  Jobs jobs = Jobs::kOwner;
  // accounts: kOwner: GET /v1/accounts (the ledger and fair-share factors) shows a non-admin
  // caller only its own account's row, and how many others there are. kAll: every account.
  enum class Accounts { kOwner, kAll };
  Accounts accounts = Accounts::kOwner;

  bool operator==(const Visibility&) const = default;
};

// "owner" | "all"; "owner" | "exists"; "owner" | "all". InvalidArgument otherwise.
Result<Visibility::Workers> ParseWorkersVisibility(std::string_view text);
Result<Visibility::Jobs> ParseJobsVisibility(std::string_view text);
Result<Visibility::Accounts> ParseAccountsVisibility(std::string_view text);
std::string_view ToString(Visibility::Workers v);
std::string_view ToString(Visibility::Jobs v);
std::string_view ToString(Visibility::Accounts v);

}  // namespace shoal
