// ChunkStore: the dataset registry's chunks on the scheduler's disk (issue 14), addressed by the
// SHA-256 of their bytes: <dir>/<first two hex digits>/<all 64 hex digits>. A chunk is written
// once: its bytes are checked against its name, written to a temporary file, fsync'd and renamed
// into place, so a reader never sees part of one and a crash leaves at most a temporary (removed
// by Open). Storing bytes that are already stored is a no-op, whoever stores them: that is what
// makes a re-push of a slightly changed dataset cheap.
//
// Plaintext only for now: private datasets' encryption at rest (one data key per dataset) will
// sit above this store, since a chunk encrypted under two keys is two different blobs.
//
// Thread-safety: every method may be called from any thread (Put's writes are serialised); a Put
// and a Remove of the same chunk at once is the caller's to avoid (the registry's reference
// counting will decide removals).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace shoal {

class ChunkStore {
 public:
  // The largest chunk accepted (the manifest's bound; the chunker's maximum is 8 MiB).
  static constexpr int64_t kMaxChunkBytes = int64_t{64} << 20;

  // Creates `dir` if needed, removes leftover temporaries and counts what is stored.
  // Unavailable if the directory cannot be created or read.
  static Result<std::unique_ptr<ChunkStore>> Open(std::string dir);

  // Whether `id` is a chunk name: 64 lowercase hex digits (common/registry's IsChunkId).
  static bool IsChunkId(std::string_view id);

  // Stores `bytes` as chunk `id`. InvalidArgument (nothing stored) when `id` is not a chunk name,
  // the bytes are empty or over kMaxChunkBytes, or they do not hash to `id`; Unavailable on an
  // I/O error. OK at once when the chunk is already stored. *added (when given) says whether
  // this call stored it.
  Status Put(std::string_view id, std::string_view bytes, bool* added = nullptr);

  bool Has(std::string_view id) const;
  // The ids of `ids` that are not stored, in their order (what a client still has to upload).
  std::vector<std::string> Missing(const std::vector<std::string>& ids) const;

  // Bytes [offset, offset + length) of a stored chunk (length -1: to its end), checked against
  // the chunk's hash when the whole chunk is read. NotFound when it is not stored, InvalidArgument
  // for a range outside it, Internal when the stored bytes no longer match their name.
  Result<std::string> Read(std::string_view id, int64_t offset = 0, int64_t length = -1) const;
  // The size of a stored chunk; NotFound when it is not stored.
  Result<int64_t> Size(std::string_view id) const;

  // Deletes a stored chunk (OK when it was not stored).
  Status Remove(std::string_view id);

  // Chunks stored and their bytes in all.
  int64_t chunk_count() const;
  int64_t total_bytes() const;

 private:
  explicit ChunkStore(std::string dir) : dir_(std::move(dir)) {}
  std::string PathOf(std::string_view id) const;

  const std::string dir_;
  mutable std::mutex mu_;  // guards the counters
  std::mutex write_mu_;    // serialises Put's writes
  int64_t chunks_ = 0;
  int64_t bytes_ = 0;
};

}  // namespace shoal
