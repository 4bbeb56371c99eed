#include "kernels/collectives/gloo_collective.h"

#include <gloo/allreduce_halving_doubling.h>
#include <gloo/barrier_all_to_all.h>
#include <gloo/broadcast_one_to_all.h>
#include <gloo/common/error.h>
#include <gloo/rendezvous/context.h>
#include <gloo/transport/tcp/device.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <list>
#include <vector>

namespace shoal {
namespace {

// Gloo's "algorithm" objects bind their buffers once (registered with every pair) and can be run
// again and again; the pairs run in sync mode, so the calling thread sends and receives itself.
// Measured on the 2-core VM with compute between calls (as in training), this takes ~0.5 ms for
// the demo model's 0.94 MB gradient where gloo::allreduce() on async pairs took ~2.8 ms: every
// message there goes through the device thread's epoll loop and a wake-up of the caller
// (bench/README.md, "Gloo modes").
//
// Objects are cached by (element type, count) and bound to staging buffers owned here; the data is
// copied in and out. Whether a call creates an object therefore depends only on the sequence of
// counts, which is the same on every rank — creating one registers buffers in matching slots on
// both sides of each pair, so all ranks must do it at the same call.
template <typename T>
class AllreduceCache {
 public:
  static constexpr size_t kMaxEntries = 32;

  // The algorithm for `count` elements and its staging buffer, created on first use; the least
  // recently used entry is dropped beyond kMaxEntries (deterministically, as above).
  std::pair<gloo::Algorithm*, T*> Get(const std::shared_ptr<gloo::Context>& ctx, int count) {
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      if (it->count == count) {
        entries_.splice(entries_.begin(), entries_, it);
        return {entries_.front().algorithm.get(), entries_.front().buffer.data()};
      }
    }
    Entry e;
    e.count = count;
    e.buffer.assign(static_cast<size_t>(count), T{});
    std::vector<T*> ptrs{e.buffer.data()};
    e.algorithm = std::make_unique<gloo::AllreduceHalvingDoubling<T>>(ctx, ptrs, count);
    entries_.push_front(std::move(e));
    if (entries_.size() > kMaxEntries) entries_.pop_back();
    return {entries_.front().algorithm.get(), entries_.front().buffer.data()};
  }

 private:
  struct Entry {
    int count = 0;
    std::vector<T> buffer;
    std::unique_ptr<gloo::Algorithm> algorithm;
  };
  std::list<Entry> entries_;
};

// One-round all-gathers (Collective::AllGather), cached by payload size as AllreduceCache is, and
// for the same reason: creating one takes slots of the context and registers buffers on every
// pair, which every rank must do at the same call. A run is BarrierAllToAll's pattern with a
// payload: send to every peer, then wait for every peer's. Runs alternate between two slots: with
// async pairs a peer that finished run k may already send run k + 1, which must not land in the
// buffer run k is still reading; it cannot send run k + 2 before this rank has sent run k + 1,
// that is, finished run k.
class AllgatherCache {
 public:
  static constexpr size_t kMaxEntries = 8;

  struct Buffers {
    std::vector<uint8_t> mine, all;  // staging: this rank's payload; every rank's
    std::vector<std::unique_ptr<gloo::transport::Buffer>> sends, receives;
  };
  struct Entry {
    int64_t bytes = 0;
    Buffers buffers[2];
    int next = 0;  // which of `buffers` the next run uses
  };

  Entry& Get(const std::shared_ptr<gloo::Context>& ctx, int64_t bytes) {
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      if (it->bytes == bytes) {
        entries_.splice(entries_.begin(), entries_, it);
        return entries_.front();
      }
    }
    Entry e;
    e.bytes = bytes;
    const auto size = static_cast<size_t>(bytes);
    for (Buffers& b : e.buffers) {
      b.mine.assign(size, 0);
      b.all.assign(size * static_cast<size_t>(ctx->size), 0);
      const int slot = ctx->nextSlot();
      for (int peer = 0; peer < ctx->size; ++peer) {
        if (peer == ctx->rank) continue;
        auto& pair = ctx->getPair(peer);
        b.sends.push_back(pair->createSendBuffer(slot, b.mine.data(), size));
        b.receives.push_back(
            pair->createRecvBuffer(slot, b.all.data() + static_cast<size_t>(peer) * size, size));
      }
    }
    entries_.push_front(std::move(e));
    if (entries_.size() > kMaxEntries) entries_.pop_back();
    return entries_.front();
  }

