// shoal-sim's per-job CSV (simulator.h, WriteJobsCsv): every job's outcome, so that anyone can
// check a replay row by row.
#include <cstdio>
#include <ostream>
#include <string>

#include "scheduler/sim/simulator.h"

namespace shoal::sim {
namespace {

// A trace's id or vc as a CSV field: quoted when it holds a comma, quote or line break.
std::string CsvField(const std::string& v) {
  if (v.find_first_of(",\"\r\n") == std::string::npos) return v;
  std::string q = "\"";
  for (char c : v) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

}  // namespace

void WriteJobsCsv(const Trace& trace, const SimResult& result, std::ostream& out,
                  const std::string& policy, bool header) {
  const std::string first = policy.empty() ? "" : CsvField(policy) + ",";
  if (header) {
    out << (policy.empty() ? "" : "policy,")
        << "job,vc,submit_s,start_s,end_s,gpus,duration_s,limit_s,starts,nodes,preemptions,"
           "resizes,timed_out,held_gpu_s,lost_gpu_s,type_speed\n";
  }
  char held[32], lost[32], limit[32], speed[32];
  for (size_t i = 0; i < result.jobs.size() && i < trace.jobs.size(); ++i) {
    const JobOutcome& o = result.jobs[i];
    std::snprintf(held, sizeof(held), "%.0f", o.held_gpu_s);
    std::snprintf(lost, sizeof(lost), "%.0f", o.lost_gpu_s);
    std::snprintf(limit, sizeof(limit), "%.0f", o.limit_s);
    std::snprintf(speed, sizeof(speed), "%.3g", o.type_speed);
    out << first << CsvField(trace.jobs[i].id) << ',' << CsvField(trace.jobs[i].vc) << ','
        << o.submit_s << ',';
    if (o.start_s >= 0) out << o.start_s;
    out << ',';
    if (o.end_s >= 0) out << o.end_s;
    out << ',' << o.gpus << ',' << o.duration_s << ',' << limit << ',' << o.starts << ',' << o.nodes
        << ',' << o.preemptions << ',' << o.resizes << ',' << (o.timed_out ? 1 : 0) << ',' << held
        << ',' << lost << ',' << speed << '\n';
  }
}

}  // namespace shoal::sim
