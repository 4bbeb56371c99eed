// Api: the routes of shoal-scheduler's HTTP API (docs/api.md) over the Scheduler.
//
// Each route parses and checks its input (4xx with a JSON error on anything malformed), calls the
// Scheduler, and renders JSON. Long-polls (heartbeat, kv wait, logs follow) wait on the Notifier
// with a bounded timeout. Single-threaded: runs on the scheduler's io_context.
//
// Durability: submissions and registrations are group-committed (GroupCommit): the requests of
// one event-loop round are committed in one transaction and each is answered only after that
// commit (201/200), or with 503 if it failed (then nothing of the batch is stored). Every reply
// is sent only after Scheduler::SaveChanges(), so no client hears of an unstored state change.
#pragma once

#include <chrono>
#include <map>
#include <set>
#include <string_view>
#include <utility>  // before Boost 1.74 awaitable.hpp, which uses std::exchange unincluded

#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>

#include "scheduler/api/api_metrics.h"
#include "scheduler/api/auth_limiter.h"
#include "scheduler/api/group_commit.h"
#include "scheduler/api/http_server.h"
#include "scheduler/api/notifier.h"
#include "scheduler/api/routes.h"
#include "scheduler/auth.h"
#include "scheduler/checkpoint_store.h"
#include "scheduler/registry/registry.h"
#include "scheduler/rendezvous_kv.h"
#include "scheduler/scheduler.h"
#include "scheduler/visibility.h"
#include "scheduler/web/static_files.h"
#include "scheduler/web/web_sessions.h"

namespace shoal {

class Api {
 public:
  // All pointers must outlive the Api. Every route but /healthz, /readyz and /metrics needs a
  // bearer token that `auth` accepts, and checks the caller's role and account (rules in api.cc).
  Api(Scheduler* scheduler, Auth* auth, RendezvousKv* kv, Notifier* notifier);

  boost::asio::awaitable<HttpReply> Handle(HttpRequest req);

  // Where checkpoints are stored (the daemon sets it); without one, the checkpoint routes
  // answer 503. Must outlive the Api.
  void SetCheckpointStore(CheckpointStore* checkpoints) { checkpoints_ = checkpoints; }
  // Job history on a read-only connection to the scheduler's database (Store::OpenReader): log
  // and metric reads then run on their own thread, so that a client reading a large log never
  // delays heartbeats. Without one they read the Scheduler's history on the event loop. Must
  // outlive the Api.
  void SetHistoryReader(JobHistory* reader) { history_reader_ = reader; }
  // The dataset registry and model library (docs/registry.md); without one, the registry routes
  // answer 503 and a spec naming a registry URI is refused. Must outlive the Api.
  void SetRegistry(shoal::Registry* registry) { registry_ = registry; }
  // Largest chunk or manifest upload accepted (PUT /v1/KIND/A/N/{chunks,versions}/X).
  static constexpr size_t kMaxRegistryBodyBytes = size_t{64} << 20;
  // What the registry routes did, for /metrics.
  struct RegistryMetrics {
    int64_t chunks_uploaded = 0;  // stored (not those already there)
    int64_t chunks_swept = 0;     // removed by SweepRegistry
    int64_t chunks_served = 0;    // reads, whole or ranges
    int64_t bytes_served = 0;
  };
  const RegistryMetrics& registry_metrics() const { return registry_metrics_; }
  // Appends the registry's series to a /metrics page (names: per-account series).
  void RenderRegistryMetrics(bool with_names, std::string* out) const;
  // Largest checkpoint upload accepted (PUT /v1/jobs/{id}/checkpoints/{step}).
  static constexpr size_t kMaxCheckpointBytes = size_t{16} << 30;
  // The HttpServer's body policy, decided from the request's head before any of its body is
  // read: a request to an authenticated route without a valid token is answered 401 at once; a
  // checkpoint upload gets up to kMaxCheckpointBytes and 30 minutes only when its token may
  // write that checkpoint (rank 0's worker of that attempt, or an admin), else its 4xx at once;
  // everything else gets `default_limit` and `default_timeout`. Runs on the event loop.
  BodyPolicy BodyPolicyFor(const HttpRequest& head, size_t default_limit,
                           std::chrono::seconds default_timeout);

