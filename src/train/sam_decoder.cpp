#include "samri/train/sam_decoder.h"

#include "samri/model/checkpoint.h"

namespace samri::train {

namespace {

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace

SamDecoderImpl::SamDecoderImpl(const model::SamConfig& config) : config_(config) {
  prompt_encoder = register_module("prompt_encoder", model::PromptEncoder(config.prompt_encoder));
  mask_decoder = register_module("mask_decoder", model::MaskDecoder(config.mask_decoder));
  for (auto& p : prompt_encoder->parameters()) p.set_requires_grad(false);
}

torch::Tensor SamDecoderImpl::forward(const torch::Tensor& embeddings, const torch::Tensor& boxes,
                                      const torch::Tensor& points) {
  return forward_with_iou(embeddings, boxes, points).first;
}

std::pair<torch::Tensor, torch::Tensor> SamDecoderImpl::forward_with_iou(
    const torch::Tensor& embeddings, const torch::Tensor& boxes, const torch::Tensor& points) {
  torch::Tensor sparse, dense, pe;
  {
    torch::NoGradGuard no_grad;
    std::optional<std::pair<torch::Tensor, torch::Tensor>> point_prompt;
    if (points.defined()) {
      point_prompt.emplace(points, torch::ones({points.size(0), points.size(1)},
                                               points.options().dtype(torch::kInt64)));
    }
    std::tie(sparse, dense) = prompt_encoder->forward(point_prompt, boxes, std::nullopt);
    pe = prompt_encoder->get_dense_pe();
  }
  const auto dtype = embeddings.scalar_type();
  return mask_decoder->forward(embeddings, pe.to(dtype), sparse.to(dtype), dense.to(dtype),
                               /*multimask_output=*/false);
}

void load_decoder_weights(SamDecoderImpl& decoder, const model::StateDict& weights,
                          const std::string& source) {
  model::StateDict subset;
  for (const auto& [key, value] : weights.items()) {
    if (starts_with(key, "prompt_encoder.") || starts_with(key, "mask_decoder.")) {
      subset.insert(key, value);
    }
  }
  model::load_state_dict(decoder, subset, source);
}

model::StateDict with_trained_decoder(const model::StateDict& base, const SamDecoderImpl& decoder) {
  const model::StateDict trained = model::module_state_dict(decoder);
  model::StateDict out;
  for (const auto& [key, value] : base.items()) {
    if (starts_with(key, "mask_decoder.")) {
      out.insert(key, trained.at(key).detach().to(torch::kCPU, torch::kFloat32).contiguous());
    } else {
      out.insert(key, value);
    }
  }
  return out;
}

}  // namespace samri::train
