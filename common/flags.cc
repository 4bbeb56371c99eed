#include "common/flags.h"

#include <algorithm>
#include <iostream>
#include <memory>
#include <sstream>

#include "common/edit_distance.h"
#include "common/version.h"

namespace shoal::flags {
namespace {

constexpr size_t kHelpWidth = 100;
constexpr size_t kFlagColumnWidth = 36;

// CLI11's help with the default at the end of each flag's description ("(default 8470)")
// instead of glued to its type ("INT=8470"), which is easy to misread as syntax.
class HelpFormatter : public CLI::Formatter {
 public:
  std::string make_option_opts(const CLI::Option* opt) const override {
    if (!opt->get_option_text().empty()) return " " + opt->get_option_text();
    std::string out;
    if (opt->get_type_size() != 0) {
      // The type without the validators' notes ("N", not "N:INT in [0 - 10]"): the description
      // says what is allowed in words.
      std::string type = opt->get_type_name().substr(0, opt->get_type_name().find(':'));
      if (!type.empty()) out += " " + get_label(type);
      if (opt->get_expected_max() == CLI::detail::expected_max_vector_size) out += " ...";
      if (opt->get_required()) out += " " + get_label("REQUIRED");
    }
    if (!opt->get_envname().empty()) out += " (env " + opt->get_envname() + ")";
    return out;
  }

  std::string make_option_desc(const CLI::Option* opt) const override {
    std::string desc = opt->get_description();
    // A flag without a value has no default worth showing ("false").
    if (opt->get_type_size() != 0 && !opt->get_default_str().empty()) {
      desc += " (default " + opt->get_default_str() + ")";
    }
    return Wrap(desc, kHelpWidth - get_column_width());
  }

  std::string make_description(const CLI::App* app) const override {
    const std::string desc = app->get_description();
    return desc.empty() ? "" : Wrap(desc, kHelpWidth) + "\n";
  }
};

// The selected chain of commands: the app, then the subcommand given, then its subcommand...
std::vector<const CLI::App*> SelectedChain(const CLI::App& app) {
  std::vector<const CLI::App*> chain = {&app};
  while (!chain.back()->get_subcommands().empty()) {
    chain.push_back(chain.back()->get_subcommands().back());
  }
  return chain;
}

std::string CommandPath(const std::vector<const CLI::App*>& chain) {
  std::string path;
  for (const CLI::App* a : chain) {
    if (a->get_name().empty()) continue;  // an option group, not a command
    if (!path.empty()) path += ' ';
    path += a->get_name();
  }
  return path;
}

const CLI::Option* FindFlag(const std::vector<const CLI::App*>& chain, const std::string& name) {
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    for (const CLI::Option* opt : (*it)->get_options()) {
      if (opt->nonpositional() && opt->check_name(name)) return opt;
    }
  }
  return nullptr;
}

// "--port: 1 required INT missing" -> "--port": the flag CLI11 names at the start of a message.
std::string LeadingFlag(const std::string& message) {
  if (message.empty() || message[0] != '-') return "";
  size_t end = message.find_first_of(": ");
  return message.substr(0, end);
}

std::string WithSuggestion(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best = Suggest(word, candidates);
  return best.empty() ? "" : " (did you mean " + best + "?)";
}

// One line (no program prefix) saying what was wrong with the command line.
std::string Describe(const CLI::App& app, const std::vector<const CLI::App*>& chain,
                     const CLI::ParseError& e) {
  const std::string what = e.what();
  if (dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr) {
    std::vector<std::string> extras = app.remaining(true);
    if (extras.empty()) return what;
    const std::string& first = extras.front();
    if (first.size() > 1 && first[0] == '-') {
      std::string name = first.substr(0, first.find('='));
      std::vector<std::string> names;
      for (const CLI::App* a : chain) {
        std::vector<std::string> more = FlagNames(*a);
        names.insert(names.end(), more.begin(), more.end());
      }
      return "unknown flag " + name + WithSuggestion(name, names);
    }
    std::vector<std::string> commands;
    for (const CLI::App* sub :
         chain.back()->get_subcommands([](const CLI::App*) { return true; })) {
      if (!sub->get_name().empty()) commands.push_back(sub->get_name());
    }
    return "unexpected argument '" + first + "'" + WithSuggestion(first, commands);
  }
  const std::string flag = LeadingFlag(what);
  const CLI::Option* opt = flag.empty() ? nullptr : FindFlag(chain, flag);
  if (dynamic_cast<const CLI::ArgumentMismatch*>(&e) != nullptr && opt != nullptr &&
      what.find(" missing") != std::string::npos) {
    return "flag " + flag + " needs a value";
  }
  if (dynamic_cast<const CLI::ConversionError*>(&e) != nullptr) {
    // "Could not convert: --port = abc"
    const std::string prefix = "Could not convert: ";
    size_t eq = what.find(" = ");
    if (what.rfind(prefix, 0) == 0 && eq != std::string::npos) {
      std::string name = what.substr(prefix.size(), eq - prefix.size());
      std::string value = what.substr(eq + 3);
      const CLI::Option* conv = FindFlag(chain, name);
      std::string type = conv != nullptr ? conv->get_type_name() : "";
      type = type.substr(0, type.find(':'));  // without the validators' notes, as in --help
      return "bad value '" + value + "' for " + name +
             (type.empty() ? "" : " (expected " + type + ")");
    }
    return "bad value: " + what;
  }
  if (dynamic_cast<const CLI::ValidationError*>(&e) != nullptr && opt != nullptr) {
    // "--port: Value 70000 not in range 0 to 65535"
    return "bad value for " + flag + ": " + what.substr(std::min(what.size(), flag.size() + 2));
  }
  return what;
}

}  // namespace

