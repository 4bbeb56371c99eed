// The default name of a worker agent: "<host>-<n>", unique among the agents running on one host.
//
// Each agent holds an flock(2) on "shoal-worker-<host>-<n>.lock" for as long as it runs, taking
// the lowest n whose lock is free; so two agents started on one host without --name get
// different names (and so different worker ids), and a restarted agent takes its old name back.
// The lock files are left in place (removing a file another agent may be about to lock would let
// two agents hold "the same" lock); they are empty.
#pragma once

#include <string>

#include "common/status.h"

namespace shoal {

class WorkerNameLock {
 public:
  // Takes the lowest free index in 0..max_index-1 for `host` in `lock_dir` (created if missing).
  // The lock is held by this object's file description: another WorkerNameLock, in this process
  // or another, cannot take the same index until this one is destroyed (or the process exits,
  // even by SIGKILL). The descriptor is close-on-exec, so child processes do not keep it.
  // Unavailable when every index is taken, Internal when the directory cannot be used.
  static Result<WorkerNameLock> Acquire(const std::string& host, const std::string& lock_dir,
                                        int max_index = 1024);

  // $XDG_RUNTIME_DIR when it is set and a directory, else /tmp.
  static std::string DefaultLockDir();

  WorkerNameLock(WorkerNameLock&& other) noexcept;
  WorkerNameLock& operator=(WorkerNameLock&& other) noexcept;
  WorkerNameLock(const WorkerNameLock&) = delete;
  WorkerNameLock& operator=(const WorkerNameLock&) = delete;
  ~WorkerNameLock();  // releases the index

  const std::string& name() const { return name_; }  // "<host>-<n>"
  int index() const { return index_; }

 private:
  WorkerNameLock(int fd, int index, std::string name)
      : fd_(fd), index_(index), name_(std::move(name)) {}

  int fd_ = -1;
  int index_ = -1;
  std::string name_;
};

}  // namespace shoal
