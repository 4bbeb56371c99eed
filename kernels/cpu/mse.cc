#include "kernels/cpu/mse.h"

#include <string>

#include "kernels/twins/arg_checks.h"
#include "kernels/twins/elementwise_math.h"
#include "kernels/cpu/softmax_cross_entropy.h"

namespace shoal::cpu {

Status MeanSquaredError(const float* out, const int32_t* labels, int m, int c, float grad_scale,
                        float* dout, double* loss_sum, int64_t* correct) {
  RETURN_IF_ERROR(
      kernels::CheckLossArgs("MeanSquaredError", "out", out, labels, m, c, loss_sum, correct));
  RETURN_IF_ERROR(CheckLabels(labels, m, c).WithContext("MeanSquaredError"));

  const float two_scale_over_c = 2.0f * grad_scale / static_cast<float>(c);
  double loss = 0.0;
  int64_t hits = 0;
  for (int i = 0; i < m; ++i) {
    const int64_t row = static_cast<int64_t>(i) * c;
    const float* o = out + row;
    const int label = labels[i];
    float max_v = o[0];
    int arg = 0;
    // The row's squared error is accumulated in double: it is summed over the whole batch and
    // the reported loss should not depend on the batch split.
    double sq = 0.0;
    for (int j = 0; j < c; ++j) {
      if (o[j] > max_v) {
        max_v = o[j];
        arg = j;
      }
      const double diff = static_cast<double>(o[j]) - (j == label ? 1.0 : 0.0);
      sq += diff * diff;
    }
    hits += (arg == label) ? 1 : 0;
    loss += sq / c;
    if (dout != nullptr) {
      // Reads o[j] before writing dout[j], so in-place (dout == out) is safe.
      float* d = dout + row;
      for (int j = 0; j < c; ++j) d[j] = math::MseGrad(o[j], j == label, two_scale_over_c);
    }
  }
  *loss_sum = loss;
  *correct = hits;
  return Status::Ok();
}

}  // namespace shoal::cpu
