#pragma once

#include <string>

#include <torch/torch.h>

#include "samri/model/image_encoder.h"
#include "samri/model/predictor.h"
#include "samri/model/sam_config.h"

namespace samri::embed {

struct EncoderInfo {
  std::string checkpoint_sha256;
  std::string fingerprint;  // model::encoder_fingerprint
};

// The frozen image encoder alone (the prompt encoder and decoder are not even built), loaded
// strictly from a checkpoint's image_encoder.* weights, at `precision` on `device`.
class SliceEncoder {
 public:
  SliceEncoder(const std::string& checkpoint, const model::SamConfig& config, torch::Device device,
               model::Precision precision);
  // (B, 3, S, S) float32 encoder inputs → (B, C, H, W) float32 embeddings on the CPU.
  torch::Tensor encode(const torch::Tensor& inputs);
  const EncoderInfo& info() const { return info_; }

 private:
  model::ImageEncoderViT encoder_{nullptr};
  torch::Device device_;
  torch::Dtype dtype_;
  EncoderInfo info_;
};

}  // namespace samri::embed
