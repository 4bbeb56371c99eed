#include "cli/cli.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdlib>
#include <exception>
#include <filesystem>
#include <iostream>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/context.h"
#include "cli/exit_codes.h"
#include "cli/help.h"
#include "cli/i18n.h"
#include "common/file_util.h"
#include "common/spec/spec_fields.h"
#include "common/version.h"

namespace shoal::cli {

namespace {

constexpr const char* kDefaultScheduler = "http://127.0.0.1:8470";

int Dispatch(const CommandContext& ctx) {
  const std::string& verb = ctx.args().verb;
  if (verb == "submit") return CmdSubmit(ctx);
  if (verb == "list") return CmdList(ctx);
  if (verb == "status") return CmdStatus(ctx);
  if (verb == "cancel") return CmdCancel(ctx);
  if (verb == "logs") return CmdLogs(ctx);
  if (verb == "workers") return CmdWorkers(ctx);
  if (verb == "trace") return CmdTrace(ctx);
  if (verb == "accounts") return CmdAccounts(ctx);
  if (verb == "tokens") return CmdTokens(ctx);
  if (verb == "checkpoints") return CmdCheckpoints(ctx);
  if (verb == "data" || verb == "models") return CmdRegistry(ctx);
  if (verb == "login") return CmdLogin(ctx);
  if (verb == "config") return CmdConfig(ctx);
  ctx.err() << "shoal: " << TrFormat("unknown command \"{0}\"", {verb}) << "\n";
  return kExitUsage;
}

}  // namespace

CliEnv CliEnv::FromProcess() {
  CliEnv env;
  if (const char* s = std::getenv("SHOAL_SCHEDULER")) env.scheduler_env = s;
  if (const char* t = std::getenv("SHOAL_TOKEN")) env.token_env = t;
  if (const char* f = std::getenv("SHOAL_TOKEN_FILE")) env.token_file = f;
  if (const char* x = std::getenv("XDG_CONFIG_HOME"); x != nullptr && *x != 0) {
    env.config_dir = std::string(x) + "/shoal";
  } else if (const char* h = std::getenv("HOME"); h != nullptr && *h != 0) {
    env.config_dir = std::string(h) + "/.config/shoal";
  }
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x != nullptr && *x != 0) {
    env.cache_dir = std::string(x) + "/shoal";
  } else if (const char* h = std::getenv("HOME"); h != nullptr && *h != 0) {
    env.cache_dir = std::string(h) + "/.cache/shoal";
  }
  // shoal-train comes with shoal: prefer the one installed (or built) beside this binary.
  std::error_code ec;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec && std::filesystem::is_regular_file(self.parent_path() / "shoal-train", ec)) {
    env.train_bin = (self.parent_path() / "shoal-train").string();
  }
  if (const char* c = std::getenv("SHOAL_CA_FILE")) env.ca_file_env = c;
  if (const char* g = std::getenv("SHOAL_GPT2_DIR")) env.gpt2_dir_env = g;
  env.in = &std::cin;
  env.stdin_is_tty = isatty(STDIN_FILENO) == 1;
  env.stdout_is_tty = isatty(STDOUT_FILENO) == 1;
  env.stderr_is_tty = isatty(STDERR_FILENO) == 1;
  winsize ws{};
  if (env.stdout_is_tty && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0) {
    env.terminal_columns = ws.ws_col;
  }
  env.handle_interrupt = true;
  env.check_version = true;
  return env;
}

int RunCli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  return RunCli(args, out, err, CliEnv());
}

