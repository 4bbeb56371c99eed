#include "common/wire/audit_report.h"

#include <algorithm>
#include <cmath>

namespace shoal::wire {
namespace {

using nlohmann::json;

bool IsHex(const json& v) {
  if (!v.is_string()) return false;
  const std::string& s = v.get_ref<const std::string&>();
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
}

bool IsFinite(const json& v) { return v.is_number() && std::isfinite(v.get<double>()); }

Status Malformed(const std::string& what, const std::string& why) {
  return InvalidArgument("malformed " + what + ": " + why);
}

}  // namespace

json ToJson(const AuditPlan& plan) {
  json j{{"nonce", plan.nonce},
         {"key", plan.key},
         {"rates", plan.rates},
         {"auditors", plan.auditors},
         {"accounts", plan.accounts},
         {"screenZ", plan.screen_z},
         {"screenMinDeviation", plan.screen_min_deviation}};
  if (plan.transparent) j["transparent"] = true;
  return j;
}

Result<AuditPlan> AuditPlanFromJson(const json& j) {
  const std::string what = "audit plan";
  if (!j.is_object()) return Malformed(what, "not an object");
  if (!j.contains("nonce") || !IsHex(j["nonce"])) return Malformed(what, "nonce must be hex");
  if (!j.contains("key") || !IsHex(j["key"])) return Malformed(what, "key must be hex");
  if (!j.contains("rates") || !j["rates"].is_array() || !j.contains("accounts") ||
      !j["accounts"].is_array() || j["rates"].size() != j["accounts"].size()) {
    return Malformed(what, "rates and accounts must be arrays of the same length");
  }
  AuditPlan plan;
  plan.nonce = j["nonce"];
  plan.key = j["key"];
  for (const json& r : j["rates"]) {
    if (!IsFinite(r) || r.get<double>() < 0 || r.get<double>() > 1) {
      return Malformed(what, "every rate must be a number in [0, 1]");
    }
    plan.rates.push_back(r.get<double>());
  }
  for (const json& a : j["accounts"]) {
    if (!a.is_string()) return Malformed(what, "every account must be a string");
    plan.accounts.push_back(a.get<std::string>());
  }
  const size_t n = plan.rates.size();
  if (!j.contains("auditors") || !j["auditors"].is_array() || j["auditors"].size() != n) {
    return Malformed(what, "auditors must be an array of one list per rank");
  }
  for (size_t q = 0; q < n; ++q) {
    const json& list = j["auditors"][q];
    const Status bad = Malformed(what, "auditors[" + std::to_string(q) +
                                           "] must list distinct ranks other than " +
                                           std::to_string(q));
    if (!list.is_array()) return bad;
    std::vector<int> ranks;
    for (const json& r : list) {
      const int64_t v = r.is_number_integer() ? r.get<int64_t>() : -1;
      if (v < 0 || v >= static_cast<int64_t>(n) || v == static_cast<int64_t>(q) ||
          std::find(ranks.begin(), ranks.end(), v) != ranks.end()) {
        return bad;
      }
      ranks.push_back(static_cast<int>(v));
    }
    plan.auditors.push_back(std::move(ranks));
  }
  if (j.contains("screenZ")) {
    if (!IsFinite(j["screenZ"]) || j["screenZ"].get<double>() <= 0) {
      return Malformed(what, "screenZ must be a positive number");
    }
    plan.screen_z = j["screenZ"].get<double>();
  }
  if (j.contains("screenMinDeviation")) {
    if (!IsFinite(j["screenMinDeviation"]) || j["screenMinDeviation"].get<double>() < 0) {
      return Malformed(what, "screenMinDeviation must be a number >= 0");
    }
    plan.screen_min_deviation = j["screenMinDeviation"].get<double>();
  }
  if (j.contains("transparent")) {
    if (!j["transparent"].is_boolean()) return Malformed(what, "transparent must be a boolean");
    plan.transparent = j["transparent"].get<bool>();
  }
  return plan;
}

json ToJson(const audit::Commitment& c) {
  json j{{"hash", c.hash}, {"norm", c.norm}, {"sketch", c.sketch}, {"config", c.config}};
  if (!c.projections.empty()) j["projections"] = c.projections;
  return j;
}

Result<audit::Commitment> CommitmentFromJson(const json& j) {
  const std::string what = "commitment";
  if (!j.is_object()) return Malformed(what, "not an object");
  if (!j.contains("hash") || !IsHex(j["hash"]) ||
      j["hash"].get_ref<const std::string&>().size() != 64) {
    return Malformed(what, "hash must be 64 hex digits");
  }
  if (!j.contains("norm") || !IsFinite(j["norm"]) || j["norm"].get<double>() < 0) {
    return Malformed(what, "norm must be a finite number >= 0");
  }
  if (!j.contains("sketch") || !j["sketch"].is_array() ||
      j["sketch"].size() != static_cast<size_t>(audit::kSketchBuckets) ||
      !std::all_of(j["sketch"].begin(), j["sketch"].end(), IsFinite)) {
    return Malformed(
        what, "sketch must hold " + std::to_string(audit::kSketchBuckets) + " finite numbers");
  }
  if (!j.contains("config") || !j["config"].is_string()) {
    return Malformed(what, "config must be a string");
  }
  if (j.contains("projections") &&
      (!j["projections"].is_array() ||
       j["projections"].size() != static_cast<size_t>(audit::kSumProjections) ||
       !std::all_of(j["projections"].begin(), j["projections"].end(), IsFinite))) {
    return Malformed(what, "projections must hold " + std::to_string(audit::kSumProjections) +
                               " finite numbers");
  }
  audit::Commitment c;
  if (j.contains("projections")) c.projections = j["projections"].get<std::vector<double>>();
  c.hash = j["hash"];
  c.norm = j["norm"];
  c.sketch = j["sketch"].get<std::vector<double>>();
  c.config = j["config"];
  return c;
}

const char* ToString(AuditRole role) {
  switch (role) {
    case AuditRole::kAuditee:
      return "auditee";
    case AuditRole::kAuditor:
      return "auditor";
    case AuditRole::kArbiter:
      return "arbiter";
  }
  return "auditee";
}

json ToJson(const AuditRecord& r) {
  json j{{"type", "audit"},      {"step", r.step},         {"role", ToString(r.role)},
         {"rank", r.rank},       {"auditee", r.auditee},   {"auditor", r.auditor},
         {"arbiter", r.arbiter}, {"screened", r.screened}, {"commitment", ToJson(r.commitment)}};
  if (!r.verdict.empty()) j["verdict"] = r.verdict;
  if (r.revealed) j["revealed"] = ToJson(*r.revealed);
  return j;
}

Result<AuditRecord> AuditRecordFromJson(const json& j) {
  const std::string what = "audit record";
  if (!j.is_object()) return Malformed(what, "not an object");
  for (const char* key : {"step", "rank", "auditee", "auditor"}) {
    if (!j.contains(key) || !j[key].is_number_integer() || j[key].get<int64_t>() < 0) {
      return Malformed(what, std::string(key) + " must be an integer >= 0");
    }
  }
  AuditRecord r;
  r.step = j["step"];
  r.rank = j["rank"];
  r.auditee = j["auditee"];
  r.auditor = j["auditor"];
  if (j.contains("arbiter")) {
    if (!j["arbiter"].is_number_integer() || j["arbiter"].get<int64_t>() < -1) {
      return Malformed(what, "arbiter must be an integer >= -1");
    }
    r.arbiter = j["arbiter"];
  }
  const std::string role =
      j.contains("role") && j["role"].is_string() ? j["role"].get<std::string>() : "";
  if (role == "auditee") {
    r.role = AuditRole::kAuditee;
  } else if (role == "auditor") {
    r.role = AuditRole::kAuditor;
  } else if (role == "arbiter") {
    r.role = AuditRole::kArbiter;
  } else {
    return Malformed(what, "role must be auditee, auditor or arbiter");
  }
  if (j.contains("screened")) {
    if (!j["screened"].is_boolean()) return Malformed(what, "screened must be a boolean");
    r.screened = j["screened"];
  }
  if (j.contains("verdict")) {
    if (!j["verdict"].is_string()) return Malformed(what, "verdict must be a string");
    r.verdict = j["verdict"];
  }
  if (!j.contains("commitment")) return Malformed(what, "commitment is missing");
  auto c = CommitmentFromJson(j["commitment"]);
  if (!c.ok()) return Malformed(what, c.status().message());
  r.commitment = std::move(*c);
  if (j.contains("revealed")) {
    if (r.role == AuditRole::kAuditee) return Malformed(what, "an auditee reveals nothing");
    auto revealed = CommitmentFromJson(j["revealed"]);
    if (!revealed.ok()) return Malformed(what, "revealed: " + revealed.status().message());
    r.revealed = std::move(*revealed);
  }
  return r;
}

bool IsAttestation(const json& j) {
  return j.is_object() && j.contains("type") && j["type"] == "attest";
}

json ToJson(const Attestation& a) {
  return json{{"type", "attest"}, {"step", a.step}, {"rank", a.rank}, {"digest", a.digest}};
}

Result<Attestation> AttestationFromJson(const json& j) {
  const std::string what = "attestation";
  if (!j.is_object()) return Malformed(what, "not an object");
  for (const auto& [key, most] : {std::pair<const char*, int64_t>{"step", int64_t{1} << 62},
                                  std::pair<const char*, int64_t>{"rank", int64_t{1} << 20}}) {
    if (!j.contains(key) || !j[key].is_number_integer() || j[key].get<int64_t>() < 0 ||
        j[key].get<int64_t>() > most) {
      return Malformed(what,
                       std::string(key) + " must be an integer in 0.." + std::to_string(most));
    }
  }
  if (!j.contains("digest") || !IsHex(j["digest"]) ||
      j["digest"].get_ref<const std::string&>().size() != 64) {
    return Malformed(what, "digest must be 64 hex digits");
  }
  return Attestation{j["step"].get<int64_t>(), j["rank"].get<int>(), j["digest"]};
}

}  // namespace shoal::wire
