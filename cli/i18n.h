// Translation of the CLI's human-facing text through GNU gettext (glibc's libintl), text domain
// "shoal", catalogs in po/ (docs/i18n.md). English is the source language: the msgids are the
// English texts, so an untranslated message, a missing catalog or an unsupported locale prints
// English.
//
// What is translated: table headers, field labels, notes and the CLI's own error messages. What
// is not: `-o json` output, state names and reason codes (RUNNING, Resources), flag names, and
// any text the scheduler sends (API error messages are shown as they come).
//
// Until InitI18n runs (the tests' RunCli, a library user) every function returns the English
// text. After it, the functions are thread-safe (gettext only reads the loaded catalog).
//
// xgettext finds the messages by these names (scripts/update-po.sh): Tr:1, TrFormat:1 and
// TrPlural:1,2. Their msgid arguments must be string literals.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace shoal::cli {

// Makes the messages follow the user's locale: sets LC_MESSAGES (only: LC_NUMERIC stays "C" so
// printf/strtod of floats, JSON and YAML keep '.', and LC_CTYPE stays "C" so byte-wise toupper
// cannot touch UTF-8) from $LC_ALL/$LC_MESSAGES/$LANG, and binds the "shoal" domain, with UTF-8
// output whatever the locale's codeset, to the first of: $SHOAL_LOCALEDIR when set, else
// `<directory of exe_path>/../share/locale` when it exists, else the install prefix's
// share/locale.
//
// When the requested locale is not installed (a container without locale-gen), the language is
// still honoured: LC_MESSAGES becomes C.UTF-8 and $LANGUAGE, when unset, is set to the requested
// locale's name, which is how gettext picks a catalog independently of the installed locales.
// Never fails: anything missing leaves English. Call once, from main, before any other thread
// starts (setlocale and setenv are not thread-safe).
void InitI18n(const std::string& exe_path);

// The translation of `msgid` (a string literal) in the user's language, else `msgid` itself.
const char* Tr(const char* msgid);

// The translation of `msgid` with "{0}", "{1}", ... replaced by args[0], args[1], ... (a
// translation may reorder them). A placeholder without an argument stays as written; "{{" is not
// special (no message needs literal braces).
std::string TrFormat(const char* msgid, const std::vector<std::string>& args);

// The singular or plural form for `n`, by the catalog's plural rule (English: n == 1 is
// singular), with "{0}" replaced by n and "{1}", "{2}", ... by args[0], args[1], ...
std::string TrPlural(const char* singular, const char* plural, int64_t n,
                     std::vector<std::string> args = {});

// "{0}"-style substitution without translation (TrFormat's second half), for tests and for text
// that is already translated.
std::string SubstituteArgs(std::string_view text, const std::vector<std::string>& args);

}  // namespace shoal::cli
