#include "common/registry/chunker.h"

#include <algorithm>
#include <bit>
#include <utility>

namespace shoal {
namespace {

std::array<uint64_t, 256> MakeGearTable() {
  // splitmix64: state += golden gamma; the output is the state mixed by two xor-shift-multiplies.
  std::array<uint64_t, 256> table{};
  uint64_t state = kGearSeed;
  for (uint64_t& value : table) {
    state += 0x9e3779b97f4a7c15;
    uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
    z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
    value = z ^ (z >> 31);
  }
  return table;
}

// The top `bits` bits of a 64-bit word.
uint64_t TopBits(int bits) { return ~uint64_t{0} << (64 - bits); }

}  // namespace

const std::array<uint64_t, 256>& GearTable() {
  static const std::array<uint64_t, 256> table = MakeGearTable();
  return table;
}

Status ValidateChunkerParams(const ChunkerParams& p) {
  const std::string sizes = "(min " + std::to_string(p.min) + ", avg " + std::to_string(p.avg) +
                            ", max " + std::to_string(p.max) + ")";
  if (p.min < 64) return InvalidArgument("chunker: min must be at least 64 bytes " + sizes);
  if (!(p.min < p.avg && p.avg < p.max)) {
    return InvalidArgument("chunker: sizes must satisfy min < avg < max " + sizes);
  }
  if (p.avg < 256 || !std::has_single_bit(p.avg)) {
    return InvalidArgument("chunker: avg must be a power of two of at least 256 " + sizes);
  }
  if (p.max > kMaxChunkerMax) {
    return InvalidArgument("chunker: max must be at most " + std::to_string(kMaxChunkerMax) +
                           " bytes " + sizes);
  }
  return Status::Ok();
}

Result<Chunker> Chunker::Create(const ChunkerParams& params, ChunkFn on_chunk) {
  RETURN_IF_ERROR(ValidateChunkerParams(params));
  return Chunker(params, std::move(on_chunk));
}

Chunker::Chunker(const ChunkerParams& params, ChunkFn on_chunk)
    : params_(params), on_chunk_(std::move(on_chunk)) {
  const int avg_bits = std::countr_zero(params.avg);
  mask_small_ = TopBits(avg_bits + 2);
  mask_large_ = TopBits(avg_bits - 2);
}

size_t Chunker::FindCut(const uint8_t* p, size_t n) {
  const std::array<uint64_t, 256>& gear = GearTable();
  size_t i = 0;
  size_t length = length_;
  uint64_t h = hash_;
  if (length < params_.min) {  // the first min bytes are never a boundary
    const size_t skip = std::min(n, params_.min - length);
    i += skip;
    length += skip;
  }
  if (length >= params_.min && length < params_.avg) {
    const size_t stop = i + std::min(n - i, params_.avg - length);
    const size_t start = i;
    for (; i < stop; ++i) {
      h = (h << 1) + gear[p[i]];
      if ((h & mask_small_) == 0) {
        length_ = 0;
        hash_ = 0;
        return i + 1;
      }
    }
    length += stop - start;
  }
  if (length >= params_.avg) {
    const size_t stop = i + std::min(n - i, params_.max - length);
    const size_t start = i;
    for (; i < stop; ++i) {
      h = (h << 1) + gear[p[i]];
      if ((h & mask_large_) == 0) {
        length_ = 0;
        hash_ = 0;
        return i + 1;
      }
    }
    length += stop - start;
    if (length == params_.max) {
      length_ = 0;
      hash_ = 0;
      return i;
    }
  }
  length_ = length;
  hash_ = h;
  return std::string_view::npos;
}

Status Chunker::Update(std::string_view piece) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(piece.data());
  size_t pos = 0;
  while (pos < piece.size()) {
    const size_t cut = FindCut(bytes + pos, piece.size() - pos);
    if (cut == std::string_view::npos) {
      buffer_.append(piece.substr(pos));
      break;
    }
    if (buffer_.empty()) {
      RETURN_IF_ERROR(on_chunk_(piece.substr(pos, cut)));
    } else {
      buffer_.append(piece.substr(pos, cut));
      const Status status = on_chunk_(buffer_);
      buffer_.clear();
      RETURN_IF_ERROR(status);
    }
    pos += cut;
  }
  return Status::Ok();
}

Status Chunker::Finish() {
  length_ = 0;
  hash_ = 0;
  if (buffer_.empty()) return Status::Ok();
  const Status status = on_chunk_(buffer_);
  buffer_.clear();
  return status;
}

Result<std::vector<size_t>> ChunkLengths(std::string_view data, const ChunkerParams& params) {
  std::vector<size_t> lengths;
  ASSIGN_OR_RETURN(Chunker chunker, Chunker::Create(params, [&](std::string_view chunk) {
                     lengths.push_back(chunk.size());
                     return Status::Ok();
                   }));
  RETURN_IF_ERROR(chunker.Update(data));
  RETURN_IF_ERROR(chunker.Finish());
  return lengths;
}

}  // namespace shoal