std::string Wrap(const std::string& text, size_t width) {
  std::string out;
  size_t line_start = 0;  // in `out`
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find_first_of(" \n", pos);
    if (end == std::string::npos) end = text.size();
    std::string word = text.substr(pos, end - pos);
    size_t line_len = out.size() - line_start;
    if (line_len > 0 && line_len + 1 + word.size() > width) {
      out += '\n';
      line_start = out.size();
    } else if (line_len > 0) {
      out += ' ';
    }
    out += word;
    if (end < text.size() && text[end] == '\n') {
      out += '\n';
      line_start = out.size();
    }
    pos = end + 1;
  }
  return out;
}

void Configure(CLI::App& app, std::string_view program) {
  const std::string name(program);
  app.name(name);
  app.set_help_flag("-h,--help", "print this help and exit");
  app.set_version_flag("--version", VersionLine(program),
                       "print the version and git commit and exit");
  app.option_defaults()->always_capture_default();
  // A flag given twice: the last one wins, as with most Unix tools, so that a script can append
  // an override to a command line it was handed (CLI11's default refuses the second one).
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  auto formatter = std::make_shared<HelpFormatter>();
  formatter->column_width(kFlagColumnWidth);
  app.formatter(formatter);
  app.footer(VersionLine(program));
}

std::optional<int> Parse(CLI::App& app, int argc, const char* const* argv) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  return Parse(app, std::move(args));
}

std::optional<int> Parse(CLI::App& app, std::vector<std::string> args) {
  return Parse(app, std::move(args), std::cout, std::cerr);
}

std::optional<int> Parse(CLI::App& app, std::vector<std::string> args, std::ostream& out,
                         std::ostream& err) {
  std::reverse(args.begin(), args.end());  // CLI11 consumes a reversed vector from the back
  try {
    app.parse(std::move(args));
    return std::nullopt;
  } catch (const CLI::CallForHelp&) {
    out << app.help() << std::flush;
    return 0;
  } catch (const CLI::CallForAllHelp&) {
    out << app.help("", CLI::AppFormatMode::All) << std::flush;
    return 0;
  } catch (const CLI::CallForVersion& e) {
    out << e.what() << std::endl;
    return 0;
  } catch (const CLI::ParseError& e) {
    const std::vector<const CLI::App*> chain = SelectedChain(app);
    const std::string path = CommandPath(chain);
    err << path << ": " << Describe(app, chain, e) << "\nRun '" << path << " --help' for the flags."
        << std::endl;
    return kUsageExitCode;
  }
}

namespace {

// A validator for a number above (or from) 0 up to `max`.
CLI::Validator NumberCheck(bool zero_ok, double max) {
  return CLI::Validator(
      [zero_ok, max](std::string& text) {
        double value = 0;
        if (!CLI::detail::lexical_cast(text, value)) return "'" + text + "' is not a number";
        if (zero_ok ? !(value >= 0) : !(value > 0)) {
          return std::string(zero_ok ? "must be at least 0" : "must be greater than 0");
        }
        if (value > max) {
          std::ostringstream bound;
          bound << max;
          return "must be at most " + bound.str();
        }
        return std::string();
      },
      "");
}

}  // namespace

CLI::Validator Positive(double max) { return NumberCheck(false, max); }

CLI::Validator NonNegative(double max) { return NumberCheck(true, max); }

int UsageError(const CLI::App& app, std::string_view message) {
  return UsageError(app, message, std::cerr);
}

int UsageError(const CLI::App& app, std::string_view message, std::ostream& err) {
  const std::string path = CommandPath(SelectedChain(app));
  err << path << ": " << message << "\nRun '" << path << " --help' for the flags." << std::endl;
  return kUsageExitCode;
}

std::string Suggest(std::string_view word, const std::vector<std::string>& candidates) {
  // What is being named, without the dashes: a one- or two-letter name is too short for a typo
  // to be told from a different name.
  std::string_view core = word.substr(std::min(word.size(), word.find_first_not_of('-')));
  if (core.size() < 3) return "";
  const size_t bound = std::max<size_t>(1, core.size() / 3);
  std::string best;
  size_t best_distance = bound + 1;
  for (const std::string& c : candidates) {
    const size_t d = EditDistance(word, c);
    if (d < best_distance) {
      best_distance = d;
      best = c;
    }
  }
  return best;
}

std::vector<std::string> FlagNames(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::Option* opt : app.get_options()) {
    for (const std::string& l : opt->get_lnames()) names.push_back("--" + l);
    for (const std::string& s : opt->get_snames()) names.push_back("-" + s);
  }
  return names;
}

}  // namespace shoal::flags
