// Gloo collectives over TCP (halving-doubling all-reduce on sync-mode pairs), rendezvoused
// through a gloo::rendezvous::Store.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <gloo/rendezvous/store.h>

#include "kernels/collectives/collective.h"

namespace shoal {

struct GlooOptions {
  std::string address = "127.0.0.1";  // this rank's address, reachable by its peers
  // Longest any collective (and the initial connection) may take before the rank gives up: a
  // dead peer fails the attempt instead of hanging it.
  std::chrono::milliseconds timeout{60000};
};

// Connects rank `rank` of `size` to its peers through `store`. Unavailable on failure (the
// message says which step failed). The store must outlive the call only.
Result<std::unique_ptr<Collective>> MakeGlooCollective(int rank, int size,
                                                       gloo::rendezvous::Store& store,
                                                       const GlooOptions& options);

}  // namespace shoal
