#include "kernels/collectives/gloo_collective.h"

#include <gloo/allreduce_halving_doubling.h>
#include <gloo/barrier_all_to_all.h>
#include <gloo/broadcast_one_to_all.h>
#include <gloo/common/error.h>
#include <gloo/rendezvous/context.h>
#include <gloo/transport/tcp/device.h>

#include <algorithm>
#include <climits>
#include <cstring>
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

class GlooCollective final : public Collective {
 public:
  explicit GlooCollective(std::shared_ptr<gloo::rendezvous::Context> ctx) : ctx_(std::move(ctx)) {}

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
    // Gloo counts are int: larger buffers go in chunks (the same on every rank).
    constexpr int64_t kMaxChunk = int64_t{1} << 28;
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
  AllreduceCache<float> floats_;
  AllreduceCache<double> doubles_;
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
    // socket timeout, so a hung peer still fails the call after `timeout`.
    for (int peer = 0; peer < size; ++peer) {
      if (peer != rank) ctx->getPair(peer)->setSync(/*sync=*/true, /*busyPoll=*/false);
    }
    return std::unique_ptr<Collective>(new GlooCollective(std::move(ctx)));
  } catch (const std::exception& e) {
    return Unavailable("gloo rendezvous of rank " + std::to_string(rank) + "/" +
                       std::to_string(size) + " failed: " + e.what());
  }
}

}  // namespace shoal
