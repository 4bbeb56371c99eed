#include "cli/i18n.h"

#include <libintl.h>

#include <clocale>
#include <cstdlib>
#include <filesystem>

namespace shoal::cli {

namespace {

constexpr const char* kDomain = "shoal";

#ifndef SHOAL_INSTALL_LOCALEDIR
#define SHOAL_INSTALL_LOCALEDIR "/usr/local/share/locale"
#endif

// The value of the first non-empty variable, as setlocale(LC_MESSAGES, "") reads them.
std::string RequestedLocale() {
  for (const char* name : {"LC_ALL", "LC_MESSAGES", "LANG"}) {
    if (const char* v = std::getenv(name); v != nullptr && *v != 0) return v;
  }
  return "";
}

std::string LocaleDir(const std::string& exe_path) {
  if (const char* dir = std::getenv("SHOAL_LOCALEDIR"); dir != nullptr && *dir != 0) return dir;
  std::error_code ec;
  if (!exe_path.empty()) {
    const std::filesystem::path beside =
        std::filesystem::path(exe_path).parent_path() / ".." / "share" / "locale";
    if (std::filesystem::is_directory(beside, ec)) return beside.lexically_normal().string();
  }
  return SHOAL_INSTALL_LOCALEDIR;
}

}  // namespace

void InitI18n(const std::string& exe_path) {
  if (std::setlocale(LC_MESSAGES, "") == nullptr) {
    // The locale asked for is not installed: setlocale failed and left "C", where gettext ignores
    // $LANGUAGE. C.UTF-8 (always present in glibc >= 2.35) is not "C" to gettext, so $LANGUAGE,
    // set to the requested name, chooses the catalog.
    const std::string wanted = RequestedLocale();
    if (!wanted.empty() && wanted != "C" && wanted != "POSIX" &&
        std::setlocale(LC_MESSAGES, "C.UTF-8") != nullptr) {
      setenv("LANGUAGE", wanted.c_str(), /*overwrite=*/0);
    }
  }
  const std::string dir = LocaleDir(exe_path);
  bindtextdomain(kDomain, dir.c_str());
  // The catalogs and everything else the CLI prints are UTF-8, whatever the locale's codeset.
  bind_textdomain_codeset(kDomain, "UTF-8");
  // glibc's own messages (strerror in "connection refused") now follow LC_MESSAGES too, but would
  // be converted to LC_CTYPE's codeset, which stays ASCII ("C"): "????" for Chinese.
  bind_textdomain_codeset("libc", "UTF-8");
  textdomain(kDomain);
}

const char* Tr(const char* msgid) { return dgettext(kDomain, msgid); }

std::string SubstituteArgs(std::string_view text, const std::vector<std::string>& args) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    if (text[i] == '{') {
      const size_t close = text.find('}', i + 1);
      if (close != std::string_view::npos && close > i + 1 && close - i <= 3) {
        const std::string_view digits = text.substr(i + 1, close - i - 1);
        bool numeric = true;
        size_t index = 0;
        for (char c : digits) {
          numeric = numeric && c >= '0' && c <= '9';
          index = index * 10 + static_cast<size_t>(c - '0');
        }
        if (numeric && index < args.size()) {
          out += args[index];
          i = close + 1;
          continue;
        }
      }
    }
    out += text[i++];
  }
  return out;
}

std::string TrFormat(const char* msgid, const std::vector<std::string>& args) {
  return SubstituteArgs(Tr(msgid), args);
}

std::string TrPlural(const char* singular, const char* plural, int64_t n,
                     std::vector<std::string> args) {
  // ngettext takes an unsigned long; a negative count is never a plural question we ask.
  const unsigned long count = n < 0 ? 0 : static_cast<unsigned long>(n);
  args.insert(args.begin(), std::to_string(n));
  return SubstituteArgs(dngettext(kDomain, singular, plural, count), args);
}

}  // namespace shoal::cli
