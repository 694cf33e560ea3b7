#include <gtest/gtest.h>

#include <torch/torch.h>

#include "samri/model/linear.h"

namespace samri::model {
namespace {

// Seeded alike, the two layers must draw the same numbers: a seeded random model
// (samri-checkpoint init --seed) stays what it was when the encoder used torch::nn::Linear.
TEST(Linear, RandomInitIsTorchsValueForValue) {
  for (const bool bias : {true, false}) {
    torch::manual_seed(7);
    torch::nn::Linear theirs(torch::nn::LinearOptions(6, 4).bias(bias));
    const float next_after_theirs = torch::rand({1}).item<float>();
    torch::manual_seed(7);
    Linear ours(6, 4, bias);
    const float next_after_ours = torch::rand({1}).item<float>();
    EXPECT_TRUE(torch::equal(ours->weight, theirs->weight));
    EXPECT_EQ(ours->bias.defined(), bias);
    if (bias) {
      EXPECT_TRUE(torch::equal(ours->bias, theirs->bias));
    }
    EXPECT_EQ(next_after_ours, next_after_theirs);  // the generator advanced alike
    const auto x = torch::randn({3, 6});
    EXPECT_TRUE(torch::allclose(ours(x), theirs(x)));
  }
}

TEST(Linear, NamesAndShapesAreTorchs) {
  const Linear ours(5, 2, true, WeightInit::kNone);
  const auto params = ours->named_parameters();
  ASSERT_EQ(params.size(), 2u);
  EXPECT_EQ(params["weight"].sizes(), (std::vector<int64_t>{2, 5}));
  EXPECT_EQ(params["bias"].sizes(), (std::vector<int64_t>{2}));
  EXPECT_TRUE(params["weight"].requires_grad());
  EXPECT_EQ(Linear(5, 2, false)->named_parameters().size(), 1u);
}

}  // namespace
}  // namespace samri::model
