#include <gtest/gtest.h>

#include <array>
#include <map>
#include <string>
#include <vector>

#include "samri/core/error.h"
#include "samri/model/checkpoint.h"
#include "samri/model/predictor.h"
#include "samri/model/sam.h"
#include "support/fixtures.h"

namespace samri::model {
namespace {

using samri::test::all_close_rel;
using samri::test::expected;
using samri::test::tiny_config;
using samri::test::tiny_weights;

Sam tiny_sam() {
  Sam sam(tiny_config());
  load_state_dict(*sam, tiny_weights(), "sam_tiny.pth");
  sam->eval();
  return sam;
}

// The reference fixtures' prompts (original image pixels).
Prompt fixture_prompt(const std::string& kind) {
  Prompt prompt;
  if (kind != "points") {
    const auto b = expected("box_xyxy");
    prompt.box = std::array<float, 4>{b[0].item<float>(), b[1].item<float>(), b[2].item<float>(),
                                      b[3].item<float>()};
  }
  if (kind != "box") {
    const auto points = expected("points_xy");
    const auto labels = expected("point_labels");
    const int64_t count = kind == "points" ? points.size(0) : 1;
    for (int64_t i = 0; i < count; ++i) {
      prompt.points.push_back({points[i][0].item<float>(), points[i][1].item<float>()});
      prompt.point_labels.push_back(static_cast<int>(labels[i].item<int64_t>()));
    }
  }
  return prompt;
}

testing::AssertionResult same_masks(const torch::Tensor& logits, const torch::Tensor& expected) {
  const int64_t differ = (logits.gt(0) != expected.gt(0)).sum().item<int64_t>();
  if (differ == 0) return testing::AssertionSuccess();
  return testing::AssertionFailure() << differ << " pixels differ after thresholding at 0";
}

class PredictorParity : public testing::TestWithParam<std::tuple<std::string, bool>> {};

TEST_P(PredictorParity, MatchesReference) {
  const auto& [kind, multi] = GetParam();
  SamPredictor predictor(tiny_sam());
  predictor.set_image(expected("image_uint8"));
  EXPECT_TRUE(all_close_rel(predictor.embedding(), expected("image_embedding")));
  const Prediction p = predictor.predict(fixture_prompt(kind), multi);
  const std::string key = "predict_" + kind + (multi ? "_multi" : "_single");
  EXPECT_TRUE(all_close_rel(p.logits, expected(key + "_logits")));
  EXPECT_TRUE(all_close_rel(p.iou, expected(key + "_iou")));
  EXPECT_TRUE(all_close_rel(p.low_res, expected(key + "_lowres")));
  EXPECT_TRUE(same_masks(p.logits, expected(key + "_logits")));
}

INSTANTIATE_TEST_SUITE_P(AllPrompts, PredictorParity,
                         testing::Combine(testing::Values("box", "points", "box_point"),
                                          testing::Bool()),
                         [](const testing::TestParamInfo<PredictorParity::ParamType>& info) {
                           return std::get<0>(info.param) +
                                  (std::get<1>(info.param) ? "_multi" : "_single");
                         });

TEST(Sam, ParametersAndBuffersAreExactlyTheCheckpointKeys) {
  Sam sam(tiny_config());
  std::map<std::string, std::vector<int64_t>> model;
  for (const auto& p : sam->named_parameters()) model[p.key()] = p.value().sizes().vec();
  for (const auto& b : sam->named_buffers()) model[b.key()] = b.value().sizes().vec();
  std::map<std::string, std::vector<int64_t>> file;
  for (const auto& [key, t] : tiny_weights().items()) file[key] = t.sizes().vec();
  EXPECT_EQ(file.size(), 188u);
  EXPECT_EQ(model, file);
}

TEST(Sam, PostprocessCropsThePaddingBeforeResizing) {
  Sam sam(tiny_config());
  // Logits that are positive only in the padded bottom rows must vanish after the crop.
  auto low_res = torch::full({1, 1, 32, 32}, -1.0f);
  low_res.index_put_({0, 0, torch::indexing::Slice(28, 32)}, 1.0f);
  const auto out = sam->postprocess_masks(low_res, {105, 128}, {140, 170});
  EXPECT_EQ(out.sizes(), (std::vector<int64_t>{1, 1, 140, 170}));
  EXPECT_EQ(out.gt(0).sum().item<int64_t>(), 0);
}

TEST(SamPredictor, BatchEqualsOneByOne) {
  SamPredictor predictor(tiny_sam());
  predictor.set_image(expected("image_uint8"));
  std::vector<Prompt> prompts(3, fixture_prompt("box_point"));
  prompts[1].box = std::array<float, 4>{10, 20, 90, 130};
  prompts[2].points[0] = {150, 30};
  prompts[2].point_labels[0] = 0;
  const auto batch = predictor.predict_batch(prompts, true);
  ASSERT_EQ(batch.size(), prompts.size());
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    const Prediction one = predictor.predict(prompts[i], true);
    EXPECT_TRUE(all_close_rel(batch[i].logits, one.logits, 1e-5)) << "prompt " << i;
    EXPECT_TRUE(all_close_rel(batch[i].iou, one.iou, 1e-5)) << "prompt " << i;
  }
  EXPECT_FALSE(all_close_rel(batch[0].logits, batch[1].logits, 1e-2));
}

TEST(SamPredictor, PrecomputedEmbeddingGivesTheSameMasks) {
  SamPredictor predictor(tiny_sam());
  predictor.set_embedding(expected("image_embedding"), {140, 170});
  EXPECT_EQ(predictor.input_size(), (std::array<int, 2>{105, 128}));
  const Prediction p = predictor.predict(fixture_prompt("box"), false);
  EXPECT_TRUE(all_close_rel(p.logits, expected("predict_box_single_logits")));
  EXPECT_THROW(predictor.set_embedding(torch::zeros({1, 32, 4, 4}), {140, 170}), samri::Error);
}

TEST(SamPredictor, Bf16EncoderStaysCloseToFp32) {
  SamPredictor predictor(tiny_sam(), torch::kCPU, Precision::kBFloat16);
  predictor.set_image(expected("image_uint8"));
  EXPECT_EQ(predictor.embedding().scalar_type(), torch::kFloat);
  EXPECT_TRUE(all_close_rel(predictor.embedding(), expected("image_embedding"), 5e-2));
  const Prediction p = predictor.predict(fixture_prompt("box"), false);
  const auto want = expected("predict_box_single_logits").gt(0);
  const double agree = p.logits.gt(0).eq(want).to(torch::kDouble).mean().item<double>();
  EXPECT_GT(agree, 0.97);
}

TEST(SamPredictor, RefusesFp16OnCpu) {
  try {
    SamPredictor predictor(Sam(tiny_config()), torch::kCPU, Precision::kFloat16);
    FAIL() << "fp16 on a CPU was accepted";
  } catch (const samri::Error& e) {
    EXPECT_STREQ(e.what(), "fp16 needs a CUDA device; use bf16 on CPU");
  }
}

TEST(SamPredictor, RefusesBadPrompts) {
  SamPredictor predictor(tiny_sam());
  EXPECT_THROW(predictor.predict(fixture_prompt("box"), false), samri::Error);  // no image yet
  predictor.set_embedding(expected("image_embedding"), {140, 170});
  const auto with_box = [](float x0, float y0, float x1, float y1) {
    Prompt p;
    p.box = std::array<float, 4>{x0, y0, x1, y1};
    return p;
  };
  EXPECT_THROW(predictor.predict(with_box(120, 30, 40, 100), false), samri::Error);  // x0 > x1
  EXPECT_THROW(predictor.predict(with_box(40, 100, 120, 30), false), samri::Error);  // y0 > y1
  EXPECT_THROW(predictor.predict(with_box(-5, 30, 120, 100), false), samri::Error);
  EXPECT_THROW(predictor.predict(with_box(40, 30, 171, 100), false), samri::Error);
  EXPECT_THROW(predictor.predict(with_box(40, 30, 120, 141), false), samri::Error);
  EXPECT_THROW(predictor.predict(with_box(40, NAN, 120, 100), false), samri::Error);
  EXPECT_NO_THROW(predictor.predict(with_box(0, 0, 170, 140), false));

  Prompt mismatched = fixture_prompt("points");
  mismatched.point_labels.pop_back();
  EXPECT_THROW(predictor.predict(mismatched, false), samri::Error);
  Prompt bad_label = fixture_prompt("points");
  bad_label.point_labels[0] = 2;
  EXPECT_THROW(predictor.predict(bad_label, false), samri::Error);
  EXPECT_THROW(predictor.predict(Prompt{}, false), samri::Error);
  EXPECT_THROW(predictor.predict_batch({fixture_prompt("box"), fixture_prompt("points")}, false),
               samri::Error);
}

}  // namespace
}  // namespace samri::model
