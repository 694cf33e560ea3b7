#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "io_test_support.h"
#include "samri/io/image_reader.h"
#include "samri/io/image_writer.h"
#include "support/fixtures.h"

namespace samri::io {
namespace {

namespace fs = std::filesystem;
using test::same_geometry;
using test::throws_error_containing;

// 4 x 3 x 2 voxels, anisotropic, rotated 30 degrees about z and shifted: every geometry field
// differs from the defaults, so a writer or reader that drops one is caught.
Image tiny_volume() {
  Image image;
  const double c = std::cos(M_PI / 6), s = std::sin(M_PI / 6);
  image.geometry.size = {4, 3, 2};
  image.geometry.spacing = {0.5, 0.75, 2.0};
  image.geometry.origin = {10.0, -20.0, 30.0};
  image.geometry.direction = {c, -s, 0, s, c, 0, 0, 0, 1};
  image.data = (torch::arange(24, torch::kFloat32) * 0.25f - 3.0f).reshape({2, 3, 4});
  return image;
}

Image tiny_slice() {
  Image image;
  image.geometry.size = {5, 3};
  image.geometry.spacing = {0.25, 1.5};
  image.geometry.origin = {-4.0, 7.5};
  image.geometry.direction = {0, 1, -1, 0};
  image.data = torch::arange(15, torch::kFloat32).reshape({3, 5}) * 10.0f;
  return image;
}

class RoundTrip : public ::testing::TestWithParam<std::string> {};

TEST_P(RoundTrip, VolumeKeepsValuesAndGeometry) {
  const std::string path = samri::test::temp_dir() + "/volume" + GetParam();
  const Image written = tiny_volume();
  write_image(path, written);
  const Image read = read_image(path);
  EXPECT_TRUE(torch::equal(read.data, written.data));
  // NIfTI stores geometry in float32.
  EXPECT_TRUE(same_geometry(read.geometry, written.geometry, 1e-6));
  EXPECT_FALSE(read.natural);
  EXPECT_EQ(read.source, path);
}

TEST_P(RoundTrip, SliceKeepsValuesAndGeometry) {
  const std::string path = samri::test::temp_dir() + "/slice" + GetParam();
  const Image written = tiny_slice();
  write_image(path, written);
  const Image read = read_image(path);
  ASSERT_EQ(read.geometry.dimension(), 2);
  EXPECT_TRUE(torch::equal(read.data, written.data));
  EXPECT_TRUE(same_geometry(read.geometry, written.geometry, 1e-6));
}

TEST_P(RoundTrip, IntegerLabelsStayIntegers) {
  const std::string path = samri::test::temp_dir() + "/labels" + GetParam();
  Image labels = tiny_volume();
  labels.data = torch::tensor({0, 3, 116, 0, 2, 2}, torch::kInt16).repeat({4}).reshape({2, 3, 4});
  write_image(path, labels);
  const Image read = read_label_map(path);
  EXPECT_EQ(read.data.scalar_type(), torch::kInt64);
  EXPECT_TRUE(torch::equal(read.data, labels.data.to(torch::kInt64)));
}

TEST(RoundTripPng, KeepsValuesAndIsANaturalImage) {
  const std::string path = samri::test::temp_dir() + "/slice.png";
  Image written = tiny_slice();
  written.geometry = identity_geometry(written.geometry.size);
  written.data = written.data.to(torch::kUInt8);
  write_image(path, written);
  const Image read = read_image(path);
  EXPECT_TRUE(read.natural);
  EXPECT_EQ(read.geometry.size, written.geometry.size);
  EXPECT_TRUE(torch::equal(read.data, written.data.to(torch::kFloat32)));
}

TEST(RoundTripNatural, BmpTiffAndJpegRead) {
  const std::string folder = samri::test::temp_dir();
  Image grey;
  grey.geometry = identity_geometry({40, 30});
  grey.data =
      (torch::arange(1200, torch::kInt32).remainder(97) + 50).to(torch::kUInt8).reshape({30, 40});
  for (const std::string name : {"g.bmp", "g.tif", "g.jpg"}) {
    write_image(folder + "/" + name, grey);
    const Image read = read_image(folder + "/" + name);
    EXPECT_TRUE(read.natural) << name;
    // BMP grey is stored with a palette, which ITK reads as RGB.
    const auto values = read.components == 3 ? read.data.select(2, 0) : read.data;
    ASSERT_EQ(values.sizes(), grey.data.sizes()) << name;
    const double tolerance = name == "g.jpg" ? 40.0 : 0.0;  // lossy
    EXPECT_LE((values - grey.data.to(torch::kFloat32)).abs().max().item<float>(), tolerance)
        << name;
  }
}

TEST(RoundTripPng, RgbKeepsThreeComponents) {
  const std::string path = samri::test::temp_dir() + "/rgb.png";
  Image written;
  written.geometry = identity_geometry({4, 2});
  written.components = 3;
  written.data = torch::arange(24, torch::kUInt8).reshape({2, 4, 3});
  write_image(path, written);
  const Image read = read_image(path);
  EXPECT_EQ(read.components, 3);
  EXPECT_TRUE(torch::equal(read.data, written.data.to(torch::kFloat32)));
}

TEST(StackImages, AddsALastAxisAndKeepsInPlaneGeometry) {
  const Image slice = tiny_slice();
  std::vector<Image> masks;
  for (int m = 0; m < 3; ++m)
    masks.push_back(with_data(slice, (slice.data > 40.0f * m).to(torch::kUInt8)));
  const Image stacked = stack_2d_images(masks);
  EXPECT_EQ(stacked.geometry.size, (std::vector<std::int64_t>{5, 3, 3}));
  EXPECT_EQ(stacked.geometry.spacing, (std::vector<double>{0.25, 1.5, 1.0}));
  EXPECT_EQ(stacked.geometry.origin, (std::vector<double>{-4.0, 7.5, 0.0}));
  EXPECT_EQ(stacked.geometry.direction, (std::vector<double>{0, 1, 0, -1, 0, 0, 0, 0, 1}));
  for (int m = 0; m < 3; ++m) EXPECT_TRUE(torch::equal(stacked.data[m], masks[m].data));

  const std::string path = samri::test::temp_dir() + "/masks.nii.gz";
  write_image(path, stacked);
  const Image read = read_label_map(path);
  EXPECT_TRUE(torch::equal(read.data, stacked.data.to(torch::kInt64)));
  EXPECT_TRUE(same_geometry(read.geometry, stacked.geometry, 1e-6));
}

TEST(StackImages, RefusesDifferentGrids) {
  Image other = tiny_slice();
  other.geometry.spacing[0] = 0.3;
  EXPECT_THROW(stack_2d_images({tiny_slice(), other}), Error);
  EXPECT_THROW(stack_2d_images({}), Error);
}

bool folder_is_empty(const std::string& folder) { return fs::is_empty(folder); }

TEST(WriteImage, AFailedWriteLeavesNoFile) {
  const std::string folder = samri::test::temp_dir();
  // PNG holds only 8- and 16-bit unsigned integers: ITK fails inside the write.
  EXPECT_TRUE(throws_error_containing([&] { write_image(folder + "/x.png", tiny_slice()); },
                                      folder + "/x.png"));
  EXPECT_TRUE(folder_is_empty(folder));
  EXPECT_TRUE(throws_error_containing([&] { write_image(folder + "/x.unknown", tiny_volume()); },
                                      "no image writer"));
  EXPECT_TRUE(throws_error_containing([&] { write_image(folder + "/x.nhdr", tiny_volume()); },
                                      "separate data file"));
  EXPECT_TRUE(throws_error_containing(
      [&] { write_image(folder + "/missing/x.nii.gz", tiny_volume()); }, "does not exist"));
  Image wrong = tiny_volume();
  wrong.data = wrong.data.reshape({4, 3, 2});
  EXPECT_TRUE(
      throws_error_containing([&] { write_image(folder + "/x.nii", wrong); }, "does not match"));
  EXPECT_TRUE(folder_is_empty(folder));
}

TEST(WriteImage, ReplacesAnExistingFile) {
  const std::string path = samri::test::temp_dir() + "/volume.nii.gz";
  write_image(path, tiny_volume());
  Image second = tiny_volume();
  second.data = second.data + 1.0f;
  write_image(path, second);
  EXPECT_TRUE(torch::equal(read_image(path).data, second.data));
}

TEST(Image, WithDataChecksTheShape) {
  const Image volume = tiny_volume();
  EXPECT_NO_THROW(with_data(volume, torch::zeros({2, 3, 4}, torch::kUInt8)));
  EXPECT_THROW(with_data(volume, torch::zeros({4, 3, 2})), Error);
}

TEST(Image, HasNonFinite) {
  Image volume = tiny_volume();
  EXPECT_FALSE(has_non_finite(volume));
  volume.data[1][2][3] = std::nanf("");
  EXPECT_TRUE(has_non_finite(volume));
  volume.data[0][0][0] = INFINITY;
  EXPECT_TRUE(has_non_finite(volume));
}

// ITK's NIfTI reader (niftilib) turns NaN and infinity into 0; samri must keep them visible.
TEST_P(RoundTrip, NonFiniteValuesSurvive) {
  Image volume = tiny_volume();
  volume.data[1][2][3] = std::nanf("");
  volume.data[0][0][0] = -INFINITY;
  const std::string path = samri::test::temp_dir() + "/nan" + GetParam();
  write_image(path, volume);
  const Image read = read_image(path);
  EXPECT_TRUE(has_non_finite(read));
  EXPECT_TRUE(std::isnan(read.data[1][2][3].item<float>()));
  EXPECT_EQ(read.data[0][0][0].item<float>(), -INFINITY);
}

TEST(Image, DescribesGeometryMismatches) {
  const Geometry a = tiny_volume().geometry;
  Geometry b = a;
  EXPECT_EQ(describe_geometry_mismatch(a, b), "");
  b.origin[1] += 1e-6;
  EXPECT_EQ(describe_geometry_mismatch(a, b), "");
  b.origin[1] += 0.5;
  EXPECT_NE(describe_geometry_mismatch(a, b).find("origin"), std::string::npos);
  b = a;
  b.size[2] = 3;
  EXPECT_NE(describe_geometry_mismatch(a, b).find("size"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Formats, RoundTrip, ::testing::Values(".nii", ".nii.gz", ".nrrd", ".mha"),
                         [](const auto& info) {
                           std::string name = info.param.substr(1);
                           for (auto& ch : name) ch = ch == '.' ? '_' : ch;
                           return name;
                         });

}  // namespace
}  // namespace samri::io
