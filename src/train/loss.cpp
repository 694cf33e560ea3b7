#include "samri/train/loss.h"

namespace samri::train {

LossTerms LossTerms::zeros() {
  return {torch::zeros({}), torch::zeros({}), torch::zeros({}), torch::zeros({})};
}

void LossTerms::add_weighted(const LossTerms& part, double weight) {
  loss += part.loss * weight;
  focal += part.focal * weight;
  dice += part.dice * weight;
  iou += part.iou * weight;
}

LossTerms focal_dice_loss(const torch::Tensor& logits_in, const torch::Tensor& targets_in,
                          const LossWeights& w) {
  const torch::Tensor logits = logits_in.to(torch::kFloat32);
  const torch::Tensor t = targets_in.to(torch::kFloat32);
  const torch::Tensor p = torch::sigmoid(logits);
  const torch::Tensor ce = torch::binary_cross_entropy_with_logits(
      logits, t, /*weight=*/{}, /*pos_weight=*/{}, at::Reduction::None);
  const torch::Tensor p_t = p * t + (1 - p) * (1 - t);
  torch::Tensor focal = (1 - p_t).pow(w.gamma) * ce;
  if (w.alpha >= 0) focal = (w.alpha * t + (1 - w.alpha) * (1 - t)) * focal;
  focal = focal.mean();

  const std::vector<int64_t> dims = {1, 2, 3};
  const torch::Tensor inter = (p * t).sum(dims);
  const torch::Tensor denom = (p * p).sum(dims) + (t * t).sum(dims) + w.smooth;
  const torch::Tensor dice = (1 - (2 * inter + w.smooth) / denom).mean();
  return {w.focal_weight * focal + w.dice_weight * dice, focal, dice, torch::zeros({})};
}

torch::Tensor hard_iou(const torch::Tensor& logits, const torch::Tensor& targets) {
  const torch::Tensor m = (logits > 0).to(torch::kFloat32).flatten(1);
  const torch::Tensor t = (targets > 0.5).to(torch::kFloat32).flatten(1);
  const torch::Tensor inter = (m * t).sum(1);
  const torch::Tensor uni = m.sum(1) + t.sum(1) - inter;
  return torch::where(uni > 0, inter / uni.clamp_min(1), torch::ones_like(uni));
}

torch::Tensor iou_prediction_loss(const torch::Tensor& predicted_iou, const torch::Tensor& logits,
                                  const torch::Tensor& targets) {
  const torch::Tensor real = hard_iou(logits.detach(), targets);
  return (predicted_iou.to(torch::kFloat32).reshape(-1) - real).pow(2).mean();
}

torch::Tensor hard_dice(const torch::Tensor& logits, const torch::Tensor& targets) {
  const torch::Tensor m = (logits > 0).to(torch::kFloat32).flatten(1);
  const torch::Tensor t = (targets > 0.5).to(torch::kFloat32).flatten(1);
  const torch::Tensor inter = (m * t).sum(1);
  const torch::Tensor total = m.sum(1) + t.sum(1);
  return torch::where(total > 0, 2 * inter / total.clamp_min(1), torch::ones_like(total));
}

}  // namespace samri::train
