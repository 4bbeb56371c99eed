// shoal tokens: bearer tokens (GET/POST /v1/tokens, DELETE /v1/tokens/{id}).
#include <filesystem>

#include "cli/commands.h"
#include "cli/config.h"
#include "cli/exit_codes.h"
#include "cli/format.h"
#include "cli/json_get.h"

namespace shoal::cli {

namespace {

int CreateToken(const CommandContext& ctx) {
  const std::string& account = ctx.args().positional[1];
  // Checked before the token exists: --save onto the file this command's own token came from
  // would silently replace the caller's (say, the admin's) credentials with the new token.
  if (ctx.args().save && ctx.settings().token_from_file) {
    const std::string path =
        !ctx.args().save_path.empty() ? ctx.args().save_path : ctx.settings().token_file;
    std::error_code ec;
    if (path == ctx.settings().token_file ||
        std::filesystem::equivalent(path, ctx.settings().token_file, ec)) {
      ctx.err() << "shoal: --save would overwrite " << path
                << ", which holds the token this command runs with; give another PATH (e.g. "
                   "--save ~/.config/shoal/token)\n";
      return kExitUsage;
    }
  }
  json body = {{"account", account}, {"role", ctx.args().role}, {"label", ctx.args().label}};
  if (!ctx.args().expires.empty()) body["expiresIn"] = ctx.args().expires;  // checked by args.cc
  Result<json> reply = ctx.Call("POST", "/v1/tokens", body.dump());
  if (!reply.ok()) return ctx.Fail(reply.status());
  if (ctx.args().save) {
    // --save [PATH]: into a private file (default: the token file this CLI reads), not stdout.
    const std::string path =
        !ctx.args().save_path.empty() ? ctx.args().save_path : ctx.settings().token_file;
    if (path.empty()) {
      ctx.err() << "shoal: --save needs a PATH (no configuration directory: $HOME is not set)\n";
      ctx.out() << GetString(*reply, "token") << "\n";  // not lost: the only time it is shown
      return kExitUsage;
    }
    Status saved = WriteSecretFile(path, GetString(*reply, "token") + "\n");
    if (!saved.ok()) {
      ctx.err() << "shoal: cannot save the token: " << saved.message() << "\n";
      ctx.out() << GetString(*reply, "token") << "\n";
      return ExitCodeFor(saved);
    }
    json shown = *reply;
    shown.erase("token");
    if (ctx.json_output()) {
      shown["savedTo"] = path;
      ctx.PrintJson(shown);
    } else {
      ctx.err() << "token " << GetInt(*reply, "id") << " (" << GetString(*reply, "role")
                << ") for account " << account << " saved to " << path << " (mode 0600)\n";
    }
    return kExitOk;
  }
  if (ctx.json_output()) {
    ctx.PrintJson(*reply);
    return kExitOk;
  }
  // The token alone on stdout, so that TOKEN=$(shoal tokens create ...) works; the rest on stderr.
  ctx.out() << GetString(*reply, "token") << "\n";
  ctx.err() << "token " << GetInt(*reply, "id") << " (" << GetString(*reply, "role")
            << ") for account " << account
            << ": shown only now; store it with 'shoal login --token-stdin', or use --save\n";
  return kExitOk;
}

int RevokeTokens(const CommandContext& ctx) {
  int worst = kExitOk;
  for (int64_t id : ctx.args().job_ids) {
    Result<json> reply = ctx.Call("DELETE", "/v1/tokens/" + std::to_string(id));
    if (!reply.ok()) {
      worst = std::max(worst, ctx.Fail(reply.status()));
      continue;
    }
    ctx.out() << "token " << id << " of account " << GetString(*reply, "account") << " revoked\n";
  }
  return worst;
}

}  // namespace

int CmdTokens(const CommandContext& ctx) {
  const auto& pos = ctx.args().positional;
  if (!pos.empty() && pos[0] == "create") return CreateToken(ctx);
  if (!pos.empty() && pos[0] == "revoke") return RevokeTokens(ctx);
  std::string target = "/v1/tokens";
  if (!ctx.args().account.empty()) target += "?account=" + UrlEncode(ctx.args().account);
  Result<json> reply = ctx.Call("GET", target);
  if (!reply.ok()) return ctx.Fail(reply.status());
  if (!reply->contains("tokens") || !(*reply)["tokens"].is_array()) {
    return ctx.Fail(Internal("malformed reply to GET /v1/tokens: no \"tokens\" array"));
  }
  if (ctx.json_output()) {
    ctx.PrintJson(*reply);
    return kExitOk;
  }
  Table table({"ID", "ACCOUNT", "ROLE", "CREATED", "LAST-USED", "EXPIRES", "STATE", "LABEL"});
  const int64_t now = ctx.NowMs();
  for (const auto& t : (*reply)["tokens"]) {
    if (!t.is_object()) continue;
    const int64_t expires = GetInt(t, "expiresMs", 0);
    // The scheduler's "state" when it sends one (it knows the expiry as it judges it), else ours.
    std::string state = GetString(t, "state");
    if (state.empty()) {
      state = t.contains("revokedMs")           ? "revoked"
              : (expires > 0 && expires <= now) ? "expired"
                                                : "valid";
    }
    table.AddRow({std::to_string(GetInt(t, "id")), GetString(t, "account"), GetString(t, "role"),
                  FormatAge(GetInt(t, "createdMs"), now),
                  FormatAge(GetInt(t, "lastUsedMs", 0), now),
                  expires <= 0     ? "never"
                  : expires <= now ? "-"
                                   : "in " + FormatDuration(expires - now),
                  state, GetString(t, "label")});
  }
  table.Render(ctx.out());
  return kExitOk;
}

}  // namespace shoal::cli
