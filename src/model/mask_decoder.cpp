#include "samri/model/mask_decoder.h"

#include <string>

#include "samri/core/error.h"
#include "samri/model/cpu_low_precision.h"
#include "samri/model/layer_norm_2d.h"

namespace samri::model {

namespace {

torch::nn::ConvTranspose2d upsample2x(int64_t in, int64_t out) {
  return torch::nn::ConvTranspose2d(torch::nn::ConvTranspose2dOptions(in, out, 2).stride(2));
}

// A kernel-2 stride-2 transposed convolution as one matrix product on the CPU: every output pixel
// (2i + a, 2j + b) is input pixel (i, j) times the weight's (a, b) slice. LibTorch 1.13's oneDNN
// refuses bf16 transposed convolutions, and in float32 training slow_conv_transpose2d's forward
// and backward cost more than this product's. Float32 inference keeps the convolution.
torch::Tensor upsample2x_forward(torch::nn::ConvTranspose2dImpl& conv, const torch::Tensor& x) {
  const bool training = records_gradient(x, conv.weight);
  if (!x.device().is_cpu() || (x.scalar_type() == torch::kFloat32 && !training)) {
    return conv.forward(x);
  }
  const int64_t b = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  const int64_t out = conv.weight.size(1);
  // Columns ordered (out, a, b), as the weight's trailing dims; the bias repeats over (a, b).
  const torch::Tensor y =
      torch::addmm(conv.bias.repeat_interleave(4), x.permute({0, 2, 3, 1}).reshape({b * h * w, c}),
                   conv.weight.reshape({c, out * 4}))
          .view({b, h, w, out, 2, 2});
  if (!training) {
    return y.permute({0, 3, 1, 4, 2, 5}).reshape({b, out, 2 * h, 2 * w});
  }
  // Channels-last for training: the layer norm and GELU that follow, and their backward passes,
  // then read it without copies (measured: the training step about 30% faster, inference slower).
  return y.permute({0, 1, 4, 2, 5, 3}).reshape({b, 2 * h, 2 * w, out}).permute({0, 3, 1, 2});
}

}  // namespace

MaskDecoderImpl::MaskDecoderImpl(const MaskDecoderConfig& config)
    : num_mask_tokens_(config.num_multimask_outputs + 1) {
  const int64_t dim = config.transformer_dim;
  transformer_ = register_module(
      "transformer",
      TwoWayTransformer(config.transformer_depth, dim, config.transformer_num_heads,
                        config.transformer_mlp_dim, config.attention_downsample_rate));
  iou_token_ = register_module("iou_token", torch::nn::Embedding(1, dim));
  mask_tokens_ = register_module("mask_tokens", torch::nn::Embedding(num_mask_tokens_, dim));
  // The parameter-free GELUs keep their Sequential slots (2 and 4), as in the reference.
  output_upscaling_ = register_module(
      "output_upscaling",
      torch::nn::Sequential(upsample2x(dim, dim / 4), LayerNorm2d(dim / 4), torch::nn::GELU(),
                            upsample2x(dim / 4, dim / 8), torch::nn::GELU()));
  torch::nn::ModuleList hypernetworks;
  for (int64_t i = 0; i < num_mask_tokens_; ++i) {
    output_hypernetworks_mlps_.emplace_back(MLP(dim, dim, dim / 8, 3));
    hypernetworks->push_back(output_hypernetworks_mlps_.back());
  }
  register_module("output_hypernetworks_mlps", hypernetworks);
  iou_prediction_head_ = register_module(
      "iou_prediction_head",
      MLP(dim, config.iou_head_hidden_dim, num_mask_tokens_, config.iou_head_depth));
}

std::pair<torch::Tensor, torch::Tensor> MaskDecoderImpl::forward(
    const torch::Tensor& image_embeddings, const torch::Tensor& image_pe,
    const torch::Tensor& sparse_prompt_embeddings, const torch::Tensor& dense_prompt_embeddings,
    bool multimask_output) {
  auto [masks, iou] =
      predict_masks(image_embeddings, image_pe, sparse_prompt_embeddings, dense_prompt_embeddings);
  // Output 0 is the single-mask answer; 1.. are the multimask answers.
  const auto outputs = multimask_output ? torch::indexing::Slice(1, torch::indexing::None)
                                        : torch::indexing::Slice(0, 1);
  return {masks.index({torch::indexing::Slice(), outputs}),
          iou.index({torch::indexing::Slice(), outputs})};
}

std::pair<torch::Tensor, torch::Tensor> MaskDecoderImpl::predict_masks(
    const torch::Tensor& image_embeddings, const torch::Tensor& image_pe,
    const torch::Tensor& sparse, const torch::Tensor& dense) {
  const int64_t batch = sparse.size(0);
  if (image_embeddings.dim() != 4 ||
      (image_embeddings.size(0) != 1 && image_embeddings.size(0) != batch)) {
    throw Error("mask decoder: image embeddings " + c10::str(image_embeddings.sizes()) +
                " do not match " + std::to_string(batch) + " prompts (need 1 or " +
                std::to_string(batch) + ")");
  }
  const torch::Tensor output_tokens = torch::cat({iou_token_->weight, mask_tokens_->weight}, 0);
  const torch::Tensor tokens =
      torch::cat({output_tokens.unsqueeze(0).expand({batch, -1, -1}), sparse}, 1);
  torch::Tensor src = image_embeddings.size(0) == batch
                          ? image_embeddings
                          : torch::repeat_interleave(image_embeddings, batch, 0);
  src = src + dense;
  const torch::Tensor pos_src = torch::repeat_interleave(image_pe, batch, 0);
  const int64_t c = src.size(1), h = src.size(2), w = src.size(3);

  auto [hs, image_tokens] = transformer_(src, pos_src, tokens);
  const torch::Tensor iou_token_out = hs.select(1, 0);
  const torch::Tensor mask_tokens_out = hs.narrow(1, 1, num_mask_tokens_);

  const torch::Tensor upscaled = upscale(image_tokens.transpose(1, 2).reshape({batch, c, h, w}));
  const torch::Tensor hyper_in = hypernetwork_weights(mask_tokens_out);
  const int64_t uc = upscaled.size(1), uh = upscaled.size(2), uw = upscaled.size(3);
  // A channels-last map (the CPU's upscale) enters the product as a transposed view, not a copy.
  const torch::Tensor pixels =
      upscaled.is_contiguous()
          ? upscaled.view({batch, uc, uh * uw})
          : upscaled.permute({0, 2, 3, 1}).reshape({batch, uh * uw, uc}).transpose(1, 2);
  const torch::Tensor masks = torch::matmul(hyper_in, pixels).view({batch, -1, uh, uw});
  return {masks, iou_prediction_head_(iou_token_out)};
}

torch::Tensor MaskDecoderImpl::upscale(const torch::Tensor& x) {
  auto& seq = *output_upscaling_;
  torch::Tensor y = upsample2x_forward(*seq[0]->as<torch::nn::ConvTranspose2dImpl>(), x);
  y = robust_gelu(seq[1]->as<LayerNorm2dImpl>()->forward(y));
  return robust_gelu(upsample2x_forward(*seq[3]->as<torch::nn::ConvTranspose2dImpl>(), y));
}

torch::Tensor MaskDecoderImpl::hypernetwork_weights(const torch::Tensor& mask_tokens_out) {
  std::vector<torch::Tensor> weights;
  for (int64_t i = 0; i < num_mask_tokens_; ++i) {
    weights.push_back(output_hypernetworks_mlps_[i](mask_tokens_out.select(1, i)));
  }
  return torch::stack(weights, 1);
}

}  // namespace samri::model
