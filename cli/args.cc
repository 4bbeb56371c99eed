#include "cli/args.h"

#include <algorithm>
#include <cctype>
#include <string_view>

#include "common/duration.h"

namespace shoal::cli {

namespace {

enum Takes { kNoValue = 0, kValue = 1, kOptionalValue = 2 };

struct FlagDef {
  const char* long_name;
  char short_name;  // 0 = none
  int takes_value;  // Takes; an optional value is given after '=' or as the next non-flag word
};

struct VerbDef {
  const char* name;
  std::vector<FlagDef> flags;
  int min_args;
  int max_args;      // -1 = no limit
  const char* what;  // how the usage message names the positional arguments
  bool job_ids;      // the positional arguments are job IDs
};

const std::vector<FlagDef>& GlobalFlags() {
  static const std::vector<FlagDef> kFlags = {{"scheduler", 0, kValue}, {"token", 0, kValue},
                                              {"ca-file", 0, kValue},   {"context", 0, kValue},
                                              {"output", 'o', kValue},  {"help", 'h', kNoValue},
                                              {"version", 0, kNoValue}};
  return kFlags;
}

const std::vector<VerbDef>& Verbs() {
  static const std::vector<VerbDef> kDefs = {
      {"submit",
       {{"follow", 'f', kNoValue}, {"wait", 0, kNoValue}},
       1,
       1,
       "a job spec FILE",
       false},
      {"list",
       {{"state", 0, kValue},
        {"all", 'a', kNoValue},
        {"watch", 'w', kNoValue},
        {"owner", 0, kValue},
        {"name", 0, kValue}},
       0,
       0,
       "",
       false},
      {"status", {}, 1, 1, "a job ID or NAME", true},
      {"cancel",
       {{"all", 'a', kNoValue}, {"state", 0, kValue}, {"yes", 'y', kNoValue}},
       0,
       -1,
       "at least one job ID or NAME (or --all)",
       true},
      {"logs",
       {{"follow", 'f', kNoValue},
        {"rank", 0, kValue},
        {"tail", 0, kValue},
        {"since", 0, kValue},
        {"timestamps", 0, kNoValue}},
       1,
       1,
       "a job ID or NAME",
       true},
      {"checkpoints", {{"output-file", 'O', kValue}}, 2, 3, "ls JOB | get JOB [STEP]", false},
      {"workers", {}, 0, 0, "", false},
      {"accounts", {}, 0, 2, "list | create NAME", false},
      {"tokens",
       {{"role", 0, kValue},
        {"label", 0, kValue},
        {"account", 0, kValue},
        {"save", 0, kOptionalValue}},
       0,
       -1,
       "list | create ACCOUNT --role ROLE | revoke ID...",
       false},
      {"login", {{"token-stdin", 0, kNoValue}}, 0, 0, "", false},
      {"config", {}, 1, 2, "get-contexts | use-context NAME", false},
      {"completion", {}, 1, 1, "bash or zsh", false},
      {"help", {}, 0, 1, "", false},
  };
  return kDefs;
}

const VerbDef* FindVerb(const std::string& name) {
  for (const auto& v : Verbs()) {
    if (name == v.name) return &v;
  }
  return nullptr;
}

const FlagDef* FindFlag(const std::vector<FlagDef>& flags, std::string_view long_name,
                        char short_name) {
  for (const auto& f : flags) {
    if (short_name != 0 ? f.short_name == short_name : long_name == f.long_name) return &f;
  }
  return nullptr;
}

Status ParseOutput(const std::string& value, OutputFormat* out) {
  if (value == "table") {
    *out = OutputFormat::kTable;
  } else if (value == "wide") {
    *out = OutputFormat::kWide;
  } else if (value == "json") {
    *out = OutputFormat::kJson;
  } else {
    return InvalidArgument("unknown output format \"" + value + "\" (allowed: table, wide, json)");
  }
  return Status::Ok();
}

Status ApplyFlag(const FlagDef& flag, const std::string& value, CliArgs* out) {
  std::string_view name = flag.long_name;
  if (name == "scheduler") {
    if (value.empty()) return InvalidArgument("--scheduler needs a URL like http://host:8470");
    out->scheduler = value;
  } else if (name == "token") {
    if (value.empty()) return InvalidArgument("--token needs a value");
    out->token = value;
  } else if (name == "ca-file") {
    if (value.empty()) return InvalidArgument("--ca-file needs a PEM file");
    out->ca_file = value;
  } else if (name == "context") {
    if (value.empty()) return InvalidArgument("--context needs a context NAME");
    out->context = value;
  } else if (name == "version") {
    out->version = true;
  } else if (name == "watch") {
    out->watch = true;
  } else if (name == "owner") {
    if (value.empty()) return InvalidArgument("--owner needs an ACCOUNT");
    out->owner = value;
  } else if (name == "name") {
    if (value.empty()) return InvalidArgument("--name needs a job NAME");
    out->name = value;
  } else if (name == "tail") {
    if (!IsAllDigits(value) || value.size() > 9) {
      return InvalidArgument("--tail needs a non-negative number of lines, got \"" + value + "\"");
    }
    out->tail = std::stoll(value);
  } else if (name == "since") {
    auto seconds = ParseDurationSeconds(value);
    if (!seconds.ok()) {
      return InvalidArgument("--since needs a duration like 10m, 2h or 1d12h, got \"" + value +
                             "\"");
    }
    out->since_s = *seconds;
  } else if (name == "timestamps") {
    out->timestamps = true;
  } else if (name == "yes") {
    out->yes = true;
  } else if (name == "save") {
    out->save = true;
    out->save_path = value;
  } else if (name == "token-stdin") {
    out->token_stdin = true;
  } else if (name == "output-file") {
    if (value.empty()) return InvalidArgument("-O needs a FILE");
    out->output_file = value;
  } else if (name == "role") {
    if (value != "admin" && value != "user" && value != "contributor") {
      return InvalidArgument("--role must be admin, user or contributor, got \"" + value + "\"");
    }
    out->role = value;
  } else if (name == "label") {
    out->label = value;
  } else if (name == "account") {
    out->account = value;
  } else if (name == "output") {
    return ParseOutput(value, &out->output);
  } else if (name == "help") {
    out->help = true;
  } else if (name == "follow") {
    out->follow = true;
  } else if (name == "wait") {
    out->wait = true;
  } else if (name == "all") {
    out->all = true;
  } else if (name == "state") {
    static const char* kStates[] = {"PENDING",   "RUNNING", "RESTARTING",
                                    "SUCCEEDED", "FAILED",  "CANCELLED"};
    std::string upper = value;
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (std::find(std::begin(kStates), std::end(kStates), upper) == std::end(kStates)) {
      return InvalidArgument("unknown job state \"" + value +
                             "\" (allowed: PENDING, RUNNING, RESTARTING, SUCCEEDED, FAILED, "
                             "CANCELLED)");
    }
    out->state = upper;
  } else if (name == "rank") {
    bool digits = !value.empty() && value.size() <= 6 &&
                  std::all_of(value.begin(), value.end(),
                              [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
    if (!digits) {
      return InvalidArgument("--rank needs a non-negative integer, got \"" + value + "\"");
    }
    out->rank = std::stoi(value);
  }
  return Status::Ok();
}

// `shoal accounts [list | create NAME]`, `shoal tokens [list | create ACCOUNT | revoke ID...]`.
Status CheckSubcommand(CliArgs* out) {
  const auto& pos = out->positional;
  const std::string sub = pos.empty() ? "list" : pos[0];
  const std::string usage = "'shoal " + out->verb + "' ";
  if (out->verb == "accounts") {
    if (sub == "list" && pos.size() <= 1) return Status::Ok();
    if (sub == "create" && pos.size() == 2) return Status::Ok();
    if (sub == "create") return InvalidArgument(usage + "create needs one account NAME");
    return InvalidArgument(usage + "takes list or create NAME, got \"" + pos[0] + "\"");
  }
  const bool create = sub == "create", list = sub == "list", revoke = sub == "revoke";
  if (!create && !list && !revoke) {
    return InvalidArgument(usage + "takes list, create ACCOUNT or revoke ID..., got \"" + pos[0] +
                           "\"");
  }
  if ((!out->role.empty() || !out->label.empty() || out->save) && !create) {
    return InvalidArgument("--role, --label and --save go with 'shoal tokens create'");
  }
  if (!out->account.empty() && !list)
    return InvalidArgument("--account goes with 'shoal tokens list'");
  if (list && pos.size() > 1) return InvalidArgument(usage + "list takes no argument");
  if (create && pos.size() != 2) return InvalidArgument(usage + "create needs one ACCOUNT");
  if (create && out->role.empty()) {
    return InvalidArgument(usage + "create needs --role admin|user|contributor");
  }
  if (revoke) {
    if (pos.size() < 2) return InvalidArgument(usage + "revoke needs at least one token ID");
    for (size_t i = 1; i < pos.size(); ++i) {
      auto id = ParseJobId(pos[i]);
      if (!id.ok())
        return InvalidArgument("token ID must be a positive integer, got \"" + pos[i] + "\"");
      out->job_ids.push_back(*id);  // the IDs to revoke
    }
  }
  return Status::Ok();
}

// The rules of the other verbs that the table above cannot express.
Status CheckVerbRules(CliArgs* out) {
  const auto& pos = out->positional;
  const std::string& verb = out->verb;
  if (verb == "cancel") {
    if (out->all && !pos.empty()) {
      return InvalidArgument("'shoal cancel --all' takes no job IDs (--state narrows it)");
    }
    if (!out->all && pos.empty())
      return InvalidArgument("'shoal cancel' needs at least one job ID or NAME (or --all)");
    if (!out->all && !out->state.empty()) {
      return InvalidArgument("--state goes with 'shoal cancel --all'");
    }
  }
  if (verb == "list" && out->watch && out->output == OutputFormat::kJson) {
    return InvalidArgument("--watch shows tables; it does not go with -o json");
  }
  if (verb == "checkpoints") {
    if (out->sub != "ls" && out->sub != "get") {
      return InvalidArgument("'shoal checkpoints' takes ls JOB or get JOB [STEP], got \"" +
                             out->sub + "\"");
    }
    if (out->sub == "ls" && pos.size() != 2)
      return InvalidArgument("'shoal checkpoints ls' takes one JOB");
    if (out->sub == "ls" && !out->output_file.empty()) {
      return InvalidArgument("-O goes with 'shoal checkpoints get'");
    }
    if (IsAllDigits(pos[1])) RETURN_IF_ERROR(ParseJobId(pos[1]).status());
    out->job_refs.push_back(pos[1]);
    if (pos.size() == 3 && (!IsAllDigits(pos[2]) || pos[2].size() > 18)) {
      return InvalidArgument("a checkpoint STEP is a non-negative integer, got \"" + pos[2] + "\"");
    }
  }
  if (verb == "config") {
    if (out->sub == "get-contexts" && pos.size() == 1) return Status::Ok();
    if (out->sub == "use-context" && pos.size() == 2) return Status::Ok();
    if (out->sub == "use-context")
      return InvalidArgument("'shoal config use-context' needs a context NAME");
    return InvalidArgument("'shoal config' takes get-contexts or use-context NAME, got \"" +
                           out->sub + "\"");
  }
  if (verb == "completion" && out->sub != "bash" && out->sub != "zsh") {
    return InvalidArgument("'shoal completion' takes bash or zsh, got \"" + out->sub + "\"");
  }
  if (out->save && verb != "tokens")
    return InvalidArgument("--save goes with 'shoal tokens create'");
  return Status::Ok();
}

}  // namespace

std::vector<VerbFlags> CompletionTable() {
  std::vector<VerbFlags> table;
  auto names = [](const std::vector<FlagDef>& flags) {
    std::vector<std::string> out;
    for (const auto& f : flags) {
      out.push_back(std::string("--") + f.long_name);
      if (f.short_name != 0) out.push_back(std::string("-") + f.short_name);
    }
    return out;
  };
  table.push_back({"", names(GlobalFlags()), {}});
  for (const auto& v : Verbs()) {
    std::vector<std::string> actions;
    std::string verb = v.name;
    if (verb == "accounts") actions = {"list", "create"};
    if (verb == "tokens") actions = {"list", "create", "revoke"};
    if (verb == "checkpoints") actions = {"ls", "get"};
    if (verb == "config") actions = {"get-contexts", "use-context"};
    if (verb == "completion") actions = {"bash", "zsh"};
    if (verb == "help") {
      for (const auto& other : Verbs()) actions.push_back(other.name);
    }
    table.push_back({verb, names(v.flags), actions});
  }
  return table;
}

bool IsKnownVerb(const std::string& verb) { return FindVerb(verb) != nullptr; }

bool IsAllDigits(const std::string& text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c));
  });
}

