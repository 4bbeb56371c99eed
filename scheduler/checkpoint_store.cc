#include "scheduler/checkpoint_store.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "common/audit/state_digest.h"
#include "common/file_util.h"
#include "common/safetensors.h"
#include "common/sha256.h"
#include "scheduler/audit/rollback.h"

namespace shoal {
namespace fs = std::filesystem;

namespace {

std::string StepName(int64_t step) {
  char name[40];
  std::snprintf(name, sizeof(name), "ckpt-%012lld", static_cast<long long>(step));
  return name;
}

std::optional<CheckpointRecord> ParseRecord(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  try {
    CheckpointRecord r;
    r.step = j.at("step").get<int64_t>();
    r.attempt = j.at("attempt").get<int>();
    r.bytes = j.at("bytes").get<int64_t>();
    r.sha256 = j.at("sha256").get<std::string>();
    r.created_ms = j.at("createdMs").get<int64_t>();
    r.digest = j.value("digest", "");  // absent from records stored before attestations
    return r;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

}  // namespace

nlohmann::json ToJson(const CheckpointRecord& r) {
  return {{"step", r.step},     {"attempt", r.attempt},      {"bytes", r.bytes},
          {"sha256", r.sha256}, {"createdMs", r.created_ms}, {"digest", r.digest}};
}

Result<std::unique_ptr<CheckpointStore>> CheckpointStore::Open(std::string dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Unavailable("cannot create " + dir + ": " + ec.message());
  std::unique_ptr<CheckpointStore> store(new CheckpointStore(dir));
  // Uploads a crash interrupted are garbage: the uploader retries or the attempt is gone.
  fs::remove_all(store->spool_dir(), ec);
  fs::create_directories(store->spool_dir(), ec);
  if (ec) return Unavailable("cannot create " + store->spool_dir() + ": " + ec.message());
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("job-", 0) != 0) continue;
    char* end = nullptr;
    const long long job = std::strtoll(name.c_str() + 4, &end, 10);
    if (*end == '\0' && job > 0) store->Recount(job);
  }
  return store;
}

void CheckpointStore::Recount(int64_t job) {
  int64_t total = 0;
  for (const CheckpointRecord& r : List(job)) total += r.bytes;
  std::lock_guard<std::mutex> lock(mu_);
  if (total > 0) {
    bytes_[job] = total;
  } else {
    bytes_.erase(job);
  }
}

int64_t CheckpointStore::JobBytes(int64_t job) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = bytes_.find(job);
  return it == bytes_.end() ? 0 : it->second;
}

std::map<int64_t, int64_t> CheckpointStore::BytesByJob() const {
  std::lock_guard<std::mutex> lock(mu_);
  return bytes_;
}

int64_t CheckpointStore::BytesAfterPut(int64_t job, int64_t step, int64_t bytes,
                                       const CheckpointKeep& keep) const {
  // As Put prunes, the new one among them.
  std::vector<std::pair<int64_t, int64_t>> all = {{step, bytes}};  // (step, bytes)
  for (const CheckpointRecord& r : List(job)) {
    if (r.step != step) all.emplace_back(r.step, r.bytes);
  }
  std::sort(all.begin(), all.end());
  std::vector<int64_t> steps;
  for (const auto& [s, b] : all) steps.push_back(s);
  const std::vector<bool> kept = audit::KeptCheckpoints(steps, keep.newest, keep.rollback_points);
  int64_t total = 0;
  for (size_t i = 0; i < all.size(); ++i) total += kept[i] ? all[i].second : 0;
  return total;
}

std::string CheckpointStore::JobDir(int64_t job) const {
  return dir_ + "/job-" + std::to_string(job);
}

Result<CheckpointRecord> CheckpointStore::Put(int64_t job, int attempt, int64_t step,
                                              std::string_view bytes, std::string_view sha256,
                                              const CheckpointKeep& keep, int64_t now_ms) {
  const std::string actual = Sha256Hex(bytes);
  if (sha256 != actual) {
    return InvalidArgument("checksum mismatch: the upload's SHA-256 is " + actual + ", not " +
                           std::string(sha256.substr(0, 64)) + " (corrupted in transit?)");
  }
  auto parsed = IndexSafetensors(bytes);
  if (!parsed.ok()) return InvalidArgument("not a valid checkpoint: " + parsed.status().message());
  const std::string dir = JobDir(job);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Unavailable("cannot create " + dir + ": " + ec.message());
  CheckpointRecord r{step,   attempt, static_cast<int64_t>(bytes.size()),
                     actual, now_ms,  audit::StateDigest(bytes, *parsed)};
  RETURN_IF_ERROR(WriteFileAtomic(dir + "/" + StepName(step) + ".safetensors", bytes));
  return Record(job, r, keep);
}

