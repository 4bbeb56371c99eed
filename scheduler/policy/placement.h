// Gang placement: choosing worker slots for all ranks of one job at once, or none.
#pragma once

#include <optional>
#include <set>
#include <unordered_map>
#include <utility>
#include <string>
#include <string_view>
#include <vector>

#include "scheduler/policy/snapshot.h"

namespace shoal {

// Whether a GPU model name matches a requested type: `wanted` appears in `gpu_name` as whole
// words, ignoring case ("H100" matches "NVIDIA H100 80GB HBM3", not "H1000").
bool GpuTypeMatches(std::string_view wanted, std::string_view gpu_name);

// The memory `worker` offers one rank of `job`: RAM per slot for a cpu/auto rank, the GPU memory
// of gpus_per_rank GPUs for a cuda rank; 0 when the worker did not report it.
int64_t MemoryPerRank(const SnapshotJob& job, const SnapshotWorker& worker);

// Whether one rank of `job` (job.rank_memory_bytes) fits in MemoryPerRank(job, worker). True when
// either is 0 (no estimate, or a worker that does not report memory: it is let run).
bool MemoryFits(const SnapshotJob& job, const SnapshotWorker& worker);

// Whether `worker` can ever host a rank of `job`, ignoring load: its account (worker_accounts),
// backend (cuda needs
// gpus_per_rank GPUs), resources.gpuTypes (GpuTypeMatches one of them), minGpuMemoryGiB and the
// rank's memory estimate (MemoryFits).
bool WorkerFits(const SnapshotJob& job, const SnapshotWorker& worker);

// Slots a worker offers to `job` right now.
int UsableSlots(const SnapshotJob& job, const SnapshotWorker& worker);

// Free slots of all workers (a worker's negative count, when ranks outnumber its slots, is 0).
int FreeSlotsTotal(const std::vector<SnapshotWorker>& workers);

// Slots of all workers `job` could ever use (WorkerFits), busy or not. Below job.min_ranks the
// job can never start on this pool: reason Constraint.
int FittingCapacity(const SnapshotJob& job, const std::vector<SnapshotWorker>& workers);

// What `job` needs, for people: "needs 3 ranks (one slot each)" or "needs 2 ranks with 1 GPU
// each of type H100 or A100 with >= 40 GiB". The start of every wait reason's message.
std::string DescribeNeed(const SnapshotJob& job);

// When memory alone keeps `job` off `workers` (the workers that fit it otherwise have min_ranks
// slots, those whose memory also fits do not), the Constraint message with the numbers:
// "needs 1 rank (one slot each), 56.3 GiB of RAM per rank; the largest worker lends 15.2 GiB per
// slot". "" otherwise.
std::string DescribeMemoryShortfall(const SnapshotJob& job,
                                    const std::vector<SnapshotWorker>& workers);

// The bytes of the job's data (job.data) that `worker`'s cache holds, each version counted up to
// its size.
int64_t CachedBytes(const SnapshotJob& job, const SnapshotWorker& worker);

// Places between job.min_ranks and job.max_ranks ranks (as many as fit) on `workers`, or nullopt
// when fewer than min_ranks slots are free: never a partial gang. Data first: the workers that
// cache more of the job's data (CachedBytes) are used before those that cache less, so that
// fewer bytes are fetched. Among workers that cache equally much (all of them, for a job without
// registry data or when no worker caches any of it), packing, to keep whole nodes free for big
// gangs (fragmentation): a gang that fits on one worker goes to the worker with the fewest free
// slots that still holds it (best fit); a larger gang takes the emptiest workers first (fewest
// nodes) and puts its remainder on the best-fitting one. Ties by id (determinism). With
// job.preferred_gpu_types, all of this among the workers of the first listed type that holds the
// whole gang, else among the workers of all listed types; never on an unlisted type.
// Does not modify `workers`; the caller subtracts what it commits (CommitPlacement).
std::optional<std::vector<std::string>> PlaceGang(const SnapshotJob& job,
                                                  const std::vector<SnapshotWorker>& workers);

// Subtracts one free slot per rank of `placement` from `workers`.
void CommitPlacement(const std::vector<std::string>& placement,
                     std::vector<SnapshotWorker>& workers);

// The workers ordered by free slots, so that placing a gang costs O(log W) per worker it uses
// instead of PlaceGang's O(W log W): what keeps a cycle over thousands of workers and starts
// cheap. Valid only for jobs every worker fits (WorkerFits), the common case of a uniform pool,
// and that read no data any worker caches (CachedBytes is 0 everywhere: the index knows nothing
// of caches); then Place() returns exactly what PlaceGang() would on the same free slots, also
// for a job with preferred_gpu_types (heterogeneity-aware placement), for which the index keeps
// the workers of each GPU type apart too, from the first such job on.
// Not thread-safe; `workers` must outlive the index and change only through Commit().
class FreeSlotIndex {
 public:
  explicit FreeSlotIndex(std::vector<SnapshotWorker>& workers);
  std::optional<std::vector<std::string>> Place(const SnapshotJob& job);
  int free_total() const { return all_.free_total; }
  // The position of worker `id` in the workers, if it is one of them.
  std::optional<size_t> Position(std::string_view id) const {
    auto it = index_.find(id);
    return it == index_.end() ? std::nullopt : std::optional<size_t>(it->second);
  }
  // Applies a placement (from Place or PlaceGang) to the workers and the index.
  void Commit(const std::vector<std::string>& placement);

 private:
  using Key = std::pair<int, std::string_view>;  // (free slots, worker id)
  struct Group {
    std::set<Key> by_free;  // workers with at least one free slot
    int free_total = 0;
  };
  // PlaceGang's packing over the union of `groups` (disjoint sets of workers).
  static std::optional<std::vector<std::string>> PlaceIn(const std::vector<const Group*>& groups,
                                                         int free_total, const SnapshotJob& job);
  std::vector<SnapshotWorker>& workers_;
  Group all_;
  // The same by worker gpu_type, built by the first Place of a job preferring types.
  std::unordered_map<std::string_view, Group> by_type_;
  bool typed_ = false;
  std::unordered_map<std::string_view, size_t> index_;
};

}  // namespace shoal
