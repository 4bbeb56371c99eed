#include "cli/registry_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

namespace shoal::cli {

namespace {

constexpr size_t kAheadPerConnection = 2;

std::string Errno() { return std::strerror(errno); }

}  // namespace

Status FetchChunksInOrder(size_t count, int connections,
                          const std::function<Result<std::string>(size_t index)>& fetch,
                          const std::function<Status(std::string_view bytes)>& consume) {
  const size_t window = static_cast<size_t>(connections) * kAheadPerConnection;
  std::mutex mu;
  std::condition_variable changed;
  size_t next_fetch = 0, next_consume = 0;
  std::map<size_t, std::string> ready;
  Status error;
  auto work = [&] {
    for (;;) {
      size_t index = 0;
      {
        std::unique_lock<std::mutex> lock(mu);
        changed.wait(lock, [&] {
          return !error.ok() || next_fetch >= count || next_fetch < next_consume + window;
        });
        if (!error.ok() || next_fetch >= count) return;
        index = next_fetch++;
      }
      Result<std::string> bytes = fetch(index);
      std::lock_guard<std::mutex> lock(mu);
      if (!bytes.ok()) {
        if (error.ok()) error = bytes.status();
      } else {
        ready.emplace(index, std::move(bytes).value());
      }
      changed.notify_all();
    }
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < connections && static_cast<size_t>(i) < count; ++i)
    threads.emplace_back(work);
  for (size_t i = 0; i < count; ++i) {
    std::string bytes;
    {
      std::unique_lock<std::mutex> lock(mu);
      changed.wait(lock, [&] { return !error.ok() || ready.count(i) > 0; });
      if (!error.ok()) break;
      bytes = std::move(ready[i]);
      ready.erase(i);
      next_consume = i + 1;
    }
    changed.notify_all();
    Status st = consume(bytes);
    if (!st.ok()) {
      std::lock_guard<std::mutex> lock(mu);
      if (error.ok()) error = st;
      changed.notify_all();
      break;
    }
  }
  for (std::thread& t : threads) t.join();
  return error;
}

FileAssembler::FileAssembler(std::string dir, const Manifest& manifest)
    : dir_(std::move(dir)), manifest_(manifest) {}

FileAssembler::~FileAssembler() {
  if (fd_ >= 0) ::close(fd_);
}

Status FileAssembler::Start() {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec || !std::filesystem::is_directory(dir_)) {
    return FailedPrecondition("cannot create the directory " + dir_ +
                              (ec ? ": " + ec.message() : ": not a directory"));
  }
  return Status::Ok();
}

Status FileAssembler::MakeParents(const std::string& relative) {
  for (size_t slash = relative.find('/'); slash != std::string::npos;
       slash = relative.find('/', slash + 1)) {
    const std::string path = dir_ + "/" + relative.substr(0, slash);
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0) {
      if (S_ISDIR(st.st_mode)) continue;
      return FailedPrecondition(path + " exists and is not a directory (" +
                                (S_ISLNK(st.st_mode) ? "a symbolic link" : "a file") +
                                "); refusing to write through it");
    }
    if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
      return FailedPrecondition("cannot create " + path + ": " + Errno());
    }
  }
  return Status::Ok();
}

Status FileAssembler::OpenCurrent() {
  const std::string& relative = manifest_.files[file_].path;
  RETURN_IF_ERROR(MakeParents(relative));
  const std::string path = dir_ + "/" + relative;
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    if (errno == ELOOP) {
      return FailedPrecondition(path + " is a symbolic link; refusing to write through it");
    }
    return FailedPrecondition("cannot write " + path + ": " + Errno());
  }
  written_ = 0;
  return Status::Ok();
}

Status FileAssembler::CloseCurrent() {
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) {
    return FailedPrecondition("cannot write " + dir_ + "/" + manifest_.files[file_].path + ": " +
                              Errno());
  }
  ++file_;
  written_ = 0;
  return Status::Ok();
}

Status FileAssembler::Write(std::string_view bytes) {
  while (!bytes.empty()) {
    if (file_ >= manifest_.files.size())
      return Internal("the chunks hold more bytes than the files");
    if (fd_ < 0) RETURN_IF_ERROR(OpenCurrent());
    const int64_t room = manifest_.files[file_].size - written_;
    if (room == 0) {
      RETURN_IF_ERROR(CloseCurrent());
      continue;
    }
    const size_t n =
        static_cast<size_t>(std::min<int64_t>(room, static_cast<int64_t>(bytes.size())));
    const ssize_t w = ::write(fd_, bytes.data(), n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      return FailedPrecondition("cannot write " + dir_ + "/" + manifest_.files[file_].path + ": " +
                                Errno());
    }
    written_ += w;
    bytes.remove_prefix(static_cast<size_t>(w));
  }
  return Status::Ok();
}

Status FileAssembler::Finish() {
  while (file_ < manifest_.files.size()) {
    if (fd_ < 0) RETURN_IF_ERROR(OpenCurrent());
    if (written_ != manifest_.files[file_].size) {
      return Internal("the chunks end inside " + manifest_.files[file_].path);
    }
    RETURN_IF_ERROR(CloseCurrent());
  }
  return Status::Ok();
}

}  // namespace shoal::cli
