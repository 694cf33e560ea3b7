// The parity checks again with the model on a CUDA device (fp32), where one is present; skipped
// elsewhere. On a GPU node: build with -DSAMRI_MODEL_ONLY=ON and run
//   samri_model_tests --gtest_filter='Cuda*'
// SAMRI_TEST_DEVICE=cpu runs the same checks on the CPU (to check the checks).
#include <gtest/gtest.h>

#include <cstdlib>

#include "samri/model/checkpoint.h"
#include "samri/model/predictor.h"
#include "samri/model/sam.h"
#include "support/fixtures.h"

namespace {

using samri::test::all_close_rel;
using samri::test::expected;
using namespace samri::model;

Sam tiny_sam_on(const torch::Device& device) {
  Sam sam(samri::test::tiny_config());
  load_state_dict(*sam, samri::test::tiny_weights(), "sam_tiny.pth");
  sam->eval();
  sam->to(device);
  return sam;
}

class CudaParity : public testing::Test {
 protected:
  void SetUp() override {
    const char* name = std::getenv("SAMRI_TEST_DEVICE");
    device_ = torch::Device(name ? name : "cuda:0");
    if (device_.is_cuda() && !torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  }
  torch::Device device_{torch::kCPU};
};

TEST_F(CudaParity, Encoder) {
  torch::NoGradGuard no_grad;
  Sam sam = tiny_sam_on(device_);
  const auto out = sam->image_encoder->forward(expected("encoder_random_input").to(device_));
  EXPECT_TRUE(all_close_rel(out.cpu(), expected("encoder_random_output")));
}

TEST_F(CudaParity, BatchedDecoder) {
  torch::NoGradGuard no_grad;
  Sam sam = tiny_sam_on(device_);
  const auto boxes = expected("batch_boxes").to(device_).unsqueeze(1);
  const auto [sparse, dense] = sam->prompt_encoder->forward(std::nullopt, boxes, std::nullopt);
  const auto [low, iou] =
      sam->mask_decoder->forward(expected("batch_embeddings").to(device_),
                                 sam->prompt_encoder->get_dense_pe(), sparse, dense, false);
  EXPECT_TRUE(all_close_rel(low.cpu(), expected("batch_lowres")));
  EXPECT_TRUE(all_close_rel(iou.cpu(), expected("batch_iou")));
}

TEST_F(CudaParity, PredictorBoxAndPointsFromTheImage) {
  SamPredictor predictor(tiny_sam_on(device_), device_, Precision::kFloat32);
  predictor.set_image(expected("image_uint8"));
  Prompt prompt;
  const auto b = expected("box_xyxy");
  prompt.box = std::array<float, 4>{b[0].item<float>(), b[1].item<float>(), b[2].item<float>(),
                                    b[3].item<float>()};
  const auto p = expected("points_xy");
  prompt.points.push_back({p[0][0].item<float>(), p[0][1].item<float>()});
  prompt.point_labels.push_back(1);
  for (bool multi : {false, true}) {
    const auto pred = predictor.predict(prompt, multi);
    const std::string key = std::string("predict_box_point_") + (multi ? "multi" : "single");
    EXPECT_TRUE(all_close_rel(pred.logits, expected(key + "_logits"))) << key;
    EXPECT_TRUE(all_close_rel(pred.iou, expected(key + "_iou"))) << key;
    EXPECT_TRUE(torch::equal(pred.logits > 0, expected(key + "_logits") > 0)) << key;
  }
}

}  // namespace
