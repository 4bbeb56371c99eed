// Gloo collectives over TCP (halving-doubling all-reduce), rendezvoused through a
// gloo::rendezvous::Store.
#pragma once

#include <chrono>
#include <cstdint>
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

  // How pairs move data. Sync: the calling thread writes and reads its sockets itself — ~5x
  // faster for the demo model's 0.94 MB gradient when compute runs between calls (bench/README.md,
  // "Gloo modes"), but messages must fit the socket buffers, so large all-reduces go in chunks of
  // net.core.wmem_max bytes. Async: Gloo's device thread does the I/O; no size limit. Auto: sync
  // when wmem_max >= kSyncMinWmemMax (with stock kernels' 208 KiB the chunks cost more than sync
  // mode saves), else async. The ranks agree when they connect: sync only if every rank chose it,
  // with the smallest chunk any of them needs.
  enum class Mode { kAuto, kSync, kAsync };
  Mode mode = Mode::kAuto;
};

inline constexpr int64_t kSyncMinWmemMax = int64_t{1} << 20;

// Connects rank `rank` of `size` to its peers through `store`. Unavailable on failure (the
// message says which step failed). The store must outlive the call only.
Result<std::unique_ptr<Collective>> MakeGlooCollective(int rank, int size,
                                                       gloo::rendezvous::Store& store,
                                                       const GlooOptions& options);

}  // namespace shoal
