#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "samri/core/error.h"
#include "samri/model/checkpoint.h"
#include "samri/model/image_encoder.h"
#include "samri/model/vit_block.h"
#include "support/fixtures.h"

namespace samri::model {
namespace {

using samri::test::all_close_rel;
using samri::test::expected;

const std::string kPrefix = "image_encoder.";

StateDict encoder_weights() {
  StateDict weights;
  for (const auto& [key, value] : samri::test::tiny_weights().items()) {
    if (key.rfind(kPrefix, 0) == 0) weights.insert(key.substr(kPrefix.size()), value);
  }
  return weights;
}

ImageEncoderViT tiny_encoder() {
  ImageEncoderViT encoder(samri::test::tiny_config().image_encoder);
  load_state_dict(*encoder, encoder_weights(), "sam_tiny.pth");
  encoder->eval();
  return encoder;
}

TEST(ImageEncoderViT, ParametersAreTheOfficialKeysAndShapes) {
  std::map<std::string, std::vector<int64_t>> want, got;
  const auto weights = encoder_weights();
  for (const auto& [key, value] : weights.items()) want[key] = value.sizes().vec();
  ImageEncoderViT encoder(samri::test::tiny_config().image_encoder);
  for (const auto& p : encoder->named_parameters()) got[p.key()] = p.value().sizes().vec();
  EXPECT_TRUE(encoder->named_buffers().is_empty());
  ASSERT_EQ(want.size(), 51u);  // every image_encoder.* tensor of the tiny checkpoint
  EXPECT_EQ(got, want);
}

TEST(ImageEncoderViT, MatchesReferenceOnRandomInput) {
  auto encoder = tiny_encoder();
  torch::NoGradGuard no_grad;
  const auto out = encoder(expected("encoder_random_input"));
  EXPECT_TRUE(all_close_rel(out, expected("encoder_random_output"), 1e-4));
  EXPECT_TRUE(out.is_contiguous());
}

// The way the tools build it: linear layers left unset, then the checkpoint's tensors adopted.
TEST(ImageEncoderViT, BuiltUninitialisedThenAdoptedMatchesReference) {
  ImageEncoderViT encoder(samri::test::tiny_config().image_encoder, WeightInit::kNone);
  adopt_state_dict(*encoder, encoder_weights(), "sam_tiny.pth");
  encoder->eval();
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(all_close_rel(encoder(expected("encoder_random_input")),
                            expected("encoder_random_output"), 1e-4));
}

// CPU inference builds the attention logits in memory the blocks share and keep between calls;
// a second call over the left-overs of the first must give the same values.
TEST(ImageEncoderViT, RepeatedInferenceReusesScratchMemoryExactly) {
  auto encoder = tiny_encoder();
  torch::NoGradGuard no_grad;
  EXPECT_EQ(encoder->scratch_bytes(), 0);
  const auto first = encoder(expected("encoder_random_input"));
  EXPECT_GT(encoder->scratch_bytes(), 0);
  const auto second = encoder(expected("encoder_random_input"));
  EXPECT_TRUE(torch::equal(first, second));
  EXPECT_TRUE(all_close_rel(second, expected("encoder_random_output"), 1e-4));
  encoder->release_scratch();
  EXPECT_EQ(encoder->scratch_bytes(), 0);
}

// One encoder run from several threads at once: one of them uses the shared scratch memory, the
// others fresh memory, and every result is the reference's.
TEST(ImageEncoderViT, ConcurrentInferenceFromSeveralThreadsIsCorrect) {
  auto encoder = tiny_encoder();
  const auto input = expected("encoder_random_input");
  const auto want = expected("encoder_random_output");
  std::vector<int> good(3, 0);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < good.size(); ++t) {
    threads.emplace_back([&, t] {
      torch::NoGradGuard no_grad;
      for (int i = 0; i < 4; ++i) good[t] += all_close_rel(encoder(input), want, 1e-4) ? 1 : 0;
    });
  }
  for (auto& thread : threads) thread.join();
  for (const int count : good) EXPECT_EQ(count, 4);
}

TEST(ImageEncoderViT, MatchesReferenceImageEmbedding) {
  auto encoder = tiny_encoder();
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(all_close_rel(encoder(expected("encoder_input")), expected("image_embedding"), 1e-4));
}

// With autograd recording, the encoder keeps every saved tensor intact (no in-place reuse) and
// still computes the reference values.
TEST(ImageEncoderViT, AutogradPathMatchesAndBackpropagates) {
  auto encoder = tiny_encoder();
  const auto out = encoder(expected("encoder_random_input"));
  EXPECT_TRUE(all_close_rel(out, expected("encoder_random_output"), 1e-4));
  out.sum().backward();
  for (const auto& p : encoder->named_parameters()) {
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
    EXPECT_GT(p.value().grad().abs().sum().item<double>(), 0.0) << p.key();
  }
}

// Inference sends float32 linear layers to oneDNN and builds the logits in scratch memory; a
// layer without bias (qkv_bias false, as some SAM variants have), with or without relative
// positions, must give what the plain Linear layers and fresh memory give under autograd.
TEST(VitAttention, InferenceMatchesAutogradWithoutQkvBias) {
  for (const bool rel_pos : {true, false}) {
    torch::manual_seed(5);
    VitAttention attention(16, 2, /*qkv_bias=*/false, rel_pos, std::array<int64_t, 2>{4, 4});
    for (auto& p : attention->parameters()) p.data().normal_(0.0, 0.5);
    auto scratch = std::make_shared<ScratchBuffer>();
    attention->share_scratch(scratch);
    const auto x = torch::randn({2, 4, 4, 16});
    torch::Tensor fast;
    {
      const ScratchBuffer::Lease lease(*scratch);
      torch::NoGradGuard no_grad;
      fast = attention(x);
    }
    EXPECT_GT(scratch->bytes(), 0) << "rel_pos " << rel_pos;
    const auto recorded = attention(x.clone().requires_grad_(true));
    EXPECT_TRUE(all_close_rel(fast, recorded.detach(), 1e-5)) << "rel_pos " << rel_pos;
  }
}

// Global attention over 1024 or more tokens streams its logits through tiles of query rows in
// inference. A 32x36 grid (1152 tokens) ends on a partial tile; both precisions, with and without
// relative positions, must give what the batched autograd path gives.
TEST(VitAttention, StreamedLogitsMatchTheBatchedPath) {
  for (const auto dtype : {torch::kFloat, torch::kBFloat16}) {
    for (const bool rel_pos : {true, false}) {
      torch::manual_seed(7);
      VitAttention attention(16, 2, /*qkv_bias=*/true, rel_pos, std::array<int64_t, 2>{32, 36});
      for (auto& p : attention->parameters()) p.data().normal_(0.0, 0.3);
      attention->to(dtype);
      const auto x = torch::randn({2, 32, 36, 16}).to(dtype);
      torch::Tensor streamed;
      {
        torch::NoGradGuard no_grad;
        streamed = attention(x);
      }
      const auto batched = attention(x.clone().requires_grad_(true)).detach();
      const double tolerance = dtype == torch::kFloat ? 1e-5 : 2e-2;
      EXPECT_TRUE(all_close_rel(streamed.to(torch::kFloat), batched.to(torch::kFloat), tolerance))
          << "rel_pos " << rel_pos << " dtype " << dtype;
    }
  }
}

TEST(ImageEncoderViT, RunsInBFloat16) {
  auto encoder = tiny_encoder();
  encoder->to(torch::kBFloat16);
  torch::NoGradGuard no_grad;
  const auto out = encoder(expected("encoder_random_input").to(torch::kBFloat16));
  EXPECT_EQ(out.scalar_type(), torch::kBFloat16);
  EXPECT_TRUE(all_close_rel(out, expected("encoder_random_output"), 0.1));
}

TEST(ImageEncoderViT, RejectsInputOfTheWrongSize) {
  auto encoder = tiny_encoder();
  torch::NoGradGuard no_grad;
  EXPECT_THROW(encoder(torch::zeros({1, 3, 64, 64})), samri::Error);
  EXPECT_THROW(encoder(torch::zeros({3, 128, 128})), samri::Error);
}

TEST(ImageEncoderViT, RejectsInconsistentConfigs) {
  auto config = samri::test::tiny_config().image_encoder;
  config.global_attn_indexes = {3};
  EXPECT_THROW(ImageEncoderViT{config}, samri::Error);
  config = samri::test::tiny_config().image_encoder;
  config.num_heads = 5;
  EXPECT_THROW(ImageEncoderViT{config}, samri::Error);
  config = samri::test::tiny_config().image_encoder;
  config.img_size = 100;
  EXPECT_THROW(ImageEncoderViT{config}, samri::Error);
}

// Table rows r = 0..4 hold the value r. With q = k = 3 the offset of (i, j) is i - j + 2.
TEST(GetRelPos, PicksRowsByRelativeOffset) {
  const auto table = torch::arange(5, torch::kFloat).view({5, 1});
  const auto rows = get_rel_pos(3, 3, table).squeeze(-1);
  EXPECT_TRUE(
      torch::equal(rows, torch::tensor({2.f, 1.f, 0.f, 3.f, 2.f, 1.f, 4.f, 3.f, 2.f}).view({3, 3})))
      << rows;
}

// q = 2 against k = 4: query coordinates are stretched by 2, so the row is 2 i - j + 3.
TEST(GetRelPos, StretchesTheShorterAxis) {
  const auto table = torch::arange(7, torch::kFloat).view({7, 1});
  const auto rows = get_rel_pos(2, 4, table).squeeze(-1);
  EXPECT_TRUE(
      torch::equal(rows, torch::tensor({3.f, 2.f, 1.f, 0.f, 5.f, 4.f, 3.f, 2.f}).view({2, 4})))
      << rows;
}

// A 3-row table [0, 1, 2] used for a 3-wide grid (which needs 5 rows) is resampled first with
// half-pixel linear interpolation: source positions -0.2, 0.4, 1, 1.6, 2.2 clamp to
// [0, 0.4, 1, 1.6, 2], then rows are picked as above.
TEST(GetRelPos, InterpolatesATableOfAnotherLength) {
  const auto table = torch::arange(3, torch::kFloat).view({3, 1});
  const auto rows = get_rel_pos(3, 3, table).squeeze(-1);
  const auto want = torch::tensor({1.f, 0.4f, 0.f, 1.6f, 1.f, 0.4f, 2.f, 1.6f, 1.f}).view({3, 3});
  EXPECT_TRUE(torch::allclose(rows, want, 1e-6, 1e-6)) << rows;
}

}  // namespace
}  // namespace samri::model
