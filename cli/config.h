// The CLI's own files under its configuration directory (~/.config/shoal, or
// $XDG_CONFIG_HOME/shoal): the contexts file config.yaml and token files.
//
// config.yaml works like a kubeconfig:
//
//   current-context: lab
//   contexts:
//     - name: lab
//       scheduler: https://sched.lab.example:8470
//       tokenFile: /home/me/.config/shoal/tokens/lab
//       caFile: /home/me/lab-ca.pem
//
// A context names where to find a scheduler and how to authenticate to it; `--context NAME` or
// current-context selects one. Every key of a context but name is optional.
//
// Token files hold secrets: they are written with mode 0600 in a directory created 0700, through
// a temporary file renamed into place, so a reader never sees a partial file.
// All functions are thread-compatible (no shared state); they touch only the named files.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace shoal::cli {

struct CliContext {
  std::string name;
  std::string scheduler;   // "" = not set
  std::string token_file;  // tokenFile; "" = not set
  std::string ca_file;     // caFile; "" = not set
};

struct CliConfig {
  std::string current_context;  // "" = none
  std::vector<CliContext> contexts;

  // The context called `name`, or nullptr.
  const CliContext* Find(const std::string& name) const;
  // The context called `name`, added (with only its name) when missing.
  CliContext& FindOrAdd(const std::string& name);
};

// Reads `path`. A missing file is an empty config. InvalidArgument naming "path:line:" for YAML
// syntax errors, keys of the wrong type, contexts without a name, duplicate names, unknown keys
// and a current-context that names no context; Unavailable when the file cannot be read.
Result<CliConfig> LoadCliConfig(const std::string& path);

// Writes `config` to `path` (creating its directory, 0700) atomically with mode 0600.
Status SaveCliConfig(const std::string& path, const CliConfig& config);

// Writes `content` to `path` atomically (temporary file in the same directory, fsync, rename)
// with mode 0600, first creating the missing directories on the way with mode 0700. Unavailable
// (with the reason) on any I/O error; a failed write leaves `path` as it was.
Status WriteSecretFile(const std::string& path, const std::string& content);

// When the file at `path` can be read or written by its group or by others (like ssh, which
// refuses such keys): the warning to print, "WARNING: token file F is readable by others (mode
// 0644); chmod 600 F". "" when the mode is private or the file cannot be stat'ed.
std::string LooseModeWarning(const std::string& path);

}  // namespace shoal::cli
