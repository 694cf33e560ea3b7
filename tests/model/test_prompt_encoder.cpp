#include <gtest/gtest.h>

#include <string>

#include "samri/model/checkpoint.h"
#include "samri/model/prompt_encoder.h"
#include "support/fixtures.h"

namespace samri::model {
namespace {

using samri::test::all_close_rel;
using samri::test::expected;

// The `prefix` part of the tiny SAM's weights, loaded strictly: any missing or extra key fails.
void load_prefixed(torch::nn::Module& module, const std::string& prefix) {
  load_state_dict(module, samri::test::tiny_weights().part(prefix),
                  "sam_tiny.pth (" + prefix + "*)");
}

PromptEncoder tiny_prompt_encoder() {
  PromptEncoder encoder(samri::test::tiny_config().prompt_encoder);
  load_prefixed(*encoder, "prompt_encoder.");
  return encoder;
}

TEST(PromptEncoder, RegistersTheReferenceNames) {
  PromptEncoder encoder(samri::test::tiny_config().prompt_encoder);
  std::vector<std::string> names;
  for (const auto& p : encoder->named_parameters()) names.push_back(p.key());
  for (const auto& b : encoder->named_buffers()) names.push_back(b.key());
  const std::vector<std::string> want{"point_embeddings.0.weight",
                                      "point_embeddings.1.weight",
                                      "point_embeddings.2.weight",
                                      "point_embeddings.3.weight",
                                      "not_a_point_embed.weight",
                                      "mask_downscaling.0.weight",
                                      "mask_downscaling.0.bias",
                                      "mask_downscaling.1.weight",
                                      "mask_downscaling.1.bias",
                                      "mask_downscaling.3.weight",
                                      "mask_downscaling.3.bias",
                                      "mask_downscaling.4.weight",
                                      "mask_downscaling.4.bias",
                                      "mask_downscaling.6.weight",
                                      "mask_downscaling.6.bias",
                                      "no_mask_embed.weight",
                                      "pe_layer.positional_encoding_gaussian_matrix"};
  EXPECT_EQ(names, want);
}

TEST(PromptEncoder, PointsMatchReference) {
  torch::NoGradGuard no_grad;
  auto encoder = tiny_prompt_encoder();
  const auto [sparse, dense] = encoder->forward(
      std::make_pair(expected("pe_points"), expected("pe_labels")), std::nullopt, std::nullopt);
  EXPECT_TRUE(all_close_rel(sparse, expected("pe_sparse_points")));
  EXPECT_TRUE(all_close_rel(dense, expected("pe_dense_none")));
}

TEST(PromptEncoder, BoxAndMaskMatchReference) {
  torch::NoGradGuard no_grad;
  auto encoder = tiny_prompt_encoder();
  const auto [sparse, dense] =
      encoder->forward(std::nullopt, expected("pe_boxes"), expected("pe_mask"));
  EXPECT_TRUE(all_close_rel(sparse, expected("pe_sparse_box")));
  EXPECT_TRUE(all_close_rel(dense, expected("pe_dense_mask")));
}

TEST(PromptEncoder, PointsWithBoxGetNoPadPoint) {
  torch::NoGradGuard no_grad;
  auto encoder = tiny_prompt_encoder();
  const auto points = expected("pe_points").narrow(1, 0, 2);
  const auto labels = expected("pe_labels").narrow(1, 0, 2);
  const auto [sparse, dense] =
      encoder->forward(std::make_pair(points, labels), expected("pe_boxes"), std::nullopt);
  EXPECT_TRUE(all_close_rel(sparse, expected("pe_sparse_points_box")));
}

TEST(PromptEncoder, DensePositionalEncodingMatchesReference) {
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(all_close_rel(tiny_prompt_encoder()->get_dense_pe(), expected("pe_dense_pe")));
}

TEST(PromptEncoder, TheCachedDenseEncodingFollowsNewWeights) {
  PromptEncoder encoder(samri::test::tiny_config().prompt_encoder);
  const torch::Tensor random = encoder->get_dense_pe().clone();
  EXPECT_TRUE(torch::equal(encoder->get_dense_pe(), random));
  load_prefixed(*encoder, "prompt_encoder.");  // writes the matrix in place
  EXPECT_TRUE(all_close_rel(encoder->get_dense_pe(), expected("pe_dense_pe")));
  {
    torch::NoGradGuard no_grad;
    encoder->named_buffers()["pe_layer.positional_encoding_gaussian_matrix"].mul_(2);
  }
  EXPECT_FALSE(all_close_rel(encoder->get_dense_pe(), expected("pe_dense_pe")));
}

TEST(PromptEncoder, NoPromptGivesEmptySparse) {
  torch::NoGradGuard no_grad;
  const auto [sparse, dense] =
      tiny_prompt_encoder()->forward(std::nullopt, std::nullopt, std::nullopt);
  EXPECT_EQ(sparse.sizes(), (std::vector<int64_t>{1, 0, 32}));
  EXPECT_TRUE(all_close_rel(dense, expected("pe_dense_none")));
}

}  // namespace
}  // namespace samri::model
