// StateDirLock: one scheduler per state directory.
//
// Two schedulers on one --state-dir would both load the jobs, both hand out worker ids and job
// slots, and overwrite each other's rows. The lock is an exclusive flock(2) on
// <state_dir>/scheduler.lock, held for the life of the object (the kernel drops it when the
// process dies, however it dies, so a crash never leaves a stale lock behind). The file holds the
// holder's pid so that a refused start can name it.
#pragma once

#include <memory>
#include <string>

#include "common/status.h"

namespace shoal {

class StateDirLock {
 public:
  // Creates `state_dir` (0700) when missing and takes the lock without waiting. Returns
  // FailedPrecondition naming the holder's pid when another process holds it ("pid unknown" if
  // the holder had not written it yet), Unavailable when the directory or file cannot be used.
  static Result<std::unique_ptr<StateDirLock>> Acquire(const std::string& state_dir);
  ~StateDirLock();  // releases the lock (the file stays)
  StateDirLock(const StateDirLock&) = delete;
  StateDirLock& operator=(const StateDirLock&) = delete;

  const std::string& path() const { return path_; }

 private:
  StateDirLock(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  int fd_;
  std::string path_;
};

}  // namespace shoal