 private:
  std::list<Entry> entries_;
};

// net.core.wmem_max: the kernel caps a socket's send buffer at twice this.
int64_t WmemMax() {
  int64_t v = 0;
  std::ifstream in("/proc/sys/net/core/wmem_max");
  return in >> v && v > 0 ? v : 212992;  // Linux's default
}

// The largest all-reduce handed to Gloo at once in sync mode. There both ranks of a pair write
// before they read, and a blocking write returns only once the data is in the two socket buffers;
// Gloo sizes the send buffer to the message, which the kernel caps at 2 x wmem_max. Bigger
// messages block both writers until the timeout (measured with wmem_max = 4 MiB: 8 MiB messages
// pass, 12 MiB ones time out). Halving-doubling sends at most half a chunk at a time, so a chunk
// of wmem_max bytes leaves a 4x margin. SHOAL_GLOO_CHUNK_KB overrides it (tests, experiments).
int64_t SyncChunkBytes() {
  if (const char* v = std::getenv("SHOAL_GLOO_CHUNK_KB"); v != nullptr && std::atoll(v) > 0) {
    return static_cast<int64_t>(std::atoll(v)) * 1024;
  }
  return std::clamp<int64_t>(WmemMax(), int64_t{64} << 10, int64_t{32} << 20);
}

class GlooCollective final : public Collective {
 public:
  // chunk_bytes: the most handed to one Gloo all-reduce (0 = no limit but Gloo's int count).
  GlooCollective(std::shared_ptr<gloo::rendezvous::Context> ctx, int64_t chunk_bytes)
      : ctx_(std::move(ctx)), chunk_bytes_(chunk_bytes) {}

  int rank() const override { return ctx_->rank; }
  int size() const override { return ctx_->size; }

  Status AllReduceSum(float* data, int64_t n) override { return Reduce(floats_, data, n); }
  Status AllReduceSum(double* data, int64_t n) override { return Reduce(doubles_, data, n); }

  Status Barrier() override {
    if (size() == 1) return Status::Ok();
    return Guard("barrier", [&] { gloo::BarrierAllToAll(ctx_).run(); });
  }

  Status Broadcast(void* data, int64_t bytes, int root) override {
    if (bytes < 0 || bytes > INT_MAX || root < 0 || root >= size()) {
      return InvalidArgument("bad broadcast of " + std::to_string(bytes) + " bytes from rank " +
                             std::to_string(root));
    }
    if (bytes == 0 || size() == 1) return Status::Ok();
    return Guard("broadcast", [&] {
      std::vector<uint8_t> staging(static_cast<uint8_t*>(data),
                                   static_cast<uint8_t*>(data) + bytes);
      std::vector<uint8_t*> ptrs{staging.data()};
      gloo::BroadcastOneToAll<uint8_t>(ctx_, ptrs, static_cast<int>(bytes), root).run();
      std::memcpy(data, staging.data(), static_cast<size_t>(bytes));
    });
  }

  Status AllGather(const void* mine, void* all, int64_t bytes) override {
    if (bytes < 0 || bytes > INT_MAX / size()) {
      return InvalidArgument("bad all-gather of " + std::to_string(bytes) + " bytes per rank");
    }
    if (bytes == 0) return Status::Ok();
    auto* out = static_cast<uint8_t*>(all);
    if (size() == 1) {
      std::memcpy(out, mine, static_cast<size_t>(bytes));
      return Status::Ok();
    }
    // In sync mode every rank writes to all its peers before it reads: each payload must fit the
    // socket buffers as an all-reduce chunk does. A larger one goes as one broadcast per rank.
    if (chunk_bytes_ > 0 && bytes > chunk_bytes_) {
      for (int q = 0; q < size(); ++q) {
        uint8_t* at = out + static_cast<int64_t>(q) * bytes;
        if (q == rank()) std::memcpy(at, mine, static_cast<size_t>(bytes));
        RETURN_IF_ERROR(Broadcast(at, bytes, q));
      }
      return Status::Ok();
    }
    return Guard("all-gather", [&] {
      AllgatherCache::Entry& e = gathers_.Get(ctx_, bytes);
      AllgatherCache::Buffers& b = e.buffers[e.next];
      e.next ^= 1;
      std::memcpy(b.mine.data(), mine, static_cast<size_t>(bytes));
      for (auto& send : b.sends) send->send();
      for (auto& receive : b.receives) receive->waitRecv();
      for (auto& send : b.sends) send->waitSend();
      std::memcpy(b.all.data() + static_cast<size_t>(rank()) * static_cast<size_t>(bytes),
                  b.mine.data(), static_cast<size_t>(bytes));
      std::memcpy(out, b.all.data(), b.all.size());
    });
  }

