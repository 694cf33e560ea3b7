#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "io_test_support.h"
#include "samri/io/image_reader.h"
#include "support/fixtures.h"

namespace samri::io {
namespace {

namespace fs = std::filesystem;
using test::kPydicomFiles;
using test::throws_error_containing;

const std::string kSeries = kPydicomFiles + "/dicomdirtests";

std::string bytes_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string write_prefix(const std::string& source, std::size_t length, const std::string& name) {
  const std::string path = samri::test::temp_dir() + "/" + name;
  std::ofstream(path, std::ios::binary) << bytes_of(source).substr(0, length);
  return path;
}

// One 64 x 64 MR image in every transfer syntax pydicom ships; values computed with pydicom
// (array[row, column] is ITK voxel (column, row), i.e. data[row][column]).
class MrSmall : public ::testing::TestWithParam<std::string> {};

TEST_P(MrSmall, ReadsThePixelsPydicomReads) {
  const std::string path = kPydicomFiles + "/" + GetParam();
  SAMRI_SKIP_IF_MISSING(path);
  const Image image = read_image(path);
  ASSERT_EQ(image.geometry.size, (std::vector<std::int64_t>{64, 64}));
  EXPECT_EQ(image.data.sum().item<double>(), 2125338.0);
  EXPECT_EQ(image.data[0][0].item<float>(), 905.0f);
  EXPECT_EQ(image.data[10][20].item<float>(), 316.0f);
  EXPECT_EQ(image.data[20][10].item<float>(), 228.0f);
  EXPECT_EQ(image.data[63][0].item<float>(), 378.0f);
  EXPECT_EQ(image.data[63][63].item<float>(), 862.0f);
  EXPECT_NEAR(image.geometry.spacing[0], 0.3125, 1e-9);
  EXPECT_NEAR(image.geometry.origin[0], -83.9063, 1e-4);
  EXPECT_NEAR(image.geometry.origin[1], -91.2, 1e-4);
  EXPECT_FALSE(image.natural);
}

INSTANTIATE_TEST_SUITE_P(TransferSyntaxes, MrSmall,
                         ::testing::Values("MR_small.dcm", "MR_small_implicit.dcm",
                                           "MR_small_bigendian.dcm", "MR_small_expb.dcm",
                                           "MR_small_padded.dcm", "MR_small_RLE.dcm",
                                           "MR_small_jp2klossless.dcm",
                                           "MR_small_jpeg_ls_lossless.dcm"),
                         [](const auto& info) {
                           std::string name = info.param.substr(0, info.param.size() - 4);
                           for (auto& ch : name) ch = std::isalnum(ch) ? ch : '_';
                           return name;
                         });

TEST(Dicom, TruncatedPixelDataIsRefused) {
  const std::string path = kPydicomFiles + "/MR_truncated.dcm";
  SAMRI_SKIP_IF_MISSING(path);
  EXPECT_TRUE(throws_error_containing([&] { read_image(path); }, "MR_truncated.dcm"));
  EXPECT_TRUE(throws_error_containing([&] { read_image(path); }, "truncated"));
}

// Debian's GDCM aborts the process on most of these; they must come back as samri::Error.
class CutDicom : public ::testing::TestWithParam<std::size_t> {};

TEST_P(CutDicom, IsRefusedWithoutCrashing) {
  const std::string source = kPydicomFiles + "/MR_small.dcm";
  SAMRI_SKIP_IF_MISSING(source);
  const std::string path = write_prefix(source, GetParam(), "cut.dcm");
  EXPECT_TRUE(throws_error_containing([&] { read_image(path); }, path));
}

INSTANTIATE_TEST_SUITE_P(Offsets, CutDicom,
                         ::testing::Values(100, 140, 300, 1000, 1495, 5000, 9700, 9750, 9829));

TEST(Dicom, CompressedFileCutInItsTrailerIsRefused) {
  const std::string source = kPydicomFiles + "/MR_small_RLE.dcm";
  SAMRI_SKIP_IF_MISSING(source);
  for (const std::size_t length : {1600, 5000, 7690}) {
    const std::string path = write_prefix(source, length, "cut_rle.dcm");
    EXPECT_THROW(read_image(path), Error) << length;
  }
}

TEST(DicomSeries, ReadsAMultiFileSeriesInSliceOrder) {
  const std::string folder = kSeries + "/98892001/CT5N";
  SAMRI_SKIP_IF_MISSING(folder);
  const Image volume = read_image(folder);
  ASSERT_EQ(volume.geometry.size, (std::vector<std::int64_t>{16, 16, 5}));
  EXPECT_NEAR(volume.geometry.spacing[0], 0.488281, 1e-6);
  EXPECT_NEAR(volume.geometry.spacing[2], 2.5, 1e-4);
  EXPECT_NEAR(volume.geometry.origin[2], -1.2375, 1e-4);
  // Sums of each slice after the rescale (slope 1, intercept -1024), lowest z first (pydicom).
  const std::vector<double> sums = {-17594, -9701, -10964, -48364, -90697};
  for (int k = 0; k < 5; ++k) EXPECT_EQ(volume.data[k].sum().item<double>(), sums[k]) << k;
  EXPECT_EQ(volume.data[0][3][5].item<float>(), -127.0f);
  EXPECT_EQ(volume.data[0][5][3].item<float>(), -156.0f);
}

TEST(DicomSeries, SeveralSeriesAreListedAndOneCanBeChosen) {
  const std::string folder = kSeries + "/98892003/MR1";
  SAMRI_SKIP_IF_MISSING(folder);
  const std::string a = "1.3.6.1.4.1.5962.1.1.0.0.0.1196533885.18148.0.475";
  const std::string b = "1.3.6.1.4.1.5962.1.1.0.0.0.1196533885.18148.0.134";
  EXPECT_TRUE(throws_error_containing([&] { read_image(folder); }, "3 DICOM series"));
  EXPECT_TRUE(throws_error_containing([&] { read_image(folder); }, a + " (1 files)"));
  EXPECT_TRUE(throws_error_containing([&] { read_image(folder); }, b));
  EXPECT_EQ(list_dicom_series(folder).size(), 3u);
  const Image chosen = read_image(folder, a);
  EXPECT_EQ(chosen.geometry.size, (std::vector<std::int64_t>{16, 16}));
  EXPECT_EQ(chosen.data.sum().item<double>(), 140730.0);  // file 15820, pydicom
  EXPECT_TRUE(throws_error_containing([&] { read_image(folder, "1.2.3"); }, "no DICOM series"));
}

TEST(DicomSeries, SlicesOfDifferentOrientationsAreNotAVolume) {
  const std::string folder = kSeries + "/98892003/MR700";
  SAMRI_SKIP_IF_MISSING(folder);
  EXPECT_TRUE(throws_error_containing([&] { read_image(folder); }, "different orientations"));
}

TEST(DicomSeries, UnevenSliceSpacingIsRefused) {
  const std::string folder = kSeries + "/77654033/CT2";
  SAMRI_SKIP_IF_MISSING(folder);
  EXPECT_TRUE(throws_error_containing([&] { read_image(folder); }, "uneven slice spacing"));
}

TEST(DicomSeries, AFolderWithoutImagesSaysSo) {
  SAMRI_SKIP_IF_MISSING(kSeries);
  // DICOMDIR files and a README, no images.
  EXPECT_TRUE(throws_error_containing([&] { read_image(kSeries); }, "no DICOM image series"));
  EXPECT_TRUE(throws_error_containing([&] { read_image(samri::test::temp_dir()); },
                                      "no DICOM image series"));
}

TEST(DicomSeries, ADamagedFileInTheFolderIsNamed) {
  const std::string source = kSeries + "/98892001/CT5N";
  SAMRI_SKIP_IF_MISSING(source);
  const std::string folder = samri::test::temp_dir();
  for (const auto& entry : fs::directory_iterator(source)) {
    fs::copy_file(entry.path(), folder + "/" + entry.path().filename().string());
  }
  const std::string damaged = folder + "/2693";
  const std::string bytes = bytes_of(damaged);
  std::ofstream(damaged, std::ios::binary | std::ios::trunc) << bytes.substr(0, bytes.size() - 40);
  EXPECT_TRUE(throws_error_containing([&] { read_image(folder); }, damaged));
}

TEST(DicomLabels, AreRefused) {
  const std::string path = kPydicomFiles + "/MR_small.dcm";
  SAMRI_SKIP_IF_MISSING(path);
  EXPECT_TRUE(throws_error_containing([&] { read_label_map(path); }, "DICOM label maps"));
}

}  // namespace
}  // namespace samri::io
