// shoal status JOB: one job described field by field, with its events, like `kubectl describe`.
#include <algorithm>
#include <sstream>
#include <utility>
#include <vector>

#include "cli/commands.h"
#include "cli/format.h"
#include "cli/i18n.h"
#include "cli/json_get.h"
#include "cli/progress.h"
#include "common/wire/job_view.h"

namespace shoal::cli {

namespace {

// Writes "Label:" padded to a common width, then the value. Labels are translated by the caller;
// the padding counts terminal columns, so Chinese labels line up too.
class Describer {
 public:
  explicit Describer(std::ostream& out) : out_(out) {}
  // An empty label continues the previous field on a new line.
  void Field(const std::string& label, const std::string& value, int indent = 0) {
    std::string l = std::string(indent, ' ') + label + (label.empty() ? "" : ":");
    const size_t width = DisplayWidth(l);
    l.append(width < kWidth ? kWidth - width : 1, ' ');
    out_ << l << (value.empty() ? "-" : value) << "\n";
  }
  // A heading whose fields follow, indented.
  void Section(const std::string& label) { out_ << label << ":\n"; }

 private:
  static constexpr size_t kWidth = 20;
  std::ostream& out_;
};

// "2025-06-01 12:00:03 (5m ago)", or "-" for a time that has not happened.
std::string When(int64_t ms, int64_t now) {
  if (ms <= 0) return "-";
  return TrFormat("{0} ({1} ago)", {FormatTimestamp(ms), FormatAge(ms, now)});
}

std::string ProgressText(const json& p, int64_t now) {
  if (!HasNumber(p, "epoch")) return "-";
  std::string epoch = std::to_string(GetInt(p, "epoch", 0));
  if (HasNumber(p, "epochs")) epoch += "/" + std::to_string(GetInt(p, "epochs", 0));
  std::string s = TrFormat("epoch {0}", {epoch});
  if (HasNumber(p, "step")) s += TrFormat(", step {0}", {std::to_string(GetInt(p, "step", 0))});
  if (HasNumber(p, "loss")) s += TrFormat(", loss {0}", {FormatFixed(GetDouble(p, "loss"), 4)});
  if (HasNumber(p, "trainAccuracy")) {
    s += TrFormat(", train acc {0}", {FormatAccuracy(p, "trainAccuracy", 4)});
  }
  if (HasNumber(p, "testAccuracy")) {
    s += TrFormat(", test acc {0}", {FormatAccuracy(p, "testAccuracy", 4)});
  }
  if (HasNumber(p, "testLoss")) {
    s += TrFormat(", val loss {0}", {FormatFixed(GetDouble(p, "testLoss"), 4)});
  }
  if (HasNumber(p, "samplesPerSec")) {
    s += TrFormat(", {0} samples/s", {FormatFixed(GetDouble(p, "samplesPerSec"), 0)});
  }
  if (HasNumber(p, "tokensPerSec")) {
    s += TrFormat(", {0} tokens/s", {FormatFixed(GetDouble(p, "tokensPerSec"), 0)});
  }
  if (HasNumber(p, "mfu")) s += ", MFU " + FormatFixed(100 * GetDouble(p, "mfu"), 1) + "%";
  if (HasNumber(p, "attempt")) {
    s += TrFormat(" (attempt {0}", {std::to_string(GetInt(p, "attempt", 0))});
  }
  if (HasNumber(p, "timeMs")) {
    s += HasNumber(p, "attempt") ? ", " : " (";
    s += TrFormat("reported {0} ago", {FormatAge(GetInt(p, "timeMs", 0), now)});
  }
  if (HasNumber(p, "attempt") || HasNumber(p, "timeMs")) s += ")";
  return s;
}

void DescribeResult(Describer& d, const json& result) {
  if (result.empty()) {
    d.Field(Tr("Result"), "-");
    return;
  }
  d.Section(Tr("Result"));
  if (HasNumber(result, "testAccuracy")) {
    d.Field(Tr("Test accuracy"), FormatAccuracy(result, "testAccuracy", 4), 2);
  }
  if (HasNumber(result, "testLoss")) {
    d.Field(Tr("Test loss"), FormatFixed(GetDouble(result, "testLoss"), 4), 2);
  }
  if (HasNumber(result, "trainLoss")) {
    d.Field(Tr("Train loss"), FormatFixed(GetDouble(result, "trainLoss"), 4), 2);
  }
  if (HasNumber(result, "samplesPerSec")) {
    d.Field(Tr("Samples/s"), FormatFixed(GetDouble(result, "samplesPerSec"), 0), 2);
  }
  if (HasNumber(result, "steps")) {
    d.Field(Tr("Steps"), std::to_string(GetInt(result, "steps")), 2);
  }
  // Data-parallel ranks must end with bit-identical parameters; show whether they did.
  const json& sums = GetArray(result, "rankChecksums");
  if (!sums.empty()) {
    bool same = true;
    for (const auto& s : sums) same = same && s == sums.front();
    for (size_t r = 0; r < sums.size(); ++r) {
      std::string value =
          TrFormat("rank {0}: {1}",
                   {std::to_string(r), sums[r].is_string() ? sums[r].get<std::string>() : "-"});
      if (r + 1 == sums.size() && sums.size() > 1) {
        value += same ? Tr("  (identical on all ranks)") : Tr("  (ranks DIFFER)");
      }
      d.Field(r == 0 ? Tr("Param checksums") : "", value, 2);
    }
  } else if (result.contains("paramChecksum")) {
    d.Field(Tr("Param checksum"), GetString(result, "paramChecksum"), 2);
  }
}

void DescribeAttempts(std::ostream& out, const std::vector<wire::AttemptView>& attempts,
                      int64_t now) {
  out << Tr("Attempts") << ":\n";
  for (const auto& a : attempts) {
    const int64_t started = a.started_ms, ended = a.ended_ms;
    out << "  #" << a.number << " " << (a.state.empty() ? "?" : a.state)
        << TrFormat(", world size {0}, started {1}",
                    {std::to_string(a.world_size), When(started, now)});
    if (ended > 0 && ended >= started) {
      out << TrFormat(", ran {0}", {FormatDuration(ended - started)});
    } else if (started > 0) {
      out << TrFormat(", running for {0}", {FormatDuration(now - started)});
    }
    out << "\n";
    if (!a.reason.empty()) out << "     " << TrFormat("reason: {0}", {a.reason}) << "\n";
    // FETCHED (registry bytes downloaded for the rank) only for attempts that read registry data.
    const bool fetched = std::any_of(a.ranks.begin(), a.ranks.end(),
                                     [](const wire::RankView& r) { return r.fetched_bytes; });
    std::vector<std::string> header = {Tr("RANK"), Tr("WORKER"), Tr("STATE"), Tr("EXIT"),
                                       Tr("MESSAGE")};
    if (fetched) header.insert(header.begin() + 4, Tr("FETCHED"));
    Table ranks(header);
    for (const auto& r : a.ranks) {
      std::string exit = "";
      if (r.signal != 0) {
        exit = TrFormat("signal {0}", {std::to_string(r.signal)});
      } else if (r.exit_code) {
        exit = std::to_string(*r.exit_code);
      }
      std::vector<std::string> row = {std::to_string(r.rank), r.worker, r.state, exit,
                                      Truncate(r.message, 100)};
      if (fetched) {
        row.insert(row.begin() + 4, r.fetched_bytes ? FormatBytes(*r.fetched_bytes) : "-");
      }
      ranks.AddRow(row);
    }
    std::ostringstream table;
    ranks.Render(table);
    std::istringstream lines(table.str());
    for (std::string line; std::getline(lines, line);) out << "     " << line << "\n";
  }
}

// The job's events, oldest first, like the Events section of `kubectl describe`:
//   Events:
//     AGE   TYPE        MESSAGE
//     5m    submitted   -
//     4m    started     2 ranks on w-1, w-2
void DescribeEvents(std::ostream& out, const std::vector<wire::JobEventView>& events, int64_t now) {
  if (events.empty()) {
    Describer(out).Field(Tr("Events"), "-");
    return;
  }
  out << Tr("Events") << ":\n";
  Table table({Tr("AGE"), Tr("TYPE"), Tr("MESSAGE")});
  for (const auto& e : events) {
    table.AddRow({FormatAge(e.time_ms, now), e.type, Truncate(e.message, 120)});
  }
  std::ostringstream text;
  table.Render(text);
  std::istringstream lines(text.str());
  for (std::string line; std::getline(lines, line);) out << "  " << line << "\n";
}

}  // namespace

int CmdStatus(const CommandContext& ctx) {
  Result<int64_t> resolved = ctx.ResolveJob(ctx.args().job_refs.at(0));
  if (!resolved.ok()) return ctx.Fail(resolved.status());
  const int64_t id = *resolved;
  Result<json> reply = ctx.Call("GET", JobPath(id));
  if (!reply.ok()) {
    return ctx.Fail(reply.status(), TrFormat("job {0} not found", {std::to_string(id)}));
  }
  const json& job = *reply;
  if (ctx.json_output()) {
    ctx.PrintJson(job);
    return 0;
  }
  // Read tolerantly; a reply that is not an object shows as an empty job, as it always has.
  Result<wire::JobView> parsed = wire::JobViewFromJson(job);
  const wire::JobView view = parsed.ok() ? *std::move(parsed) : wire::JobView{};
  int64_t now = ctx.NowMs();
  std::ostream& out = ctx.out();
  Describer d(out);
  d.Field(Tr("Name"), view.name);
  d.Field(Tr("ID"), std::to_string(HasNumber(job, "id") ? view.id : id));
  d.Field(Tr("Owner"), view.owner);
  d.Field(Tr("Project"), view.project);
  d.Field(Tr("Queue"), TrFormat("{0} (priority {1})", {view.queue, std::to_string(view.priority)}));
  d.Field(Tr("State"), view.state);
  if (!ReasonText(view).empty()) d.Field(Tr("Reason"), ReasonText(view));
  if (view.state == "PENDING" && view.estimated_start_ms) {
    d.Field(Tr("Estimated start"), FormatTimestamp(*view.estimated_start_ms) + " (" +
                                       FormatEstimatedStart(view, now) + ")");
  }
  d.Field(Tr("Submitted"), When(view.submitted_ms, now));
  d.Field(Tr("Started"), When(view.started_ms, now));
  d.Field(Tr("Finished"), When(view.finished_ms, now));
  std::string workers = TrFormat("{0} requested", {std::to_string(view.workers_min) + ".." +
                                                   std::to_string(view.workers_max)});
  if (view.world_size) {
    workers += TrFormat(", world size {0}", {std::to_string(*view.world_size)});
  }
  d.Field(Tr("Workers"), workers);
  std::string placement;
  for (size_t r = 0; r < view.placement.size(); ++r) {
    if (!placement.empty()) placement += ", ";
    const std::string& node = view.placement[r];
    placement += TrFormat("rank {0} on {1}", {std::to_string(r), node.empty() ? "?" : node});
  }
  d.Field(Tr("Placement"), placement);
  d.Field(Tr("Progress"), ProgressText(view.progress, now));
  DescribeResult(d, view.result);
  if (view.output) {
    const wire::OutputView& o = *view.output;
    d.Field(Tr("Output model"),
            !o.published.empty()        ? TrFormat("{0} (published)", {o.model + "@" + o.published})
            : !o.error.empty()          ? TrFormat("{0}: not published: {1}", {o.model, o.error})
            : view.state == "SUCCEEDED" ? TrFormat("{0} (publishing)", {o.model})
                                        : TrFormat("{0} (published on success)", {o.model}));
  }
  if (!view.attempt_history || view.attempt_history->empty()) {
    d.Field(Tr("Attempts"), "-");
  } else {
    DescribeAttempts(out, *view.attempt_history, now);
  }
  // A scheduler without the events list says nothing rather than "no events".
  if (view.events) DescribeEvents(out, *view.events, now);
  return 0;
}

}  // namespace shoal::cli
