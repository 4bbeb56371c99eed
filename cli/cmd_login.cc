// shoal login: store a token (and the scheduler's address) where the CLI reads them.
// shoal config get-contexts | use-context NAME: the contexts of config.yaml.
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <iostream>

#include "cli/commands.h"
#include "cli/config.h"
#include "cli/exit_codes.h"
#include "cli/format.h"
#include "cli/json_get.h"

namespace shoal::cli {

namespace {

// The token login was given: --token-stdin reads the first line of stdin, else --token.
Result<std::string> TokenToStore(const CommandContext& ctx) {
  std::string token;
  if (ctx.args().token_stdin) {
    if (!ctx.args().token.empty()) {
      return InvalidArgument("give the token with --token-stdin or --token, not both");
    }
    if (ctx.env().in != nullptr) std::getline(*ctx.env().in, token);
  } else if (!ctx.args().token.empty()) {
    token = ctx.args().token;
  } else if (ctx.env().stdin_is_tty && ctx.env().in != nullptr) {
    // On a terminal: ask, without echoing the secret when stdin is the real terminal.
    ctx.err() << "Token: " << std::flush;
    const bool real_stdin = ctx.env().in == &std::cin;
    termios saved{};
    const bool quiet = real_stdin && ::tcgetattr(STDIN_FILENO, &saved) == 0;
    if (quiet) {
      termios silent = saved;
      silent.c_lflag &= ~static_cast<tcflag_t>(ECHO);
      ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &silent);
    }
    std::getline(*ctx.env().in, token);
    if (quiet) {
      ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
      ctx.err() << "\n";
    }
  } else {
    return InvalidArgument(
        "'shoal login' needs the token: --token-stdin (e.g. shoal tokens create ... | shoal "
        "login --token-stdin) or --token TOKEN");
  }
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) {
    token.pop_back();
  }
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.front()))) {
    token.erase(token.begin());
  }
  if (token.empty()) return InvalidArgument("the token is empty");
  if (token.find_first_of(" \t\r\n") != std::string::npos) {
    return InvalidArgument("a token is one word; this one has spaces in it");
  }
  return token;
}

}  // namespace