Result<int64_t> ParseJobId(const std::string& text) {
  if (!IsAllDigits(text) || text.size() > 18 || std::stoll(text) <= 0) {
    return InvalidArgument("a job ID is a positive integer, got \"" + text + "\"");
  }
  return std::stoll(text);
}

Status ParseArgs(const std::vector<std::string>& args, CliArgs* out) {
  *out = CliArgs();
  const VerbDef* verb = nullptr;
  bool flags_done = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& word = args[i];
    if (flags_done || word.size() < 2 || word[0] != '-') {
      if (verb == nullptr) {
        verb = FindVerb(word);
        if (verb == nullptr) return InvalidArgument("unknown command \"" + word + "\"");
        out->verb = word;
      } else {
        out->positional.push_back(word);
      }
      continue;
    }
    if (word == "--") {
      flags_done = true;
      continue;
    }
    // Split "--name=value", "-o=value" and "-ovalue" into a flag and an inline value.
    std::string long_name;
    char short_name = 0;
    std::optional<std::string> inline_value;
    if (word[1] == '-') {
      size_t eq = word.find('=');
      long_name = word.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
      if (eq != std::string::npos) inline_value = word.substr(eq + 1);
    } else {
      short_name = word[1];
      if (word.size() > 2) inline_value = word.substr(word[2] == '=' ? 3 : 2);
    }
    const FlagDef* flag = FindFlag(GlobalFlags(), long_name, short_name);
    if (flag == nullptr && verb != nullptr) flag = FindFlag(verb->flags, long_name, short_name);
    if (flag == nullptr) {
      std::string shown = short_name != 0 ? std::string("-") + short_name : "--" + long_name;
      if (verb == nullptr) {
        return InvalidArgument("unknown flag " + shown + " (command flags go after the command)");
      }
      return InvalidArgument("unknown flag " + shown + " for 'shoal " + out->verb + "'");
    }
    std::string shown = std::string("--") + flag->long_name;
    std::string value;
    if (flag->takes_value == kValue) {
      if (inline_value) {
        value = *inline_value;
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        return InvalidArgument(shown + " needs a value");
      }
    } else if (flag->takes_value == kOptionalValue) {
      if (inline_value) {
        value = *inline_value;
      } else if (i + 1 < args.size() && !args[i + 1].empty() && args[i + 1][0] != '-') {
        value = args[++i];
      }
    } else if (inline_value) {
      return InvalidArgument(shown + " takes no value");
    }
    RETURN_IF_ERROR(ApplyFlag(*flag, value, out));
  }
  if (out->help || out->version) return Status::Ok();
  if (verb == nullptr) return InvalidArgument("no command given");
  int n = static_cast<int>(out->positional.size());
  if (n < verb->min_args) {
    return InvalidArgument("'shoal " + out->verb + "' needs " + verb->what);
  }
  if (verb->max_args >= 0 && n > verb->max_args) {
    return InvalidArgument("unexpected argument \"" + out->positional[verb->max_args] +
                           "\" for 'shoal " + out->verb + "'");
  }
  if (verb->job_ids) {
    for (const auto& p : out->positional) {
      // A word of digits is an ID (and must be a valid one); any other word is a job name.
      if (IsAllDigits(p)) RETURN_IF_ERROR(ParseJobId(p).status());
      out->job_refs.push_back(p);
    }
  }
  if (!out->positional.empty() && !verb->job_ids) out->sub = out->positional[0];
  if (out->verb == "accounts" || out->verb == "tokens") RETURN_IF_ERROR(CheckSubcommand(out));
  RETURN_IF_ERROR(CheckVerbRules(out));
  if (out->verb == "help" && n == 1 && !IsKnownVerb(out->positional[0])) {
    return InvalidArgument("unknown command \"" + out->positional[0] + "\"");
  }
  return Status::Ok();
}

}  // namespace shoal::cli
