// The API's route table: every path shoal-scheduler serves, once. Routing, the metrics' route
// labels (ApiMetrics::RouteOf), which routes need no token, and which bodies get more than the
// default limit all read it, so that a new route is added in one place.
//
// Pure and thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace shoal {

enum class RouteId {
  kHealthz,
  kReadyz,
  kMetrics,
  kVersion,
  kJobs,  // GET list, POST submit
  kJob,   // GET, DELETE (cancel)
  kJobLogs,
  kJobMetrics,
  kJobCheckpoints,  // GET list, DELETE
  kJobCheckpoint,   // GET download, PUT upload
  kJobKv,           // GET, PUT a rendezvous key (the key may contain '/')
  kJobPublish,      // POST: its final weights become a model version (docs/registry.md)
  kWorkers,
  kWorkerRegister,
  kWorker,
  kWorkerHeartbeat,
  kWorkerEvents,
  kWorkerClear,  // POST: an admin clears the worker's quarantine (docs/audits.md)
  kAccounts,
  kAccountsHistory,  // GET: the ledger's snapshots over time (the dashboard's chart)
  kTokens,
  kToken,
  kWhoami,            // GET: the caller's account and role
  kTrace,             // GET: the job history as a shoal-sim trace (admins; scheduler/job_trace.h)
  kRegistry,          // /v1/datasets and /v1/models (docs/registry.md): list
  kRegistryArtifact,  // one artifact's card
  kRegistrySub,       // its grants, audit
  kRegistryItem,      // a chunk, a version, a grant, chunks/missing
  kUiSession,         // the dashboard's login: POST a token, GET, DELETE (docs/dashboard.md)
  kUi,                // the dashboard's assets under /ui/
};

// How a route's request body is bounded (Api::BodyPolicyFor).
enum class BodyKind {
  kDefault,     // maxBodyBytes
  kJobSpec,     // a job spec: maxSpecBytes (POST)
  kCheckpoint,  // up to 16 GiB, streamed to disk, only for its writer (PUT)
  kRegistry,    // a chunk or a manifest: up to 64 MiB, only for the artifact's owner (PUT, POST)
};

struct Route {
  RouteId id;
  // Segments; "{name}" matches one segment (with `rest`, the last one matches one or more,
  // joined with '/'). The pattern itself is the metrics label ("/v1/jobs/{id}/logs").
  const char* pattern;
  bool open;  // served without a token (probes, /metrics, /v1/version)
  BodyKind body;
  bool rest = false;
};

struct RouteMatch {
  const Route* route = nullptr;        // nullptr: no route has this path
  std::vector<std::string> params;     // the "{...}" segments, in order
};

// Every route, in matching order (literal segments before "{...}" at the same place).
const std::vector<Route>& Routes();

// The route `path` (decoded, without the query) belongs to, whatever the method.
RouteMatch MatchRoute(std::string_view path);

}  // namespace shoal
