// The API's views of the scheduler's records (docs/api.md): the job and worker views of
// common/wire/ built from the records. Who may see what of a worker is the Api's decision
// (Api::WorkerJson); these show everything.
#pragma once

#include <nlohmann/json.hpp>

#include "common/wire/job_view.h"
#include "common/wire/worker_view.h"
#include "scheduler/state/records.h"

namespace shoal {

// `detail` adds the attempts, the spec and the timeline (GET /v1/jobs/{id}).
wire::JobView JobViewOf(const Job& job, bool detail);
// In full, without the ranks it runs (usedSlots 0, ranks empty): the Api adds those.
wire::WorkerView WorkerViewOf(const Worker& w);

// Their JSON: wire::ToJson of the views above.
nlohmann::json ToJson(const Job& job, bool detail);
nlohmann::json ToJson(const Worker& w);

}  // namespace shoal
