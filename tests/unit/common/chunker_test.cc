// FastCDC chunking (common/registry/chunker.h): sizes within bounds, determinism, boundaries that
// survive an insertion, streaming in any piece sizes, and the pinned format (gear table, cuts).
#include "common/registry/chunker.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <bit>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/sha256.h"

namespace shoal {
namespace {

// Small sizes keep the tests fast while exercising every phase of the cut rule.
const ChunkerParams kSmall{.min = 4 << 10, .avg = 16 << 10, .max = 64 << 10};

// Deterministic pseudo-random bytes (xorshift64*), independent of the chunker's own generator.
std::string RandomBytes(size_t n, uint64_t seed) {
  std::string out(n, '\0');
  uint64_t x = seed | 1;
  for (size_t i = 0; i < n; i += 8) {
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    const uint64_t v = x * 0x2545f4914f6cdd1d;
    for (size_t b = 0; b < 8 && i + b < n; ++b) out[i + b] = static_cast<char>(v >> (8 * b));
  }
  return out;
}

std::vector<size_t> Lengths(std::string_view data, const ChunkerParams& params = kSmall) {
  auto lengths = ChunkLengths(data, params);
  EXPECT_TRUE(lengths.ok()) << lengths.status().ToString();
  return lengths.ok() ? *lengths : std::vector<size_t>{};
}

std::vector<std::string> ChunkHashes(std::string_view data, const std::vector<size_t>& lengths) {
  std::vector<std::string> hashes;
  size_t pos = 0;
  for (size_t len : lengths) {
    hashes.push_back(Sha256Hex(data.substr(pos, len)));
    pos += len;
  }
  return hashes;
}

TEST(Chunker, GearTableIsPinned) {
  // splitmix64 from kGearSeed. These values are part of the storage format: if this test fails,
  // the chunk boundaries of every dataset already pushed would change. Do not update the numbers.
  const std::array<uint64_t, 256>& gear = GearTable();
  EXPECT_EQ(kGearSeed, 0x73686f616c636463u);
  EXPECT_EQ(gear[0], 0x015df8793198fd20u);
  EXPECT_EQ(gear[1], 0xcef529a6ab37c331u);
  EXPECT_EQ(gear[2], 0xfce42a2cd58f7862u);
  EXPECT_EQ(gear[255], 0x1502288d5b9c280bu);
}

TEST(Chunker, SplitMixMatchesItsReferenceOutput) {
  // The generator is splitmix64 as published: from seed 0 its first output is 0xe220a8397b1dcdaf.
  // (GearTable uses seed kGearSeed; this checks the algorithm, the pinned test the values.)
  uint64_t state = 0;
  state += 0x9e3779b97f4a7c15;
  uint64_t z = state;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
  z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
  EXPECT_EQ(z ^ (z >> 31), 0xe220a8397b1dcdafu);
}

TEST(Chunker, CutsArePinned) {
  // The first cuts of a fixed input with the small parameters: a golden test of the whole rule.
  const std::string data = RandomBytes(1 << 20, 42);
  const std::vector<size_t> lengths = Lengths(data);
  ASSERT_GE(lengths.size(), 4u);
  EXPECT_EQ((std::vector<size_t>(lengths.begin(), lengths.begin() + 4)),
            (std::vector<size_t>{19653, 22543, 26399, 16766}));
}

// The cut rule of chunker.h written the plain way, one byte at a time: the phased loops of
// Chunker::FindCut must agree with it.
std::vector<size_t> ReferenceLengths(std::string_view data, const ChunkerParams& p) {
  const int bits = std::countr_zero(p.avg);
  const uint64_t mask_small = ~uint64_t{0} << (64 - (bits + 2));
  const uint64_t mask_large = ~uint64_t{0} << (64 - (bits - 2));
  std::vector<size_t> lengths;
  size_t length = 0;
  uint64_t h = 0;
  for (unsigned char byte : data) {
    ++length;
    bool cut = length == p.max;
    if (length > p.min) {
      h = (h << 1) + GearTable()[byte];
      cut = cut || (h & (length <= p.avg ? mask_small : mask_large)) == 0;
    }
    if (cut) {
      lengths.push_back(length);
      length = 0;
      h = 0;
    }
  }
  if (length > 0) lengths.push_back(length);
  return lengths;
}

TEST(Chunker, MatchesThePlainReference) {
  const std::string data = RandomBytes(6 << 20, 21);
  EXPECT_EQ(Lengths(data), ReferenceLengths(data, kSmall));
  // Tiny sizes: many cuts in each phase, and at max.
  const ChunkerParams tiny{.min = 64, .avg = 256, .max = 300};
  EXPECT_EQ(Lengths(data.substr(0, 1 << 20), tiny),
            ReferenceLengths(data.substr(0, 1 << 20), tiny));
}

TEST(Chunker, ValidatesParams) {
  EXPECT_TRUE(ValidateChunkerParams({}).ok());
  EXPECT_TRUE(ValidateChunkerParams(kSmall).ok());
  auto message = [](ChunkerParams p) { return ValidateChunkerParams(p).message(); };
  EXPECT_NE(message({.min = 32, .avg = 1024, .max = 4096}).find("at least 64"), std::string::npos);
  EXPECT_NE(message({.min = 4096, .avg = 4096, .max = 8192}).find("min < avg < max"),
            std::string::npos);
  EXPECT_NE(message({.min = 1024, .avg = 8192, .max = 8192}).find("min < avg < max"),
            std::string::npos);
  EXPECT_NE(message({.min = 1024, .avg = 3000, .max = 8192}).find("power of two"),
            std::string::npos);
  EXPECT_NE(message({.min = 1024, .avg = 4096, .max = size_t{65} << 20}).find("at most"),
            std::string::npos);
  EXPECT_FALSE(ChunkLengths("abc", {.min = 1, .avg = 2, .max = 3}).ok());
}

TEST(Chunker, EmptyAndShortInputs) {
  EXPECT_TRUE(Lengths("").empty());
  EXPECT_EQ(Lengths("hello"), std::vector<size_t>{5});
  const std::string below_min = RandomBytes(kSmall.min - 1, 1);
  EXPECT_EQ(Lengths(below_min), std::vector<size_t>{below_min.size()});
}

TEST(Chunker, SizesWithinBoundsAndSumToInput) {
  const std::string data = RandomBytes(8 << 20, 7);
  const std::vector<size_t> lengths = Lengths(data);
  ASSERT_GT(lengths.size(), 100u);
  size_t total = 0;
  for (size_t i = 0; i < lengths.size(); ++i) {
    total += lengths[i];
    if (i + 1 < lengths.size()) {
      EXPECT_GE(lengths[i], kSmall.min) << "chunk " << i;
    }
    EXPECT_LE(lengths[i], kSmall.max) << "chunk " << i;
  }
  EXPECT_EQ(total, data.size());
  // Normalized chunking keeps the mean near avg (min + roughly avg on random data).
  const double mean = static_cast<double>(total) / lengths.size();
  EXPECT_GT(mean, 0.75 * kSmall.avg);
  EXPECT_LT(mean, 2.0 * kSmall.avg);
}

TEST(Chunker, ConstantInputCutsAtMax) {
  // No content to cut on: over a run of one byte value b the hash settles at -kGear[b] (mod 2^64),
  // whose top bits are not zero for 0x00, so every chunk but the last is max long.
  const std::string zeros(1 << 20, '\0');
  const std::vector<size_t> lengths = Lengths(zeros);
  ASSERT_EQ(lengths.size(), zeros.size() / kSmall.max);
  for (size_t len : lengths) EXPECT_EQ(len, kSmall.max);
}

TEST(Chunker, Deterministic) {
  const std::string data = RandomBytes(4 << 20, 9);
  EXPECT_EQ(Lengths(data), Lengths(data));
  EXPECT_NE(Lengths(data), Lengths(RandomBytes(4 << 20, 10)));
}

TEST(Chunker, BoundariesSurviveAnInsertion) {
  const std::string original = RandomBytes(64 << 20, 11);
  std::string edited = original;
  edited.insert(edited.size() / 2, RandomBytes(100, 12));
  const std::vector<std::string> before = ChunkHashes(original, Lengths(original));
  const std::vector<std::string> after_list = ChunkHashes(edited, Lengths(edited));
  const std::set<std::string> after(after_list.begin(), after_list.end());
  size_t kept = 0;
  for (const std::string& h : before) kept += after.count(h);
  std::cout << "insertion: " << kept << " of " << before.size() << " chunks kept\n";
  EXPECT_GE(kept * 100, before.size() * 95);
  EXPECT_GE(kept + 3, before.size()) << "only the chunks around the insertion should change";
}

TEST(Chunker, StreamingMatchesOneShot) {
  const std::string data = RandomBytes(3 << 20, 13);
  const std::vector<size_t> expected = Lengths(data);
  for (size_t piece :
       {size_t{1}, size_t{7}, size_t{4095}, size_t{4096}, size_t{65537}, size_t{1} << 20}) {
    std::vector<std::string> chunks;
    auto chunker = Chunker::Create(kSmall, [&](std::string_view chunk) {
      chunks.emplace_back(chunk);
      return Status::Ok();
    });
    ASSERT_TRUE(chunker.ok());
    // Piece sizes vary around `piece` so that cuts land at every position within a piece.
    size_t pos = 0, k = 0;
    while (pos < data.size()) {
      const size_t n = std::min(data.size() - pos, piece + (k++ % 3));
      ASSERT_TRUE(chunker->Update(std::string_view(data).substr(pos, n)).ok());
      pos += n;
    }
    ASSERT_TRUE(chunker->Finish().ok());
    std::vector<size_t> lengths;
    std::string joined;
    for (const std::string& c : chunks) {
      lengths.push_back(c.size());
      joined += c;
    }
    EXPECT_EQ(lengths, expected) << "pieces of " << piece;
    EXPECT_TRUE(joined == data) << "pieces of " << piece;
  }
}

TEST(Chunker, CallbackErrorStopsTheStream) {
  const std::string data = RandomBytes(1 << 20, 14);
  int calls = 0;
  auto chunker = Chunker::Create(kSmall, [&](std::string_view) {
    ++calls;
    return Unavailable("disk full");
  });
  ASSERT_TRUE(chunker.ok());
  const Status status = chunker->Update(data);
  EXPECT_EQ(status.code(), StatusCode::kUnavailable);
  EXPECT_EQ(calls, 1);
}

TEST(Chunker, ThroughputIsLogged) {
  // Not a pass/fail timing: prints MB/s of the cut search alone (no hashing) on 256 MiB with the
  // registry's default parameters, for docs and regressions read by a person.
  const std::string data = RandomBytes(256 << 20, 15);
  const auto start = std::chrono::steady_clock::now();
  const std::vector<size_t> lengths = Lengths(data, ChunkerParams{});
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "chunker: 256 MiB in " << seconds << " s = " << (256.0 * 1.048576) / seconds
            << " MB/s, " << lengths.size() << " chunks (mean "
            << (data.size() / std::max<size_t>(1, lengths.size())) << " bytes)\n";
  EXPECT_GT(lengths.size(), 10u);

  // With SHA-256 of every chunk, as BuildManifest does on push.
  const auto hashed_start = std::chrono::steady_clock::now();
  auto chunker = Chunker::Create({}, [](std::string_view chunk) {
    const std::string digest = Sha256Hex(chunk);
    return digest.empty() ? Internal("no digest") : Status::Ok();
  });
  ASSERT_TRUE(chunker.ok());
  for (size_t pos = 0; pos < data.size(); pos += 1 << 20) {
    ASSERT_TRUE(chunker->Update(std::string_view(data).substr(pos, 1 << 20)).ok());
  }
  ASSERT_TRUE(chunker->Finish().ok());
  const double hashed_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - hashed_start).count();
  std::cout << "chunker + SHA-256, 1 MiB pieces: " << (256.0 * 1.048576) / hashed_seconds
            << " MB/s\n";
}

}  // namespace
}  // namespace shoal
