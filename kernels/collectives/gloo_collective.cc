#include "kernels/collectives/gloo_collective.h"

#include <gloo/allreduce.h>
#include <gloo/barrier.h>
#include <gloo/broadcast.h>
#include <gloo/common/error.h>
#include <gloo/math.h>
#include <gloo/rendezvous/context.h>
#include <gloo/transport/tcp/device.h>

namespace shoal {
namespace {

class GlooCollective final : public Collective {
 public:
  GlooCollective(std::shared_ptr<gloo::rendezvous::Context> ctx, std::chrono::milliseconds timeout)
      : ctx_(std::move(ctx)), timeout_(timeout) {}

  int rank() const override { return ctx_->rank; }
  int size() const override { return ctx_->size; }

  Status AllReduceSum(float* data, int64_t n) override { return Reduce(data, n); }
  Status AllReduceSum(double* data, int64_t n) override { return Reduce(data, n); }

  Status Barrier() override {
    try {
      gloo::BarrierOptions opts(ctx_);
      opts.setTag(next_tag_++);
      opts.setTimeout(timeout_);
      gloo::barrier(opts);
      return Status::Ok();
    } catch (const std::exception& e) {
      return Aborted(std::string("gloo barrier failed: ") + e.what());
    }
  }

  Status Broadcast(void* data, int64_t bytes, int root) override {
    if (bytes < 0 || root < 0 || root >= size()) {
      return InvalidArgument("bad broadcast of " + std::to_string(bytes) + " bytes from rank " +
                             std::to_string(root));
    }
    if (bytes == 0 || size() == 1) return Status::Ok();
    try {
      gloo::BroadcastOptions opts(ctx_);
      opts.setOutput(static_cast<uint8_t*>(data), static_cast<size_t>(bytes));
      opts.setRoot(root);
      opts.setTag(next_tag_++);
      opts.setTimeout(timeout_);
      gloo::broadcast(opts);
      return Status::Ok();
    } catch (const std::exception& e) {
      return Aborted(std::string("gloo broadcast failed (a peer rank died or is unreachable): ") +
                     e.what());
    }
  }

 private:
  template <typename T>
  Status Reduce(T* data, int64_t n) {
    if (n == 0) return Status::Ok();
    try {
      gloo::AllreduceOptions opts(ctx_);
      opts.setOutput(data, static_cast<size_t>(n));  // output only: in place
      opts.setAlgorithm(gloo::AllreduceOptions::Algorithm::RING);
      void (*fn)(void*, const void*, const void*, size_t) = &gloo::sum<T>;
      opts.setReduceFunction(fn);
      opts.setTag(next_tag_++);
      opts.setTimeout(timeout_);
      gloo::allreduce(opts);
      return Status::Ok();
    } catch (const gloo::IoException& e) {
      return Aborted(std::string("gloo all-reduce failed (a peer rank died or is unreachable): ") +
                     e.what());
    } catch (const std::exception& e) {
      return Aborted(std::string("gloo all-reduce failed: ") + e.what());
    }
  }

  std::shared_ptr<gloo::rendezvous::Context> ctx_;
  std::chrono::milliseconds timeout_;
  uint32_t next_tag_ = 1;
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
    return std::unique_ptr<Collective>(new GlooCollective(std::move(ctx), options.timeout));
  } catch (const std::exception& e) {
    return Unavailable("gloo rendezvous of rank " + std::to_string(rank) + "/" +
                       std::to_string(size) + " failed: " + e.what());
  }
}

}  // namespace shoal
