// ChunkStore: the dataset registry's chunks on the scheduler's disk (issue 14), addressed by the
// SHA-256 of their bytes: <dir>/<first two hex digits>/<all 64 hex digits>. A chunk is written
// once: its bytes are checked against its name, written to a temporary file, fsync'd and renamed
// into place, so a reader never sees part of one and a crash leaves at most a temporary (removed
// by Open). Storing bytes that are already stored is a no-op, whoever stores them: that is what
// makes a re-push of a slightly changed dataset cheap.
//
// Sealing (encryption at rest for a private dataset's chunks): a store opened with a data key
// keeps each chunk as SealChunk(key, bytes, aad = its id) (scheduler/registry/crypto.h:
// AES-256-GCM, nonce || ciphertext || tag), still named by the SHA-256 of the plaintext, which is
// checked before sealing. The plaintext never reaches the disk. Read authenticates and decrypts the
// whole chunk even for a range (GCM checks only whole messages). One directory holds chunks of one
// key (or plaintext ones): a chunk encrypted under two keys is two different blobs, so
// deduplication happens within a key only, and a store opened with another key, or without one,
// fails to read what it finds (Internal, like a rotted chunk).
//
// Thread-safety: every method may be called from any thread. Puts of different chunks write in
// parallel (each to its own temporary, fsync, rename); Puts of the same chunk at once write it
// once, the others wait for that write and then find it stored. A Put
// and a Remove of the same chunk at once is the caller's to avoid (the registry's reference
// counting will decide removals).
//
// Collection: a chunk's file time (mtime) is when it was last stored or mentioned by a push
// (Put of a stored chunk, Missing answering that it is stored). The registry's sweep removes
// chunks no version references whose time is older than its grace period (StaleChunks,
// RemoveIfStale), so that a push in progress never loses the chunks it was told exist.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "scheduler/registry/crypto.h"

namespace shoal {

class ChunkStore {
 public:
  // The largest chunk accepted (the manifest's bound; the chunker's maximum is 8 MiB).
  static constexpr int64_t kMaxChunkBytes = int64_t{64} << 20;

  // Creates `dir` if needed, removes leftover temporaries and counts what is stored.
  // Unavailable if the directory cannot be created or read. Without a key chunks are stored as
  // they are; with one they are sealed under it (see above).
  static Result<std::unique_ptr<ChunkStore>> Open(std::string dir);
  static Result<std::unique_ptr<ChunkStore>> Open(std::string dir, std::optional<DataKey> key);

  // Whether `id` is a chunk name: 64 lowercase hex digits (common/registry's IsChunkId).
  static bool IsChunkId(std::string_view id);

  // Stores `bytes` as chunk `id`. InvalidArgument (nothing stored) when `id` is not a chunk name,
  // the bytes are empty or over kMaxChunkBytes, or they do not hash to `id`; Unavailable on an
  // I/O error. OK at once when the chunk is already stored. *added (when given) says whether
  // this call stored it.
  Status Put(std::string_view id, std::string_view bytes, bool* added = nullptr);

  bool Has(std::string_view id) const;
  // The ids of `ids` that are not stored, in their order (what a client still has to upload).
  // Those stored are marked as mentioned now (see Collection above).
  std::vector<std::string> Missing(const std::vector<std::string>& ids) const;

  // Bytes [offset, offset + length) of a stored chunk (length -1: to its end), checked against
  // the chunk's hash when the whole chunk is read (sealed: always authenticated). NotFound when it
  // is not stored, InvalidArgument for a range outside it, Internal when the stored bytes no
  // longer match their name (sealed: do not authenticate under this store's key).
  Result<std::string> Read(std::string_view id, int64_t offset = 0, int64_t length = -1) const;
  // The size of a stored chunk's plaintext; NotFound when it is not stored, Internal when a sealed
  // chunk is shorter than its nonce and tag.
  Result<int64_t> Size(std::string_view id) const;

  // Deletes a stored chunk (OK when it was not stored).
  Status Remove(std::string_view id);

  // The chunks last stored or mentioned before `cutoff_ms` (milliseconds since the epoch).
  std::vector<std::string> StaleChunks(int64_t cutoff_ms) const;
  // Removes the chunk when it still was last stored or mentioned before `cutoff_ms` (checked
  // again now: a push may have mentioned it since StaleChunks); true when removed.
  Result<bool> RemoveIfStale(std::string_view id, int64_t cutoff_ms);

  // Chunks stored, and the bytes they take on disk (sealed: kSealOverhead more per chunk than
  // their plaintext).
  int64_t chunk_count() const;
  int64_t total_bytes() const;

 private:
  ChunkStore(std::string dir, std::optional<DataKey> key)
      : dir_(std::move(dir)), key_(std::move(key)) {}
  std::string PathOf(std::string_view id) const;
  void Touch(std::string_view id) const;
  // Put's write of a chunk this thread claimed in writing_.
  Status Write(std::string_view id, std::string_view bytes, bool* added);

  const std::string dir_;
  const std::optional<DataKey> key_;  // set: chunks are sealed under it
  mutable std::mutex mu_;             // guards the counters and writing_
  std::condition_variable written_;   // a write left writing_
  // Chunks being written now: WriteFileAtomic's temporary is named by path and process, so two
  // writes of one chunk at once would share it; different chunks never do.
  std::set<std::string, std::less<>> writing_;
  int64_t chunks_ = 0;
  int64_t bytes_ = 0;
};

}  // namespace shoal
