// GlooCollective with real ranks: one thread per rank, TCP pairs on 127.0.0.1, rendezvous through
// an in-memory store.
#include "kernels/collectives/gloo_collective.h"

#include <gloo/rendezvous/hash_store.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <latch>
#include <thread>
#include <vector>

namespace shoal {
namespace {

// Runs body(collective) on `ranks` threads, each with its own Gloo rank; returns each rank's
// Status from body.
std::vector<Status> RunRanks(int ranks, const std::function<Status(Collective&)>& body,
                             std::chrono::milliseconds timeout = std::chrono::seconds(20),
                             const std::vector<GlooOptions::Mode>& modes = {}) {
  auto store = std::make_shared<gloo::rendezvous::HashStore>();
  std::vector<Status> results(ranks);
  std::latch done(ranks);
  std::vector<std::thread> threads;
  for (int r = 0; r < ranks; ++r) {
    threads.emplace_back([&, r] {
      GlooOptions options;
      options.timeout = timeout;
      if (!modes.empty()) options.mode = modes[r];
      auto coll = MakeGlooCollective(r, ranks, *store, options);
      results[r] = coll.ok() ? body(**coll) : coll.status();
      // A rank that closes its pairs while a peer still reads its last message can cut that
      // message off (seen under load: "connection closed by peer"), so every rank keeps its
      // collective until all are done.
      done.arrive_and_wait();
    });
  }
  for (auto& t : threads) t.join();
  return results;
}

TEST(GlooCollectiveTest, BroadcastCopiesTheRootsBytesToEveryRank) {
  constexpr int kRanks = 3;
  std::vector<std::vector<uint8_t>> got(kRanks);
  auto results = RunRanks(kRanks, [&](Collective& c) {
    // 128 bytes, like an NCCL unique id; every rank starts with different contents.
    std::vector<uint8_t> buf(128);
    for (size_t i = 0; i < buf.size(); ++i) buf[i] = static_cast<uint8_t>(i * 7 + c.rank() * 31);
    Status s = c.Broadcast(buf.data(), static_cast<int64_t>(buf.size()), /*root=*/1);
    got[c.rank()] = buf;
    return s;
  });
  std::vector<uint8_t> want(128);
  for (size_t i = 0; i < want.size(); ++i) want[i] = static_cast<uint8_t>(i * 7 + 31);
  for (int r = 0; r < kRanks; ++r) {
    ASSERT_TRUE(results[r].ok()) << results[r].ToString();
    EXPECT_EQ(got[r], want) << "rank " << r;
  }
}

TEST(GlooCollectiveTest, AllReduceSumsAndBadBroadcastArgumentsAreRefused) {
  constexpr int kRanks = 2;
  std::vector<double> sums(kRanks);
  std::vector<Status> bad(kRanks);
  auto results = RunRanks(kRanks, [&](Collective& c) {
    double v = c.rank() + 1.5;
    RETURN_IF_ERROR(c.AllReduceSum(&v, 1));
    sums[c.rank()] = v;
    uint8_t byte = 0;
    bad[c.rank()] = c.Broadcast(&byte, 1, /*root=*/kRanks);  // no such rank
    return Status::Ok();
  });
  for (int r = 0; r < kRanks; ++r) {
    ASSERT_TRUE(results[r].ok()) << results[r].ToString();
    EXPECT_EQ(sums[r], 4.0);
    EXPECT_EQ(bad[r].code(), StatusCode::kInvalidArgument);
  }
}

// The gradient path: the same buffer all-reduced step after step (cached algorithm objects), and
// sizes that change between calls, in the same order on every rank.
TEST(GlooCollectiveTest, RepeatedAndVaryingSizesSumExactly) {
  constexpr int kRanks = 3;
  auto results = RunRanks(kRanks, [&](Collective& c) {
    std::vector<float> grads(235146);
    for (int step = 0; step < 5; ++step) {
      for (size_t i = 0; i < grads.size(); ++i) grads[i] = static_cast<float>(c.rank() + i % 7);
      RETURN_IF_ERROR(c.AllReduceSum(grads.data(), static_cast<int64_t>(grads.size())));
      for (size_t i = 0; i < grads.size(); i += 997) {
        if (grads[i] != static_cast<float>(3 + 3 * (i % 7))) return Internal("wrong sum");
      }
      double sums[2] = {1.0 * c.rank(), 2.0};
      RETURN_IF_ERROR(c.AllReduceSum(sums, 2));
      if (sums[0] != 3.0 || sums[1] != 6.0) return Internal("wrong double sum");
      std::vector<float> odd(step + 1, 1.0f);
      RETURN_IF_ERROR(c.AllReduceSum(odd.data(), static_cast<int64_t>(odd.size())));
      if (odd.back() != 3.0f) return Internal("wrong odd-size sum");
    }
    return c.Barrier();
  });
  for (int r = 0; r < kRanks; ++r) EXPECT_TRUE(results[r].ok()) << results[r].ToString();
}

// Larger than the biggest chunk handed to Gloo at once (32 MiB): several chunks, and messages
// bigger than a stock kernel's socket buffers would deadlock without them.
TEST(GlooCollectiveTest, BuffersLargerThanAChunkSumExactly) {
  constexpr int kRanks = 2;
  constexpr int64_t kN = (int64_t{40} << 20) / 4 + 3;  // 40 MiB of floats, ragged tail
  auto results = RunRanks(kRanks, [&](Collective& c) {
    std::vector<float> data(kN);
    for (int64_t i = 0; i < kN; ++i) data[i] = static_cast<float>((i % 1000) * (c.rank() + 1));
    RETURN_IF_ERROR(c.AllReduceSum(data.data(), kN));
    for (int64_t i = 0; i < kN; i += 4099) {
      if (data[i] != static_cast<float>((i % 1000) * 3)) return Internal("wrong sum at " + std::to_string(i));
    }
    if (data[kN - 1] != static_cast<float>(((kN - 1) % 1000) * 3)) return Internal("wrong tail");
    return Status::Ok();
  });
  for (int r = 0; r < kRanks; ++r) EXPECT_TRUE(results[r].ok()) << results[r].ToString();
}

// Ranks that would pick different modes (e.g. hosts with different socket limits) agree on one,
// and on one chunk size; uniform choices work too.
TEST(GlooCollectiveTest, SyncAndAsyncRanksInteroperate) {
  using Mode = GlooOptions::Mode;
  constexpr int64_t kN = (int64_t{40} << 20) / 4;
  for (const auto& modes : {std::vector<Mode>{Mode::kSync, Mode::kAsync, Mode::kSync},
                            std::vector<Mode>{Mode::kAsync, Mode::kAsync, Mode::kAuto},
                            std::vector<Mode>(3, Mode::kSync), std::vector<Mode>(3, Mode::kAsync)}) {
    auto results = RunRanks(
        3,
        [&](Collective& c) {
          std::vector<float> data(kN, static_cast<float>(c.rank() + 1));
          RETURN_IF_ERROR(c.AllReduceSum(data.data(), kN));
          if (data[0] != 6.0f || data[kN - 1] != 6.0f) return Internal("wrong sum");
          uint8_t id[128] = {};
          if (c.rank() == 2) id[127] = 42;
          RETURN_IF_ERROR(c.Broadcast(id, sizeof(id), 2));
          if (id[127] != 42) return Internal("wrong broadcast");
          return c.Barrier();
        },
        std::chrono::seconds(30), modes);
    for (int r = 0; r < 3; ++r) EXPECT_TRUE(results[r].ok()) << results[r].ToString();
  }
}

// AllGather: every rank's bytes arrive exactly (NaN payloads and -0 too, which a sum would not
// keep), gather after gather of one size in a tight loop (with async pairs a fast peer's next
// gather must not overwrite the one still being read), sizes that change, and payloads larger
// than a chunk (one broadcast per rank); in sync and async mode.
TEST(GlooCollectiveTest, AllGatherDeliversEveryRanksBytesExactly) {
  using Mode = GlooOptions::Mode;
  constexpr int kRanks = 3;
  ::setenv("SHOAL_GLOO_CHUNK_KB", "64", 1);  // read when a collective is made
  for (Mode mode : {Mode::kSync, Mode::kAsync}) {
    auto results = RunRanks(
        kRanks,
        [&](Collective& c) {
          auto bytes_of = [](int rank, int round, size_t i) {
            return static_cast<uint8_t>(rank * 89 + round * 13 + i * 7);
          };
          for (int round = 0; round < 300; ++round) {
            const size_t size = round % 50 == 49 ? (size_t{100} << 10) + 3 : 16 + round % 3;
            std::vector<uint8_t> mine(size), all(size * kRanks, 0xee);
            for (size_t i = 0; i < size; ++i) mine[i] = bytes_of(c.rank(), round, i);
            RETURN_IF_ERROR(c.AllGather(mine.data(), all.data(), static_cast<int64_t>(size)));
            for (int q = 0; q < kRanks; ++q) {
              for (size_t i = 0; i < size; ++i) {
                if (all[q * size + i] != bytes_of(q, round, i)) {
                  return Internal("round " + std::to_string(round) + ": wrong byte from rank " +
                                  std::to_string(q));
                }
              }
            }
          }
          const double special[2] = {-0.0, std::nan("0x5eed")};
          double got[2 * kRanks];
          RETURN_IF_ERROR(c.AllGather(special, got, sizeof(special)));
          if (std::memcmp(got + 2 * ((c.rank() + 1) % kRanks), special, sizeof(special)) != 0) {
            return Internal("-0 or a NaN payload changed");
          }
          return c.AllGather(special, got, -1).code() == StatusCode::kInvalidArgument
                     ? Status::Ok()
                     : Internal("a negative size was taken");
        },
        std::chrono::seconds(30), std::vector<Mode>(kRanks, mode));
    for (int r = 0; r < kRanks; ++r) EXPECT_TRUE(results[r].ok()) << results[r].ToString();
  }
  ::unsetenv("SHOAL_GLOO_CHUNK_KB");
}

// A peer that stops taking part (hung, not dead: its sockets stay open) fails the call after the
// timeout instead of hanging it.
TEST(GlooCollectiveTest, HungPeerFailsTheCallAfterTheTimeout) {
  std::atomic<bool> release{false};
  double waited = 0;
  auto results = RunRanks(
      2,
      [&](Collective& c) {
        if (c.rank() == 1) {
          while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(10));
          return Status::Ok();
        }
        std::vector<float> grads(1000, 1.0f);
        const auto start = std::chrono::steady_clock::now();
        Status s = c.AllReduceSum(grads.data(), 1000);
        waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        release = true;
        return s;
      },
      std::chrono::seconds(2));
  EXPECT_EQ(results[0].code(), StatusCode::kAborted) << results[0].ToString();
  EXPECT_GE(waited, 1.5);
  EXPECT_LT(waited, 15.0);
}

TEST(SingleRankCollectiveTest, EveryCollectiveIsTheIdentity) {
  auto c = MakeSingleRankCollective();
  float f[2] = {1, 2};
  uint8_t b[3] = {4, 5, 6};
  EXPECT_TRUE(c->AllReduceSum(f, 2).ok());
  EXPECT_TRUE(c->Broadcast(b, 3, 0).ok());
  uint8_t all[3] = {};
  EXPECT_TRUE(c->AllGather(b, all, 3).ok());
  EXPECT_EQ(f[1], 2);
  EXPECT_EQ(b[2], 6);
  EXPECT_EQ(all[2], 6);
}

}  // namespace
}  // namespace shoal