 private:
  template <typename Fn>
  Status Guard(const char* what, Fn&& fn) {
    try {
      fn();
      return Status::Ok();
    } catch (const gloo::IoException& e) {
      return Aborted(std::string("gloo ") + what +
                     " failed (a peer rank died, hung or is unreachable): " + e.what());
    } catch (const std::exception& e) {
      return Aborted(std::string("gloo ") + what + " failed: " + e.what());
    }
  }

  template <typename T>
  Status Reduce(AllreduceCache<T>& cache, T* data, int64_t n) {
    if (n < 0) return InvalidArgument("negative all-reduce count " + std::to_string(n));
    if (n == 0 || size() == 1) return Status::Ok();
    // Chunks: small enough for the socket buffers in sync mode, within Gloo's int count always;
    // the same on every rank.
    const int64_t kMaxChunk = chunk_bytes_ > 0
                                  ? std::max<int64_t>(1, chunk_bytes_ / static_cast<int64_t>(sizeof(T)))
                                  : int64_t{1} << 28;
    return Guard("all-reduce", [&] {
      for (int64_t off = 0; off < n; off += kMaxChunk) {
        const int count = static_cast<int>(std::min(kMaxChunk, n - off));
        auto [algorithm, staging] = cache.Get(ctx_, count);
        std::memcpy(staging, data + off, static_cast<size_t>(count) * sizeof(T));
        algorithm->run();
        std::memcpy(data + off, staging, static_cast<size_t>(count) * sizeof(T));
      }
    });
  }

  std::shared_ptr<gloo::rendezvous::Context> ctx_;
  int64_t chunk_bytes_;
  AllreduceCache<float> floats_;
  AllreduceCache<double> doubles_;
  AllgatherCache gathers_;
};

}  // namespace

Result<std::unique_ptr<Collective>> MakeGlooCollective(int rank, int size,
                                                       gloo::rendezvous::Store& store,
                                                       const GlooOptions& options) {
  if (size < 1 || rank < 0 || rank >= size) {
    return InvalidArgument("bad rank " + std::to_string(rank) + " of " + std::to_string(size));
  }
  try {
    gloo::transport::tcp::attr attr;
    attr.hostname = options.address;
    auto device = gloo::transport::tcp::CreateDevice(attr);
    auto ctx = std::make_shared<gloo::rendezvous::Context>(rank, size);
    ctx->setTimeout(options.timeout);
    ctx->connectFullMesh(store, device);
    // Sync mode: blocking sockets read by the calling thread, with the context's timeout as the
    // socket timeout, so a hung peer still fails the call after `timeout`. The ranks agree (over
    // the still-async pairs): sync only if every rank can, with the smallest chunk any needs —
    // chunks must be the same everywhere, and mixing modes raced at teardown in tests.
    bool sync = options.mode == GlooOptions::Mode::kSync;
    if (options.mode == GlooOptions::Mode::kAuto) sync = WmemMax() >= kSyncMinWmemMax;
    double chunk = sync ? static_cast<double>(SyncChunkBytes()) : 0.0;  // 0: async
    if (size > 1) {
      std::vector<double*> ptrs{&chunk};
      gloo::AllreduceHalvingDoubling<double>(ctx, ptrs, 1, gloo::ReductionFunction<double>::min)
          .run();
      if (chunk > 0) {
        for (int peer = 0; peer < size; ++peer) {
          if (peer != rank) ctx->getPair(peer)->setSync(/*sync=*/true, /*busyPoll=*/false);
        }
      }
    }
    return std::unique_ptr<Collective>(
        new GlooCollective(std::move(ctx), static_cast<int64_t>(chunk)));
  } catch (const std::exception& e) {
    return Unavailable("gloo rendezvous of rank " + std::to_string(rank) + "/" +
                       std::to_string(size) + " failed: " + e.what());
  }
}

}  // namespace shoal
