#include "scheduler/job_output.h"

#include <algorithm>
#include <utility>

#include "common/log.h"

namespace shoal {

JobOutput::JobOutput(Store* store, const QuotaOptions& quotas) : store_(store), quotas_(quotas) {}

void JobOutput::AppendLogs(int64_t job_id, int attempt, int rank, int64_t now,
                           const std::vector<std::string>& lines) {
  Status st = store_->AppendLogs(job_id, attempt, rank, now, lines);
  if (!st.ok()) {
    LOG_ERROR << "storing logs of job " << job_id << ": " << st.ToString();
    return;
  }
  const int64_t cap = quotas_.job_log_bytes;
  if (cap <= 0) return;
  auto [it, first] = log_bytes_.try_emplace(job_id, 0);
  if (first) {
    // Once per job and scheduler start; this includes the lines just appended.
    auto stored = store_->LogBytes(job_id);
    if (!stored.ok()) {
      LOG_ERROR << "log size of job " << job_id << ": " << stored.status().ToString();
      log_bytes_.erase(it);
      return;
    }
    it->second = *stored;
  } else {
    for (const auto& l : lines) it->second += static_cast<int64_t>(l.size());
  }
  if (it->second <= cap) return;
  // Down to three quarters of the cap, so that the scan and delete happen once per quarter.
  auto kept = store_->DropOldestLogs(
      job_id, cap / 4 * 3,
      "[shoal] older lines of this job's log were dropped: it keeps the newest " +
          std::to_string(cap >> 20) + " MiB (the scheduler's jobLogBytes)");
  if (!kept.ok()) {
    LOG_ERROR << "dropping old logs of job " << job_id << ": " << kept.status().ToString();
    return;
  }
  it->second = *kept;
}

void JobOutput::AppendMetric(int64_t job_id, int attempt, int64_t now,
                             const nlohmann::json& point) {
  Status st = store_->AppendMetric(job_id, attempt, now, point);
  if (!st.ok()) {
    LOG_ERROR << "storing metrics of job " << job_id << ": " << st.ToString();
    return;
  }
  const int64_t cap = quotas_.job_metric_points;
  if (cap <= 0) return;
  auto [it, first] = metric_points_.try_emplace(job_id, 0);
  if (first) {
    auto n = store_->MetricCount(job_id);
    if (!n.ok()) {
      metric_points_.erase(it);
      return;
    }
    it->second = *n;
  } else {
    ++it->second;
  }
  if (it->second <= cap) return;
  st = store_->ThinMetrics(job_id);
  if (!st.ok()) {
    LOG_ERROR << "thinning metrics of job " << job_id << ": " << st.ToString();
    return;
  }
  it->second -= it->second / 4;  // every other point of the older half
}

void JobOutput::Expire(int64_t now, const std::map<int64_t, Job>& jobs) {
  if (now < next_log_expiry_ms_) return;
  next_log_expiry_ms_ = now + 60000;
  const int64_t cutoff = now - quotas_.log_retention_ms;
  std::vector<std::pair<int64_t, int64_t>> expired;  // (finished_ms, id)
  for (const auto& [id, job] : jobs) {
    if (IsTerminal(job.state) && job.finished_ms >= logs_expired_before_ms_ &&
        job.finished_ms < cutoff) {
      expired.emplace_back(job.finished_ms, id);
    }
  }
  // At most kBatch jobs a pass (one transaction on the event loop); the rest next cycle.
  constexpr size_t kBatch = 1000;
  int64_t watermark = cutoff;
  if (expired.size() > kBatch) {
    std::nth_element(expired.begin(), expired.begin() + kBatch - 1, expired.end());
    expired.resize(kBatch);
    std::sort(expired.begin(), expired.end());
    // Jobs that ended in the same millisecond as the last one taken come again next pass
    // (deleting nothing twice is harmless), unless the whole batch ended in it.
    watermark = expired.back().first + (expired.front().first == expired.back().first);
    next_log_expiry_ms_ = now;
  }
  if (!expired.empty()) {
    std::vector<int64_t> ids;
    for (const auto& e : expired) ids.push_back(e.second);
    Status st = store_->DeleteJobLogs(ids);
    if (!st.ok()) {
      LOG_ERROR << "deleting the logs of " << ids.size() << " ended jobs: " << st.ToString();
      return;  // tried again next minute
    }
    for (int64_t id : ids) {
      log_bytes_.erase(id);
      metric_points_.erase(id);
    }
    if (logs_expired_before_ms_ > 0) {
      LOG_INFO << "deleted the logs and metrics of " << ids.size() << " jobs that ended over "
               << quotas_.log_retention_ms / 3600000 << " h ago";
    }
  }
  logs_expired_before_ms_ = watermark;
}

}  // namespace shoal
