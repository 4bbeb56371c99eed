#include "scheduler/auth.h"

#include <algorithm>
#include <ctime>

#include "common/spec/job_spec.h"  // IsDnsLabel
#include "common/sha256.h"
#include "scheduler/web/web_sessions.h"  // RandomHex256

namespace shoal {

namespace {

constexpr std::string_view kBearer = "Bearer ";

bool Printable(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c > ' ' && c < 127; });
}

// "2026-12-04T16:44:06Z": for messages a person reads.
std::string FormatUtc(int64_t ms) {
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

std::string_view ToString(Role role) {
  switch (role) {
    case Role::kAdmin: return "admin";
    case Role::kUser: return "user";
    case Role::kContributor: return "contributor";
  }
  return "?";
}

Result<Role> ParseRole(std::string_view name) {
  if (name == "admin") return Role::kAdmin;
  if (name == "user") return Role::kUser;
  if (name == "contributor") return Role::kContributor;
  return InvalidArgument("role must be admin, user or contributor, got \"" +
                         std::string(name.substr(0, 40)) + "\"");
}

std::string NewToken() { return "shoal_" + RandomHex256(); }

std::string HashToken(std::string_view token) { return Sha256Hex(token); }

Result<std::unique_ptr<Auth>> Auth::Load(Store* store, std::function<int64_t()> clock) {
  std::unique_ptr<Auth> auth(new Auth(store, std::move(clock)));
  ASSIGN_OR_RETURN(auto accounts, store->LoadAccounts());
  for (const auto& a : accounts) auth->accounts_[a.name] = a.created_ms;
  ASSIGN_OR_RETURN(auto tokens, store->LoadTokens());
  for (const auto& t : tokens) {
    auto role = ParseRole(t.role);
    if (!role.ok()) return Internal("stored token " + std::to_string(t.id) + ": " +
                                    role.status().message());
    auth->tokens_[t.id] = {t.id,         t.account,    *role,        t.label,
                           t.created_ms, t.revoked_ms, t.expires_ms, t.last_used_ms};
    auth->by_hash_[t.hash] = t.id;
    auth->stored_last_used_[t.id] = t.last_used_ms;
  }
  return auth;
}

namespace {

// A token handed in from outside: trailing whitespace dropped, 32..256 printable characters.
Result<std::string> CheckProvidedToken(std::string_view provided, const std::string& what) {
  std::string token(provided);
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) {
    token.pop_back();  // a file written by `echo`
  }
  if (!token.empty() && (token.size() < 32 || token.size() > 256 || !Printable(token))) {
    return InvalidArgument("the provided " + what + " must be 32..256 printable characters");
  }
  return token;
}

}  // namespace

Result<std::string> Auth::Bootstrap(std::string_view provided, std::string_view worker_token,
                                    const std::string& worker_account) {
  if (!tokens_.empty()) return std::string();
  ASSIGN_OR_RETURN(std::string token, CheckProvidedToken(provided, "admin token"));
  ASSIGN_OR_RETURN(std::string worker, CheckProvidedToken(worker_token, "worker token"));
  if (!worker.empty() && !IsDnsLabel(worker_account)) {
    return InvalidArgument("the worker account must be a DNS label, got \"" +
                           worker_account.substr(0, 80) + "\"");
  }
  if (!worker.empty() && worker == token) {
    return InvalidArgument("the worker token must differ from the admin token");
  }
  if (token.empty()) token = NewToken();
  // Two transactions: should the worker token fail to store after the admin one (the scheduler
  // then exits with the error), the admin creates it later with `shoal tokens create`.
  ASSIGN_OR_RETURN(auto created, AddToken("admin", Role::kAdmin, "bootstrap admin", token));
  if (!worker.empty()) {
    Status st = AddToken(worker_account, Role::kContributor, "bootstrap workers", worker).status();
    if (!st.ok()) return st;
  }
  return created.second;
}

