#include "worker/agent/worker_name.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <utility>

namespace shoal {

namespace {

// The host name as a file-name part: anything but [A-Za-z0-9._-] becomes '_'.
std::string FileSafe(const std::string& s) {
  std::string out = s;
  for (char& c : out) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) c = '_';
  }
  return out;
}

}  // namespace

std::string WorkerNameLock::DefaultLockDir() {
  const char* runtime = std::getenv("XDG_RUNTIME_DIR");
  std::error_code ec;
  if (runtime != nullptr && *runtime != '\0' && std::filesystem::is_directory(runtime, ec)) {
    return runtime;
  }
  return "/tmp";
}

Result<WorkerNameLock> WorkerNameLock::Acquire(const std::string& host, const std::string& lock_dir,
                                               int max_index) {
  std::error_code ec;
  std::filesystem::create_directories(lock_dir, ec);
  if (ec) return Internal("cannot create " + lock_dir + ": " + ec.message());
  const std::string stem = lock_dir + "/shoal-worker-" + FileSafe(host) + "-";
  for (int n = 0; n < max_index; ++n) {
    const std::string path = stem + std::to_string(n) + ".lock";
    // 0666 (less the umask): another user's agent on a shared /tmp must be able to lock it too.
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0) {
      // Another user's file that this one may not open is an index that user holds or held.
      if (errno == EACCES) continue;
      return Internal("cannot open " + path + ": " + std::strerror(errno));
    }
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) {
      return WorkerNameLock(fd, n, host + "-" + std::to_string(n));
    }
    const int err = errno;
    ::close(fd);
    if (err != EWOULDBLOCK) return Internal("cannot lock " + path + ": " + std::strerror(err));
  }
  return Unavailable("all " + std::to_string(max_index) + " worker names of host " + host +
                     " are taken (lock files " + stem + "N.lock)");
}

WorkerNameLock::WorkerNameLock(WorkerNameLock&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), index_(other.index_), name_(std::move(other.name_)) {}

WorkerNameLock& WorkerNameLock::operator=(WorkerNameLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    index_ = other.index_;
    name_ = std::move(other.name_);
  }
  return *this;
}

WorkerNameLock::~WorkerNameLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the last descriptor of the file releases the flock
}

}  // namespace shoal
