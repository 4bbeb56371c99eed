#include "cli/config.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "common/file_util.h"

namespace shoal::cli {

namespace {

Status ErrnoStatus(const std::string& what) {
  return Unavailable(what + ": " + std::strerror(errno));
}

// Creates `dir` and its missing parents with mode 0700 (existing ones are left as they are).
Status MakePrivateDirs(const std::string& dir) {
  if (dir.empty() || dir == "." || dir == "/") return Status::Ok();
  struct stat st;
  if (::stat(dir.c_str(), &st) == 0) {
    return S_ISDIR(st.st_mode) ? Status::Ok() : Unavailable(dir + " is not a directory");
  }
  RETURN_IF_ERROR(MakePrivateDirs(DirOf(dir)));
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return ErrnoStatus("creating directory " + dir);
  }
  return Status::Ok();
}

std::string Where(const std::string& path, const YAML::Node& node) {
  return path + ":" + std::to_string(node.Mark().line + 1) + ": ";
}

// node as a string scalar; InvalidArgument "path:line: KEY must be a string" otherwise.
Status ReadString(const std::string& path, const YAML::Node& node, const std::string& key,
                  std::string* out) {
  if (!node.IsScalar()) return InvalidArgument(Where(path, node) + key + " must be a string");
  *out = node.Scalar();
  return Status::Ok();
}

}  // namespace

const CliContext* CliConfig::Find(const std::string& name) const {
  for (const auto& c : contexts) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

CliContext& CliConfig::FindOrAdd(const std::string& name) {
  for (auto& c : contexts) {
    if (c.name == name) return c;
  }
  contexts.push_back(CliContext{name, "", "", ""});
  return contexts.back();
}

Result<CliConfig> LoadCliConfig(const std::string& path) {
  auto text = ReadFileLimited(path, 1 << 20);
  if (!text.ok()) {
    if (text.status().code() == StatusCode::kNotFound) return CliConfig();
    return text.status();
  }
  YAML::Node root;
  try {
    root = YAML::Load(*text);
  } catch (const YAML::Exception& e) {
    return InvalidArgument(path + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  CliConfig config;
  if (!root.IsDefined() || root.IsNull()) return config;
  if (!root.IsMap()) return InvalidArgument(Where(path, root) + "expected a mapping");
  YAML::Node current;
  for (const auto& kv : root) {
    const std::string key = kv.first.Scalar();
    if (key == "current-context") {
      current = kv.second;
      if (!kv.second.IsNull()) {
        RETURN_IF_ERROR(ReadString(path, kv.second, key, &config.current_context));
      }
    } else if (key == "contexts") {
      if (kv.second.IsNull()) continue;
      if (!kv.second.IsSequence()) {
        return InvalidArgument(Where(path, kv.second) + "contexts must be a list");
      }
      for (const auto& item : kv.second) {
        if (!item.IsMap()) {
          return InvalidArgument(
              Where(path, item) +
              "a context must be a mapping {name, scheduler, tokenFile, caFile}");
        }
        CliContext c;
        for (const auto& field : item) {
          const std::string k = field.first.Scalar();
          std::string* out = k == "name"        ? &c.name
                             : k == "scheduler" ? &c.scheduler
                             : k == "tokenFile" ? &c.token_file
                             : k == "caFile"    ? &c.ca_file
                                                : nullptr;
          if (out == nullptr) {
            return InvalidArgument(Where(path, field.first) + "unknown context key \"" + k +
                                   "\" (allowed: name, scheduler, tokenFile, caFile)");
          }
          RETURN_IF_ERROR(ReadString(path, field.second, k, out));
        }
        if (c.name.empty()) return InvalidArgument(Where(path, item) + "a context needs a name");
        if (config.Find(c.name) != nullptr) {
          return InvalidArgument(Where(path, item) + "context \"" + c.name + "\" appears twice");
        }
        config.contexts.push_back(std::move(c));
      }
    } else {
      return InvalidArgument(Where(path, kv.first) + "unknown key \"" + key +
                             "\" (allowed: current-context, contexts)");
    }
  }
  if (!config.current_context.empty() && config.Find(config.current_context) == nullptr) {
    return InvalidArgument(Where(path, current) + "current-context \"" + config.current_context +
                           "\" names no context");
  }
  return config;
}

Status SaveCliConfig(const std::string& path, const CliConfig& config) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  if (!config.current_context.empty()) {
    out << YAML::Key << "current-context" << YAML::Value << config.current_context;
  }
  out << YAML::Key << "contexts" << YAML::Value << YAML::BeginSeq;
  for (const auto& c : config.contexts) {
    out << YAML::BeginMap << YAML::Key << "name" << YAML::Value << c.name;
    if (!c.scheduler.empty()) out << YAML::Key << "scheduler" << YAML::Value << c.scheduler;
    if (!c.token_file.empty()) out << YAML::Key << "tokenFile" << YAML::Value << c.token_file;
    if (!c.ca_file.empty()) out << YAML::Key << "caFile" << YAML::Value << c.ca_file;
    out << YAML::EndMap;
  }
  out << YAML::EndSeq << YAML::EndMap;
  return WriteSecretFile(path, std::string(out.c_str()) + "\n");
}

Status WriteSecretFile(const std::string& path, const std::string& content) {
  RETURN_IF_ERROR(MakePrivateDirs(DirOf(path)));
  return WriteFileAtomic(path, content, 0600);
}

std::string LooseModeWarning(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 || (st.st_mode & 077) == 0) return "";
  char mode[8];
  std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
  return "WARNING: token file " + path + " is readable by others (mode " + mode + "); chmod 600 " +
         path;
}

}  // namespace shoal::cli
