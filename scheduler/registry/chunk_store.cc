#include "scheduler/registry/chunk_store.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <system_error>

#include "common/file_util.h"
#include "common/registry/manifest.h"  // IsChunkId
#include "common/sha256.h"

namespace shoal {

namespace fs = std::filesystem;

namespace {

// WriteFileAtomic's temporaries are "<name>.tmp<...>"; anything that is not a chunk name is one.
bool IsLeftover(const std::string& name) { return !ChunkStore::IsChunkId(name); }

}  // namespace

bool ChunkStore::IsChunkId(std::string_view id) { return shoal::IsChunkId(id); }

Result<std::unique_ptr<ChunkStore>> ChunkStore::Open(std::string dir) {
  return Open(std::move(dir), std::nullopt);
}

Result<std::unique_ptr<ChunkStore>> ChunkStore::Open(std::string dir, std::optional<DataKey> key) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Unavailable("cannot create chunk directory " + dir + ": " + ec.message());
  std::unique_ptr<ChunkStore> store(new ChunkStore(dir, std::move(key)));
  for (const auto& sub : fs::directory_iterator(dir, ec)) {
    if (!sub.is_directory()) continue;
    for (const auto& f : fs::directory_iterator(sub.path(), ec)) {
      const std::string name = f.path().filename().string();
      if (IsLeftover(name)) {
        fs::remove(f.path(), ec);  // a write that a crash interrupted
        continue;
      }
      ++store->chunks_;
      store->bytes_ += static_cast<int64_t>(f.file_size(ec));
    }
  }
  if (ec) return Unavailable("cannot read chunk directory " + dir + ": " + ec.message());
  return store;
}

std::string ChunkStore::PathOf(std::string_view id) const {
  return dir_ + "/" + std::string(id.substr(0, 2)) + "/" + std::string(id);
}

Status ChunkStore::Put(std::string_view id, std::string_view bytes, bool* added) {
  if (added != nullptr) *added = false;
  if (!IsChunkId(id)) {
    return InvalidArgument(
        "a chunk is named by the SHA-256 of its bytes (64 lowercase hex "
        "digits), not \"" +
        std::string(id.substr(0, 80)) + "\"");
  }
  if (bytes.empty() || static_cast<int64_t>(bytes.size()) > kMaxChunkBytes) {
    return InvalidArgument("chunk " + std::string(id) + " has " + std::to_string(bytes.size()) +
                           " bytes; a chunk has 1 to " + std::to_string(kMaxChunkBytes));
  }
  if (Sha256Hex(bytes) != id) {
    return InvalidArgument("chunk " + std::string(id) +
                           ": its bytes do not hash to its name (corrupted in transit?)");
  }
  // Claim the id: a concurrent Put of the same chunk waits here, then finds it stored (or, when
  // that write failed, writes it itself).
  {
    std::unique_lock<std::mutex> lock(mu_);
    written_.wait(lock, [&] { return writing_.find(id) == writing_.end(); });
    if (Has(id)) {
      Touch(id);  // a push that relies on it keeps it from the sweep
      return Status::Ok();
    }
    writing_.emplace(id);
  }
  Status st = Write(id, bytes, added);
  {
    std::lock_guard<std::mutex> lock(mu_);
    writing_.erase(writing_.find(id));
  }
  written_.notify_all();
  return st;
}

Status ChunkStore::Write(std::string_view id, std::string_view bytes, bool* added) {
  const std::string path = PathOf(id);
  std::error_code ec;
  fs::create_directories(DirOf(path), ec);
  if (ec) return Unavailable("cannot create " + DirOf(path) + ": " + ec.message());
  std::string sealed;
  if (key_.has_value()) {
    ASSIGN_OR_RETURN(sealed, SealChunk(*key_, bytes, id));
  }
  const std::string_view stored = key_.has_value() ? std::string_view(sealed) : bytes;
  RETURN_IF_ERROR(WriteFileAtomic(path, stored));
  std::lock_guard<std::mutex> lock(mu_);
  ++chunks_;
  bytes_ += static_cast<int64_t>(stored.size());
  if (added != nullptr) *added = true;
  return Status::Ok();
}