int CmdLogin(const CommandContext& ctx) {
  Result<std::string> token = TokenToStore(ctx);
  if (!token.ok()) {
    ctx.err() << "shoal: " << token.status().message() << "\n";
    return kExitUsage;
  }
  const Settings& settings = ctx.settings();
  const CliArgs& args = ctx.args();
  // Where the token goes: the named context's file, else the file this CLI reads (the current
  // context's, $SHOAL_TOKEN_FILE or CONFIG_DIR/token). A context (new or the current one) also
  // records --scheduler, so that later commands need no flag.
  CliConfig config = settings.config;
  std::string context_name = settings.context;
  if (context_name.empty() && !args.scheduler.empty()) context_name = "default";
  std::string path = settings.token_file;
  if (!context_name.empty()) {
    if (settings.config_path.empty()) {
      ctx.err() << "shoal: no configuration directory to keep contexts in ($HOME is not set)\n";
      return kExitUsage;
    }
    const std::string dir = settings.config_path.substr(0, settings.config_path.rfind('/'));
    CliContext& c = config.FindOrAdd(context_name);
    // The address and CA the token was checked against: the flags, else the environment, else
    // the (current) context's, else the default.
    if (!args.scheduler.empty() || c.scheduler.empty()) c.scheduler = ctx.scheduler_url();
    if (!args.ca_file.empty() || c.ca_file.empty()) c.ca_file = settings.ca_file;
    if (c.token_file.empty()) {
      c.token_file = context_name == "default" ? dir + "/token" : dir + "/tokens/" + context_name;
    }
    path = ctx.env().token_file.empty() || !args.context.empty() ? c.token_file : path;
    config.current_context = context_name;
  }
  if (path.empty()) {
    ctx.err() << "shoal: nowhere to store the token ($HOME is not set; set SHOAL_TOKEN_FILE)\n";
    return kExitUsage;
  }
  // Check the token before storing it: a mistyped one would fail every later command.
  CommandContext check(args, ctx.env(), ctx.out(), ctx.err(), ctx.scheduler_url(), *token,
                       settings.ca_file);
  Result<json> reply = check.Call("GET", "/v1/tokens");
  const StatusCode code = reply.status().code();
  if (code == StatusCode::kUnauthenticated) {
    ctx.err() << "shoal: the scheduler at " << ctx.scheduler_url()
              << " refused the token: " << PlainMessage(reply.status()) << "; nothing was saved\n";
    return kExitNotFound;
  }
  if (code == StatusCode::kUnavailable || code == StatusCode::kDeadlineExceeded) {
    ctx.err() << "shoal: warning: could not check the token (" << reply.status().message()
              << "); saving it anyway\n";
  }
  Status saved = WriteSecretFile(path, *token + "\n");
  if (!saved.ok()) {
    ctx.err() << "shoal: cannot save the token: " << saved.message() << "\n";
    return ExitCodeFor(saved);
  }
  if (!context_name.empty()) {
    Status st = SaveCliConfig(settings.config_path, config);
    if (!st.ok()) {
      ctx.err() << "shoal: cannot write " << settings.config_path << ": " << st.message() << "\n";
      return ExitCodeFor(st);
    }
  }
  ctx.out() << "token saved to " << path;
  if (!context_name.empty()) {
    ctx.out() << " (context " << context_name << ", scheduler "
              << (config.Find(context_name)->scheduler.empty()
                      ? ctx.scheduler_url()
                      : config.Find(context_name)->scheduler)
              << ")";
  }
  ctx.out() << "\n";
  if (!ctx.env().token_file.empty() && path != ctx.env().token_file) {
    ctx.err() << "shoal: note: $SHOAL_TOKEN_FILE is set and is read instead of " << path << "\n";
  }
  if (!ctx.env().token_env.empty()) {
    ctx.err() << "shoal: note: $SHOAL_TOKEN is set and is used instead of the saved token\n";
  }
  return kExitOk;
}

int CmdConfig(const CommandContext& ctx) {
  const Settings& settings = ctx.settings();
  const CliArgs& args = ctx.args();
  if (settings.config_path.empty()) {
    ctx.err() << "shoal: no configuration directory ($HOME is not set)\n";
    return kExitUsage;
  }
  if (args.sub == "use-context") {
    const std::string& name = args.positional.at(1);
    if (settings.config.Find(name) == nullptr) {
      ctx.err() << "shoal: no context \"" << name << "\" in " << settings.config_path
                << " ('shoal config get-contexts' lists them)\n";
      return kExitNotFound;
    }
    CliConfig config = settings.config;
    config.current_context = name;
    Status st = SaveCliConfig(settings.config_path, config);
    if (!st.ok()) {
      ctx.err() << "shoal: cannot write " << settings.config_path << ": " << st.message() << "\n";
      return ExitCodeFor(st);
    }
    ctx.out() << "switched to context \"" << name << "\"\n";
    return kExitOk;
  }
  // get-contexts
  if (ctx.json_output()) {
    json list = json::array();
    for (const auto& c : settings.config.contexts) {
      list.push_back({{"name", c.name},
                      {"scheduler", c.scheduler},
                      {"tokenFile", c.token_file},
                      {"caFile", c.ca_file},
                      {"current", c.name == settings.config.current_context}});
    }
    ctx.PrintJson(json{{"contexts", list}});
    return kExitOk;
  }
  if (settings.config.contexts.empty()) {
    ctx.err() << "No contexts in " << settings.config_path
              << " ('shoal login --context NAME --scheduler URL ...' adds one).\n";
    return kExitOk;
  }
  Table table({"CURRENT", "NAME", "SCHEDULER", "TOKEN-FILE", "CA-FILE"});
  for (const auto& c : settings.config.contexts) {
    table.AddRow({c.name == settings.config.current_context ? "*" : "", c.name, c.scheduler,
                  c.token_file, c.ca_file});
  }
  table.Render(ctx.out());
  return kExitOk;
}

}  // namespace shoal::cli
