#pragma once

#include <torch/torch.h>

namespace samri::train {

struct LossWeights {
  double focal_weight = 20;
  double dice_weight = 1;
  double gamma = 2;
  double alpha = -1;  // < 0: none
  double smooth = 1e-5;
  double iou_weight =
      0;  // SAM's IoU-prediction loss; 0: SAMRI's loss (the IoU head is not trained)
};

struct LossTerms {
  torch::Tensor loss;   // focal_weight * focal + dice_weight * dice, a scalar
  torch::Tensor focal;  // mean over every pixel of the batch
  torch::Tensor dice;   // batch mean of 1 - soft Dice
  torch::Tensor iou;    // mean squared error of the predicted IoU (0 when not trained)

  // Zero terms, to sum parts into.
  static LossTerms zeros();
  // Adds `part`'s terms times `weight` (its share of the whole).
  void add_weighted(const LossTerms& part, double weight);
};

// SAMRI's loss on low-res logits (B, 1, H, W) against 0/1 targets of the same shape, computed in
// float32 whatever the logits' dtype: focal = mean of alpha_t (1 - p_t)^gamma BCE(logit, t),
// dice = mean over the batch of 1 - (2 sum(p t) + s) / (sum(p^2) + sum(t^2) + s), p = sigmoid.
LossTerms focal_dice_loss(const torch::Tensor& logits, const torch::Tensor& targets,
                          const LossWeights& weights);

// SAM's IoU-prediction loss: the mean squared error between the decoder's predicted IoU (B, 1) and
// the real IoU of its thresholded mask (logits > 0) with the targets, which is a constant (no
// gradient flows through the mask). Without it the IoU head keeps whatever the checkpoint had, and
// confidence flags built on it mean nothing.
torch::Tensor iou_prediction_loss(const torch::Tensor& predicted_iou, const torch::Tensor& logits,
                                  const torch::Tensor& targets);

// IoU of the thresholded logits (> 0) with the targets, one value per sample (B); 1 when both are
// empty.
torch::Tensor hard_iou(const torch::Tensor& logits, const torch::Tensor& targets);

// Dice of the thresholded logits (> 0) against the targets, one value per sample (B); 1 when
// both are empty.
torch::Tensor hard_dice(const torch::Tensor& logits, const torch::Tensor& targets);

}  // namespace samri::train
