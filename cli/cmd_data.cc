// shoal data ... and shoal models ...: the dataset registry and the model library
// (docs/registry.md). One implementation for both, the kind taken from the verb; the actions parse,
// ask and print, the chunk transfers are cli/registry_transfer.h's, and what only models have is
// cli/cmd_models.cc's.
#include <algorithm>
#include <sstream>

#include "cli/cmd_registry.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/format.h"
#include "cli/json_get.h"
#include "cli/registry_transfer.h"
#include "cli/transfer_progress.h"
#include "common/duration.h"

namespace shoal::cli {

namespace {

constexpr size_t kShownFiles = 20;

TransferProgress MakeProgress(const CommandContext& ctx, const char* label) {
  return TransferProgress(ctx.err(), ctx.env().stderr_is_tty, label);
}

int CannotPush(const CommandContext& ctx, const std::string& path, const Status& st) {
  ctx.err() << "shoal data push: cannot push " << path << ": " << st.message() << "\n";
  return kExitUsage;
}

// Whether a version of the card could hold the listed files: the same total size and file count.
bool MaybeHolds(const json& card, const std::vector<ManifestFile>& listed) {
  int64_t bytes = 0;
  for (const ManifestFile& f : listed) bytes += f.size;
  for (const json& v : GetArray(card, "versions")) {
    if (GetInt(v, "bytes") == bytes && GetInt(v, "files") == static_cast<int64_t>(listed.size())) {
      return true;
    }
  }
  return false;
}

// When a version of the card holds `digest`: says which (nothing is pushed) and true.
bool AlreadyHeld(const CommandContext& ctx, const json& card, const Named& n,
                 const std::string& path, const std::string& digest) {
  const json* same = FindVersion(card, "sha256:" + digest);
  if (same == nullptr) return false;
  if (ctx.json_output()) {
    ctx.PrintJson(*same);
  } else {
    ctx.out() << n.key << "@" << GetString(*same, "version") << " already holds " << path
              << " (digest sha256:" << digest << "); nothing to push\n";
  }
  return true;
}

int Push(const CommandContext& ctx) {
  const CliArgs& args = ctx.args();
  const std::string& path = args.positional[1];
  // List the whole tree before anything is sent: a bad PATH is a usage error with nothing stored.
  Result<std::vector<ManifestFile>> listed = ListManifestFiles(path);
  if (!listed.ok()) return CannotPush(ctx, path, listed.status());
  Result<Named> n = Resolve(ctx, args.name, VersionRule::kNone);
  if (!n.ok()) return ctx.Fail(n.status());
  // Card fields not given keep their stored values: a new version is not a new card.
  Result<json> stored = ctx.Call("GET", n->path);
  if (!stored.ok() && stored.status().code() != StatusCode::kNotFound) {
    return FailOn(ctx, stored.status(), *n);
  }
  const json old = stored.ok() ? *stored : json::object();
  auto keep = [&](const std::string& given, const char* key) {
    return given.empty() ? GetString(old, key) : given;
  };
  json card = {{"visibility", args.visibility},
               {"description", keep(args.description, "description")},
               {"license", keep(args.license, "license")},
               {"format", keep(args.format, "format")}};
  if (!args.trusted_workers.empty()) {
    card["trustedWorkers"] = args.trusted_workers;
  } else if (args.visibility == "private" && GetArray(old, "trustedWorkers").size() > 0) {
    card["trustedWorkers"] = GetArray(old, "trustedWorkers");
  }
  Result<json> put = ctx.Call("PUT", n->path, card.dump());
  if (!put.ok()) return FailOn(ctx, put.status(), *n);
  // The registry refuses a second version name for the same content; without --version, say
  // which version already holds it instead. Only a version of the same size and file count can:
  // then read the tree once, sending nothing, to compare digests (any other tree goes straight to
  // the one-pass upload, whose missing queries would name no chunk of an unchanged tree anyway).
  const bool name_same = args.data_version.empty();
  if (name_same && MaybeHolds(*put, *listed)) {
    Result<Manifest> scanned = ScanPath(path);
    if (!scanned.ok()) return CannotPush(ctx, path, scanned.status());
    if (AlreadyHeld(ctx, *put, *n, path, ManifestDigest(*scanned))) return kExitOk;
  }
  const std::string version =
      args.data_version.empty() ? NextIntegerVersion(*put) : args.data_version;

  TransferProgress progress = MakeProgress(ctx, "push");
  TransferOptions options;
  options.progress = [&](int64_t done, int64_t total) { progress.Update(done, total); };
  Result<PushStats> pushed = UploadPath(ctx.client(), n->path, path, *listed, options);
  // The digest is known now, before the version is stored: a tree that a version already holds
  // (its chunks all stored, so nothing was sent) names that version.
  if (pushed.ok() && name_same && AlreadyHeld(ctx, *put, *n, path, pushed->digest)) {
    progress.Finish();
    return kExitOk;
  }
  Status stored_version =
      pushed.ok() ? StoreVersion(ctx.client(), n->path, path, version, options, &*pushed)
                  : pushed.status();
  progress.Finish();
  if (!stored_version.ok()) {
    if (stored_version.code() == StatusCode::kFailedPrecondition) {
      ctx.err() << "shoal data push: " << PlainMessage(stored_version) << "\n";
      return kExitJobFailed;
    }
    return FailOn(ctx, stored_version, *n);
  }
  const Manifest* manifest = &pushed->manifest;
  int64_t bytes = 0;
  for (const ManifestChunk& c : manifest->chunks) bytes += c.size;
  if (ctx.json_output()) {
    json out = pushed->reply;
    out["artifact"] = n->key;
    out["files"] = manifest->files.size();
    out["chunks"] = manifest->chunks.size();
    out["sentBytes"] = pushed->sent_bytes;
    out["sentChunks"] = pushed->sent_chunks;
    out["storedChunks"] = pushed->stored_chunks;
    ctx.PrintJson(out);
    return kExitOk;
  }
  ctx.out() << "pushed " << n->key << "@" << version << ": " << manifest->files.size() << " files, "
            << FormatMegabytes(bytes) << " MB, digest sha256:" << pushed->digest << ", sent "
            << FormatMegabytes(pushed->sent_bytes) << " MB in " << pushed->sent_chunks
            << " chunks (" << pushed->stored_chunks << " chunks already stored)\n";
  return kExitOk;
}

int List(const CommandContext& ctx) {
  std::string target = "/v1/" + std::string(ToString(KindOf(ctx)));
  if (!ctx.args().account.empty()) target += "?account=" + UrlEncode(ctx.args().account);
  Result<json> reply = ctx.Call("GET", target);
  if (!reply.ok()) return ctx.Fail(reply.status());
  if (ctx.json_output()) {
    ctx.PrintJson(*reply);
    return kExitOk;
  }
  const json& items = GetArray(*reply, "items");
  if (items.empty()) {
    const bool models = KindOf(ctx) == ArtifactKind::kModel;
    ctx.err() << "No " << ToString(KindOf(ctx))
              << (ctx.args().account.empty() ? "" : " of " + ctx.args().account)
              << " you may read; "
              << (models ? "'shoal models publish JOB --name NAME'"
                         : "'shoal data push PATH --name NAME --private'")
              << " adds one.\n";
    return kExitOk;
  }
  Table table({"NAME", "VISIBILITY", "VERSIONS", "SIZE", "LATEST", "UPDATED"});
  const int64_t now = ctx.NowMs();
  for (const json& a : items) {
    const json* latest = Latest(a);
    table.AddRow({GetString(a, "account") + "/" + GetString(a, "name"), GetString(a, "visibility"),
                  std::to_string(GetArray(a, "versions").size()), FormatBytes(GetInt(a, "bytes")),
                  latest == nullptr ? "-" : GetString(*latest, "version"),
                  FormatAge(GetInt(a, "updated"), now)});
  }
  table.Render(ctx.out());
  return kExitOk;
}

// The versions of a card as a table, indented under "versions:".
void PrintVersionTable(const CommandContext& ctx, const json& card) {
  Table table({"VERSION", "DIGEST", "SIZE", "FILES", "CHUNKS", "PUBLISHER", "CREATED"});
  for (const json& v : GetArray(card, "versions")) {
    table.AddRow({GetString(v, "version"), GetString(v, "digest").substr(0, kShortDigest),
                  FormatBytes(GetInt(v, "bytes")), std::to_string(GetInt(v, "files")),
                  std::to_string(GetInt(v, "chunks")), GetString(v, "publisher"),
                  FormatTimestamp(GetInt(v, "created"))});
  }
  std::ostringstream text;
  table.Render(text);
  std::istringstream lines(text.str());
  for (std::string line; std::getline(lines, line);) ctx.out() << "  " << line << "\n";
}

int Show(const CommandContext& ctx) {
  Result<Named> n = Resolve(ctx, ctx.args().positional[1], VersionRule::kOptional);
  if (!n.ok()) return ctx.Fail(n.status());
  Result<json> card = ctx.Call("GET", n->path);
  if (!card.ok()) return FailOn(ctx, card.status(), *n);
  const std::string& version = n->ref.version;
  if (version.empty()) {
    if (ctx.json_output()) {
      ctx.PrintJson(*card);
      return kExitOk;
    }
    PrintCard(ctx, n->key, *card);
    return kExitOk;
  }
  const json* entry = FindVersion(*card, version);
  if (entry == nullptr) {
    ctx.err() << "shoal: " << n->key << " has no version " << version << " ('shoal "
              << ctx.args().verb << " show "
              << ctx.args().positional[1].substr(0, ctx.args().positional[1].find('@'))
              << "' lists them)\n";
    return kExitNotFound;
  }
  const std::string target = n->path + "/versions/" + GetString(*entry, "version");
  Result<HttpResponse> r = ctx.client().Do("GET", target, {}, "", std::chrono::minutes(2));
  Status st = r.ok() ? StatusFromHttp(*r) : r.status();
  if (!st.ok()) return FailOn(ctx, st, *n);
  Result<Manifest> manifest = ParseManifest(r->body);
  if (!manifest.ok()) {
    return ctx.Fail(
        Internal("malformed manifest from GET " + target + ": " + manifest.status().message()));
  }
  if (ctx.json_output()) {
    json out = *entry;
    out["manifest"] = ToJson(*manifest);
    ctx.PrintJson(out);
    return kExitOk;
  }
  ctx.out() << "version:   " << n->key << "@" << GetString(*entry, "version") << "\n"
            << "digest:    sha256:" << GetString(*entry, "digest") << "\n"
            << "size:      " << FormatBytes(GetInt(*entry, "bytes")) << " in "
            << manifest->files.size() << " files, " << manifest->chunks.size() << " chunks\n"
            << "publisher: " << GetString(*entry, "publisher", "-") << "\n"
            << "created:   " << FormatTimestamp(GetInt(*entry, "created")) << "\n"
            << "files:\n";
  Table files({"PATH", "SIZE"});
  for (size_t i = 0; i < manifest->files.size() && i < kShownFiles; ++i) {
    files.AddRow({manifest->files[i].path, FormatBytes(manifest->files[i].size)});
  }
  files.Render(ctx.out());
  if (manifest->files.size() > kShownFiles) {
    ctx.out() << "... and " << manifest->files.size() - kShownFiles
              << " more (-o json lists all)\n";
  }
  return kExitOk;
}

int Pull(const CommandContext& ctx) {
  Result<Named> n = Resolve(ctx, ctx.args().positional[1], VersionRule::kOptional);
  if (!n.ok()) return ctx.Fail(n.status());
  const std::string version = n->ref.version.empty() ? "latest" : n->ref.version;
  const std::string& dir = ctx.args().positional[2];
  TransferProgress progress = MakeProgress(ctx, "pull");
  TransferOptions options;
  options.progress = [&](int64_t done, int64_t total) { progress.Update(done, total); };
  Result<PullStats> pulled = PullVersion(ctx.client(), n->path, version, dir, options);
  progress.Finish();
  if (!pulled.ok()) {
    if (pulled.status().code() == StatusCode::kFailedPrecondition) {
      // A local problem (a symbolic link in DIR, a full disk), not the scheduler's.
      ctx.err() << "shoal " << ctx.args().verb << " pull: " << pulled.status().message() << "\n";
      return kExitUsage;
    }
    return ctx.Fail(pulled.status(), n->key + "@" + version + " not found");
  }
  // "@latest" and "@sha256:..." are printed as the version's name when the card gives it.
  std::string name = version;
  if (!IsVersionName(version)) {
    Result<json> card = ctx.Call("GET", n->path);
    const json* entry = card.ok() ? FindVersion(*card, "sha256:" + pulled->digest) : nullptr;
    if (entry != nullptr) name = GetString(*entry, "version", version);
  }
  if (ctx.json_output()) {
    ctx.PrintJson(json{{"artifact", n->key},
                       {"version", name},
                       {"digest", pulled->digest},
                       {"bytes", pulled->bytes},
                       {"files", pulled->manifest.files.size()},
                       {"dir", dir}});
    return kExitOk;
  }
  ctx.out() << "pulled " << n->key << "@" << name << " into " << dir << ": "
            << pulled->manifest.files.size() << " files, " << FormatMegabytes(pulled->bytes)
            << " MB, digest sha256:" << pulled->digest << " (verified)\n";
  return kExitOk;
}

int Grants(const CommandContext& ctx) {
  const CliArgs& args = ctx.args();
  Result<Named> n = Resolve(ctx, args.positional[1], VersionRule::kNone);
  if (!n.ok()) return ctx.Fail(n.status());
  const std::string target = n->path + "/grants";
  if (args.sub == "access") {
    Result<json> reply = ctx.Call("GET", target);
    if (!reply.ok()) return FailOn(ctx, reply.status(), *n);
    if (ctx.json_output()) {
      ctx.PrintJson(*reply);
      return kExitOk;
    }
    ctx.out() << "owner:      " << GetString(*reply, "owner", "-") << "\n"
              << "visibility: " << GetString(*reply, "visibility", "-") << "\n";
    const json& grants = GetArray(*reply, "grants");
    if (grants.empty()) {
      ctx.out() << "grants:     none\n";
      return kExitOk;
    }
    Table table({"ACCOUNT", "GRANTED BY", "GRANTED", "EXPIRES"});
    for (const json& g : grants) {
      const int64_t expires = GetInt(g, "expires");
      table.AddRow({GetString(g, "account"), GetString(g, "grantedBy"),
                    FormatTimestamp(GetInt(g, "granted")),
                    expires > 0 ? FormatTimestamp(expires) : "never"});
    }
    table.Render(ctx.out());
    return kExitOk;
  }
  const std::string& account = args.positional[2];
  const std::string grant = target + "/" + account;
  if (args.sub == "revoke") {
    Result<json> reply = ctx.Call("DELETE", grant);
    if (!reply.ok()) return ctx.Fail(reply.status());
    if (ctx.json_output()) {
      ctx.PrintJson(*reply);
    } else {
      ctx.out() << "revoked the grant of " << account << " to read " << n->key << "\n";
    }
    return kExitOk;
  }
  json body = json::object();
  if (!args.expires.empty()) {
    body["expiresMs"] = ctx.NowMs() + *ParseDurationSeconds(args.expires) * 1000;
  }
  Result<json> reply = ctx.Call("PUT", grant, body.dump());
  if (!reply.ok()) return ctx.Fail(reply.status());
  if (ctx.json_output()) {
    ctx.PrintJson(*reply);
    return kExitOk;
  }
  const int64_t expires = GetInt(*reply, "expires");
  ctx.out() << "granted " << account << " read access to " << n->key
            << (expires > 0 ? " until " + FormatTimestamp(expires) : "") << "\n";
  return kExitOk;
}

int Audit(const CommandContext& ctx) {
  Result<Named> n = Resolve(ctx, ctx.args().positional[1], VersionRule::kNone);
  if (!n.ok()) return ctx.Fail(n.status());
  Result<json> reply = ctx.Call("GET", n->path + "/audit");
  if (!reply.ok()) return FailOn(ctx, reply.status(), *n);
  if (ctx.json_output()) {
    ctx.PrintJson(*reply);
    return kExitOk;
  }
  const json& records = GetArray(*reply, "records");
  if (records.empty()) {
    ctx.err() << "No reads of " << n->key << " recorded (reads of private " << ToString(KindOf(ctx))
              << " are audited).\n";
    return kExitOk;
  }
  Table table({"TIME", "ACCOUNT", "JOB", "WORKER", "ACTION", "VERSION", "RESULT"});
  for (const json& r : records) {
    const int64_t job = GetInt(r, "job");
    table.AddRow({FormatTimestamp(GetInt(r, "time")), GetString(r, "account"),
                  job > 0 ? std::to_string(job) : "-", GetString(r, "worker"),
                  GetString(r, "action"), GetString(r, "version"),
                  GetBool(r, "allowed") ? "allowed" : "refused: " + GetString(r, "detail")});
  }
  table.Render(ctx.out());
  return kExitOk;
}

int Remove(const CommandContext& ctx) {
  Result<Named> n = Resolve(ctx, ctx.args().positional[1], VersionRule::kRequired);
  if (!n.ok()) return ctx.Fail(n.status());
  const std::string name = n->key + "@" + n->ref.version;
  Result<json> reply = ctx.Call("DELETE", n->path + "/versions/" + n->ref.version);
  if (!reply.ok()) return ctx.Fail(reply.status(), name + " not found");
  if (ctx.json_output()) {
    ctx.PrintJson(*reply);
  } else {
    ctx.out() << "deleted " << name << "\n";
  }
  return kExitOk;
}

}  // namespace

Result<Named> Resolve(const CommandContext& ctx, const std::string& text, VersionRule rule) {
  Named n;
  ASSIGN_OR_RETURN(n.ref, ParseArtifactRef(text, rule));
  if (n.ref.account.empty()) {
    ASSIGN_OR_RETURN(json me, ctx.Call("GET", "/v1/whoami"));
    n.ref.account = GetString(me, "account");
    if (n.ref.account.empty()) return Internal("malformed reply to GET /v1/whoami: no account");
  }
  n.key = std::string(ToString(KindOf(ctx))) + "/" + n.ref.account + "/" + n.ref.name;
  n.path = ArtifactPath(KindOf(ctx), n.ref.account, n.ref.name);
  return n;
}

int FailOn(const CommandContext& ctx, const Status& st, const Named& n) {
  return ctx.Fail(st, n.key + " not found (or you may not read it)");
}

const json* Latest(const json& card) {
  const json* latest = nullptr;
  for (const json& v : GetArray(card, "versions")) {
    if (latest == nullptr || GetInt(v, "created") >= GetInt(*latest, "created")) latest = &v;
  }
  return latest;
}

const json* FindVersion(const json& card, const std::string& version) {
  if (version.empty() || version == "latest") return Latest(card);
  for (const json& v : GetArray(card, "versions")) {
    if (GetString(v, "version") == version || "sha256:" + GetString(v, "digest") == version) {
      return &v;
    }
  }
  return nullptr;
}

ArtifactKind KindOf(const CommandContext& ctx) {
  return ctx.args().verb == "models" ? ArtifactKind::kModel : ArtifactKind::kDataset;
}

void PrintCardField(const CommandContext& ctx, const std::string& name, const std::string& value) {
  ctx.out() << name << std::string(name.size() < 16 ? 16 - name.size() : 1, ' ')
            << (value.empty() ? "-" : value) << "\n";
}

void PrintCard(const CommandContext& ctx, const std::string& key, const json& card) {
  const json* latest = Latest(card);
  std::string trusted;
  for (const json& t : GetArray(card, "trustedWorkers")) {
    trusted += (trusted.empty() ? "" : ", ") + (t.is_string() ? t.get<std::string>() : "?");
  }
  auto field = [&](const char* name, const std::string& value) {
    PrintCardField(ctx, name, value);
  };
  field("name:", key);
  field("visibility:", GetString(card, "visibility"));
  field("description:", GetString(card, "description"));
  field("license:", GetString(card, "license"));
  field("format:", GetString(card, "format"));
  const size_t count = GetArray(card, "versions").size();
  field("size:", FormatBytes(GetInt(card, "bytes")) + " in " + std::to_string(count) +
                     (count == 1 ? " version" : " versions"));
  field("publisher:", latest == nullptr ? "" : GetString(*latest, "publisher"));
  field("created:", FormatTimestamp(GetInt(card, "created")));
  field("updated:", FormatTimestamp(GetInt(card, "updated")));
  field("trustedWorkers:", trusted);
  if (card.contains("card") && card["card"].is_object()) PrintModelCard(ctx, card["card"]);
  ctx.out() << "versions:\n";
  if (GetArray(card, "versions").empty()) {
    ctx.out() << "  (none yet)\n";
  } else {
    PrintVersionTable(ctx, card);
  }
}

int CmdRegistry(const CommandContext& ctx) {
  const std::string& sub = ctx.args().sub;
  if (sub == "publish") return PublishModel(ctx);
  if (sub == "generate") return GenerateFromModel(ctx);
  if (sub == "push") return Push(ctx);
  if (sub == "ls") return List(ctx);
  if (sub == "show") return Show(ctx);
  if (sub == "pull") return Pull(ctx);
  if (sub == "grant" || sub == "revoke" || sub == "access") return Grants(ctx);
  if (sub == "audit") return Audit(ctx);
  return Remove(ctx);
}

}  // namespace shoal::cli
