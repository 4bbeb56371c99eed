// fairshare: the account furthest below its share of the pool goes first (Slurm's classic
// fair-share factor 2^(-usage/shares)), then priority, then submission order.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "scheduler/policy/order.h"
#include "scheduler/policy/policy.h"
#include "scheduler/policy/queue_index.h"

namespace shoal {

namespace {

// Distinct names first: thousands of queued jobs (hundreds of running ones) of a few accounts are
// an index or a hash each, not a name each to sort.
struct DistinctAccounts {
  void Add(const std::string& account, int account_id) {
    if (account_id >= 0) {
      if (static_cast<size_t>(account_id) >= seen_id.size()) seen_id.resize(account_id + 1, 0);
      if (seen_id[account_id]) return;
      seen_id[account_id] = 1;
      names.push_back(account);
    } else if (seen.insert(account).second) {
      names.push_back(account);
    }
  }
  std::vector<std::string_view> names;
  std::unordered_set<std::string_view> seen;  // accounts without an account_id
  std::vector<char> seen_id;                  // by account_id, where given
};

// FairShareFactors, with the queued jobs' accounts given (`named`: each at least once, any order).
std::vector<FairShare> RateAccounts(const Snapshot& snapshot, std::vector<std::string_view> named) {
  // Flat vectors sorted by name, not maps: shoal-sim rates a few accounts every cycle, and the
  // sums below run in name order either way.
  struct Entry {
    std::string_view name;
    double contributed = 0, used = 0;
  };
  auto by_name = [](const Entry& a, const Entry& b) { return a.name < b.name; };
  std::vector<Entry> ledger;
  ledger.reserve(snapshot.accounts.size());
  for (const auto& a : snapshot.accounts) {
    ledger.push_back({a.name, std::max(0.0, a.contributed_gpu_s), std::max(0.0, a.used_gpu_s)});
  }
  // A name listed twice: the last entry counts.
  std::stable_sort(ledger.begin(), ledger.end(), by_name);
  size_t kept = 0;
  for (size_t i = 0; i < ledger.size(); ++i) {
    if (i + 1 < ledger.size() && ledger[i + 1].name == ledger[i].name) continue;
    ledger[kept++] = ledger[i];
  }
  ledger.resize(kept);
  // Every account with a queued or running job is rated.
  DistinctAccounts running;
  for (const auto& r : snapshot.running) running.Add(r.account, r.account_id);
  named.insert(named.end(), running.names.begin(), running.names.end());
  std::sort(named.begin(), named.end());
  named.erase(std::unique(named.begin(), named.end()), named.end());
  const size_t listed = ledger.size();
  for (const std::string_view name : named) {
    if (!std::binary_search(ledger.begin(), ledger.begin() + static_cast<ptrdiff_t>(listed),
                            Entry{name}, by_name)) {
      ledger.push_back({name});
    }
  }
  std::inplace_merge(ledger.begin(), ledger.begin() + static_cast<ptrdiff_t>(listed), ledger.end(),
                     by_name);
  const double n = static_cast<double>(ledger.size());
  double contributed = 0, used = 0;
  for (const Entry& e : ledger) {
    contributed += e.contributed;
    used += e.used;
  }
  // Every account gets a floor share so that a non-contributor is served last, never starved.
  const double floor = contributed > 0 ? contributed / (10.0 * n) : 1.0;
  const double shares_total = contributed + floor * n;
  std::vector<FairShare> out;
  out.reserve(ledger.size());
  for (const Entry& e : ledger) {
    FairShare f;
    f.account = e.name;
    f.share = (e.contributed + floor) / shares_total;
    f.usage = used > 0 ? e.used / used : 0.0;
    f.factor = std::exp2(-f.usage / f.share);
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace

std::vector<FairShare> FairShareFactors(const Snapshot& snapshot) {
  DistinctAccounts queued;
  for (const auto& j : snapshot.queue) queued.Add(j.account, j.account_id);
  return RateAccounts(snapshot, std::move(queued.names));
}

namespace policy_internal {

FactorMap FactorByAccount(const Snapshot& snapshot, const QueueIndex* index) {
  return FactorMap(index != nullptr ? RateAccounts(snapshot, index->Accounts())
                                    : FairShareFactors(snapshot));
}

const FairShare* FactorMap::Find(std::string_view account) const {
  auto it = std::lower_bound(rated_.begin(), rated_.end(), account,
                             [](const FairShare& f, std::string_view a) { return f.account < a; });
  return it != rated_.end() && it->account == account ? &*it : nullptr;
}

double FactorMap::at(std::string_view account) const {
  const FairShare* f = Find(account);
  if (f == nullptr)
    throw std::out_of_range("no fair-share factor for account " + std::string(account));
  return f->factor;
}

double FactorMap::Get(std::string_view account, double otherwise) const {
  const FairShare* f = Find(account);
  return f == nullptr ? otherwise : f->factor;
}

double FactorLookup::operator()(const SnapshotJob& job) {
  if (job.account_id >= 0) {
    if (static_cast<size_t>(job.account_id) >= by_id_.size()) {
      by_id_.resize(job.account_id + 1, std::nan(""));
    }
    double& f = by_id_[job.account_id];
    if (std::isnan(f)) f = factor_.at(job.account);
    return f;
  }
  auto [it, added] = by_name_.try_emplace(job.account, 0.0);
  if (added) it->second = factor_.at(job.account);
  return it->second;
}

std::vector<int> FairShareOrder(const Snapshot& snapshot, const FactorMap& factor) {
  const size_t n = snapshot.queue.size();
  FactorLookup factor_of(factor);
  std::vector<int> order(n);
  // The usual case: the queue is in submission order already (the daemon's by id, shoal-sim's by
  // construction). Then the order is the (factor, priority) groups, best first, each in queue
  // order: what the sort below gives, as a counting sort in two passes over the queue (this runs
  // every cycle: the first pass also checks the submission order and counts each group).
  // Distinct (factor, priority) pairs are few (accounts x priorities): a linear search that
  // starts at the last hit, or, with account_id, the group that account's jobs of that priority
  // fell in last time.
  std::vector<std::pair<double, int>> groups;
  std::vector<int> count;
  std::vector<int> group_of(n);
  std::vector<std::pair<int, int>> by_account_id;  // priority, group (-1, -1: none yet)
  size_t last = 0;
  bool sorted = true;
  for (size_t i = 0; i < n; ++i) {
    const SnapshotJob& job = snapshot.queue[i];
    if (i > 0 && SubmittedBefore(job, snapshot.queue[i - 1])) {
      sorted = false;
      break;
    }
    std::pair<int, int>* cached = nullptr;
    if (job.account_id >= 0) {
      if (static_cast<size_t>(job.account_id) >= by_account_id.size()) {
        by_account_id.resize(job.account_id + 1, {-1, -1});
      }
      cached = &by_account_id[job.account_id];
      if (cached->second >= 0 && cached->first == job.priority) {
        group_of[i] = cached->second;
        ++count[cached->second];
        continue;
      }
    }
    const std::pair<double, int> g{factor_of(job), job.priority};
    if (last >= groups.size() || groups[last] != g) {
      last = std::find(groups.begin(), groups.end(), g) - groups.begin();
      if (last == groups.size()) {
        groups.push_back(g);
        count.push_back(0);
      }
    }
    group_of[i] = static_cast<int>(last);
    ++count[last];
    if (cached != nullptr) *cached = {job.priority, static_cast<int>(last)};
  }
  if (sorted) {
    std::vector<int> by_rank(groups.size());
    std::iota(by_rank.begin(), by_rank.end(), 0);
    std::sort(by_rank.begin(), by_rank.end(), [&](int a, int b) { return groups[a] > groups[b]; });
    std::vector<int> next(groups.size());  // where each group's next job goes
    int at = 0;
    for (const int g : by_rank) {
      next[g] = at;
      at += count[g];
    }
    for (size_t i = 0; i < n; ++i) order[next[group_of[i]]++] = static_cast<int>(i);
    return order;
  }
  std::vector<double> key(n);
  for (size_t i = 0; i < n; ++i) key[i] = factor_of(snapshot.queue[i]);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    if (key[a] != key[b]) return key[a] > key[b];
    const SnapshotJob& x = snapshot.queue[a];
    const SnapshotJob& y = snapshot.queue[b];
    return x.priority != y.priority ? x.priority > y.priority : SubmittedBefore(x, y);
  });
  return order;
}

}  // namespace policy_internal
}  // namespace shoal
