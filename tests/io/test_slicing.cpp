#include <gtest/gtest.h>

#include "samri/core/error.h"
#include "samri/io/image.h"
#include "samri/io/slicing.h"

namespace samri::io {
namespace {

// A 3 x 4 x 5 volume (ITK sizes i, j, k) whose voxel (i, j, k) holds 100 i + 10 j + k, so every
// value names its own index.
Image indexed_volume() {
  Image volume;
  volume.geometry = identity_geometry({3, 4, 5});
  volume.data = torch::empty({5, 4, 3}, torch::kFloat32);
  for (int k = 0; k < 5; ++k) {
    for (int j = 0; j < 4; ++j) {
      for (int i = 0; i < 3; ++i) volume.data[k][j][i] = 100 * i + 10 * j + k;
    }
  }
  return volume;
}

TEST(DefaultSliceAxis, PicksTheSmallestAxisAndTheLowestOnTies) {
  EXPECT_EQ(default_slice_axis({181, 217, 181}), 0);
  EXPECT_EQ(default_slice_axis({256, 256, 40}), 2);
  EXPECT_EQ(default_slice_axis({64, 30, 30}), 1);
  EXPECT_EQ(default_slice_axis({7, 7, 7}), 0);
}

TEST(ExtractSlice, Axis2RowsRunAlongIAndColumnsAlongJ) {
  const auto slice = extract_slice(indexed_volume(), 2, 3);
  ASSERT_EQ(slice.sizes(), torch::IntArrayRef({3, 4}));
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 4; ++j) EXPECT_EQ(slice[i][j].item<float>(), 100 * i + 10 * j + 3);
  }
}

TEST(ExtractSlice, Axis1RowsRunAlongIAndColumnsAlongK) {
  const auto slice = extract_slice(indexed_volume(), 1, 2);
  ASSERT_EQ(slice.sizes(), torch::IntArrayRef({3, 5}));
  for (int i = 0; i < 3; ++i) {
    for (int k = 0; k < 5; ++k) EXPECT_EQ(slice[i][k].item<float>(), 100 * i + 20 + k);
  }
}

TEST(ExtractSlice, Axis0RowsRunAlongJAndColumnsAlongK) {
  const auto slice = extract_slice(indexed_volume(), 0, 1);
  ASSERT_EQ(slice.sizes(), torch::IntArrayRef({4, 5}));
  for (int j = 0; j < 4; ++j) {
    for (int k = 0; k < 5; ++k) EXPECT_EQ(slice[j][k].item<float>(), 100 + 10 * j + k);
  }
  EXPECT_TRUE(slice.is_contiguous());
}

TEST(ExtractSlice, RefusesBadAxisIndexOrDimension) {
  const Image volume = indexed_volume();
  EXPECT_THROW(extract_slice(volume, 3, 0), Error);
  EXPECT_THROW(extract_slice(volume, 2, 5), Error);
  EXPECT_THROW(extract_slice(volume, 0, -1), Error);
  Image flat;
  flat.geometry = identity_geometry({3, 4});
  flat.data = torch::zeros({4, 3});
  EXPECT_THROW(extract_slice(flat, 0, 0), Error);
}

TEST(InsertSlice, IsTheExactInverseOfExtractOnEveryAxis) {
  for (int axis = 0; axis < 3; ++axis) {
    Image volume = indexed_volume();
    const Image original = indexed_volume();
    const auto slice = extract_slice(volume, axis, 1);
    insert_slice(volume, axis, 1, -slice);
    EXPECT_TRUE(torch::equal(extract_slice(volume, axis, 1), -slice)) << "axis " << axis;
    // Only that slice changed.
    const auto changed = (volume.data != original.data).sum().item<std::int64_t>();
    EXPECT_EQ(changed, slice.numel() - (slice == 0).sum().item<std::int64_t>()) << "axis " << axis;
    insert_slice(volume, axis, 1, slice);
    EXPECT_TRUE(torch::equal(volume.data, original.data)) << "axis " << axis;
  }
}

TEST(InsertSlice, WritesVoxelIJK) {
  Image volume = indexed_volume();
  auto slice = torch::zeros({3, 4});
  slice[2][1] = -7;
  insert_slice(volume, 2, 4, slice);
  EXPECT_EQ(volume.data[4][1][2].item<float>(), -7);  // voxel (i=2, j=1, k=4)
  EXPECT_THROW(insert_slice(volume, 2, 4, torch::zeros({4, 3})), Error);
}

TEST(SamView2d, MedicalRowsRunAlongIndex0) {
  Image image;
  image.geometry = identity_geometry({3, 2});                         // 3 along i, 2 along j
  image.data = torch::tensor({{0.f, 1.f, 2.f}, {10.f, 11.f, 12.f}});  // data[j][i] = 10 j + i
  const auto view = sam_view_2d(image);
  ASSERT_EQ(view.sizes(), torch::IntArrayRef({3, 2}));
  EXPECT_EQ(view[2][1].item<float>(), 12.f);  // row i = 2, column j = 1
  EXPECT_TRUE(torch::equal(from_sam_view_2d(view, image), image.data));
}

TEST(SamView2d, NaturalImagesKeepRowsAsY) {
  Image image;
  image.natural = true;
  image.components = 3;
  image.geometry = identity_geometry({3, 2});
  image.data = torch::arange(18, torch::kFloat32).reshape({2, 3, 3});  // (y, x, rgb)
  const auto view = sam_view_2d(image);
  EXPECT_TRUE(torch::equal(view, image.data));
  EXPECT_TRUE(torch::equal(from_sam_view_2d(view, image), image.data));
  EXPECT_THROW(from_sam_view_2d(view.transpose(0, 1), image), Error);
}

}  // namespace
}  // namespace samri::io