  // Deletes the stored checkpoints of jobs whose retention has passed
  // (Scheduler::CheckpointsExpired), on the checkpoint I/O thread; the daemon calls it from its
  // periodic cycle, and it does the work at most once a minute.
  void ExpireCheckpoints();

  // Publishes the output models of jobs that succeeded (spec.output.model, docs/registry.md): at
  // the first call, those of every succeeded job the library does not hold yet (a restart
  // loses nothing); then those of jobs that succeed later. Failures are shown in the job view
  // (output.error); Unavailable ones are retried every 30 s. The daemon calls it periodically
  // from a coroutine of its own.
  boost::asio::awaitable<void> PublishOutputs();
  // Collects the chunks that no version references and that were stored or last mentioned by a
  // push more than registryUploadGrace ago (pushes never finished; ChunkStore's "Collection"),
  // and forgets such uploads in the quota. Does the work at most every grace/4 (1 s..10 min;
  // the first call: at once); the daemon calls it with PublishOutputs.
  boost::asio::awaitable<void> SweepRegistry();

  // GET /v1/jobs/{id}/logs: lines per reply at most (the `limit` parameter), and bytes of line
  // text per reply by default and at most (`maxBytes`); a reply has at least one line when any.
  static constexpr int kMaxLogLines = 10000;
  static constexpr int64_t kDefaultLogBytes = 1 << 20;
  static constexpr int64_t kMaxLogBytes = 8 << 20;
  // What callers see of other accounts (the scheduler's `visibility` config); default: names
  // only to their owners and admins. Call before serving.
  void SetVisibility(const Visibility& visibility) { visibility_ = visibility; }

  // Longest any long-poll is held, whatever the client asks.
  static constexpr int64_t kMaxWaitMs = 30000;

  // The dashboard (docs/dashboard.md): the assets served at /ui/ (empty: /ui/ answers 404 with
  // `missing`, why there are none), and whether session cookies are Secure (the API speaks TLS).
  struct UiOptions {
    StaticFiles files;
    std::string missing = "no dashboard assets were loaded (see --ui-dir)";
    bool secure_cookies = false;
  };
  void SetUi(UiOptions ui) { ui_ = std::move(ui); }

