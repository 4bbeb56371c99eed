#include "cli/args_data.h"

#include <charconv>
#include <cmath>
#include <span>
#include <sstream>

#include "cli/registry_transfer.h"
#include "common/duration.h"
#include "common/parse_number.h"

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

const char* const kModelsFooter =
    "Usage: shoal models publish JOB --name NAME [--version V] [--license SPDX] "
    "[--description TEXT] [--public|--private] | ls [--account A] | show NAME[@V] | pull "
    "NAME[@V] DIR | grant NAME ACCOUNT [--expires D] | revoke NAME ACCOUNT | access NAME | audit "
    "NAME | rm NAME@V\n\n"
    "publish stores a job that SUCCEEDED (JOB: its ID or name) as version V (default: the next "
    "integer) of models/OWNER/NAME, OWNER being the job's account: its newest checkpoint as "
    "model.safetensors and its card as model-card.json. The card holds the architecture (the "
    "spec's model), the datasets the job read (pinned by digest), the job and its spec, its "
    "metrics (test accuracy and loss), the license and the publisher. A model is public unless "
    "--private. Models are never pushed: they come from jobs.\n\n"
    "show prints the card and the versions; pull NAME[@V] DIR writes model.safetensors and "
    "model-card.json into DIR, every chunk checked by SHA-256. NAME, versions, grant, revoke, "
    "access, audit and rm work as for 'shoal data' (see 'shoal data --help').\n\n"
    "generate NAME[@V] [--prompt TEXT] [--tokens N] [--temperature T] [--top-k K] [--seed S] "
    "[--gpt2-dir DIR] prints the prompt and N tokens sampled from a gpt model (another kind "
    "exits 2). The version is pulled once into $XDG_CACHE_HOME/shoal/models (else "
    "~/.cache/shoal/models), then found there by its digest; the sampling runs locally, in the "
    "shoal-train beside this shoal (else on PATH). The same seed, version and prompt give the "
    "same text. A vocabulary of 256 is decoded as bytes, one of 50257 with GPT-2's BPE (its "
    "encoder.json and vocab.bpe in --gpt2-dir or $SHOAL_GPT2_DIR). Example: shoal models "
    "generate fortunes-gpt --prompt 'The computer' --tokens 100 --temperature 0.8 --top-k 40";

