#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "samri/core/error.h"
#include "samri/data/intensity.h"
#include "samri/io/image_reader.h"
#include "samri/io/slicing.h"
#include "support/fixtures.h"

namespace samri::data {
namespace {

torch::Tensor u8(std::vector<int> values) {
  return torch::tensor(values, torch::kInt32).to(torch::kUInt8);
}

TEST(NormalizeToUint8, HandComputedValues) {
  // min 10, max 20: (v - 10) / 10 * 255 gives 0, 255, 127.5, 25.5 and 229.5 (exactly, in float32).
  const auto out = normalize_to_uint8(torch::tensor({10.f, 20.f, 15.f, 11.f, 19.f}));
  EXPECT_TRUE(torch::equal(out, u8({0, 255, 128, 26, 230})));
}

TEST(NormalizeToUint8, HalvesRoundToEven) {
  // 0..10: v * 25.5 gives 25.5, 76.5 and 127.5 exactly; half to even makes 76.5 -> 76, where
  // rounding half away from zero would give 77.
  const auto tens = normalize_to_uint8(torch::tensor({0.f, 1.f, 3.f, 5.f, 10.f}));
  EXPECT_TRUE(torch::equal(tens, u8({0, 26, 76, 128, 255})));
  // 0..510: v = 1 lands on 0.5 -> 0, v = 3 on 1.5 -> 2.
  const auto halves = normalize_to_uint8(torch::tensor({0.f, 1.f, 3.f, 510.f}));
  EXPECT_TRUE(torch::equal(halves, u8({0, 0, 2, 255})));
}

TEST(NormalizeToUint8, ConstantSliceIsZero) {
  EXPECT_TRUE(torch::equal(normalize_to_uint8(torch::full({3, 4}, 42.f)),
                           torch::zeros({3, 4}, torch::kUInt8)));
}

TEST(NormalizeToUint8, IntegerInputAndShape) {
  const auto out = normalize_to_uint8(torch::tensor({{0, 51}, {102, 255}}, torch::kInt16));
  EXPECT_EQ(out.sizes(), torch::IntArrayRef({2, 2}));
  EXPECT_TRUE(torch::equal(out.reshape({-1}), u8({0, 51, 102, 255})));
}

TEST(NormalizeToUint8, NonFiniteValuesThrow) {
  EXPECT_THROW(normalize_to_uint8(torch::tensor({0.f, NAN, 1.f})), Error);
  EXPECT_THROW(normalize_to_uint8(torch::tensor({0.f, INFINITY})), Error);
}

TEST(NormalizeToUint8, GivenRangeClamps) {
  const auto out = normalize_to_uint8(torch::tensor({-5.f, 0.f, 5.f, 10.f, 50.f}), 0.f, 10.f);
  EXPECT_TRUE(torch::equal(out, u8({0, 0, 128, 255, 255})));
  EXPECT_THROW(normalize_to_uint8(torch::tensor({1.f}), 2.f, 1.f), Error);
}

TEST(ToRgb, ReplicatesTheGreyChannel) {
  const auto grey = u8({1, 2, 3, 4, 5, 6}).reshape({2, 3});
  const auto rgb = to_rgb(grey);
  ASSERT_EQ(rgb.sizes(), torch::IntArrayRef({2, 3, 3}));
  EXPECT_TRUE(rgb.is_contiguous());
  for (int c = 0; c < 3; ++c) EXPECT_TRUE(torch::equal(rgb.select(2, c), grey));
  EXPECT_THROW(to_rgb(torch::zeros({2, 3})), Error);
}

// The convention the released weights depend on: expected("image_uint8") is the reference's
// NumPy formula on nibabel's vol[20:160, 30:200, 90] of Colin27, replicated to 3 channels.
TEST(IntensityConvention, MatchesTheReferenceSliceOfColin27) {
  const std::string path = "/usr/share/mricron/templates/ch2.nii.gz";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " is not installed";
  const auto volume = samri::io::read_image(path);
  const auto slice = samri::io::extract_slice(volume, 2, 90);
  const auto crop = slice.slice(0, 20, 160).slice(1, 30, 200);
  const auto expected = samri::test::expected("image_uint8");
  ASSERT_EQ(expected.sizes(), torch::IntArrayRef({140, 170, 3}));
  const auto normalized = normalize_to_uint8(crop);
  EXPECT_TRUE(torch::equal(normalized, expected.select(2, 0)));
  EXPECT_TRUE(torch::equal(to_rgb(normalized), expected));
}

}  // namespace
}  // namespace samri::data
