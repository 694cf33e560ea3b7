#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "samri/core/error.h"
#include "samri/model/image_preprocessing.h"
#include "support/fixtures.h"

namespace samri::model {
namespace {

using samri::test::all_close_rel;
using samri::test::expected;

torch::Tensor image_from(const std::vector<int64_t>& values, int64_t h, int64_t w, int64_t c) {
  return torch::tensor(values, torch::kLong).to(torch::kUInt8).view({h, w, c});
}

TEST(ResizedShape, FollowsSamLongestSideRule) {
  EXPECT_EQ(resized_shape(140, 170, 128), std::make_pair(105, 128));
  EXPECT_EQ(resized_shape(181, 217, 1024), std::make_pair(854, 1024));
  EXPECT_EQ(resized_shape(217, 181, 1024), std::make_pair(1024, 854));
  EXPECT_EQ(resized_shape(2048, 2048, 1024), std::make_pair(1024, 1024));
  EXPECT_EQ(resized_shape(3, 1000, 1024), std::make_pair(3, 1024));  // 3.07 rounds down
  EXPECT_THROW(resized_shape(0, 10, 1024), samri::Error);
}

TEST(ResizeUint8Bilinear, MatchesReferenceResizeOfRealSlice) {
  const auto image = expected("image_uint8");
  const auto size = expected("input_size");
  const auto resized = resize_uint8_bilinear(image, size[0].item<int>(), size[1].item<int>());
  EXPECT_TRUE(torch::equal(resized, expected("resized_uint8")));
}

TEST(ResizeUint8Bilinear, UnchangedSizeIsAnIndependentCopy) {
  const auto image = torch::randint(0, 256, {5, 7, 3}, torch::kLong).to(torch::kUInt8);
  auto out = resize_uint8_bilinear(image, 5, 7);
  EXPECT_TRUE(torch::equal(out, image));
  out.fill_(0);
  EXPECT_FALSE(torch::equal(out, image));
}

// 4 -> 2 per axis: the triangle filter widens to support 2, so each output reads three inputs with
// weights (3, 3, 1) / 7 (or (1, 3, 3) / 7), not a 2x2 average. Rows first, rounded to uint8:
// row y = [10, 20, 30, 40] + 60 y gives [120/7, 230/7] + 60 y -> [17, 33], [77, 93], [137, 153],
// [197, 213]; then columns: (3*17 + 3*77 + 137)/7 = 59.86 -> 60, (77 + 3*137 + 3*197)/7 = 154.1
// -> 154, (3*33 + 3*93 + 153)/7 = 75.86 -> 76, (93 + 3*153 + 3*213)/7 = 170.1 -> 170.
TEST(ResizeUint8Bilinear, HalvingWidensTheFilter) {
  std::vector<int64_t> values;
  for (int y = 0; y < 4; ++y) {
    for (int x = 0; x < 4; ++x) values.push_back(10 * (x + 1) + 60 * y);
  }
  const auto out = resize_uint8_bilinear(image_from(values, 4, 4, 1), 2, 2);
  EXPECT_TRUE(torch::equal(out, image_from({60, 76, 154, 170}, 2, 2, 1))) << out.squeeze(-1);
}

// 2 -> 4: centres at 0.25, 0.75, 1.25, 1.75 input pixels; the outer two see only the nearest
// input (the other tap falls outside the image and the weights are renormalised), the inner two
// blend with weights 3/4 and 1/4. Checked along both axes, with three channels.
TEST(ResizeUint8Bilinear, DoublingInterpolatesBetweenCentres) {
  const auto row = image_from({0, 200, 100, 100, 0, 40}, 1, 2, 3);
  const auto wide = resize_uint8_bilinear(row, 1, 4);
  const auto expected_wide =
      image_from({0, 200, 100, 25, 150, 85, 75, 50, 55, 100, 0, 40}, 1, 4, 3);
  EXPECT_TRUE(torch::equal(wide, expected_wide)) << wide;
  const auto tall = resize_uint8_bilinear(row.transpose(0, 1).contiguous(), 4, 1);
  EXPECT_TRUE(torch::equal(tall, expected_wide.transpose(0, 1))) << tall;
}

TEST(ResizeUint8Bilinear, RejectsWhatIsNotAnUint8Image) {
  EXPECT_THROW(resize_uint8_bilinear(torch::zeros({4, 4, 3}), 2, 2), samri::Error);
  EXPECT_THROW(resize_uint8_bilinear(torch::zeros({4, 4}, torch::kUInt8), 2, 2), samri::Error);
  EXPECT_THROW(resize_uint8_bilinear(torch::zeros({4, 4, 1}, torch::kUInt8), 0, 2), samri::Error);
}

TEST(PrepareEncoderInput, MatchesReferencePreprocessing) {
  const auto& config = samri::test::tiny_config();
  const auto input = prepare_encoder_input(expected("image_uint8"), config.image_encoder.img_size,
                                           config.pixel_mean, config.pixel_std);
  const auto size = expected("input_size");
  EXPECT_EQ(input.input_size[0], size[0].item<int>());
  EXPECT_EQ(input.input_size[1], size[1].item<int>());
  EXPECT_EQ(input.tensor.scalar_type(), torch::kFloat);
  EXPECT_TRUE(all_close_rel(input.tensor, expected("encoder_input"), 1e-4));
  // The padding below the resized image is zero after normalising, not -mean/std.
  EXPECT_EQ(input.tensor.narrow(2, input.input_size[0], 128 - input.input_size[0])
                .abs()
                .max()
                .item<float>(),
            0.0f);
}

TEST(PrepareEncoderInput, RejectsNonRgbImages) {
  EXPECT_THROW(
      prepare_encoder_input(torch::zeros({8, 8, 1}, torch::kUInt8), 16, {0, 0, 0}, {1, 1, 1}),
      samri::Error);
}

}  // namespace
}  // namespace samri::model
