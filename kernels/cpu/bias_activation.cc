#include "kernels/cpu/bias_activation.h"

#include <algorithm>
#include <cstdint>
#include <string>

#include "kernels/twins/elementwise_math.h"

namespace shoal::cpu {
namespace {

Status CheckDims(const char* op, int m, int n) {
  if (m < 0 || n < 0) {
    return InvalidArgument(std::string(op) + ": negative dimension m=" + std::to_string(m) +
                           " n=" + std::to_string(n));
  }
  return Status::Ok();
}

// The activation is a template parameter so each loop body inlines one function and the compiler
// can vectorize it; the switch on the runtime enum happens once per call. The buffers may be the
// same one (in place: pre == z, dz == dout), which defeats the compiler's runtime overlap check;
// `ivdep` tells it what holds: element j is read before it is written and no other element is
// touched, so no iteration depends on another.
template <float (*kAct)(float)>
void ForwardLoop(const float* z, const float* bias, int m, int n, float* pre, float* out) {
  // Two copies of the loop so neither has a branch inside (the pre == nullptr case is inference).
  if (pre == nullptr) {
    for (int i = 0; i < m; ++i) {
      const int64_t row = static_cast<int64_t>(i) * n;
#pragma GCC ivdep
      for (int j = 0; j < n; ++j) out[row + j] = kAct(z[row + j] + bias[j]);
    }
    return;
  }
  for (int i = 0; i < m; ++i) {
    const int64_t row = static_cast<int64_t>(i) * n;
#pragma GCC ivdep
    for (int j = 0; j < n; ++j) {
      const float p = z[row + j] + bias[j];
      pre[row + j] = p;
      out[row + j] = kAct(p);
    }
  }
}

template <float (*kGrad)(float)>
void BackwardLoop(const float* dout, const float* pre, int m, int n, float* dz, float* dbias) {
  std::fill(dbias, dbias + n, 0.0f);
  // Row-by-row accumulation keeps the inner loop contiguous (vectorizable) in both dz and dbias.
  for (int i = 0; i < m; ++i) {
    const int64_t row = static_cast<int64_t>(i) * n;
#pragma GCC ivdep
    for (int j = 0; j < n; ++j) {
      const float d = dout[row + j] * kGrad(pre[row + j]);
      dz[row + j] = d;
      dbias[j] += d;
    }
  }
}

}  // namespace

Status BiasActivationForward(const float* z, const float* bias, int m, int n, Activation act,
                             float* pre, float* out) {
  RETURN_IF_ERROR(CheckDims("BiasActivationForward", m, n));
  if (m == 0 || n == 0) return Status::Ok();
  if (z == nullptr || bias == nullptr || out == nullptr) {
    return InvalidArgument("BiasActivationForward: null z, bias or out");
  }
  switch (act) {
    case Activation::kRelu:
      ForwardLoop<math::ReluForward>(z, bias, m, n, pre, out);
      return Status::Ok();
    case Activation::kGelu:
      ForwardLoop<math::GeluForward>(z, bias, m, n, pre, out);
      return Status::Ok();
    case Activation::kTanh:
      ForwardLoop<math::TanhForward>(z, bias, m, n, pre, out);
      return Status::Ok();
  }
  return InvalidArgument("BiasActivationForward: unknown activation");
}

Status BiasForward(const float* z, const float* bias, int m, int n, float* out) {
  RETURN_IF_ERROR(CheckDims("BiasForward", m, n));
  if (m == 0 || n == 0) return Status::Ok();
  if (z == nullptr || bias == nullptr || out == nullptr) {
    return InvalidArgument("BiasForward: null z, bias or out");
  }
  for (int i = 0; i < m; ++i) {
    const int64_t row = static_cast<int64_t>(i) * n;
    for (int j = 0; j < n; ++j) out[row + j] = z[row + j] + bias[j];
  }
  return Status::Ok();
}

Status ActivationBackwardBiasGrad(const float* dout, const float* pre, int m, int n, Activation act,
                                  float* dz, float* dbias) {
  RETURN_IF_ERROR(CheckDims("ActivationBackwardBiasGrad", m, n));
  if (n == 0) return Status::Ok();
  if (dbias == nullptr) return InvalidArgument("ActivationBackwardBiasGrad: null dbias");
  if (m > 0 && (dout == nullptr || pre == nullptr || dz == nullptr)) {
    return InvalidArgument("ActivationBackwardBiasGrad: null dout, pre or dz");
  }
  switch (act) {
    case Activation::kRelu:
      BackwardLoop<math::ReluGrad>(dout, pre, m, n, dz, dbias);
      return Status::Ok();
    case Activation::kGelu:
      BackwardLoop<math::GeluGrad>(dout, pre, m, n, dz, dbias);
      return Status::Ok();
    case Activation::kTanh:
      BackwardLoop<math::TanhGrad>(dout, pre, m, n, dz, dbias);
      return Status::Ok();
  }
  return InvalidArgument("ActivationBackwardBiasGrad: unknown activation");
}

Status BiasGrad(const float* dz, int m, int n, float* dbias) {
  RETURN_IF_ERROR(CheckDims("BiasGrad", m, n));
  if (n == 0) return Status::Ok();
  if (dbias == nullptr || (m > 0 && dz == nullptr)) {
    return InvalidArgument("BiasGrad: null dz or dbias");
  }
  std::fill(dbias, dbias + n, 0.0f);
  for (int i = 0; i < m; ++i) {
    const int64_t row = static_cast<int64_t>(i) * n;
    for (int j = 0; j < n; ++j) dbias[j] += dz[row + j];
  }
  return Status::Ok();
}

}  // namespace shoal::cpu
