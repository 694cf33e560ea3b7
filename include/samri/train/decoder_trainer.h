#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "samri/dist/communicator.h"
#include "samri/model/state_dict.h"
#include "samri/train/loss.h"
#include "samri/train/sam_decoder.h"
#include "samri/train/train_config.h"

namespace samri::train {

// One micro-batch, ready for the decoder.
struct TrainBatch {
  torch::Tensor embeddings;           // (B, C, H, W), float32 or the compute dtype
  torch::Tensor boxes;                // (B, 4) float32, input frame
  torch::Tensor points;               // (B, 1, 2) float32, or undefined (box prompts only)
  torch::Tensor targets;              // (B, 1, L, L) float32 0/1
  std::vector<std::int64_t> samples;  // which samples (for messages)
  std::int64_t size() const { return boxes.size(0); }
};

// Decoder-only optimisation: AdamW on the mask decoder's float32 master weights. In bf16 or fp16
// the forward and backward run on a copy of the decoder in that dtype, whose gradients are added
// in float32 to the master's after each micro-batch (fp16 with dynamic loss scaling); the loss is
// always computed in float32.
class DecoderTrainer {
 public:
  DecoderTrainer(const model::SamConfig& architecture, const model::StateDict& weights,
                 const std::string& source, const TrainConfig& config, torch::Device device);

  // Forward and backward of a micro-batch whose share of the global batch is `weight` (its size
  // over the global batch's): gradients accumulate as for the mean over the global batch. Returns
  // the micro-batch's own loss terms, detached, float32 on the CPU. Runs in passes of at most
  // `samples_per_pass` samples (TrainConfig), each weighted by its share.
  LossTerms accumulate(const TrainBatch& batch, double weight);
  // Clips, takes an AdamW step at `lr` and zeroes the gradients. Returns false when fp16 loss
  // scaling found non-finite gradients (the step is then skipped and the scale lowered).
  bool step(double lr);
  // The name of the first mask-decoder parameter whose accumulated gradient holds a NaN or an
  // infinity, or "" when all are finite. (With fp16 loss scaling such a step is skipped instead.)
  std::string first_non_finite_gradient() const;
  // Data-parallel: sums the accumulated gradients over the ranks in one flat buffer (so that N
  // ranks' partial sums become the global batch's gradient), and `extras` with them (per-rank
  // values every rank needs summed: losses, a stop flag). A parameter with a gradient on any rank
  // gets one on all. Returns the summed extras.
  std::vector<double> all_reduce_gradients(dist::Communicator& comm,
                                           const std::vector<double>& extras);
  bool scales_loss() const { return dtype_ == torch::kFloat16; }
  // Samples per forward and backward pass (TrainConfig::samples_per_pass resolved; 0: all).
  std::int64_t samples_per_pass() const { return samples_per_pass_; }
  // Logits (B, 1, L, L) float32 without gradient, in the compute dtype.
  torch::Tensor predict(const TrainBatch& batch);

  SamDecoderImpl& master() { return *master_; }
  const SamDecoderImpl& master() const { return *master_; }
  torch::Dtype compute_dtype() const { return dtype_; }
  torch::Device device() const { return device_; }

  // The optimiser state, the master weights and the loss scale, for resuming bit for bit.
  void save(torch::serialize::OutputArchive& archive) const;
  void load(torch::serialize::InputArchive& archive);

 private:
  LossTerms accumulate_pass(const TrainBatch& batch, double weight);
  torch::Tensor to_device(const torch::Tensor& t, torch::Dtype dtype) const;
  void copy_master_to_compute();
  std::vector<torch::Tensor> master_params_;   // the mask decoder's, in registration order
  std::vector<torch::Tensor> compute_params_;  // the same, in the compute dtype (or the same)
  SamDecoder master_{nullptr};
  SamDecoder compute_{nullptr};  // == master_ in fp32
  std::unique_ptr<torch::optim::AdamW> optimizer_;
  LossWeights loss_;
  double grad_clip_;
  std::int64_t samples_per_pass_;  // 0: whole micro-batches
  torch::Device device_;
  torch::Dtype dtype_;
  double loss_scale_ = 1;
  std::int64_t good_steps_ = 0;
};

}  // namespace samri::train
