#include <gtest/gtest.h>

#include <cmath>

#include "io_test_support.h"
#include "samri/io/image_reader.h"
#include "support/fixtures.h"

namespace samri::io {
namespace {

using test::same_geometry;
using test::throws_error_containing;

std::string twin(const std::string& name, const std::string& version) {
  return samri::test::data_path("io/nifti2/" + name + "_" + version + ".nii.gz");
}

// Each case is one header written by nibabel as NIfTI-1 and as NIfTI-2; tests/data/io/
// make_test_data.py lists what each case varies. The NIfTI-1 twin's geometry comes from ITK and
// its voxels from samri's separate NIfTI-1 voxel reader; the NIfTI-2 file goes through samri's
// own NIfTI-2 reader for both.
class Nifti2Twins : public ::testing::TestWithParam<std::string> {};

TEST_P(Nifti2Twins, MatchWhatItkReadsFromTheNifti1Twin) {
  const Image n1 = read_image(twin(GetParam(), "n1"));
  const Image n2 = read_image(twin(GetParam(), "n2"));
  // NIfTI-1 holds the matrices in float32; NIfTI-2 in float64.
  EXPECT_TRUE(same_geometry(n2.geometry, n1.geometry, 2e-6));
  EXPECT_TRUE(torch::equal(n2.data, n1.data));
}

INSTANTIATE_TEST_SUITE_P(Headers, Nifti2Twins,
                         ::testing::Values("both_same", "sform_only", "qform_only", "no_transform",
                                           "differ_scanner", "differ_aligned", "shear", "flip",
                                           "meters", "two_d", "four_d_one", "slope", "big_endian"));

// Headers and voxels in the other byte order: both readers swap them back (nibabel wrote 0..23).
TEST(Nifti2, BigEndianFilesReadTheValuesNibabelWrote) {
  for (const std::string version : {"n1", "n2"}) {
    const Image image = read_image(twin("big_endian", version));
    EXPECT_EQ(image.geometry.size, (std::vector<std::int64_t>{4, 3, 2})) << version;
    EXPECT_NEAR(image.geometry.spacing[1], 0.75, 1e-6) << version;
    EXPECT_TRUE(torch::equal(image.data.flatten().to(torch::kLong), torch::arange(24)))
        << version << ": " << image.data.flatten();
  }
}

TEST(Nifti2, GeometryIsTheAffineInLps) {
  // both_same: affine = Rz(30) Rx(10) diag(0.5, 0.75, 2), offset (10, -20, 30) in RAS.
  const Image image = read_image(twin("both_same", "n2"));
  const double c = std::cos(M_PI / 6), s = std::sin(M_PI / 6);
  EXPECT_EQ(image.geometry.size, (std::vector<std::int64_t>{4, 3, 2}));
  EXPECT_NEAR(image.geometry.spacing[2], 2.0, 1e-12);
  EXPECT_NEAR(image.geometry.origin[0], -10.0, 1e-12);
  EXPECT_NEAR(image.geometry.origin[1], 20.0, 1e-12);
  EXPECT_NEAR(image.geometry.origin[2], 30.0, 1e-12);
  // First column: RAS (c, s, 0) becomes LPS (-c, -s, 0).
  EXPECT_NEAR(image.geometry.direction[0], -c, 1e-12);
  EXPECT_NEAR(image.geometry.direction[3], -s, 1e-12);
  EXPECT_NEAR(image.geometry.direction[6], 0.0, 1e-12);
  // Voxels are arange(24) in NIfTI (Fortran) order: voxel (i, j, k) = i + 4 j + 12 k.
  EXPECT_EQ(image.data[1][2][3].item<float>(), 3 + 4 * 2 + 12 * 1);
}

TEST(Nifti2, AppliesTheScaleSlope) {
  const Image image = read_image(twin("slope", "n2"));
  EXPECT_EQ(image.data[0][0][0].item<float>(), 3.0f);  // 0 * 0.5 + 3
  EXPECT_EQ(image.data[0][0][1].item<float>(), 3.5f);
}

TEST(Nifti2, FourDimensionsSplitIntoChannels) {
  const auto n1 = read_image_channels(twin("four_d", "n1"));
  const auto n2 = read_image_channels(twin("four_d", "n2"));
  ASSERT_EQ(n2.size(), 3u);
  ASSERT_EQ(n1.size(), 3u);
  for (std::size_t t = 0; t < 3; ++t) {
    EXPECT_TRUE(same_geometry(n2[t].geometry, n1[t].geometry, 2e-6));
    EXPECT_TRUE(torch::equal(n2[t].data, n1[t].data));
    EXPECT_EQ(n2[t].data[0][0][0].item<float>(), 24.0f * t);
  }
  EXPECT_TRUE(
      throws_error_containing([] { read_image(twin("four_d", "n2")); }, "read_image_channels"));
}

TEST(Nifti2, NibabelsExampleMatchesItsNifti1Copy) {
  const std::string path = test::kNibabelData + "/example_nifti2.nii.gz";
  SAMRI_SKIP_IF_MISSING(path);
  const auto channels = read_image_channels(path);
  const auto reference =
      read_image_channels(samri::test::data_path("io/example_nifti2_as_nifti1.nii.gz"));
  ASSERT_EQ(channels.size(), 2u);
  ASSERT_EQ(reference.size(), 2u);
  for (std::size_t t = 0; t < 2; ++t) {
    EXPECT_EQ(channels[t].geometry.size, (std::vector<std::int64_t>{32, 20, 12}));
    EXPECT_TRUE(same_geometry(channels[t].geometry, reference[t].geometry, 2e-5));
  }
  // Sums and voxels computed with nibabel.
  EXPECT_EQ(channels[0].data.sum(torch::kFloat64).item<double>(), 3461748.0);
  EXPECT_EQ(channels[1].data.sum(torch::kFloat64).item<double>(), 3465054.0);
  EXPECT_EQ(channels[1].data[7][6][5].item<float>(), 393.0f);     // vol[5, 6, 7, 1]
  EXPECT_EQ(channels[0].data[11][19][31].item<float>(), 484.0f);  // vol[31, 19, 11, 0]
  EXPECT_TRUE(throws_error_containing([&] { read_image(path); }, "2 volumes"));
}

TEST(FourD, Nifti1ChannelsAreSplitNotSilentlyDropped) {
  const std::string path = test::kNibabelData + "/example4d.nii.gz";
  SAMRI_SKIP_IF_MISSING(path);
  EXPECT_TRUE(throws_error_containing([&] { read_image(path); }, "read_image_channels"));
  const auto channels = read_image_channels(path);
  ASSERT_EQ(channels.size(), 2u);
  EXPECT_EQ(channels[0].geometry.size, (std::vector<std::int64_t>{128, 96, 24}));
  EXPECT_EQ(channels[0].geometry.direction.size(), 9u);
  EXPECT_EQ(channels[0].data.sum(torch::kFloat64).item<double>(), 50994397.0);
  EXPECT_EQ(channels[1].data.sum(torch::kFloat64).item<double>(), 50990959.0);
  EXPECT_EQ(channels[1].data[10][50][60].item<float>(), 444.0f);  // vol[60, 50, 10, 1]
}

TEST(FourD, OneVolumeIsThreeD) {
  const Image image = read_image(twin("four_d_one", "n2"));
  EXPECT_EQ(image.geometry.dimension(), 3);
}

}  // namespace
}  // namespace samri::io
