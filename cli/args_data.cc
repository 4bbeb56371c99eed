#include "cli/args_data.h"

#include <sstream>

#include "cli/registry_transfer.h"
#include "common/duration.h"

namespace shoal::cli {

const char* const kDataFooter =
    "Usage: shoal data push PATH --name NAME (--public|--private) [--version V] "
    "[--description TEXT] [--license SPDX] [--format F] [--trusted-workers A,B] | ls "
    "[--account A] | show NAME[@V] | pull NAME[@V] DIR | grant NAME ACCOUNT [--expires D] | "
    "revoke NAME ACCOUNT | access NAME | audit NAME | rm NAME@V\n\n"
    "NAME is NAME (your account's, from 'GET /v1/whoami') or ACCOUNT/NAME: DNS labels. A "
    "version V is 1..64 of A-Z a-z 0-9 . _ - (not \"latest\"); @latest or @sha256:DIGEST also "
    "name one for show and pull (default: the latest).\n\n"
    "push uploads a file or a directory (its regular files, recursively; a symbolic link "
    "inside it is refused) as version V (default: one more than the highest integer version, "
    "1 for a new dataset). Files are cut into content-defined chunks stored once by SHA-256: "
    "only the chunks the scheduler lacks are sent, 4 at a time, so a push that was "
    "interrupted (Ctrl-C, kill -9, a lost connection) resumes where it stopped when run "
    "again, and a new version sends only what changed. pull checks the manifest's digest and "
    "every chunk's SHA-256 and writes the files under DIR (never outside it). "
    "Both show a progress bar on a terminal (a line every 10% otherwise).\n\n"
    "grant lets ACCOUNT read a private dataset (--expires 30d: for that long); access shows "
    "the owner, the visibility and the grants; audit shows who read it (time, account, job, "
    "worker, action, version, allowed or refused). rm deletes a version unless unfinished "
    "jobs read it (they are named; exit 1).";

void AddDataFlags(CLI::App* data, CliArgs* out, DataRaw* raw) {
  data->add_option("--name", out->name, "push: the dataset, NAME or ACCOUNT/NAME")
      ->type_name("NAME");
  data->add_option("--version", out->data_version,
                   "push: the version to create (default: the next integer)")
      ->type_name("V");
  data->add_option("--description", out->description, "push: the card's description")
      ->type_name("TEXT");
  data->add_option("--license", out->license, "push: the data's license (SPDX id, e.g. CC-BY-4.0)")
      ->type_name("SPDX");
  data->add_option("--format", out->format, "push: what the files hold (e.g. csv, idx, parquet)")
      ->type_name("F");
  data->add_flag("--public", raw->is_public, "push: anyone may read it");
  data->add_flag("--private", raw->is_private,
                 "push: only your account, admins and accounts granted access may read it");
  data->add_option("--trusted-workers", raw->trusted,
                   "push --private: run jobs reading it only on these accounts' workers")
      ->type_name("A,B");
  data->add_option("--account", out->account, "ls: only this account's datasets")
      ->type_name("ACCOUNT");
  data->add_option("--expires", out->expires, "grant: the grant ends this long from now (e.g. 30d)")
      ->type_name("DURATION");
}

Status CheckDataArgs(const DataRaw& raw, CliArgs* out) {
  const auto& pos = out->positional;
  const std::string& sub = out->sub;
  struct Action {
    const char* name;
    size_t words;  // positional words including the action
    const char* usage;
  };
  static constexpr Action kActions[] = {
      {"push", 2, "push PATH --name NAME (--public|--private)"},
      {"ls", 1, "ls [--account A]"},
      {"show", 2, "show NAME[@V]"},
      {"pull", 3, "pull NAME[@V] DIR"},
      {"grant", 3, "grant NAME ACCOUNT [--expires D]"},
      {"revoke", 3, "revoke NAME ACCOUNT"},
      {"access", 2, "access NAME"},
      {"audit", 2, "audit NAME"},
      {"rm", 2, "rm NAME@V"},
  };
  const Action* action = nullptr;
  for (const Action& a : kActions) {
    if (sub == a.name) action = &a;
  }
  if (action == nullptr) {
    return InvalidArgument(
        "'shoal data' takes push, ls, show, pull, grant, revoke, access, audit or rm, got \"" +
        sub + "\"");
  }
  if (pos.size() != action->words) {
    return InvalidArgument("usage: shoal data " + std::string(action->usage));
  }
  const bool push = sub == "push";
  if (!push && (!out->name.empty() || !out->data_version.empty() || !out->description.empty() ||
                !out->license.empty() || !out->format.empty() || raw.is_public || raw.is_private ||
                !raw.trusted.empty())) {
    return InvalidArgument(
        "--name, --version, --description, --license, --format, --public, --private and "
        "--trusted-workers go with 'shoal data push'");
  }
  if (sub != "ls" && !out->account.empty()) {
    return InvalidArgument("--account goes with 'shoal data ls'");
  }
  if (sub == "ls" && !out->account.empty() && !IsDnsLabel(out->account)) {
    return InvalidArgument("--account needs an account name (a DNS label), got \"" + out->account +
                           "\"");
  }
  if (sub != "grant" && !out->expires.empty()) {
    return InvalidArgument("--expires goes with 'shoal data grant'");
  }
  if (!out->expires.empty()) {
    auto seconds = ParseDurationSeconds(out->expires);
    if (!seconds.ok() || *seconds <= 0) {
      return InvalidArgument("--expires needs a duration longer than 0s like 12h or 30d, got \"" +
                             out->expires + "\"");
    }
  }
  if (push) {
    if (out->name.empty()) return InvalidArgument("'shoal data push' needs --name NAME");
    RETURN_IF_ERROR(ParseArtifactRef(out->name, VersionRule::kNone).status());
    if (raw.is_public == raw.is_private) {
      return InvalidArgument("'shoal data push' needs exactly one of --public and --private");
    }
    out->visibility = raw.is_public ? "public" : "private";
    if (!out->data_version.empty() && !IsVersionName(out->data_version)) {
      return InvalidArgument(
          "--version: a version is 1..64 of A-Z a-z 0-9 . _ - starting with a "
          "letter or digit, and not \"latest\"; got \"" +
          out->data_version + "\"");
    }
    if (!raw.trusted.empty()) {
      if (!raw.is_private) return InvalidArgument("--trusted-workers goes with --private");
      std::stringstream list(raw.trusted);
      for (std::string account; std::getline(list, account, ',');) {
        if (!IsDnsLabel(account)) {
          return InvalidArgument(
              "--trusted-workers needs account names (DNS labels) separated "
              "by commas, got \"" +
              raw.trusted + "\"");
        }
        out->trusted_workers.push_back(account);
      }
    }
    if (pos[1].empty()) return InvalidArgument("'shoal data push' needs a PATH");
    return Status::Ok();
  }
  if (sub == "ls") return Status::Ok();
  const VersionRule rule = sub == "rm"                      ? VersionRule::kRequired
                           : sub == "show" || sub == "pull" ? VersionRule::kOptional
                                                            : VersionRule::kNone;
  RETURN_IF_ERROR(ParseArtifactRef(pos[1], rule).status());
  if ((sub == "grant" || sub == "revoke") && !IsDnsLabel(pos[2])) {
    return InvalidArgument("'shoal data " + sub + "' needs an ACCOUNT name (a DNS label), got \"" +
                           pos[2] + "\"");
  }
  if (sub == "pull" && pos[2].empty()) return InvalidArgument("'shoal data pull' needs a DIR");
  return Status::Ok();
}

}  // namespace shoal::cli
