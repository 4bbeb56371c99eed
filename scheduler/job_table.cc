#include "scheduler/job_table.h"

namespace shoal {

void JobTable::Restore(Job job) {
  if (!job.idempotency_key.empty()) by_key_[{job.owner, job.idempotency_key}] = job.id;
  if (!IsTerminal(job.state)) ++active_[job.owner];
  const int64_t id = job.id;
  jobs_.emplace(id, std::move(job));
}

JobTable::Staged JobTable::Stage(const std::vector<Job>& jobs) const {
  Staged staged;
  staged.repeat_of.assign(jobs.size(), 0);
  staged.same_as.assign(jobs.size(), -1);
  staged.rows.reserve(jobs.size());
  std::map<std::pair<std::string, std::string>, int> in_batch;
  for (size_t i = 0; i < jobs.size(); ++i) {
    const Job& job = jobs[i];
    if (!job.idempotency_key.empty()) {
      const auto key = std::make_pair(job.owner, job.idempotency_key);
      if (auto it = by_key_.find(key); it != by_key_.end()) {
        staged.repeat_of[i] = it->second;
        continue;
      }
      if (auto [it, added] = in_batch.emplace(key, static_cast<int>(i)); !added) {
        staged.same_as[i] = it->second;
        continue;
      }
    }
    staged.rows.push_back(&job);
  }
  return staged;
}

Job& JobTable::Install(Job job) {
  if (!job.idempotency_key.empty()) by_key_[{job.owner, job.idempotency_key}] = job.id;
  ++active_[job.owner];
  const int64_t id = job.id;
  return jobs_.emplace(id, std::move(job)).first->second;
}

void JobTable::Ended(const Job& job) {
  auto it = active_.find(job.owner);
  if (it != active_.end() && --it->second <= 0) active_.erase(it);
}

int64_t JobTable::active(const std::string& owner) const {
  auto it = active_.find(owner);
  return it == active_.end() ? 0 : it->second;
}

const Job* JobTable::Find(int64_t id) const {
  auto it = jobs_.find(id);
  return it == jobs_.end() ? nullptr : &it->second;
}

Job* JobTable::Find(int64_t id) {
  auto it = jobs_.find(id);
  return it == jobs_.end() ? nullptr : &it->second;
}

const Job* JobTable::FindByKey(const std::string& owner, const std::string& key) const {
  auto it = by_key_.find({owner, key});
  return it == by_key_.end() ? nullptr : Find(it->second);
}

}  // namespace shoal
