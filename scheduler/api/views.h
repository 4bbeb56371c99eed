// The API's views of the scheduler's records (docs/api.md): the JSON a client reads for a job, an
// attempt, a rank and a worker (camelCase).
#pragma once

#include <nlohmann/json.hpp>

#include "scheduler/state/records.h"

namespace shoal {

nlohmann::json ToJson(const RankPlacement& r);
nlohmann::json ToJson(const Attempt& a);
// `detail` adds the attempts, the spec and the timeline.
nlohmann::json ToJson(const Job& job, bool detail);
nlohmann::json ToJson(const Worker& w);

}  // namespace shoal
