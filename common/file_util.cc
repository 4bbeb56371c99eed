#include "common/file_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>

namespace shoal {
namespace {

Status Errno(const std::string& what) { return Unavailable(what + ": " + std::strerror(errno)); }

}  // namespace

std::string DirOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

Status SyncDir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno("opening directory " + dir);
  const int rc = ::fsync(fd);
  ::close(fd);
  return rc == 0 ? Status::Ok() : Errno("fsync " + dir);
}

Status WriteFileAtomic(const std::string& path,
                       const std::function<Status(const ChunkWriter&)>& fill, mode_t mode) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return Errno("creating " + tmp);
  // A temporary left by a crash keeps its old mode through O_CREAT: set it before writing.
  if (::fchmod(fd, mode) != 0) {
    Status st = Errno("chmod " + tmp);
    ::close(fd);
    ::unlink(tmp.c_str());
    return st;
  }
  int write_errno = 0;
  ChunkWriter write = [&](const void* data, size_t bytes) {
    const char* p = static_cast<const char*>(data);
    while (bytes > 0) {
      const ssize_t n = ::write(fd, p, bytes);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        write_errno = n < 0 ? errno : EIO;
        return false;
      }
      p += n;
      bytes -= static_cast<size_t>(n);
    }
    return true;
  };
  Status st = fill(write);
  if (st.ok() && write_errno != 0) {
    errno = write_errno;
    st = Errno("writing " + tmp);
  }
  if (st.ok() && ::fsync(fd) != 0) st = Errno("fsync " + tmp);
  if (::close(fd) != 0 && st.ok()) st = Errno("closing " + tmp);
  if (st.ok() && std::rename(tmp.c_str(), path.c_str()) != 0) st = Errno("renaming to " + path);
  if (!st.ok()) {
    ::unlink(tmp.c_str());
    return st;
  }
  return SyncDir(DirOf(path));
}

Status WriteFileAtomic(const std::string& path, std::string_view content, mode_t mode) {
  return WriteFileAtomic(
      path,
      [&](const ChunkWriter& write) {
        return write(content.data(), content.size()) ? Status::Ok()
                                                     : Unavailable("short write to " + path);
      },
      mode);
}

Result<std::string> ReadTokenFile(const std::string& path) {
  ASSIGN_OR_RETURN(std::string token, ReadFileLimited(path, 4096));
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
  return token;
}

Result<std::string> ReadFileLimited(const std::string& path, int64_t max_bytes) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return NotFound(path + " does not exist");
    return Errno("stat " + path);
  }
  if (!S_ISREG(st.st_mode)) return InvalidArgument(path + " is not a regular file");
  if (st.st_size > max_bytes) {
    return InvalidArgument(path + " is " + std::to_string(st.st_size) + " bytes, more than the " +
                           std::to_string(max_bytes) + " allowed");
  }
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Errno("opening " + path);
  std::string out(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (got < out.size()) {
    const ssize_t n = ::read(fd, out.data() + got, out.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  if (got != out.size())
    return Unavailable("reading " + path + ": the file changed while it was read");
  return out;
}

}  // namespace shoal