int RunCli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
           const CliEnv& env) {
  if (args.empty()) {
    err << HelpText("");
    return kExitUsage;
  }
  CliArgs parsed;
  if (std::optional<int> code = ParseCommandLine(args, &parsed, out, err)) return *code;
  if (parsed.verb == "help") {
    // `shoal help X` shows what `shoal X --help` does; bare help shows the overview.
    out << HelpText(parsed.positional.empty() ? "" : parsed.positional[0]);
    return kExitOk;
  }
  if (parsed.verb == "completion") {
    out << CompletionScript(parsed.sub);
    return kExitOk;
  }
  if (parsed.verb == "explain") {
    // The validator's own field table (common/spec/spec_fields.h): nothing to ask the scheduler.
    auto text = ExplainSpecField(parsed.positional.empty() ? "" : parsed.positional[0]);
    if (!text.ok()) {
      err << "shoal explain: " << text.status().message() << "\n";
      return kExitNotFound;
    }
    out << *text;
    return kExitOk;
  }
  // Local work: no scheduler, so no contexts file or token either.
  if (parsed.verb == "tokenize") return CmdTokenize(parsed, env, out, err);
  // The contexts file, then each setting by precedence: flag > environment > context > default.
  Settings settings;
  if (!env.config_dir.empty()) {
    settings.config_path = env.config_dir + "/config.yaml";
    auto config = LoadCliConfig(settings.config_path);
    if (!config.ok()) {
      err << "shoal: " << TrFormat("bad configuration: {0}", {config.status().message()}) << "\n";
      return ExitCodeFor(config.status());
    }
    settings.config = std::move(config).value();
  }
  settings.context = !parsed.context.empty() ? parsed.context : settings.config.current_context;
  const CliContext* context = settings.config.Find(settings.context);
  // login creates the context it is given; everything else needs it to exist.
  if (context == nullptr && !parsed.context.empty() && parsed.verb != "login" &&
      parsed.verb != "config") {
    err << "shoal: "
        << TrFormat("no context \"{0}\" in {1} ('shoal config get-contexts' lists them)",
                    {parsed.context,
                     settings.config_path.empty() ? Tr("the configuration") : settings.config_path})
        << "\n";
    return kExitUsage;
  }
  // A context that login is about to create starts from the current one's address and CA.
  if (context == nullptr && parsed.verb == "login") {
    context = settings.config.Find(settings.config.current_context);
  }
  const CliContext none;
  if (context == nullptr) context = &none;
  std::string url = !parsed.scheduler.empty()     ? parsed.scheduler
                    : !env.scheduler_env.empty()  ? env.scheduler_env
                    : !context->scheduler.empty() ? context->scheduler
                                                  : kDefaultScheduler;
  if (auto u = ParseUrl(url); !u.ok()) {
    err << "shoal: " << TrFormat("bad scheduler address: {0}", {u.status().message()}) << "\n"
        << UsageHint(parsed.verb) << "\n";
    return kExitUsage;
  }
  settings.token_file = !env.token_file.empty()        ? env.token_file
                        : !context->token_file.empty() ? context->token_file
                        : !env.config_dir.empty()      ? env.config_dir + "/token"
                                                       : "";
  // The token: --token, else $SHOAL_TOKEN, else the token file (when it exists). None is not an
  // error here: the scheduler answers 401 with a hint, and `shoal help` needs none.
  std::string token = !parsed.token.empty() ? parsed.token : env.token_env;
  if (token.empty() && !settings.token_file.empty() && parsed.verb != "login") {
    auto text = ReadTokenFile(settings.token_file);
    if (text.ok()) {
      token = *text;
      settings.token_from_file = true;
      if (std::string warning = LooseModeWarning(settings.token_file); !warning.empty()) {
        err << warning << "\n";
      }
    } else if (text.status().code() != StatusCode::kNotFound) {
      err << "shoal: " << TrFormat("cannot read the token file: {0}", {text.status().message()})
          << "\n";
      return kExitUsage;
    }
  }
  const std::string ca_file = !parsed.ca_file.empty()    ? parsed.ca_file
                              : !env.ca_file_env.empty() ? env.ca_file_env
                                                         : context->ca_file;
  settings.ca_file = ca_file;
  CommandContext ctx(parsed, env, out, err, url, token, ca_file);
  ctx.set_settings(std::move(settings));
  // The boundary where an unexpected reply shape stops being an exception: the commands read
  // replies defensively, so reaching here means the scheduler sent something we cannot use.
  try {
    return Dispatch(ctx);
  } catch (const std::exception& e) {
    err << "shoal: " << TrFormat("malformed reply from the scheduler at {0}: {1}", {url, e.what()})
        << "\n";
    return kExitUnavailable;
  }
}

}  // namespace shoal::cli
