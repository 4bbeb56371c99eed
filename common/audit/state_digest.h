// The digest of a checkpoint's training state (docs/audits.md "Checkpoints"): what every rank of
// an audited attempt attests after a step rank 0 may checkpoint, and what the scheduler computes
// from the file rank 0 uploads. Honest ranks hold bit-identical parameters and optimizer state, so
// their digests agree; a rank 0 that writes other weights than it trained is seen.
//
// The digest is SHA-256 over the tensors in name order (name, rank, dimensions, byte length, and
// the BLAKE3 hash of the bytes) and then the metadata values that decide how training resumes
// (kResumeKeys, in order, "" when absent). The other metadata (loss and timing sums, kept for
// reports) differ between ranks and are left out. The file's header layout, padding and tensor
// order do not matter. Pure and thread-safe.
#pragma once

#include <array>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/safetensors.h"

namespace shoal::audit {

// A checkpoint's metadata that a resumed run reads its position and model from.
inline constexpr std::array<std::string_view, 6> kResumeKeys = {
    "format", "seed", "step", "epoch", "epochSamples", "worldSize"};

// The digest (64 hex digits) of tensors about to be written with `metadata`.
std::string StateDigest(const std::vector<TensorView>& tensors,
                        const std::map<std::string, std::string>& metadata);

// The digest of a safetensors file's bytes as IndexSafetensors indexed them (`bytes` must be the
// whole file `index` came from).
std::string StateDigest(std::string_view bytes, const SafetensorsIndex& index);

}  // namespace shoal::audit