 private:
  // The routes that need no token: the probes, /metrics and /v1/version.
  static bool IsOpenRoute(std::string_view path);
  // The caller's principal, or the reply refusing it: 429 (with Retry-After) while its address
  // has failed too often, before the token is looked at; else 401 for a bad token, counted and
  // logged (at the 1st, 10th, 100th... failure of an address). Without an Authorization header,
  // a dashboard session cookie stands for its token; a POST, PUT, PATCH or DELETE made with it
  // must carry the session's X-CSRF-Token, else 403.
  Result<Principal> AuthenticateRequest(const HttpRequest& req, HttpReply* refusal);
  // The dashboard's routes (api_ui.cc): /ui/ assets and the /ui/api/session login (POST a
  // token, GET who is logged in, DELETE to log out), every reply with the page's security
  // headers (a strict Content-Security-Policy among them).
  HttpReply Ui(const HttpRequest& req, RouteId route, const std::vector<std::string>& params);
  HttpReply UiAsset(const HttpRequest& req, const std::vector<std::string>& params);
  HttpReply UiSession(const HttpRequest& req);
  // AuthenticateRequest for `token` as if `req` had sent it as its bearer token.
  Result<Principal> AuthenticateToken(const HttpRequest& req, const std::string& token,
                                      HttpReply* refusal);
  // The live session the request's cookie names, or nullptr.
  const WebSession* SessionOf(const HttpRequest& req);
  // A Set-Cookie value for the session cookie (HttpOnly, SameSite=Strict, Secure under TLS).
  std::string SessionCookie(const std::string& value, int64_t max_age_s) const;
  boost::asio::awaitable<HttpReply> Authenticated(const HttpRequest& req);
  // Serves an authenticated request on its route (`match`: MatchRoute of its path).
  boost::asio::awaitable<HttpReply> Route(const HttpRequest& req, const RouteMatch& match,
                                          const Principal& p);
  boost::asio::awaitable<HttpReply> Jobs(const HttpRequest& req,
                                         const std::vector<std::string>& parts, const Principal& p);
  boost::asio::awaitable<HttpReply> Workers(const HttpRequest& req,
                                            const std::vector<std::string>& parts,
                                            const Principal& p);
  boost::asio::awaitable<HttpReply> Heartbeat(const HttpRequest& req, const std::string& worker_id);
  boost::asio::awaitable<HttpReply> Logs(const HttpRequest& req, int64_t job_id);
  boost::asio::awaitable<HttpReply> Kv(const HttpRequest& req, int64_t job_id, int attempt,
                                       const std::string& key);
  boost::asio::awaitable<HttpReply> Submit(const HttpRequest& req, const Principal& p);
  HttpReply ListJobs(const HttpRequest& req, const Principal& p);
  boost::asio::awaitable<HttpReply> Register(const HttpRequest& req, const Principal& p);
  HttpReply ListWorkers(const Principal& p);
  // A worker as `p` may see it (Visibility::workers), with usedSlots and the ranks it runs of
  // `jobs`; visible[i] is JobVisibleTo(p, *jobs[i]) (computed once for all workers).
  nlohmann::json WorkerJson(const Worker& w, const Principal& p,
                            const std::vector<const Job*>& jobs, const std::vector<bool>& visible);
  // Whether `p` may learn that `job` exists; when not, every job route answers 404 as for a job
  // that does not exist (Visibility::jobs).
  bool JobVisibleTo(const Principal& p, const Job& job) const;
  // The ledger; a non-admin sees only its own account unless visibility.accounts is all.
  HttpReply ListAccounts(const Principal& p);
  // GET /v1/accounts/history?since=MS&maxPoints=N: the ledger's snapshots, per account, with the
  // same visibility as ListAccounts; read on history_reader_'s connection off the event loop.
  boost::asio::awaitable<HttpReply> AccountsHistory(const HttpRequest& req, const Principal& p);
  HttpReply CreateAccount(const HttpRequest& req, const Principal& p);
  // GET /v1/trace?since=MS&until=MS: every job submitted in [since, until) as a shoal-sim trace
  // (text/csv, scheduler/job_trace.h). Admins only: it shows every account's jobs.
  HttpReply Trace(const HttpRequest& req, const Principal& p);
  HttpReply Tokens(const HttpRequest& req, const std::vector<std::string>& parts,
                   const Principal& p);
  boost::asio::awaitable<HttpReply> Checkpoints(const HttpRequest& req, const Job& job,
                                                const std::vector<std::string>& parts,
                                                const Principal& p);
  HttpReply CheckCheckpointRequest(const HttpRequest& req, const Job& job,
                                   const std::vector<std::string>& parts, const Principal& p);
  // 507 when storing `bytes` at `step` would take the job owner's checkpoints past the quota
  // (quotas.checkpoint_quota_bytes), else status 0.
  HttpReply CheckCheckpointQuota(const Job& job, int64_t step, int64_t bytes);

