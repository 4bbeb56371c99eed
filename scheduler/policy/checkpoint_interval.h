// Checkpoint intervals for volatile pools (issue 19 item 7), shared by the daemon (Young/Daly
// intervals per attempt, configs/scheduler.yaml `youngDaly`) and shoal-sim (`--young-daly`).
// Pure functions.
#pragma once

#include <vector>

namespace shoal {

// Young's approximation, as Daly uses it: the checkpoint interval (s) that minimises the expected
// time lost to writing checkpoints and redoing work after failures, sqrt(2 x cost x MTBF), for a
// gang whose mean time between failures is `gang_mtbf_s`. 0 when either is not positive (no
// failures or free checkpoints: no interval to balance).
double YoungDalyIntervalS(double checkpoint_cost_s, double gang_mtbf_s);

// The MTBF of a gang that stops when any of its workers fails: 1 / sum(1 / mtbf) over the
// workers' MTBFs (seconds; a worker appearing twice counts once per rank's share of it, i.e. as
// given). 0 for an empty list or a non-positive MTBF.
double GangMtbfS(const std::vector<double>& worker_mtbf_s);

}  // namespace shoal
