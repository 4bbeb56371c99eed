// Help texts of the `shoal` CLI.
#pragma once

#include <string>

namespace shoal::cli {

// The overview `shoal --help` prints: the verbs, the global flags and the exit codes.
const std::string& GlobalHelp();

// The help of one verb (`shoal VERB --help`, `shoal help VERB`); GlobalHelp() for an unknown one.
const std::string& VerbHelp(const std::string& verb);

// The one-line hint printed after a usage error: "Run 'shoal VERB --help' for usage." (or
// 'shoal --help' when `verb` is empty).
std::string UsageHint(const std::string& verb);

// `shoal completion SHELL`: a completion script for "bash" or "zsh" (else ""), generated from
// CompletionTable() (cli/args.h): verbs, their actions and flags, and the global flags.
std::string CompletionScript(const std::string& shell);

}  // namespace shoal::cli