bool ChunkStore::Has(std::string_view id) const {
  if (!IsChunkId(id)) return false;
  struct stat st {};
  return ::stat(PathOf(id).c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

void ChunkStore::Touch(std::string_view id) const {
  ::utimensat(AT_FDCWD, PathOf(id).c_str(), nullptr, 0);  // both times: now
}

std::vector<std::string> ChunkStore::Missing(const std::vector<std::string>& ids) const {
  std::vector<std::string> missing;
  for (const auto& id : ids) {
    if (!Has(id)) {
      missing.push_back(id);
    } else {
      Touch(id);
    }
  }
  return missing;
}

Result<int64_t> ChunkStore::Size(std::string_view id) const {
  struct stat st {};
  if (!IsChunkId(id) || ::stat(PathOf(id).c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return NotFound("chunk " + std::string(id.substr(0, 80)) + " is not stored");
  }
  if (!key_.has_value()) return static_cast<int64_t>(st.st_size);
  if (st.st_size < kSealOverhead) {
    return Internal("stored chunk " + std::string(id) + " is shorter than a sealed chunk's " +
                    std::to_string(kSealOverhead) + " bytes of nonce and tag");
  }
  return static_cast<int64_t>(st.st_size) - kSealOverhead;
}

Result<std::string> ChunkStore::Read(std::string_view id, int64_t offset, int64_t length) const {
  ASSIGN_OR_RETURN(int64_t size, Size(id));
  if (length < 0) length = size - offset;
  if (offset < 0 || length < 0 || offset > size || length > size - offset) {
    return InvalidArgument("bytes " + std::to_string(offset) + "+" + std::to_string(length) +
                           " are outside chunk " + std::string(id) + " (" + std::to_string(size) +
                           " bytes)");
  }
  if (key_.has_value()) {
    Result<std::string> blob = ReadFileLimited(PathOf(id), kMaxChunkBytes + kSealOverhead);
    if (!blob.ok()) {
      if (blob.status().code() != StatusCode::kInvalidArgument) return blob.status();
      return Internal("stored chunk " + std::string(id) + ": " + blob.status().message());
    }
    Result<std::string> plain = OpenChunk(*key_, *blob, id);
    if (!plain.ok()) {
      return Internal("stored chunk " + std::string(id) + " does not authenticate (rotted, " +
                      "tampered with, or sealed under another key)");
    }
    if (static_cast<int64_t>(plain->size()) != size) {
      return Unavailable("chunk " + std::string(id) + " changed while it was read");
    }
    if (offset == 0 && length == size) return plain;
    return plain->substr(static_cast<size_t>(offset), static_cast<size_t>(length));
  }
  std::ifstream in(PathOf(id), std::ios::binary);
  std::string out(static_cast<size_t>(length), '\0');
  in.seekg(offset);
  in.read(out.data(), length);
  if (!in) return Unavailable("reading chunk " + std::string(id) + " failed");
  if (offset == 0 && length == size && Sha256Hex(out) != id) {
    return Internal("stored chunk " + std::string(id) + " no longer matches its hash");
  }
  return out;
}

Status ChunkStore::Remove(std::string_view id) {
  if (!IsChunkId(id)) return Status::Ok();
  std::error_code ec;
  const std::string path = PathOf(id);
  const auto size = fs::file_size(path, ec);
  if (ec) return Status::Ok();  // not stored
  if (!fs::remove(path, ec) || ec) {
    return Unavailable("cannot remove chunk " + std::string(id) + ": " + ec.message());
  }
  std::lock_guard<std::mutex> lock(mu_);
  --chunks_;
  bytes_ -= static_cast<int64_t>(size);
  return Status::Ok();
}

namespace {

int64_t MtimeMs(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1000000;
}

}  // namespace

std::vector<std::string> ChunkStore::StaleChunks(int64_t cutoff_ms) const {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& sub : fs::directory_iterator(dir_, ec)) {
    if (!sub.is_directory(ec)) continue;
    for (const auto& f : fs::directory_iterator(sub.path(), ec)) {
      const std::string name = f.path().filename().string();
      struct stat st {};
      if (IsChunkId(name) && ::stat(f.path().c_str(), &st) == 0 && MtimeMs(st) < cutoff_ms) {
        out.push_back(name);
      }
    }
  }
  return out;
}

Result<bool> ChunkStore::RemoveIfStale(std::string_view id, int64_t cutoff_ms) {
  struct stat st {};
  if (!IsChunkId(id) || ::stat(PathOf(id).c_str(), &st) != 0 || MtimeMs(st) >= cutoff_ms) {
    return false;
  }
  RETURN_IF_ERROR(Remove(id));
  return true;
}

int64_t ChunkStore::chunk_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return chunks_;
}

int64_t ChunkStore::total_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return bytes_;
}

}  // namespace shoal