void AddRegistryFlags(CLI::App* sub, CliArgs* out, RegistryRaw* raw) {
  if (sub->get_name() == "models") {
    sub->add_option("--name", out->name, "publish: the model's NAME (under the job's account)")
        ->type_name("NAME");
    sub->add_option("--version", out->data_version,
                    "publish: the version to create (default: the next integer)")
        ->type_name("V");
    sub->add_option("--description", out->description, "publish: the card's description")
        ->type_name("TEXT");
    sub->add_option("--license", out->license,
                    "publish: the model's license (SPDX id, e.g. Apache-2.0)")
        ->type_name("SPDX");
    sub->add_flag("--public", raw->is_public, "publish: anyone may read it (the default)");
    sub->add_flag("--private", raw->is_private,
                  "publish: only your account, admins and accounts granted access may read it");
    sub->add_option("--account", out->account, "ls: only this account's models")
        ->type_name("ACCOUNT");
    sub->add_option("--expires", out->expires,
                    "grant: the grant ends this long from now (e.g. 30d)")
        ->type_name("DURATION");
    sub->add_option("--prompt", out->prompt,
                    "generate: the text to continue (default: none, start a new line)")
        ->type_name("TEXT")
        ->each([raw](const std::string&) { raw->prompt = true; });
    sub->add_option("--tokens", raw->tokens, "generate: new tokens, 1..100000 (default 200)")
        ->type_name("N");
    sub->add_option("--temperature", raw->temperature,
                    "generate: sampling temperature, 0 = always the likeliest (default 1)")
        ->type_name("T");
    sub->add_option("--top-k", raw->top_k,
                    "generate: sample among the K likeliest tokens (default 0: all)")
        ->type_name("K");
    sub->add_option("--seed", raw->seed, "generate: the sampler's seed (default 1)")
        ->type_name("S");
    sub->add_option("--gpt2-dir", out->gpt2_dir,
                    "generate: encoder.json and vocab.bpe for a GPT-2 vocabulary (default "
                    "$SHOAL_GPT2_DIR)")
        ->type_name("DIR")
        ->each([raw](const std::string&) { raw->gpt2_dir = true; });
    return;
  }
  CLI::App* data = sub;
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

namespace {

struct Action {
  const char* name;
  size_t words;  // positional words including the action
  const char* usage;
};

constexpr Action kDataActions[] = {
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

constexpr Action kModelActions[] = {
    {"publish", 2, "publish JOB --name NAME [--version V] [--public|--private]"},
    {"ls", 1, "ls [--account A]"},
    {"show", 2, "show NAME[@V]"},
    {"pull", 3, "pull NAME[@V] DIR"},
    {"grant", 3, "grant NAME ACCOUNT [--expires D]"},
    {"revoke", 3, "revoke NAME ACCOUNT"},
    {"access", 2, "access NAME"},
    {"audit", 2, "audit NAME"},
    {"rm", 2, "rm NAME@V"},
    {"generate", 2,
     "generate NAME[@V] [--prompt TEXT] [--tokens N] [--temperature T] [--top-k K] "
     "[--seed S] [--gpt2-dir DIR]"},
};

Status CheckVersionFlag(const std::string& version) {
  if (version.empty() || IsVersionName(version)) return Status::Ok();
  return InvalidArgument(
      "--version: a version is 1..64 of A-Z a-z 0-9 . _ - starting with a "
      "letter or digit, and not \"latest\"; got \"" +
      version + "\"");
}

// `shoal models publish JOB --name NAME ...`: the rest of its checks.
Status CheckPublish(const RegistryRaw& raw, CliArgs* out) {
  if (out->name.empty()) return InvalidArgument("'shoal models publish' needs --name NAME");
  if (!IsDnsLabel(out->name)) {
    return InvalidArgument(
        "--name needs a model NAME (a DNS label; the model belongs to the job's account), got "
        "\"" +
        out->name + "\"");
  }
  if (raw.is_public && raw.is_private) {
    return InvalidArgument("'shoal models publish' takes one of --public and --private");
  }
  out->visibility = raw.is_private ? "private" : "public";
  RETURN_IF_ERROR(CheckVersionFlag(out->data_version));
  const std::string& job = out->positional[1];
  // A word of digits is an ID (and must be a valid one); any other word is a job name.
  if (job.empty()) return InvalidArgument("'shoal models publish' needs a JOB");
  if (IsAllDigits(job) || job[0] == '-') RETURN_IF_ERROR(ParseJobId(job).status());
  out->job_refs.push_back(job);
  return Status::Ok();
}

// `shoal models generate NAME[@V] ...`: the sampling options' values.
Status CheckGenerate(const RegistryRaw& raw, CliArgs* out) {
  if (!raw.tokens.empty() && (!ParseInteger(raw.tokens, &out->gen_tokens) || out->gen_tokens < 1 ||
                              out->gen_tokens > 100000)) {
    return InvalidArgument("--tokens needs an integer in 1..100000, got \"" + raw.tokens + "\"");
  }
  if (!raw.temperature.empty()) {
    double t = -1;
    const char* end = raw.temperature.data() + raw.temperature.size();
    const auto [last, ec] = std::from_chars(raw.temperature.data(), end, t);
    if (ec != std::errc() || last != end || !std::isfinite(t) || t < 0) {
      return InvalidArgument(
          "--temperature needs a number >= 0 (0: always the likeliest token), "
          "got \"" +
          raw.temperature + "\"");
    }
    out->temperature = raw.temperature;
  }
  if (!raw.top_k.empty() && (!ParseInteger(raw.top_k, &out->top_k) || out->top_k < 0)) {
    return InvalidArgument("--top-k needs an integer >= 0 (0: all tokens), got \"" + raw.top_k +
                           "\"");
  }
  if (!raw.seed.empty() && !ParseInteger(raw.seed, &out->seed)) {
    return InvalidArgument("--seed needs an integer in 0..2^64-1, got \"" + raw.seed + "\"");
  }
  if (raw.gpt2_dir && out->gpt2_dir.empty()) return InvalidArgument("--gpt2-dir needs a DIR");
  return ParseArtifactRef(out->positional[1], VersionRule::kOptional).status();
}

}  // namespace

Status CheckRegistryArgs(const RegistryRaw& raw, CliArgs* out) {
  const auto& pos = out->positional;
  const std::string& sub = out->sub;
  const bool models = out->verb == "models";
  const std::string verb = "'shoal " + out->verb;
  if (models && sub == "push") {
    return InvalidArgument(
        "'shoal models' has no push: a model is published from a job that succeeded, with "
        "'shoal models publish JOB --name NAME'");
  }
  const Action* action = nullptr;
  for (const Action& a :
       models ? std::span<const Action>(kModelActions) : std::span<const Action>(kDataActions)) {
    if (sub == a.name) action = &a;
  }
  if (action == nullptr) {
    return InvalidArgument(verb + "' takes " + (models ? "publish" : "push") +
                           ", ls, show, pull, grant, revoke, access, audit, rm" +
                           (models ? ", generate" : "") + ", got \"" + sub + "\"");
  }
  if (pos.size() != action->words) {
    return InvalidArgument("usage: shoal " + out->verb + " " + std::string(action->usage));
  }
  const char* const create = models ? "publish" : "push";
  if (sub != create &&
      (!out->name.empty() || !out->data_version.empty() || !out->description.empty() ||
       !out->license.empty() || !out->format.empty() || raw.is_public || raw.is_private ||
       !raw.trusted.empty())) {
    return InvalidArgument(models ? "--name, --version, --description, --license, --public and "
                                    "--private go with 'shoal models publish'"
                                  : "--name, --version, --description, --license, --format, "
                                    "--public, --private and --trusted-workers go with 'shoal "
                                    "data push'");
  }
  if (sub != "generate" && (raw.prompt || !raw.tokens.empty() || !raw.temperature.empty() ||
                            !raw.top_k.empty() || !raw.seed.empty() || raw.gpt2_dir)) {
    return InvalidArgument(
        "--prompt, --tokens, --temperature, --top-k, --seed and --gpt2-dir go with 'shoal models "
        "generate'");
  }
  if (sub != "ls" && !out->account.empty()) {
    return InvalidArgument("--account goes with " + verb + " ls'");
  }
  if (sub == "ls" && !out->account.empty() && !IsDnsLabel(out->account)) {
    return InvalidArgument("--account needs an account name (a DNS label), got \"" + out->account +
                           "\"");
  }
  if (sub != "grant" && !out->expires.empty()) {
    return InvalidArgument("--expires goes with " + verb + " grant'");
  }
  if (!out->expires.empty()) {
    auto seconds = ParseDurationSeconds(out->expires);
    if (!seconds.ok() || *seconds <= 0) {
      return InvalidArgument("--expires needs a duration longer than 0s like 12h or 30d, got \"" +
                             out->expires + "\"");
    }
  }
  if (sub == "publish") return CheckPublish(raw, out);
  if (sub == "generate") return CheckGenerate(raw, out);
  if (sub == "push") {
    if (out->name.empty()) return InvalidArgument("'shoal data push' needs --name NAME");
    RETURN_IF_ERROR(ParseArtifactRef(out->name, VersionRule::kNone).status());
    if (raw.is_public == raw.is_private) {
      return InvalidArgument("'shoal data push' needs exactly one of --public and --private");
    }
    out->visibility = raw.is_public ? "public" : "private";
    RETURN_IF_ERROR(CheckVersionFlag(out->data_version));
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
    return InvalidArgument(verb + " " + sub + "' needs an ACCOUNT name (a DNS label), got \"" +
                           pos[2] + "\"");
  }
  if (sub == "pull" && pos[2].empty()) return InvalidArgument(verb + " pull' needs a DIR");
  return Status::Ok();
}

}  // namespace shoal::cli
