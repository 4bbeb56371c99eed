#include "scheduler/job_trace.h"

#include <algorithm>
#include <charconv>
#include <string_view>

namespace shoal {
namespace {

// Whole seconds, to the nearest: rounding every time up (or down) would bias a replay of short
// jobs by half a second each (bench/README.md "replay").
int64_t Seconds(int64_t ms) { return (std::max<int64_t>(0, ms) + 500) / 1000; }

// shoal-sim splits rows on commas and has no quoting: an account name holds none (auth.h's
// charset), but a row must never shift its columns.
void AppendField(std::string& out, std::string_view s) {
  for (char c : s) out += c == ',' || c == '\n' || c == '\r' ? '_' : c;
}

}  // namespace

std::string JobTraceCsv(const std::vector<const Job*>& jobs, const TraceWindow& window,
                        int64_t now_ms) {
  std::string out =
      "job_id,submit_time_s,num_gpus,duration_s,vc,status,limit_s,queue_s,jct_s,attempts\n";
  out.reserve(out.size() + jobs.size() * 64);
  int64_t origin_ms = -1;
  for (const Job* job : jobs) {
    if (job->submitted_ms < window.since_ms) continue;
    if (window.until_ms > 0 && job->submitted_ms >= window.until_ms) continue;
    if (origin_ms < 0) origin_ms = job->submitted_ms;
    const JobSpec& spec = job->spec;
    const int per_rank =
        spec.resources.backend == Backend::kCpu ? 1 : std::max(1, spec.resources.gpus_per_worker);
    const bool started = job->started_ms > 0;  // its first attempt's start
    const bool ended = IsTerminal(job->state) && job->finished_ms > 0;
    // Appended in place: this runs on the event loop, over every job the scheduler keeps.
    auto number = [&out](int64_t v) {
      char buf[24];
      out.append(buf, std::to_chars(buf, buf + sizeof(buf), v).ptr);
    };
    out += "shoal-";
    number(job->id);
    out += ',';
    number(Seconds(job->submitted_ms - origin_ms));
    out += ',';
    number(static_cast<int64_t>(spec.workers.max) * per_rank);
    out += ',';
    if (started) number(std::max<int64_t>(1, Seconds(JobRunMs(*job, now_ms))));  // it ran
    out += ',';
    AppendField(out, job->owner);
    out += ',';
    out += ToString(job->state);
    out += ',';
    number(spec.limits.max_runtime_seconds);
    out += ',';
    if (started) number(Seconds(job->started_ms - job->submitted_ms));
    out += ',';
    if (ended) number(Seconds(job->finished_ms - job->submitted_ms));
    out += ',';
    number(static_cast<int64_t>(job->attempts.size()));
    out += '\n';
  }
  return out;
}

}  // namespace shoal
