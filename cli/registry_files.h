// The local side of `shoal data pull` (cli/registry_transfer.h): fetching a manifest's chunks with
// several connections while consuming them in stream order, and writing the stream out as the
// manifest's files under a directory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "common/registry/manifest.h"
#include "common/status.h"

namespace shoal::cli {

// Calls fetch(0..count-1) on `connections` threads, at most a few chunks per thread ahead of the
// consumer, and consume(bytes) on the calling thread strictly in index order. The first error of
// either stops everything (the threads are joined) and is returned.
Status FetchChunksInOrder(size_t count, int connections,
                          const std::function<Result<std::string>(size_t index)>& fetch,
                          const std::function<Status(std::string_view bytes)>& consume);

// Writes the concatenated stream of a valid manifest's files under `dir`. Not thread-safe.
class FileAssembler {
 public:
  // `manifest` must be valid (ParseManifest checked it) and outlive the assembler.
  FileAssembler(std::string dir, const Manifest& manifest);
  ~FileAssembler();
  FileAssembler(const FileAssembler&) = delete;
  FileAssembler& operator=(const FileAssembler&) = delete;

  // Every error is FailedPrecondition, naming the local path: the scheduler is not at fault.
  // Creates `dir` (and its parents) when missing.
  Status Start();
  // The next bytes of the stream. Directories are created as needed; a path component inside dir
  // that exists as a symbolic link or a non-directory (or a file that is a symbolic link) is
  // refused: nothing is written through it.
  Status Write(std::string_view bytes);
  // Creates the trailing empty files and closes the last one. Internal when the stream was
  // shorter than the files.
  Status Finish();

 private:
  Status OpenCurrent();
  Status MakeParents(const std::string& relative);
  Status CloseCurrent();

  std::string dir_;
  const Manifest& manifest_;
  size_t file_ = 0;      // the file being written
  int64_t written_ = 0;  // bytes of it written
  int fd_ = -1;
};

}  // namespace shoal::cli
