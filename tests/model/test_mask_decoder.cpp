#include <gtest/gtest.h>

#include <string>

#include "samri/core/error.h"
#include "samri/model/checkpoint.h"
#include "samri/model/mask_decoder.h"
#include "samri/model/prompt_encoder.h"
#include "support/fixtures.h"

namespace samri::model {
namespace {

using samri::test::all_close_rel;
using samri::test::expected;
using samri::test::tiny_config;

// The `prefix` part of the tiny SAM's weights, loaded strictly: any missing or extra key fails.
void load_prefixed(torch::nn::Module& module, const std::string& prefix) {
  load_state_dict(module, samri::test::tiny_weights().part(prefix),
                  "sam_tiny.pth (" + prefix + "*)");
}

struct TinyDecoder {
  PromptEncoder prompt_encoder{tiny_config().prompt_encoder};
  MaskDecoder mask_decoder{tiny_config().mask_decoder};
  TinyDecoder() {
    load_prefixed(*prompt_encoder, "prompt_encoder.");
    load_prefixed(*mask_decoder, "mask_decoder.");
  }
  std::pair<torch::Tensor, torch::Tensor> decode_boxes(const torch::Tensor& embeddings,
                                                       const torch::Tensor& boxes, bool multi) {
    const auto [sparse, dense] = prompt_encoder->forward(std::nullopt, boxes, std::nullopt);
    return mask_decoder->forward(embeddings, prompt_encoder->get_dense_pe(), sparse, dense, multi);
  }
};

TEST(MaskDecoder, RegistersTheReferenceNames) {
  MaskDecoder decoder(tiny_config().mask_decoder);
  const auto params = decoder->named_parameters();
  EXPECT_EQ(params.size(), 120u);
  for (const char* key :
       {"transformer.layers.0.self_attn.q_proj.weight", "transformer.layers.1.norm4.bias",
        "transformer.layers.1.cross_attn_image_to_token.out_proj.weight",
        "transformer.final_attn_token_to_image.k_proj.bias", "transformer.norm_final_attn.weight",
        "iou_token.weight", "mask_tokens.weight", "output_upscaling.0.weight",
        "output_upscaling.1.bias", "output_upscaling.3.weight",
        "output_hypernetworks_mlps.3.layers.2.weight", "iou_prediction_head.layers.2.bias",
        "transformer.layers.0.mlp.lin2.weight"}) {
    EXPECT_TRUE(params.contains(key)) << key;
  }
  EXPECT_EQ(params["transformer.layers.0.cross_attn_token_to_image.q_proj.weight"].sizes(),
            (std::vector<int64_t>{16, 32}));
  EXPECT_EQ(params["output_upscaling.0.weight"].sizes(), (std::vector<int64_t>{32, 8, 2, 2}));
  EXPECT_EQ(params["iou_prediction_head.layers.0.weight"].sizes(), (std::vector<int64_t>{40, 32}));
}

// With autograd recording, the CPU upscaling takes its training path (a channels-last matrix
// product and fused layer norm): the same masks, in float32 and in bf16, and gradients that flow.
TEST(MaskDecoder, TrainingPathGivesTheReferenceMasks) {
  TinyDecoder tiny;
  const auto [masks, iou] =
      tiny.decode_boxes(expected("batch_embeddings"), expected("batch_boxes"), false);
  ASSERT_TRUE(masks.requires_grad());
  EXPECT_TRUE(all_close_rel(masks.detach(), expected("batch_lowres")));
  EXPECT_TRUE(all_close_rel(iou.detach(), expected("batch_iou")));
  masks.sum().backward();
  const auto grad = tiny.mask_decoder->named_parameters()["output_upscaling.0.weight"].grad();
  ASSERT_TRUE(grad.defined());
  EXPECT_TRUE(torch::isfinite(grad).all().item<bool>());
  EXPECT_GT(grad.abs().sum().item<double>(), 0.0);

  tiny.mask_decoder->to(torch::kBFloat16);
  const auto [sparse, dense] =
      tiny.prompt_encoder->forward(std::nullopt, expected("batch_boxes"), std::nullopt);
  const auto bf16 = [](const torch::Tensor& t) { return t.to(torch::kBFloat16); };
  const auto bf16_masks =
      tiny.mask_decoder
          ->forward(bf16(expected("batch_embeddings")), bf16(tiny.prompt_encoder->get_dense_pe()),
                    bf16(sparse), bf16(dense), false)
          .first;
  ASSERT_TRUE(bf16_masks.requires_grad());
  const auto want = expected("batch_lowres");
  const double scale = want.abs().max().item<double>();
  EXPECT_LT((bf16_masks.detach().to(torch::kFloat) - want).abs().max().item<double>(), 0.1 * scale);
}

TEST(MaskDecoder, BatchedEmbeddingsPairWithPromptsAsReference) {
  torch::NoGradGuard no_grad;
  TinyDecoder tiny;
  const auto [masks, iou] =
      tiny.decode_boxes(expected("batch_embeddings"), expected("batch_boxes"), false);
  EXPECT_TRUE(all_close_rel(masks, expected("batch_lowres")));
  EXPECT_TRUE(all_close_rel(iou, expected("batch_iou")));
}

TEST(MaskDecoder, OneEmbeddingIsRepeatedPerPrompt) {
  torch::NoGradGuard no_grad;
  TinyDecoder tiny;
  const auto embedding = expected("batch_embeddings").narrow(0, 1, 1);
  const auto boxes = expected("batch_boxes");
  const auto [all_masks, all_iou] = tiny.decode_boxes(embedding, boxes, true);
  ASSERT_EQ(all_masks.sizes(), (std::vector<int64_t>{3, 3, 32, 32}));
  ASSERT_EQ(all_iou.sizes(), (std::vector<int64_t>{3, 3}));
  for (int64_t i = 0; i < boxes.size(0); ++i) {
    const auto [masks, iou] = tiny.decode_boxes(embedding, boxes.narrow(0, i, 1), true);
    EXPECT_TRUE(all_close_rel(all_masks.narrow(0, i, 1), masks, 1e-5)) << "prompt " << i;
    EXPECT_TRUE(all_close_rel(all_iou.narrow(0, i, 1), iou, 1e-5)) << "prompt " << i;
  }
}

TEST(MaskDecoder, RefusesEmbeddingsThatMatchNeitherOneNorThePrompts) {
  torch::NoGradGuard no_grad;
  TinyDecoder tiny;
  const auto embeddings = expected("batch_embeddings").narrow(0, 0, 2);
  EXPECT_THROW(tiny.decode_boxes(embeddings, expected("batch_boxes"), false), samri::Error);
}

}  // namespace
}  // namespace samri::model
