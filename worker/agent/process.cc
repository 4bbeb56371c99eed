#include "worker/agent/process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

extern char** environ;

namespace shoal {

Result<SpawnedProcess> Spawn(const SpawnOptions& options) {
  if (options.argv.empty()) return InvalidArgument("empty argv");
  int fds[2];
  if (!options.output_file.empty()) {
    fds[0] = -1;
    fds[1] = ::open(options.output_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fds[1] < 0) {
      return Internal("open " + options.output_file + ": " + std::strerror(errno));
    }
  } else if (::pipe2(fds, O_CLOEXEC) != 0) {
    return Internal(std::string("pipe: ") + std::strerror(errno));
  }

  // Everything the child needs is prepared before fork: only async-signal-safe calls after it.
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry = *e;
    std::string key = entry.substr(0, entry.find('='));
    if (options.env.count(key) == 0) env_strings.push_back(entry);
  }
  for (const auto& [k, v] : options.env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp, argv;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = options.argv;
  for (auto& s : args) argv.push_back(s.data());
  argv.push_back(nullptr);
  pid_t parent = ::getpid();

  pid_t pid = ::fork();
  if (pid < 0) {
    if (fds[0] >= 0) ::close(fds[0]);
    ::close(fds[1]);
    return Internal(std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    ::setpgid(0, 0);
    sigset_t none;  // the worker blocks SIGTERM for its signal thread; trainers must not inherit it
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // the worker died between fork and prctl
    ::dup2(fds[1], STDOUT_FILENO);
    ::dup2(fds[1], STDERR_FILENO);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
    if (!options.cwd.empty() && ::chdir(options.cwd.c_str()) != 0) {
      const char msg[] = "shoal-worker: cannot enter the rank's work directory\n";
      ssize_t ignored = ::write(STDERR_FILENO, msg, sizeof(msg) - 1);
      (void)ignored;
      ::_exit(127);
    }
    ::execve(argv[0], argv.data(), envp.data());
    const char msg[] = "shoal-worker: cannot execute the trainer: ";
    ssize_t ignored = ::write(STDERR_FILENO, msg, sizeof(msg) - 1);
    const char* err = std::strerror(errno);
    ignored = ::write(STDERR_FILENO, err, std::strlen(err));
    ignored = ::write(STDERR_FILENO, "\n", 1);
    (void)ignored;
    ::_exit(127);
  }
  ::setpgid(pid, pid);  // also from the parent, so a signal right after Spawn reaches the group
  ::close(fds[1]);
  return SpawnedProcess{pid, fds[0]};
}

void SignalGroup(pid_t pid, int sig) {
  if (pid > 0) ::kill(-pid, sig);
}

namespace {
ExitInfo Decode(int status) {
  ExitInfo info;
  if (WIFEXITED(status)) {
    info.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    info.signal = WTERMSIG(status);
    info.exit_code = 128 + info.signal;
  }
  return info;
}
}  // namespace

ExitInfo WaitForExit(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return Decode(status);
}

bool TryReap(pid_t pid, ExitInfo* info) {
  int status = 0;
  pid_t r = ::waitpid(pid, &status, WNOHANG);
  if (r == pid) {
    *info = Decode(status);
    return true;
  }
  return r < 0;  // not our child any more (already reaped)
}

}  // namespace shoal
