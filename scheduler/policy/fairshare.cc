// fairshare: the account furthest below its share of the pool goes first (Slurm's classic
// fair-share factor 2^(-usage/shares)), then priority, then submission order.
#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include "scheduler/policy/order.h"
#include "scheduler/policy/policy.h"

namespace shoal {

std::vector<FairShare> FairShareFactors(const Snapshot& snapshot) {
  std::map<std::string, FairShare> rated;
  std::map<std::string, std::pair<double, double>> ledger;  // contributed, used
  for (const auto& a : snapshot.accounts) {
    ledger[a.name] = {std::max(0.0, a.contributed_gpu_s), std::max(0.0, a.used_gpu_s)};
  }
  for (const auto& j : snapshot.queue) ledger.try_emplace(j.account, 0.0, 0.0);
  for (const auto& r : snapshot.running) ledger.try_emplace(r.account, 0.0, 0.0);
  const double n = static_cast<double>(ledger.size());
  double contributed = 0, used = 0;
  for (const auto& [name, cu] : ledger) {
    contributed += cu.first;
    used += cu.second;
  }
  // Every account gets a floor share so that a non-contributor is served last, never starved.
  const double floor = contributed > 0 ? contributed / (10.0 * n) : 1.0;
  const double shares_total = contributed + floor * n;
  std::vector<FairShare> out;
  out.reserve(ledger.size());
  for (const auto& [name, cu] : ledger) {
    FairShare f;
    f.account = name;
    f.share = (cu.first + floor) / shares_total;
    f.usage = used > 0 ? cu.second / used : 0.0;
    f.factor = std::exp2(-f.usage / f.share);
    out.push_back(f);
  }
  return out;
}

namespace policy_internal {

FactorMap FactorByAccount(const Snapshot& snapshot) {
  FactorMap factor;
  for (const FairShare& f : FairShareFactors(snapshot)) factor[f.account] = f.factor;
  return factor;
}

std::vector<int> FairShareOrder(const Snapshot& snapshot, const FactorMap& factor) {
  // The factor is per account, so look it up once per job rather than in every comparison. Every
  // queued job's account is rated (FairShareFactors).
  std::vector<double> key(snapshot.queue.size());
  for (size_t i = 0; i < key.size(); ++i) key[i] = factor.at(snapshot.queue[i].account);
  std::vector<int> order(snapshot.queue.size());
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
