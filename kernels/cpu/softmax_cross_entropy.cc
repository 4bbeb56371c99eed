#include "kernels/cpu/softmax_cross_entropy.h"

#include <math.h>

#include <string>

#include "kernels/twins/arg_checks.h"
#include "kernels/twins/elementwise_math.h"

namespace shoal::cpu {

Status CheckLabels(const int32_t* labels, int m, int c) {
  for (int i = 0; i < m; ++i) {
    if (labels[i] < 0 || labels[i] >= c) {
      return InvalidArgument("label " + std::to_string(labels[i]) + " at row " + std::to_string(i) +
                             " is outside [0, " + std::to_string(c) + ")");
    }
  }
  return Status::Ok();
}

Status SoftmaxCrossEntropy(const float* logits, const int32_t* labels, int m, int c,
                           float grad_scale, float* dlogits, double* loss_sum, int64_t* correct) {
  RETURN_IF_ERROR(kernels::CheckLossArgs("SoftmaxCrossEntropy", "logits", logits, labels, m, c,
                                         loss_sum, correct));
  RETURN_IF_ERROR(CheckLabels(labels, m, c).WithContext("SoftmaxCrossEntropy"));

  double loss = 0.0;
  int64_t hits = 0;
  for (int i = 0; i < m; ++i) {
    const int64_t row = static_cast<int64_t>(i) * c;
    const float* x = logits + row;
    const int label = labels[i];
    // Pass 1: max (for stability) and argmax (first index wins ties).
    float max_v = x[0];
    int arg = 0;
    for (int j = 1; j < c; ++j) {
      if (x[j] > max_v) {
        max_v = x[j];
        arg = j;
      }
    }
    hits += (arg == label) ? 1 : 0;
    // Read before pass 2 may overwrite it when dlogits aliases logits.
    const float x_label = x[label];
    // Pass 2: sum of exponentials; when training, park them in dlogits to avoid recomputing.
    float sum = 0.0f;
    if (dlogits != nullptr) {
      float* d = dlogits + row;
      for (int j = 0; j < c; ++j) {
        const float e = expf(x[j] - max_v);
        d[j] = e;
        sum += e;
      }
      // Pass 3: normalize and subtract the one-hot, scaled.
      const float inv_sum = 1.0f / sum;
      for (int j = 0; j < c; ++j)
        d[j] = math::SoftmaxXentGrad(d[j] * inv_sum, j == label, grad_scale);
    } else {
      for (int j = 0; j < c; ++j) sum += expf(x[j] - max_v);
    }
    // -log softmax[label] = logsumexp - x_label = max + log(sum) - x_label. sum >= 1 (the max term
    // contributes exp(0)), so the log never sees 0.
    loss +=
        static_cast<double>(max_v) + log(static_cast<double>(sum)) - static_cast<double>(x_label);
  }
  *loss_sum = loss;
  *correct = hits;
  return Status::Ok();
}

}  // namespace shoal::cpu
