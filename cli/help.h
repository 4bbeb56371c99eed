// Help around the `shoal` CLI's command line: the usage hint and the completion scripts. The
// --help texts themselves are generated from the flag definitions (HelpText in cli/args.h).
#pragma once

#include <string>

namespace shoal::cli {

// The one-line hint printed after a usage error: "Run 'shoal VERB --help' for the flags.", as
// flags::UsageError words it (or 'shoal --help' when `verb` is empty).
std::string UsageHint(const std::string& verb);

// `shoal completion SHELL`: a completion script for "bash" or "zsh" (else ""), generated from
// CompletionTable() (cli/args.h): verbs, their actions and flags, and the global flags.
std::string CompletionScript(const std::string& shell);

}  // namespace shoal::cli
