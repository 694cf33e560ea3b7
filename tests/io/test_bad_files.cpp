#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

#include "io_test_support.h"
#include "samri/io/image_reader.h"
#include "samri/io/image_writer.h"
#include "support/fixtures.h"

namespace samri::io {
namespace {

namespace fs = std::filesystem;
using test::throws_error_containing;

std::string write_file(const std::string& name, const std::string& bytes) {
  const std::string path = samri::test::temp_dir() + "/" + name;
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

std::string random_bytes(std::size_t count) {
  std::mt19937 generator(7);
  std::string bytes(count, '\0');
  for (auto& byte : bytes) byte = static_cast<char>(generator() & 0xFF);
  return bytes;
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

Image small_volume() {
  Image image;
  image.geometry = identity_geometry({6, 5, 4});
  image.data = torch::arange(120, torch::kFloat32).reshape({4, 5, 6});
  return image;
}

TEST(BadFiles, MissingFile) {
  const std::string path = samri::test::temp_dir() + "/absent.nii.gz";
  EXPECT_TRUE(throws_error_containing([&] { read_image(path); }, path + ": no such file"));
}

TEST(BadFiles, EmptyFile) {
  for (const std::string name : {"empty.nii", "empty.nii.gz", "empty.dcm", "empty.png"}) {
    const std::string path = write_file(name, "");
    EXPECT_TRUE(throws_error_containing([&] { read_image(path); }, path + ": the file is empty"));
  }
}

TEST(BadFiles, GzNameWithoutGzipData) {
  const std::string path = write_file("plain.nii.gz", random_bytes(2000));
  EXPECT_TRUE(throws_error_containing([&] { read_image(path); }, "not gzip-compressed"));
}

TEST(BadFiles, RandomBytesUnderEveryName) {
  for (const std::string name :
       {"noise.nii", "noise.mha", "noise.nrrd", "noise.png", "noise.dcm", "noise.bin"}) {
    const std::string path = write_file(name, random_bytes(3000));
    EXPECT_TRUE(throws_error_containing([&] { read_image(path); }, path)) << name;
  }
}

// Writes `image` as `name`, then a copy without its last `cut` bytes; returns the copy's path.
std::string cut_copy(const std::string& folder, const Image& image, const std::string& name,
                     std::size_t cut) {
  const std::string whole = folder + "/whole_" + name;
  write_image(whole, image);
  const std::string bytes = read_all(whole);
  EXPECT_LT(cut, bytes.size()) << name;
  const std::string path = folder + "/cut" + std::to_string(cut) + "_" + name;
  std::ofstream(path, std::ios::binary) << bytes.substr(0, bytes.size() - cut);
  return path;
}

// Each format cut short, inside its voxel data or (gzip) its trailer. ITK alone reads several of
// these without complaint (NIfTI, MetaImage, BMP, JPEG), returning zeros for the missing part.
TEST(BadFiles, TruncatedFilesOfEveryFormat) {
  Image grey;
  grey.geometry = identity_geometry({40, 30});
  grey.data =
      (torch::arange(1200, torch::kInt32).remainder(251)).to(torch::kUInt8).reshape({30, 40});
  const struct {
    const char* name;
    std::size_t cut;
    bool grey;
  } cases[] = {{"v.nii", 100, false}, {"v.nii.gz", 100, false}, {"v.nii.gz", 4, false},
               {"v.nrrd", 60, false}, {"v.mha", 60, false},     {"g.png", 40, true},
               {"g.jpg", 200, true},  {"g.bmp", 200, true},     {"g.tif", 200, true}};
  const std::string folder = samri::test::temp_dir();
  for (const auto& c : cases) {
    const std::string path = cut_copy(folder, c.grey ? grey : small_volume(), c.name, c.cut);
    EXPECT_TRUE(throws_error_containing([&] { read_image(path); }, path)) << c.name << " " << c.cut;
  }
}

TEST(BadFiles, UncompressedNrrdAndMetaImageCutShort) {
  const std::string folder = samri::test::temp_dir();
  std::string voxels(480, '\0');
  const std::string nrrd = folder + "/raw.nrrd";
  std::ofstream(nrrd, std::ios::binary)
      << "NRRD0004\ntype: float\ndimension: 3\nsizes: 6 5 4\nendian: little\nencoding: raw\n\n"
      << voxels.substr(0, 400);
  EXPECT_TRUE(throws_error_containing([&] { read_image(nrrd); }, nrrd));
  const std::string mha = folder + "/raw.mha";
  std::ofstream(mha, std::ios::binary)
      << "ObjectType = Image\nNDims = 3\nDimSize = 6 5 4\nElementType = MET_FLOAT\n"
         "ElementDataFile = LOCAL\n"
      << voxels.substr(0, 400);
  EXPECT_TRUE(throws_error_containing([&] { read_image(mha); }, "480 bytes of voxel data"));
  std::ofstream(mha, std::ios::binary | std::ios::app) << voxels.substr(0, 80);
  EXPECT_EQ(read_image(mha).data.sum().item<float>(), 0.0f);
}

TEST(BadFiles, AbsurdSizesAreRefusedBeforeAllocating) {
  // A valid NRRD header claiming 100000 x 100000 x 1000 voxels and no data.
  const std::string huge =
      write_file("huge.nrrd",
                 "NRRD0004\ntype: float\ndimension: 3\n"
                 "sizes: 100000 100000 1000\nendian: little\nencoding: raw\n\n");
  EXPECT_TRUE(throws_error_containing([&] { read_image(huge); }, "refusing"));
  const std::string many =
      write_file("many.nrrd",
                 "NRRD0004\ntype: float\ndimension: 3\n"
                 "sizes: 60000 60000 60000\nendian: little\nencoding: raw\n\n");
  EXPECT_TRUE(throws_error_containing([&] { read_image(many); }, "more than 2^31"));
}

TEST(BadFiles, UnreadableFolder) {
  const std::string parent = samri::test::temp_dir();
  const std::string folder = parent + "/locked";
  fs::create_directory(folder);
  ::chmod(folder.c_str(), 0);
  auto refused = [&] { return throws_error_containing([&] { read_image(folder); }, folder); };
  if (::geteuid() != 0) {
    EXPECT_TRUE(refused());
  } else {
    // Root reads every folder (CI runs as root): check as user nobody, in a child process.
    ::chmod(parent.c_str(), 0755);
    EXPECT_EXIT(
        {
          if (::setgid(65534) != 0 || ::setuid(65534) != 0) std::_Exit(2);
          std::_Exit(refused() ? 0 : 1);
        },
        ::testing::ExitedWithCode(0), "");
  }
  ::chmod(folder.c_str(), 0700);
}

TEST(BadFiles, SeriesUidOnAFile) {
  const std::string path = samri::test::temp_dir() + "/v.nii.gz";
  write_image(path, small_volume());
  EXPECT_TRUE(throws_error_containing([&] { read_image(path, "1.2.3"); }, "DICOM folder"));
}

TEST(LabelMaps, WholeNumbersInFloatFilesAreAccepted) {
  const std::string path = samri::test::temp_dir() + "/labels.nii.gz";
  Image labels = small_volume();
  labels.data = labels.data.remainder(7.0f);
  write_image(path, labels);
  const Image read = read_label_map(path);
  EXPECT_EQ(read.data.scalar_type(), torch::kInt64);
  EXPECT_TRUE(torch::equal(read.data, labels.data.to(torch::kInt64)));
}

TEST(LabelMaps, FractionsAreRefusedWithAVoxel) {
  const std::string path = samri::test::temp_dir() + "/fraction.nrrd";
  Image labels = small_volume();
  labels.data.zero_();
  labels.data[3][2][1] = 1.5f;  // voxel (1, 2, 3)
  write_image(path, labels);
  EXPECT_TRUE(throws_error_containing([&] { read_label_map(path); },
                                      path + ": not a label map: voxel (1, 2, 3) holds 1.5"));
}

TEST(LabelMaps, AalAtlasReads) {
  const std::string path = test::kMricron + "/aal.nii.gz";
  SAMRI_SKIP_IF_MISSING(path);
  const Image atlas = read_label_map(path);
  EXPECT_EQ(atlas.geometry.size, (std::vector<std::int64_t>{181, 217, 181}));
  EXPECT_EQ(atlas.data.max().item<std::int64_t>(), 116);
  EXPECT_EQ(std::get<0>(at::_unique(atlas.data)).numel(), 117);  // 116 regions and background
}

}  // namespace
}  // namespace samri::io