  // The registry routes (api_registry.cc).
  boost::asio::awaitable<HttpReply> Registry(const HttpRequest& req,
                                             const std::vector<std::string>& parts,
                                             const Principal& p);
  boost::asio::awaitable<HttpReply> MissingChunks(const HttpRequest& req, const ArtifactRecord& a);
  boost::asio::awaitable<HttpReply> PutChunk(const HttpRequest& req, const ArtifactRecord& a,
                                             const std::string& id);
  boost::asio::awaitable<HttpReply> ReadChunk(const HttpRequest& req, const ArtifactRecord& a,
                                              const std::string& id);
  boost::asio::awaitable<HttpReply> PutVersion(const HttpRequest& req, const ArtifactRecord& a,
                                               const std::string& version, const Principal& p);
  boost::asio::awaitable<HttpReply> PublishModel(const HttpRequest& req, const Job& job,
                                                 const Principal& p);
  // Publishes job `job_id`'s newest checkpoint (and a model card) as a version of model
  // (owner, record.name) with record's visibility, description and license; `version` "" = the
  // next integer one. NotFound / FailedPrecondition (not succeeded, no final checkpoint, a
  // visibility that differs from the existing model's), AlreadyExists (the version),
  // ResourceExhausted (quota), Unavailable (storage).
  struct Published {
    nlohmann::json card;  // the card with the new version
    bool added = false;   // false: the same version was stored before
  };
  boost::asio::awaitable<Result<Published>> PublishJob(int64_t job_id, ArtifactRecord record,
                                                       std::string version, std::string publisher);
  // spec.output (api_publish.cc): refused at submission when it could never be published.
  Status CheckOutputModel(const Job& job) const;
  void OnJobSucceeded(const Job& job);
  // The job view's "output": {model, published | error}, or null when the spec names none.
  nlohmann::json OutputJson(const Job& job) const;
  HttpReply Grants(const HttpRequest& req, const std::vector<std::string>& parts,
                   const ArtifactRecord& a, const Principal& p);
  // The pin a request's X-Shoal-Capability reads `a` through (and its job), or PermissionDenied:
  // a forged or expired capability, a caller that runs no rank of the attempt, or a job that
  // does not read `a`.
  Result<wire::Pin> CapabilityPin(const HttpRequest& req, const Principal& p,
                                  const ArtifactRecord& a, int64_t* job_id);
  // Records a read of a private artifact (or its refusal) in its audit log; nothing for public.
  void AuditRead(const ArtifactRecord& a, const Principal& p, int64_t job, const HttpRequest& req,
                 const std::string& action, const std::string& version, const Status& outcome);
  // The unfinished jobs that pin `a` (at `digest`, or any version when empty).
  std::vector<int64_t> JobsPinning(const ArtifactRecord& a, const std::string& digest) const;
  // Resolves the registry URIs of a submission's spec for the submitter and pins them in
  // job->pins: InvalidArgument for a malformed URI, NotFound / PermissionDenied naming the
  // dataset (the refusal of a private one is audited).
  Status PinRegistryData(Job* job, const Principal& p);

  Scheduler* scheduler_;
  Auth* auth_;
  AuthFailureLimiter auth_limiter_;
  RendezvousKv* kv_;
  Notifier* notifier_;
  CheckpointStore* checkpoints_ = nullptr;
  shoal::Registry* registry_ = nullptr;
  RegistryMetrics registry_metrics_;
  // Chunk reads and writes (hashing, encrypting, fsyncing megabytes) run here, off the event loop.
  boost::asio::thread_pool registry_io_{4};
  Visibility visibility_;
  UiOptions ui_;
  WebSessions sessions_{[] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }};
  ApiMetrics api_metrics_;
  // Checkpoint reads and writes (seconds for a large model) run here, off the event loop.
  boost::asio::thread_pool checkpoint_io_{1};
  // Log and metric reads (history_reader_'s connection) run here, one at a time.
  JobHistory* history_reader_ = nullptr;
  boost::asio::thread_pool log_io_{1};
  std::chrono::steady_clock::time_point next_checkpoint_expiry_{};
  std::chrono::steady_clock::time_point next_registry_sweep_{};
  // Jobs whose spec.output.model is still to be published, when to retry those that failed
  // transiently, and the last error of each that failed.
  std::set<int64_t> outputs_pending_;
  std::map<int64_t, int64_t> outputs_retry_at_;
  std::map<int64_t, std::string> output_errors_;
  bool outputs_scanned_ = false;
  GroupCommit<Job, Result<const Job*>> submissions_;
  GroupCommit<WorkerRegistration, Result<const Worker*>> registrations_;
};

}  // namespace shoal
