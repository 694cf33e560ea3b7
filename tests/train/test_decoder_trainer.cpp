// One training step against the reference fixtures (../shared/reference/README.md: the paper's
// recipe at lr 1e-3 on the tiny SAM), and the loss on hand-computed cases.
#include <gtest/gtest.h>

#include <map>

#include "samri/train/decoder_trainer.h"
#include "samri/train/loss.h"
#include "support/fixtures.h"

namespace {

using samri::test::all_close_rel;
using samri::test::expected;
using samri::train::DecoderTrainer;
using samri::train::TrainBatch;
using samri::train::TrainConfig;

TrainConfig reference_recipe() {
  TrainConfig c;
  c.lr = 1e-3;
  return c;
}

TrainBatch fixture_batch(bool with_point) {
  TrainBatch b;
  b.embeddings = expected("train_embeddings");
  b.boxes = expected("train_boxes");
  if (with_point) b.points = expected("train_points");
  b.targets = expected("train_gt");
  return b;
}

torch::Tensor grad_of(DecoderTrainer& t, const std::string& name) {
  return t.master().mask_decoder->named_parameters()[name].grad();
}

bool is_key_bias(const std::string& name) {
  const std::string suffix = "k_proj.bias";
  return name.size() > suffix.size() &&
         name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
}

class ReferenceStep : public ::testing::TestWithParam<std::string> {};

TEST_P(ReferenceStep, LossGradientsAndWeightsAfterAdamWMatch) {
  const std::string mode = GetParam();
  DecoderTrainer trainer(samri::test::tiny_config(), samri::test::tiny_weights(), "sam_tiny.pth",
                         reference_recipe(), torch::kCPU);
  const auto terms = trainer.accumulate(fixture_batch(mode == "box_point"), 1.0);
  const std::string p = "train_" + mode + "_";
  EXPECT_TRUE(all_close_rel(terms.loss.reshape({1}), expected(p + "loss"), 1e-5));
  EXPECT_TRUE(all_close_rel(terms.focal.reshape({1}), expected(p + "focal"), 1e-5));
  EXPECT_TRUE(all_close_rel(terms.dice.reshape({1}), expected(p + "dice"), 1e-5));
  EXPECT_TRUE(
      all_close_rel(grad_of(trainer, "iou_token.weight"), expected(p + "grad_iou_token"), 1e-5));
  EXPECT_TRUE(all_close_rel(grad_of(trainer, "output_upscaling.0.weight"),
                            expected(p + "grad_upscaling0"), 1e-5));
  // The attention key biases get an exactly zero gradient in exact arithmetic (softmax does not
  // see a constant added to every key's logit), so both implementations hold rounding noise of
  // ~1e-9 there, and AdamW's first step turns noise into lr * g / (|g| + eps): anything within
  // +-lr. Those are checked for that: a zero gradient, and a step no larger than lr.
  std::map<std::string, torch::Tensor> key_bias_grads;
  for (const auto& item : trainer.master().mask_decoder->named_parameters()) {
    if (is_key_bias(item.key())) key_bias_grads[item.key()] = item.value().grad().clone();
  }
  ASSERT_TRUE(trainer.step(1e-3));
  int compared = 0;
  for (const auto& item : trainer.master().mask_decoder->named_parameters()) {
    const torch::Tensor want = expected(p + "after.mask_decoder." + item.key());
    if (is_key_bias(item.key())) {
      EXPECT_LT(key_bias_grads[item.key()].abs().max().item<double>(), 1e-6) << item.key();
      EXPECT_LE((item.value() - want).abs().max().item<double>(), 2e-3 + 1e-6) << item.key();
      continue;
    }
    EXPECT_TRUE(all_close_rel(item.value(), want, 1e-5)) << item.key();
    ++compared;
  }
  EXPECT_GT(compared, 50);
}

INSTANTIATE_TEST_SUITE_P(Prompts, ReferenceStep, ::testing::Values("box", "box_point"));

TEST(ReferenceStep, MicroBatchesAccumulateToTheFullBatchGradient) {
  DecoderTrainer whole(samri::test::tiny_config(), samri::test::tiny_weights(), "sam_tiny.pth",
                       reference_recipe(), torch::kCPU);
  DecoderTrainer parts(samri::test::tiny_config(), samri::test::tiny_weights(), "sam_tiny.pth",
                       reference_recipe(), torch::kCPU);
  const TrainBatch b = fixture_batch(false);
  whole.accumulate(b, 1.0);
  for (int i = 0; i < 4; ++i) {
    TrainBatch one;
    one.embeddings = b.embeddings.narrow(0, i, 1);
    one.boxes = b.boxes.narrow(0, i, 1);
    one.targets = b.targets.narrow(0, i, 1);
    parts.accumulate(one, 0.25);
  }
  for (const auto& name : {"iou_token.weight", "output_upscaling.0.weight", "mask_tokens.weight"}) {
    EXPECT_TRUE(all_close_rel(grad_of(parts, name), grad_of(whole, name), 1e-5)) << name;
  }
}

TEST(ReferenceStep, PassesOfOneSampleGiveTheMicroBatchsLossAndGradient) {
  TrainConfig one_per_pass = reference_recipe();
  one_per_pass.samples_per_pass = 1;
  DecoderTrainer whole(samri::test::tiny_config(), samri::test::tiny_weights(), "sam_tiny.pth",
                       reference_recipe(), torch::kCPU);
  DecoderTrainer passes(samri::test::tiny_config(), samri::test::tiny_weights(), "sam_tiny.pth",
                        one_per_pass, torch::kCPU);
  const auto a = whole.accumulate(fixture_batch(true), 0.5);
  const auto b = passes.accumulate(fixture_batch(true), 0.5);
  EXPECT_TRUE(all_close_rel(b.loss.reshape({1}), expected("train_box_point_loss"), 1e-5));
  EXPECT_TRUE(all_close_rel(b.dice.reshape({1}), a.dice.reshape({1}), 1e-5));
  EXPECT_TRUE(all_close_rel(b.focal.reshape({1}), a.focal.reshape({1}), 1e-5));
  for (const auto& item : whole.master().mask_decoder->named_parameters()) {
    if (is_key_bias(item.key())) continue;  // rounding noise only, see above
    if (!item.value().grad().defined()) {   // the IoU head, untrained at iou_weight 0
      EXPECT_FALSE(grad_of(passes, item.key()).defined()) << item.key();
      continue;
    }
    EXPECT_TRUE(all_close_rel(grad_of(passes, item.key()), item.value().grad(), 1e-5))
        << item.key();
  }
}

TEST(ReferenceStep, Bf16StepStaysCloseToFp32) {
  TrainConfig bf16 = reference_recipe();
  bf16.precision = "bf16";
  DecoderTrainer a(samri::test::tiny_config(), samri::test::tiny_weights(), "sam_tiny.pth",
                   reference_recipe(), torch::kCPU);
  DecoderTrainer b(samri::test::tiny_config(), samri::test::tiny_weights(), "sam_tiny.pth", bf16,
                   torch::kCPU);
  const auto ta = a.accumulate(fixture_batch(true), 1.0);
  const auto tb = b.accumulate(fixture_batch(true), 1.0);
  EXPECT_NEAR(tb.loss.item<double>(), ta.loss.item<double>(), 0.02 * ta.loss.item<double>());
  EXPECT_EQ(grad_of(b, "iou_token.weight").scalar_type(), torch::kFloat32);  // master grads
  a.step(1e-3);
  b.step(1e-3);
  const auto wa = a.master().mask_decoder->named_parameters()["iou_token.weight"];
  const auto wb = b.master().mask_decoder->named_parameters()["iou_token.weight"];
  EXPECT_TRUE(all_close_rel(wb, wa, 0.05));
}

TEST(Loss, HandComputedFocalAndDice) {
  // One pixel of logit 0 (p = 0.5) with target 1, one of logit 0 with target 0.
  const auto logits = torch::zeros({1, 1, 1, 2});
  const auto targets = torch::tensor({1.0f, 0.0f}).view({1, 1, 1, 2});
  const auto t = samri::train::focal_dice_loss(logits, targets, {20, 1, 2, -1, 0});
  // focal: (1 - 0.5)^2 * ln 2 for both pixels; dice: 1 - 2*0.5 / (0.25 + 0.25 + 1).
  const double focal = 0.25 * std::log(2.0);
  const double dice = 1 - 1.0 / 1.5;
  EXPECT_NEAR(t.focal.item<double>(), focal, 1e-7);
  EXPECT_NEAR(t.dice.item<double>(), dice, 1e-7);
  EXPECT_NEAR(t.loss.item<double>(), 20 * focal + dice, 1e-6);
  // alpha 0.25 weighs the positive pixel by 0.25 and the negative by 0.75: the mean halves.
  const auto a = samri::train::focal_dice_loss(logits, targets, {20, 1, 2, 0.25, 0});
  EXPECT_NEAR(a.focal.item<double>(), focal * 0.5, 1e-7);
}

TEST(Loss, HardDiceOfThresholdedLogits) {
  const auto logits = torch::tensor({1.0f, 1.0f, -1.0f, -1.0f, -1.0f, -1.0f}).view({2, 1, 1, 3});
  const auto targets = torch::tensor({1.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f}).view({2, 1, 1, 3});
  const auto d = samri::train::hard_dice(logits, targets);
  EXPECT_NEAR(d[0].item<double>(), 2.0 / 3.0, 1e-7);
  EXPECT_NEAR(d[1].item<double>(), 1.0, 1e-7);  // both empty
}

TEST(Loss, HardIouAndTheIouPredictionLoss) {
  // Sample 0: mask {0, 1}, target {0}: IoU 1/2. Sample 1: both empty: IoU 1.
  const auto logits = torch::tensor({1.0f, 1.0f, -1.0f, -1.0f, -1.0f, -1.0f}).view({2, 1, 1, 3});
  const auto targets = torch::tensor({1.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f}).view({2, 1, 1, 3});
  const auto iou = samri::train::hard_iou(logits, targets);
  EXPECT_NEAR(iou[0].item<double>(), 0.5, 1e-7);
  EXPECT_NEAR(iou[1].item<double>(), 1.0, 1e-7);
  // Predicted 0.9 and 0.8: ((0.9 - 0.5)^2 + (0.8 - 1)^2) / 2 = 0.1.
  const auto predicted = torch::tensor({0.9f, 0.8f}).view({2, 1}).requires_grad_();
  const auto loss = samri::train::iou_prediction_loss(predicted, logits.requires_grad_(), targets);
  EXPECT_NEAR(loss.item<double>(), 0.1, 1e-6);
  loss.backward();
  EXPECT_NEAR(predicted.grad()[0][0].item<double>(), 0.4, 1e-6);  // 2 * 0.4 / 2
  EXPECT_FALSE(logits.grad().defined());                          // the real IoU is a constant
}

TEST(ReferenceStep, IouWeightTrainsTheIouHeadAndOnlyThen) {
  TrainConfig with = reference_recipe();
  with.iou_weight = 1;
  DecoderTrainer plain(samri::test::tiny_config(), samri::test::tiny_weights(), "sam_tiny.pth",
                       reference_recipe(), torch::kCPU);
  DecoderTrainer trained(samri::test::tiny_config(), samri::test::tiny_weights(), "sam_tiny.pth",
                         with, torch::kCPU);
  const TrainBatch b = fixture_batch(false);
  const auto tp = plain.accumulate(b, 1.0);
  const auto tt = trained.accumulate(b, 1.0);
  EXPECT_EQ(tp.iou.item<double>(), 0.0);
  EXPECT_GT(tt.iou.item<double>(), 0.0);
  // The paper's loss gives the IoU head no gradient; the IoU term adds its MSE to the loss.
  const std::string head = "iou_prediction_head.layers.0.weight";
  EXPECT_FALSE(grad_of(plain, head).defined());
  ASSERT_TRUE(grad_of(trained, head).defined());
  EXPECT_GT(grad_of(trained, head).abs().max().item<double>(), 0.0);
  EXPECT_NEAR(tt.loss.item<double>(), tp.loss.item<double>() + tt.iou.item<double>(), 1e-5);
  // Steps on one batch bring the predicted IoU towards the real one.
  const double first = tt.iou.item<double>();
  for (int i = 0; i < 20; ++i) {
    trained.step(1e-3);
    trained.accumulate(b, 1.0);
  }
  EXPECT_LT(trained.accumulate(b, 1.0).iou.item<double>(), 0.5 * first);
}

}  // namespace
