// Auth: accounts, bearer tokens and roles (docs/security.md §1-2).
//
// An account is the tenant: it owns jobs, owns workers, and is what the contribution ledger
// credits and charges. A token belongs to one account and carries one role:
//   admin        everything, on every account (manages accounts and tokens);
//   user         submits jobs; sees, follows and cancels the account's jobs;
//   contributor  registers workers for the account and acts as them (heartbeats, events,
//                checkpoints and rendezvous of the attempts its workers run).
// An account may hold tokens of several roles (a lab: one user token per member, one contributor
// token per machine). Tokens are 256-bit random strings; only their SHA-256 is stored, so a copy
// of the database lets no one in. The plain token is returned once, on creation.
//
// Every method that changes something has committed it to the Store when it returns OK.
// Not thread-safe: the scheduler calls it from its event-loop thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "scheduler/state/store.h"

namespace shoal {

enum class Role { kAdmin, kUser, kContributor };
std::string_view ToString(Role role);
// "admin" | "user" | "contributor"; InvalidArgument otherwise.
Result<Role> ParseRole(std::string_view name);

// Who is calling: the account and role of the token presented.
struct Principal {
  std::string account;
  Role role = Role::kUser;
  int64_t token_id = 0;
  bool admin() const { return role == Role::kAdmin; }
};

struct TokenInfo {
  int64_t id = 0;
  std::string account;
  Role role = Role::kUser;
  std::string label;
  int64_t created_ms = 0;
  int64_t revoked_ms = 0;  // 0 = valid
  int64_t expires_ms = 0;  // 0 = never; refused from this time on
  // The last time it authenticated (0 = never): exact while the scheduler runs; what is stored
  // lags by about a minute (Auth::PersistLastUsed), so after a crash it may be that much older.
  int64_t last_used_ms = 0;
  bool expired(int64_t now_ms) const { return expires_ms != 0 && now_ms >= expires_ms; }
};

// A fresh random token: "shoal_" + 64 hex digits (32 bytes from the OS's CSPRNG).
std::string NewToken();
// What is stored for a token: its SHA-256 in hex.
std::string HashToken(std::string_view token);

class Auth {
 public:
  // Loads the accounts and tokens from `store` (which must outlive the Auth). `clock` gives Unix
  // milliseconds. Unavailable if the store cannot be read.
  static Result<std::unique_ptr<Auth>> Load(Store* store, std::function<int64_t()> clock);

  // On the first start (no token exists yet) creates the account "admin" and an admin token and
  // returns the plain token, to be shown once. `provided` (e.g. read from a Kubernetes Secret) is
  // used as that token instead of a random one; it must be 32..256 printable characters. After
  // the first start returns "" and ignores `provided`, so a revoked bootstrap token stays revoked.
  // `worker_token` (optional, same rules), also on the first start only, becomes a contributor
  // token of `worker_account` (created), so that a deployment can start its workers with a
  // pre-shared secret (e.g. the Helm chart's worker DaemonSet).
  Result<std::string> Bootstrap(std::string_view provided = {}, std::string_view worker_token = {},
                                const std::string& worker_account = "cluster");

  // Checks an "Authorization" header value ("Bearer <token>"). Unauthenticated when it is missing,
  // malformed, unknown, revoked or expired (the message says which, never echoing the token). On
  // success records the token's last-used time in memory only (no database write: see
  // PersistLastUsed).
  Result<Principal> Authenticate(std::string_view authorization);

  // How far the stored last-used time of a token may lag the one in memory before
  // PersistLastUsed writes it.
  static constexpr int64_t kLastUsedPersistIntervalMs = 60'000;
  // Writes, in one transaction, the last-used times that are newer than what is stored by at
  // least kLastUsedPersistIntervalMs, or first uses (`all`: every newer time, e.g. at shutdown).
  // Meant for a timer (the daemon: every 10 s) so that an authenticated request never waits for
  // a database write: a token is written at most about once a minute, however busy. Returns the
  // number of tokens written, or the store's error (then they are tried again next time).
  Result<int> PersistLastUsed(bool all = false);

  // Creates an account (a DNS label, as job and worker names are); AlreadyExists if taken.
  Status CreateAccount(const std::string& name);
  // Creates a token of `role` for an existing account (NotFound otherwise) and returns its record
  // and the plain token, which is not kept. `label` <= 200 characters. `expires_ms` (Unix ms; 0 =
  // never) must be in the future (InvalidArgument otherwise).
  Result<std::pair<TokenInfo, std::string>> CreateToken(const std::string& account, Role role,
                                                        const std::string& label,
                                                        int64_t expires_ms = 0);
  // Revokes a token at once: later requests with it get 401. NotFound if unknown or revoked.
  Result<TokenInfo> Revoke(int64_t id);

  bool HasAccount(const std::string& name) const { return accounts_.count(name) > 0; }
  // Accounts (name -> created ms), ordered by name.
  const std::map<std::string, int64_t>& accounts() const { return accounts_; }
  // Tokens of `account` ("" = all), ordered by id, revoked ones included.
  std::vector<TokenInfo> Tokens(const std::string& account) const;
  const TokenInfo* FindToken(int64_t id) const;

 private:
  Auth(Store* store, std::function<int64_t()> clock) : store_(store), clock_(std::move(clock)) {}
  Result<std::pair<TokenInfo, std::string>> AddToken(const std::string& account, Role role,
                                                     const std::string& label, std::string token,
                                                     int64_t expires_ms = 0);

  Store* store_;
  std::function<int64_t()> clock_;
  std::map<std::string, int64_t> accounts_;
  std::map<int64_t, TokenInfo> tokens_;                 // by id
  std::unordered_map<std::string, int64_t> by_hash_;    // SHA-256 hex -> id
  std::map<int64_t, int64_t> stored_last_used_;         // id -> last_used_ms as in the store
};

}  // namespace shoal
