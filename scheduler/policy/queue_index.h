// An incremental queue order for callers that decide often on a large queue that changes little
// between decisions. shoal-sim replays ~300k cycles over ~2,600 queued jobs on average, and
// Decide(snapshot, options) orders the whole queue in every one of them (bench/README.md "sim").
// A QueueIndex keeps the jobs sorted as they come and go, so that Decide(snapshot, options,
// index) takes them in the policy's order and stops reading where the pass stops.
//
// Contract: the index is built only through Push/Erase on the very vector that becomes
// snapshot.queue (which may then be in any order: Erase moves the last job into the gap), and
// with the options Decide gets. Jobs are not changed while queued, except their
// preferred_gpu_types (which no ordering reads). Given that, Decide with the index returns the
// same decisions as without it (tests/unit/scheduler/policy_test.cc checks this on random pools
// and shoal-sim's own test on whole replays).
//
// Thread-safety: none; one owner.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <queue>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "scheduler/policy/policy.h"
#include "scheduler/policy/snapshot.h"

namespace shoal {

class QueueIndex {
 public:
  explicit QueueIndex(const PolicyOptions& options);

  // Appends `job` to `queue` and indexes it as queued at `now_ms` (+las: its level then).
  void Push(std::vector<SnapshotJob>& queue, SnapshotJob job, int64_t now_ms);
  // Removes job `id` from `queue`; the last job takes its place. False if it is not indexed.
  bool Erase(std::vector<SnapshotJob>& queue, int64_t id);
  size_t size() const { return where_.size(); }
  // Whether it orders as `options` do (the same ordering and +las settings).
  bool Orders(const PolicyOptions& options) const;

  // For Decide (policy.cc). +las: moves the jobs whose starvation guard fires by `now_ms` to the
  // first level (times only go forward).
  void Advance(int64_t now_ms);
  // The accounts of queued jobs (fairshare buckets them by account; other orderings: empty).
  std::vector<std::string_view> Accounts() const;
  // Visits positions in the queue in the policy's order until `visit` returns false.
  // `factor_of(account)` rates each account (fairshare only).
  void ForEach(const std::function<double(std::string_view)>& factor_of,
               const std::function<bool(int)>& visit) const;

 private:
  // The order within a bucket: fifo (level, 0, submission), priority (-priority, level,
  // submission), fairshare (level, -priority, submission), where submission = (submit_ms, id).
  struct Key {
    int a = 0;
    int b = 0;
    int64_t submit_ms = 0;
    int64_t id = 0;
    auto operator<=>(const Key&) const = default;
  };
  struct Item {
    Key key;
    mutable int pos = 0;  // in the queue vector; Erase moves the last job
    bool operator<(const Item& o) const { return key < o.key; }
  };
  using Items = std::set<Item>;
  struct Where {
    Items* bucket = nullptr;
    Items::iterator it;
    int64_t promote_ms = 0;  // +las: when its starvation guard fires (0 = never, or already)
  };

  Key KeyOf(const SnapshotJob& job, int level) const;
  void SetLevelZero(Key& key) const;
  // +las: the first instant >= now_ms at which the starvation guard puts `job` at level 0.
  int64_t PromotionMs(const SnapshotJob& job) const;

  PolicyOptions options_;
  // One bucket per account for fairshare (its factor changes every cycle, so buckets are merged
  // in factor order then), one in all for the other orderings.
  std::map<std::string, Items, std::less<>> buckets_;
  std::unordered_map<int64_t, Where> where_;
  using Promotion = std::pair<int64_t, int64_t>;  // when, job id
  std::priority_queue<Promotion, std::vector<Promotion>, std::greater<Promotion>> promotions_;
};

}  // namespace shoal
