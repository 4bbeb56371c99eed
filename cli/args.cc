#include "cli/args.h"

#include <algorithm>
#include <cctype>
#include <string_view>

namespace shoal::cli {

namespace {

struct FlagDef {
  const char* long_name;
  char short_name;  // 0 = none
  bool takes_value;
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
  static const std::vector<FlagDef> kFlags = {
      {"scheduler", 0, true}, {"token", 0, true},     {"ca-file", 0, true},
      {"output", 'o', true},  {"help", 'h', false}};
  return kFlags;
}

const std::vector<VerbDef>& Verbs() {
  static const std::vector<VerbDef> kDefs = {
      {"submit", {{"follow", 'f', false}, {"wait", 0, false}}, 1, 1, "a job spec FILE", false},
      {"list", {{"state", 0, true}, {"all", 'a', false}}, 0, 0, "", false},
      {"status", {}, 1, 1, "a job ID", true},
      {"cancel", {}, 1, -1, "at least one job ID", true},
      {"logs", {{"follow", 'f', false}, {"rank", 0, true}}, 1, 1, "a job ID", true},
      {"workers", {}, 0, 0, "", false},
      {"accounts", {}, 0, 2, "list | create NAME", false},
      {"tokens",
       {{"role", 0, true}, {"label", 0, true}, {"account", 0, true}},
       0,
       -1,
       "list | create ACCOUNT --role ROLE | revoke ID...",
       false},
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
  if ((!out->role.empty() || !out->label.empty()) && !create) {
    return InvalidArgument("--role and --label go with 'shoal tokens create'");
  }
  if (!out->account.empty() && !list) return InvalidArgument("--account goes with 'shoal tokens list'");
  if (list && pos.size() > 1) return InvalidArgument(usage + "list takes no argument");
  if (create && pos.size() != 2) return InvalidArgument(usage + "create needs one ACCOUNT");
  if (create && out->role.empty()) {
    return InvalidArgument(usage + "create needs --role admin|user|contributor");
  }
  if (revoke) {
    if (pos.size() < 2) return InvalidArgument(usage + "revoke needs at least one token ID");
    for (size_t i = 1; i < pos.size(); ++i) {
      auto id = ParseJobId(pos[i]);
      if (!id.ok()) return InvalidArgument("token ID must be a positive integer, got \"" + pos[i] + "\"");
      out->job_ids.push_back(*id);  // the IDs to revoke
    }
  }
  return Status::Ok();
}

}  // namespace

bool IsKnownVerb(const std::string& verb) { return FindVerb(verb) != nullptr; }

Result<int64_t> ParseJobId(const std::string& text) {
  bool digits = !text.empty() && text.size() <= 18 &&
                std::all_of(text.begin(), text.end(),
                            [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
  if (!digits || std::stoll(text) <= 0) {
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
    if (flag->takes_value) {
      if (inline_value) {
        value = *inline_value;
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        return InvalidArgument(shown + " needs a value");
      }
    } else if (inline_value) {
      return InvalidArgument(shown + " takes no value");
    }
    RETURN_IF_ERROR(ApplyFlag(*flag, value, out));
  }
  if (out->help) return Status::Ok();
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
      ASSIGN_OR_RETURN(int64_t id, ParseJobId(p));
      out->job_ids.push_back(id);
    }
  }
  if (out->verb == "accounts" || out->verb == "tokens") RETURN_IF_ERROR(CheckSubcommand(out));
  if (out->verb == "help" && n == 1 && !IsKnownVerb(out->positional[0])) {
    return InvalidArgument("unknown command \"" + out->positional[0] + "\"");
  }
  return Status::Ok();
}

}  // namespace shoal::cli