Result<Principal> Auth::Authenticate(std::string_view authorization) {
  if (authorization.empty()) {
    return Unauthenticated("a token is required: send \"Authorization: Bearer <token>\" (shoal: "
                           "--token, $SHOAL_TOKEN or ~/.config/shoal/token)");
  }
  if (authorization.substr(0, kBearer.size()) != kBearer) {
    return Unauthenticated("the Authorization header must be \"Bearer <token>\"");
  }
  std::string_view token = authorization.substr(kBearer.size());
  if (token.empty() || token.size() > 256) return Unauthenticated("malformed bearer token");
  auto it = by_hash_.find(HashToken(token));
  if (it == by_hash_.end()) return Unauthenticated("unknown token");
  TokenInfo& t = tokens_.at(it->second);
  if (t.revoked_ms != 0) {
    return Unauthenticated("token " + std::to_string(t.id) + " has been revoked");
  }
  const int64_t now = clock_();
  if (t.expired(now)) {
    return Unauthenticated("token " + std::to_string(t.id) + " expired at " +
                           FormatUtc(t.expires_ms) + "; ask an admin for a new one");
  }
  // In memory only: the API is hot (a heartbeat every few seconds per worker), so the database
  // hears of it from PersistLastUsed's timer.
  t.last_used_ms = std::max(t.last_used_ms, now);
  return Principal{t.account, t.role, t.id};
}

Result<int> Auth::PersistLastUsed(bool all) {
  std::vector<std::pair<int64_t, int64_t>> due;
  for (const auto& [id, t] : tokens_) {
    const int64_t stored = stored_last_used_[id];
    if (t.last_used_ms <= stored) continue;
    // A first use is written at once (it says the token is in use at all); later ones once they
    // are a full interval newer than what is stored.
    if (all || stored == 0 || t.last_used_ms - stored >= kLastUsedPersistIntervalMs) {
      due.emplace_back(id, t.last_used_ms);
    }
  }
  RETURN_IF_ERROR(store_->SaveTokensLastUsed(due));
  for (const auto& [id, ms] : due) stored_last_used_[id] = ms;
  return static_cast<int>(due.size());
}

Status Auth::CreateAccount(const std::string& name) {
  if (!IsDnsLabel(name)) {
    return InvalidArgument("account name must be a DNS label (1..63 of a-z, 0-9, '-'), got \"" +
                           name.substr(0, 80) + "\"");
  }
  if (HasAccount(name)) return AlreadyExists("account \"" + name + "\" already exists");
  const int64_t now = clock_();
  RETURN_IF_ERROR(store_->InsertAccount({name, now}));
  accounts_[name] = now;
  return Status::Ok();
}

Result<std::pair<TokenInfo, std::string>> Auth::CreateToken(const std::string& account, Role role,
                                                            const std::string& label,
                                                            int64_t expires_ms) {
  if (!HasAccount(account)) {
    return NotFound("account \"" + account.substr(0, 80) +
                    "\" does not exist (create it first: shoal accounts create NAME)");
  }
  return AddToken(account, role, label, NewToken(), expires_ms);
}

Result<std::pair<TokenInfo, std::string>> Auth::AddToken(const std::string& account, Role role,
                                                         const std::string& label,
                                                         std::string token, int64_t expires_ms) {
  if (label.size() > 200) return InvalidArgument("a token's label is at most 200 characters");
  if (expires_ms < 0 || (expires_ms != 0 && expires_ms <= clock_())) {
    return InvalidArgument("a token's expiry must be in the future");
  }
  Store::TokenRow row;
  row.account = account;
  row.role = std::string(ToString(role));
  row.hash = HashToken(token);
  row.label = label;
  row.created_ms = clock_();
  row.expires_ms = expires_ms;
  ASSIGN_OR_RETURN(row.id, store_->InsertToken(row));
  accounts_.emplace(account, row.created_ms);
  TokenInfo info{row.id, account, role, label, row.created_ms, 0, expires_ms, 0};
  tokens_[row.id] = info;
  by_hash_[row.hash] = row.id;
  return std::make_pair(info, std::move(token));
}

Result<TokenInfo> Auth::Revoke(int64_t id) {
  auto it = tokens_.find(id);
  if (it == tokens_.end() || it->second.revoked_ms != 0) {
    return NotFound("no valid token " + std::to_string(id));
  }
  const int64_t now = clock_();
  RETURN_IF_ERROR(store_->RevokeToken(id, now));
  it->second.revoked_ms = now;
  return it->second;
}

std::vector<TokenInfo> Auth::Tokens(const std::string& account) const {
  std::vector<TokenInfo> out;
  for (const auto& [id, t] : tokens_) {
    if (account.empty() || t.account == account) out.push_back(t);
  }
  return out;
}

const TokenInfo* Auth::FindToken(int64_t id) const {
  auto it = tokens_.find(id);
  return it == tokens_.end() ? nullptr : &it->second;
}

}  // namespace shoal
