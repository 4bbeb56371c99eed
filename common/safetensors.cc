#include "common/safetensors.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include <nlohmann/json.hpp>

#include "common/file_util.h"

namespace shoal {
namespace {

static_assert(std::numeric_limits<float>::is_iec559 && sizeof(float) == 4);

bool LittleEndian() {
  const uint16_t one = 1;
  return *reinterpret_cast<const uint8_t*>(&one) == 1;
}

// Elements of `shape`, or -1 if a dimension is negative or the product overflows int64.
int64_t Elements(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) return -1;
    if (d != 0 && n > std::numeric_limits<int64_t>::max() / 4 / d) return -1;
    n *= d;
  }
  return n;
}

}  // namespace

Status WriteSafetensors(const std::string& path, const std::vector<TensorView>& tensors,
                        const std::map<std::string, std::string>& metadata) {
  if (!LittleEndian()) return Internal("safetensors writing needs a little-endian host");
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  int64_t offset = 0;
  for (const TensorView& t : tensors) {
    if (t.name.empty() || t.name == "__metadata__" || header.contains(t.name)) {
      return InvalidArgument("bad or duplicate tensor name \"" + t.name + "\"");
    }
    const int64_t n = Elements(t.shape);
    if (n < 0) return InvalidArgument("tensor " + t.name + " has a bad shape");
    if (n > 0 && t.data == nullptr) return InvalidArgument("tensor " + t.name + " has no data");
    header[t.name] = {{"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {offset, offset + 4 * n}}};
    offset += 4 * n;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  return WriteFileAtomic(path, [&](const ChunkWriter& write) {
    uint8_t len[8];
    uint64_t size = text.size();
    for (int i = 0; i < 8; ++i) len[i] = static_cast<uint8_t>(size >> (8 * i));
    bool ok = write(len, 8) && write(text.data(), text.size());
    for (size_t i = 0; ok && i < tensors.size(); ++i) {
      const int64_t n = Elements(tensors[i].shape);
      if (n > 0) ok = write(tensors[i].data, static_cast<size_t>(n) * 4);
    }
    return ok ? Status::Ok() : Unavailable("short write to " + path);
  });
}

Result<SafetensorsIndex> IndexSafetensors(std::string_view bytes,
                                          const SafetensorsLimits& limits) {
  if (!LittleEndian()) return Internal("safetensors reading needs a little-endian host");
  if (bytes.size() < 8) return InvalidArgument("not a safetensors file: shorter than 8 bytes");
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | static_cast<uint8_t>(bytes[i]);
  if (header_len > static_cast<uint64_t>(limits.max_header_bytes) ||
      header_len > bytes.size() - 8) {
    return InvalidArgument("safetensors header length " + std::to_string(header_len) +
                           " exceeds the file (" + std::to_string(bytes.size()) +
                           " bytes) or the limit");
  }
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes.substr(8, header_len));
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgument(std::string("safetensors header is not valid JSON: ") + e.what());
  }
  if (!header.is_object()) return InvalidArgument("safetensors header is not a JSON object");
  if (static_cast<int64_t>(header.size()) > limits.max_tensors + 1) {
    return InvalidArgument("safetensors header lists more than " +
                           std::to_string(limits.max_tensors) + " tensors");
  }
  const std::string_view data = bytes.substr(8 + header_len);
  SafetensorsIndex out;
  out.data_begin = 8 + header_len;
  struct Range {
    uint64_t begin, end;
    const std::string* name;
  };
  std::vector<Range> ranges;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) return InvalidArgument("__metadata__ is not an object");
      for (const auto& [k, v] : entry.items()) {
        if (!v.is_string()) return InvalidArgument("__metadata__." + k + " is not a string");
        out.metadata[k] = v.get<std::string>();
      }
      continue;
    }
    const std::string shown = name.size() > 64 ? name.substr(0, 64) + "..." : name;
    if (name.empty() || static_cast<int64_t>(name.size()) > limits.max_name_bytes) {
      return InvalidArgument("tensor name \"" + shown + "\" is empty or too long");
    }
    if (!entry.is_object() || !entry.contains("dtype") || !entry.contains("shape") ||
        !entry.contains("data_offsets")) {
      return InvalidArgument("tensor " + shown + ": needs dtype, shape and data_offsets");
    }
    const auto& dtype = entry["dtype"];
    if (!dtype.is_string() || dtype.get<std::string>() != "F32") {
      return InvalidArgument("tensor " + shown + ": dtype " + dtype.dump() +
                             " is not supported (shoal checkpoints are F32)");
    }
    const auto& shape = entry["shape"];
    const auto& offs = entry["data_offsets"];
    if (!shape.is_array() || static_cast<int>(shape.size()) > limits.max_dims) {
      return InvalidArgument("tensor " + shown + ": shape must be a list of at most " +
                             std::to_string(limits.max_dims) + " dimensions");
    }
    SafetensorsIndex::Entry t;
    for (const auto& d : shape) {
      if (!d.is_number_unsigned()) {
        return InvalidArgument("tensor " + shown + ": dimensions must be non-negative integers");
      }
      const uint64_t v = d.get<uint64_t>();
      if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return InvalidArgument("tensor " + shown + ": dimension too large");
      }
      t.shape.push_back(static_cast<int64_t>(v));
    }
    if (!offs.is_array() || offs.size() != 2 || !offs[0].is_number_unsigned() ||
        !offs[1].is_number_unsigned()) {
      return InvalidArgument("tensor " + shown + ": data_offsets must be [begin, end]");
    }
    const uint64_t begin = offs[0].get<uint64_t>(), end = offs[1].get<uint64_t>();
    const int64_t n = Elements(t.shape);
    if (begin > end || end > data.size() || n < 0 || end - begin != static_cast<uint64_t>(n) * 4) {
      return InvalidArgument("tensor " + shown + ": data_offsets [" + std::to_string(begin) + ", " +
                             std::to_string(end) + "] do not match its shape or the " +
                             std::to_string(data.size()) + " data bytes");
    }
    ranges.push_back({begin, end, &name});
    t.begin = begin;
    t.end = end;
    out.entries.emplace(name, std::move(t));
  }
  // The ranges must tile the data exactly: no overlap, no gap, nothing left over.
  std::sort(ranges.begin(), ranges.end(), [](const Range& a, const Range& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t at = 0;
  for (const Range& r : ranges) {
    if (r.begin != at) {
      return InvalidArgument("tensor " + *r.name + ": its data overlaps another or leaves a gap");
    }
    at = r.end;
  }
  if (at != data.size()) {
    return InvalidArgument(std::to_string(data.size() - at) +
                           " bytes after the last tensor: not a valid safetensors file");
  }
  return out;
}

Result<SafetensorsFile> ParseSafetensors(std::string_view bytes, const SafetensorsLimits& limits) {
  ASSIGN_OR_RETURN(SafetensorsIndex index, IndexSafetensors(bytes, limits));
  SafetensorsFile out;
  out.metadata = std::move(index.metadata);
  for (auto& [name, e] : index.entries) {
    Tensor t;
    t.shape = std::move(e.shape);
    t.data.resize((e.end - e.begin) / 4);
    if (!t.data.empty()) {
      std::memcpy(t.data.data(), bytes.data() + index.data_begin + e.begin, e.end - e.begin);
    }
    out.tensors.emplace(name, std::move(t));
  }
  return out;
}

Result<SafetensorsFile> ReadSafetensors(const std::string& path, int64_t max_file_bytes,
                                        const SafetensorsLimits& limits) {
  ASSIGN_OR_RETURN(std::string bytes, ReadFileLimited(path, max_file_bytes));
  auto parsed = ParseSafetensors(bytes, limits);
  if (!parsed.ok()) return Status(parsed.status().code(), path + ": " + parsed.status().message());
  return parsed;
}

}  // namespace shoal
