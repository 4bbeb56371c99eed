#include "scheduler/policy/queue_index.h"

#include <algorithm>
#include <cmath>

#include "scheduler/policy/order.h"

namespace shoal {

QueueIndex::QueueIndex(const PolicyOptions& options) : options_(options) {}

bool QueueIndex::Orders(const PolicyOptions& options) const {
  return options.kind == options_.kind && options.las == options_.las &&
         (!options.las || (options.las_thresholds_gpu_s == options_.las_thresholds_gpu_s &&
                           options.las_starve_factor == options_.las_starve_factor));
}

QueueIndex::Key QueueIndex::KeyOf(const SnapshotJob& job, int level) const {
  switch (options_.kind) {
    case PolicyKind::kFifo:
      return {level, 0, job.submit_ms, job.id};
    case PolicyKind::kPriority:
      return {-job.priority, level, job.submit_ms, job.id};
    case PolicyKind::kFairShare:
      break;
  }
  return {level, -job.priority, job.submit_ms, job.id};
}

void QueueIndex::SetLevelZero(Key& key) const {
  (options_.kind == PolicyKind::kPriority ? key.b : key.a) = 0;
}

int64_t QueueIndex::PromotionMs(const SnapshotJob& job) const {
  // LasLevel's guard fires once the job has waited las_starve_factor x (attained / ranks): a
  // first guess from that, then stepped to the exact first instant by LasLevel itself (it
  // decides in doubles).
  const int64_t since = job.queued_ms > 0 ? job.queued_ms : job.submit_ms;
  const double ran_s = std::max(0.0, job.attained_gpu_s) / std::max(1, job.max_ranks);
  const double wait_ms = options_.las_starve_factor * ran_s * 1000.0;
  if (!(wait_ms < 1e15)) return 0;  // never within any replay (or NaN): no promotion
  auto fired = [&](int64_t t) { return policy_internal::LasLevel(job, t, options_) == 0; };
  int64_t t = since + static_cast<int64_t>(std::ceil(wait_ms));
  while (fired(t - 1)) --t;
  while (!fired(t)) ++t;
  return t;
}

void QueueIndex::Push(std::vector<SnapshotJob>& queue, SnapshotJob job, int64_t now_ms) {
  const int level = options_.las ? policy_internal::LasLevel(job, now_ms, options_) : 0;
  Items& bucket = buckets_[options_.kind == PolicyKind::kFairShare ? job.account : std::string()];
  Where w;
  w.bucket = &bucket;
  w.it = bucket.insert(Item{KeyOf(job, level), static_cast<int>(queue.size())}).first;
  if (level > 0) {
    w.promote_ms = PromotionMs(job);
    if (w.promote_ms > 0) promotions_.push({w.promote_ms, job.id});
  }
  where_[job.id] = w;
  queue.push_back(std::move(job));
}

bool QueueIndex::Erase(std::vector<SnapshotJob>& queue, int64_t id) {
  auto found = where_.find(id);
  if (found == where_.end()) return false;
  const int pos = found->second.it->pos;
  found->second.bucket->erase(found->second.it);
  where_.erase(found);
  if (static_cast<size_t>(pos) + 1 != queue.size()) {
    queue[pos] = std::move(queue.back());
    where_.at(queue[pos].id).it->pos = pos;
  }
  queue.pop_back();
  return true;
}

void QueueIndex::Advance(int64_t now_ms) {
  while (!promotions_.empty() && promotions_.top().first <= now_ms) {
    const auto [when, id] = promotions_.top();
    promotions_.pop();
    auto found = where_.find(id);
    // Gone, or queued again since (a later attempt has its own promotion).
    if (found == where_.end() || found->second.promote_ms != when) continue;
    Where& w = found->second;
    Item item = *w.it;
    SetLevelZero(item.key);
    w.bucket->erase(w.it);
    w.it = w.bucket->insert(item).first;
    w.promote_ms = 0;
  }
}

std::vector<std::string_view> QueueIndex::Accounts() const {
  std::vector<std::string_view> out;
  if (options_.kind != PolicyKind::kFairShare) return out;
  for (const auto& [account, items] : buckets_) {
    if (!items.empty()) out.push_back(account);
  }
  return out;
}

void QueueIndex::ForEach(const std::function<double(std::string_view)>& factor_of,
                         const std::function<bool(int)>& visit) const {
  // The buckets by factor, best first; buckets of equal factor are one group, merged by key
  // (the orderings compare factors exactly, so "equal" is ==).
  std::vector<std::pair<double, const Items*>> order;
  for (const auto& [account, items] : buckets_) {
    if (items.empty()) continue;
    order.push_back({options_.kind == PolicyKind::kFairShare ? factor_of(account) : 0.0, &items});
  }
  std::stable_sort(order.begin(), order.end(),
                   [](const auto& x, const auto& y) { return x.first > y.first; });
  std::vector<std::pair<Items::const_iterator, Items::const_iterator>> heads;
  for (size_t begin = 0; begin < order.size();) {
    size_t end = begin + 1;
    while (end < order.size() && order[end].first == order[begin].first) ++end;
    if (end == begin + 1) {
      for (const Item& item : *order[begin].second) {
        if (!visit(item.pos)) return;
      }
    } else {
      heads.clear();
      for (size_t k = begin; k < end; ++k) {
        heads.push_back({order[k].second->begin(), order[k].second->end()});
      }
      // A few accounts at most: the least head by a scan.
      while (true) {
        size_t best = heads.size();
        for (size_t k = 0; k < heads.size(); ++k) {
          if (heads[k].first == heads[k].second) continue;
          if (best == heads.size() || heads[k].first->key < heads[best].first->key) best = k;
        }
        if (best == heads.size()) break;
        if (!visit(heads[best].first->pos)) return;
        ++heads[best].first;
      }
    }
    begin = end;
  }
}

}  // namespace shoal