Result<CheckpointRecord> CheckpointStore::PutFile(int64_t job, int attempt, int64_t step,
                                                  std::string* path, int64_t bytes,
                                                  std::string_view actual_sha256,
                                                  std::string_view claimed_sha256,
                                                  const CheckpointKeep& keep, int64_t now_ms) {
  if (claimed_sha256 != actual_sha256) {
    return InvalidArgument("checksum mismatch: the upload's SHA-256 is " +
                           std::string(actual_sha256) + ", not " +
                           std::string(claimed_sha256.substr(0, 64)) + " (corrupted in transit?)");
  }
  std::string digest;
  {
    // Validated through a read-only mapping; the state digest reads it all once.
    const int fd = ::open(path->c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Unavailable("cannot open " + *path + ": " + std::strerror(errno));
    void* map = bytes > 0
                    ? ::mmap(nullptr, static_cast<size_t>(bytes), PROT_READ, MAP_PRIVATE, fd, 0)
                    : MAP_FAILED;
    Status valid = InvalidArgument("not a valid checkpoint: empty upload");
    if (map != MAP_FAILED) {
      const std::string_view view(static_cast<const char*>(map), static_cast<size_t>(bytes));
      auto parsed = IndexSafetensors(view);
      valid = parsed.ok() ? Status::Ok()
                          : InvalidArgument("not a valid checkpoint: " + parsed.status().message());
      if (parsed.ok()) digest = audit::StateDigest(view, *parsed);
      ::munmap(map, static_cast<size_t>(bytes));
    } else if (bytes > 0) {
      valid = Unavailable("cannot map " + *path + ": " + std::strerror(errno));
    }
    // Durable before it is renamed into place (the record follows it).
    if (valid.ok() && ::fsync(fd) != 0) {
      valid = Unavailable("fsync " + *path + ": " + std::strerror(errno));
    }
    ::close(fd);
    RETURN_IF_ERROR(valid);
  }
  const std::string dir = JobDir(job);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Unavailable("cannot create " + dir + ": " + ec.message());
  const std::string data = dir + "/" + StepName(step) + ".safetensors";
  if (::rename(path->c_str(), data.c_str()) != 0) {
    return Unavailable("cannot move the upload to " + data + ": " + std::strerror(errno));
  }
  path->clear();
  RETURN_IF_ERROR(SyncDir(dir));
  return Record(job, {step, attempt, bytes, std::string(actual_sha256), now_ms, std::move(digest)},
                keep);
}

Result<CheckpointRecord> CheckpointStore::Record(int64_t job, const CheckpointRecord& r,
                                                 const CheckpointKeep& keep) {
  const std::string dir = JobDir(job);
  RETURN_IF_ERROR(WriteFileAtomic(dir + "/" + StepName(r.step) + ".json", ToJson(r).dump()));
  std::error_code ec;
  std::vector<CheckpointRecord> all = List(job);
  std::vector<int64_t> steps;
  for (const CheckpointRecord& c : all) steps.push_back(c.step);
  const std::vector<bool> kept = audit::KeptCheckpoints(steps, keep.newest, keep.rollback_points);
  for (size_t i = 0; i < all.size(); ++i) {
    if (kept[i]) continue;
    const std::string old = dir + "/" + StepName(all[i].step);
    fs::remove(old + ".json", ec);  // the record first: a data file without one is ignored
    fs::remove(old + ".safetensors", ec);
  }
  Recount(job);
  return r;
}

std::vector<CheckpointRecord> CheckpointStore::List(int64_t job) const {
  std::vector<CheckpointRecord> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(JobDir(job), ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("ckpt-", 0) != 0 || e.path().extension() != ".json") continue;
    auto text = ReadFileLimited(e.path().string(), 4096);
    if (!text.ok()) continue;
    auto r = ParseRecord(*text);
    if (!r || StepName(r->step) + ".json" != name) continue;
    out.push_back(*r);
  }
  std::sort(out.begin(), out.end(),
            [](const CheckpointRecord& a, const CheckpointRecord& b) { return a.step < b.step; });
  return out;
}

std::optional<CheckpointRecord> CheckpointStore::Latest(int64_t job, int before_attempt) const {
  std::optional<CheckpointRecord> best;
  for (const CheckpointRecord& r : List(job)) {
    if (before_attempt > 0 && r.attempt >= before_attempt) continue;
    best = r;  // List is by step
  }
  return best;
}

Result<std::string> CheckpointStore::Read(int64_t job, int64_t step) const {
  const std::string base = JobDir(job) + "/" + StepName(step);
  auto record_text = ReadFileLimited(base + ".json", 4096);
  if (!record_text.ok()) {
    return NotFound("job " + std::to_string(job) + " has no checkpoint at step " +
                    std::to_string(step));
  }
  auto record = ParseRecord(*record_text);
  if (!record) return Internal("the record of " + base + " is unreadable");
  ASSIGN_OR_RETURN(std::string bytes, ReadFileLimited(base + ".safetensors", record->bytes));
  if (Sha256Hex(bytes) != record->sha256) {
    return Internal(base + ".safetensors no longer matches its SHA-256: the disk corrupted it");
  }
  return bytes;
}

void CheckpointStore::RemoveJob(int64_t job) {
  std::error_code ec;
  fs::remove_all(JobDir(job), ec);
  std::lock_guard<std::mutex> lock(mu_);
  bytes_.erase(job);
}

}  // namespace shoal
