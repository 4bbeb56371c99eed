#include "scheduler/state/state_dir_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace shoal {

Result<std::unique_ptr<StateDirLock>> StateDirLock::Acquire(const std::string& state_dir) {
  if (::mkdir(state_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return Unavailable("cannot create state dir " + state_dir + ": " + std::strerror(errno));
  }
  std::string path = state_dir + "/scheduler.lock";
  // O_CLOEXEC: the trainers and helpers a scheduler might spawn must not inherit the lock.
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Unavailable("cannot open " + path + ": " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    std::string holder;
    if (err == EWOULDBLOCK) {
      char buf[32] = {};
      ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
      while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' ')) buf[--n] = '\0';
      holder = n > 0 ? std::string("pid ") + buf : "pid unknown";
    }
    ::close(fd);
    if (err == EWOULDBLOCK) {
      return FailedPrecondition("state dir " + state_dir +
                                " is in use by another shoal-scheduler (" + holder + ", lock " +
                                path + "); stop it first or choose another --state-dir");
    }
    return Unavailable("cannot lock " + path + ": " + std::strerror(err));
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 ||
      ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    const int err = errno;
    ::close(fd);
    return Unavailable("cannot write " + path + ": " + std::strerror(err));
  }
  return std::unique_ptr<StateDirLock>(new StateDirLock(fd, std::move(path)));
}

StateDirLock::~StateDirLock() { ::close(fd_); }

}  // namespace shoal
