// The accounts and tokens routes of the Api: the ledger (GET /v1/accounts) and its history (GET
// /v1/accounts/history), creating accounts, and creating, listing and revoking tokens.
// Part of the Api class (scheduler/api/api.h); the files share api_internal.h.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <optional>
#include <utility>  // before Boost 1.74 awaitable.hpp, which uses std::exchange unincluded

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>

#include "common/log.h"
#include "common/version.h"
#include "scheduler/api/api.h"
#include "scheduler/api/api_internal.h"

namespace shoal {

namespace asio = boost::asio;
using nlohmann::json;
using api_internal::JsonReply;
using api_internal::MethodNotAllowed;
using api_internal::ParseJsonBody;
using api_internal::RequireRole;
using api_internal::WallMs;
using api_internal::ToJson;
using api_internal::TokenExpiry;
using api_internal::DownsamplePoints;
using api_internal::RunOn;

namespace {

// Rows read for one history reply at most: hourly snapshots of 400 days are ~9600 per account.
constexpr int kMaxHistoryRows = 1'000'000;

// BOINC's "recent average credit": the decayed sum of a constant rate c (GPU-s/s) converges to
// c * halfLife / ln 2, so c = decayed * ln 2 / halfLife; times 86400 / 3600 it is GPU-hours per
// day.
double RecentAverageGpuHoursPerDay(double decayed_gpu_s, double half_life_s) {
  if (half_life_s <= 0) return 0;
  return decayed_gpu_s * std::log(2.0) / half_life_s * 86400.0 / 3600.0;
}

}  // namespace

HttpReply Api::ListAccounts(const Principal& p) {
  // The fair-share factors the policy would use now: every ledger account, plus the projects of
  // queued and running jobs (which may not have used anything yet).
  Snapshot snap;
  std::map<std::string, LedgerEntry> entries;
  for (const LedgerEntry& e : scheduler_->LedgerEntries()) {
    snap.accounts.push_back({e.account, e.contributed, e.used});
    entries[e.account] = e;
  }
  for (const auto& account : auth_->accounts()) {
    const std::string& name = account.first;
    if (std::none_of(snap.accounts.begin(), snap.accounts.end(),
                     [&](const auto& a) { return a.name == name; })) {
      snap.accounts.push_back({name, 0, 0});
    }
  }
  for (const Job* j : scheduler_->ListJobs(std::nullopt, "")) {
    if (j->state == JobState::kPending || j->state == JobState::kRestarting ||
        j->state == JobState::kRunning) {
      SnapshotJob sj;
      sj.account = j->owner;
      snap.queue.push_back(sj);
    }
  }
  json out = json::array();
  // The factors are computed over every account either way; only the rows shown differ.
  const bool all = p.admin() || visibility_.accounts == Visibility::Accounts::kAll;
  int hidden = 0;
  const double half_life_s = scheduler_->options().fair_share_half_life_s;
  for (const FairShare& f : FairShareFactors(snap)) {
    if (!all && f.account != p.account) {
      ++hidden;
      continue;
    }
    double contributed = 0, used = 0;
    for (const auto& a : snap.accounts) {
      if (a.name == f.account) {
        contributed = a.contributed_gpu_s;
        used = a.used_gpu_s;
      }
    }
    const auto e = entries.find(f.account);
    out.push_back({{"name", f.account},
                   {"contributedGpuSeconds", contributed},
                   {"usedGpuSeconds", used},
                   {"totalContributedGpuSeconds",
                    e != entries.end() ? e->second.total_contributed : 0.0},
                   {"totalUsedGpuSeconds", e != entries.end() ? e->second.total_used : 0.0},
                   {"recentAverageGpuHoursPerDay",
                    RecentAverageGpuHoursPerDay(contributed, half_life_s)},
                   {"balanceGpuSeconds", contributed - used},
                   {"share", f.share},
                   {"usage", f.usage},
                   {"fairShareFactor", f.factor},
                   {"registered", auth_->HasAccount(f.account)}});
  }
  json reply = {{"accounts", out},
                {"halfLifeSeconds", scheduler_->options().fair_share_half_life_s},
                {"policy", PolicyName(scheduler_->options().policy)}};
  if (!all) reply["otherAccounts"] = hidden;
  return JsonReply(200, reply);
}

asio::awaitable<HttpReply> Api::AccountsHistory(const HttpRequest& req, const Principal& p) {
  int64_t since = 0, max_points = 500;
  if (auto it = req.query.find("since");
      it != req.query.end() && (!ParseInteger(it->second, &since) || since < 0)) {
    co_return ErrorReply(400, "InvalidArgument", "since must be a non-negative integer (Unix ms)",
                         "since");
  }
  if (auto it = req.query.find("maxPoints");
      it != req.query.end() &&
      (!ParseInteger(it->second, &max_points) || max_points < 1 || max_points > 10000)) {
    co_return ErrorReply(400, "InvalidArgument", "maxPoints must be an integer in 1..10000",
                         "maxPoints");
  }
  // As GET /v1/accounts: a non-admin sees its own account unless every account is visible.
  const bool all = p.admin() || visibility_.accounts == Visibility::Accounts::kAll;
  JobHistory* history = history_reader_ != nullptr ? history_reader_ : scheduler_->history();
  const int64_t interval_s = scheduler_->options().ledger_history_interval_ms / 1000;
  auto read = [history, since, max_points, interval_s,
               account = all ? std::string() : p.account] {
    auto rows = history->ReadLedgerHistory(since, account, kMaxHistoryRows);
    if (!rows.ok()) return ErrorReply(rows.status());
    std::map<std::string, std::vector<json>> by_account;  // rows come ordered by time
    for (const LedgerHistoryRow& r : *rows) {
      by_account[r.account].push_back({{"tsMs", r.ts_ms},
                                       {"totalContributedGpuSeconds", r.total_contributed},
                                       {"totalUsedGpuSeconds", r.total_used},
                                       {"contributedGpuSeconds", r.contributed},
                                       {"usedGpuSeconds", r.used}});
    }
    json accounts = json::array();
    for (auto& [name, points] : by_account) {
      accounts.push_back(
          {{"name", name}, {"points", DownsamplePoints(std::move(points), max_points)}});
    }
    return JsonReply(200, json{{"intervalSeconds", interval_s}, {"accounts", std::move(accounts)}});
  };
  // Not a conditional expression: GCC 12 miscompiles a co_await inside one.
  if (history_reader_ == nullptr) co_return read();
  co_return co_await RunOn(log_io_, read);
}

// POST /v1/accounts {"name": N}: admin only.
HttpReply Api::CreateAccount(const HttpRequest& req, const Principal& p) {
  Status allowed = RequireRole(p, {Role::kAdmin}, "creating accounts");
  if (!allowed.ok()) return ErrorReply(allowed);
  auto body = ParseJsonBody(req);
  if (!body.ok()) return ErrorReply(body.status());
  if (!body->contains("name") || !(*body)["name"].is_string()) {
    return ErrorReply(400, "InvalidArgument", "body needs a string \"name\"", "name");
  }
  const std::string name = (*body)["name"];
  Status st = auth_->CreateAccount(name);
  if (!st.ok()) return ErrorReply(st, "name");
  LOG_INFO << "account " << name << " created by " << p.account;
  return JsonReply(201, json{{"name", name}});
}

// GET /v1/tokens[?account=A]; POST /v1/tokens {"account","role","label"} (admin; the reply
// carries the token, the only time it is shown); DELETE /v1/tokens/{id} (admin, or the token's
// own account).
HttpReply Api::Tokens(const HttpRequest& req, const std::vector<std::string>& parts,
                      const Principal& p) {
  // Tokens are managed by admins and by an account's people; a contributor token (a worker's
  // credential, on a stranger's machine) may neither list nor revoke them.
  if (Status allowed = RequireRole(p, {Role::kAdmin, Role::kUser}, "managing tokens");
      !allowed.ok()) {
    return ErrorReply(allowed);
  }
  if (parts.size() == 2 && req.method == "GET") {
    std::string account;
    if (auto it = req.query.find("account"); it != req.query.end()) account = it->second;
    if (!p.admin()) {
      if (!account.empty() && account != p.account) {
        return ErrorReply(403, "PermissionDenied", "only an admin may list another account's tokens");
      }
      account = p.account;
    }
    json out = json::array();
    for (const TokenInfo& t : auth_->Tokens(account)) out.push_back(ToJson(t));
    return JsonReply(200, json{{"tokens", out}});
  }
  if (parts.size() == 2 && req.method == "POST") {
    Status allowed = RequireRole(p, {Role::kAdmin}, "creating tokens");
    if (!allowed.ok()) return ErrorReply(allowed);
    auto body = ParseJsonBody(req);
    if (!body.ok()) return ErrorReply(body.status());
    const json& b = *body;
    if (!b.contains("account") || !b["account"].is_string()) {
      return ErrorReply(400, "InvalidArgument", "body needs a string \"account\"", "account");
    }
    if (!b.contains("role") || !b["role"].is_string()) {
      return ErrorReply(400, "InvalidArgument",
                        "body needs \"role\": admin, user or contributor", "role");
    }
    if (b.contains("label") && !b["label"].is_string()) {
      return ErrorReply(400, "InvalidArgument", "\"label\" must be a string", "label");
    }
    auto role = ParseRole(b["role"].get<std::string>());
    if (!role.ok()) return ErrorReply(role.status(), "role");
    auto expires = TokenExpiry(b, WallMs());
    if (!expires.ok()) {
      return ErrorReply(expires.status(), b.contains("expiresIn") ? "expiresIn" : "expiresAtMs");
    }
    auto created = auth_->CreateToken(b["account"], *role, b.value("label", ""), *expires);
    if (!created.ok()) return ErrorReply(created.status());
    LOG_INFO << "token " << created->first.id << " (" << ToString(*role) << ") for account "
             << created->first.account << " created by " << p.account;
    json out = ToJson(created->first);
    out["token"] = created->second;
    return JsonReply(201, out);
  }
  if (parts.size() == 3 && req.method == "DELETE") {
    int64_t id = 0;
    if (!ParseInteger(parts[2], &id) || id <= 0) {
      return ErrorReply(400, "InvalidArgument", "token id must be a positive integer", "id");
    }
    const TokenInfo* t = auth_->FindToken(id);
    if (t == nullptr) return ErrorReply(404, "NotFound", "token " + parts[2] + " not found");
    if (!p.admin() && t->account != p.account) {
      return ErrorReply(403, "PermissionDenied", "token " + parts[2] + " belongs to another account");
    }
    auto revoked = auth_->Revoke(id);
    if (!revoked.ok()) return ErrorReply(revoked.status());
    LOG_INFO << "token " << id << " of account " << revoked->account << " revoked by "
             << p.account;
    return JsonReply(200, ToJson(*revoked));
  }
  return MethodNotAllowed(req);
}

}  // namespace shoal
