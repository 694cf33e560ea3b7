#include "samri/eval/mask_metrics.h"

#include <cmath>
#include <random>
#include <sstream>

#include <gtest/gtest.h>

#include "eval/scipy_reference.h"
#include "samri/eval/distance_transform.h"
#include "samri/eval/mask_surface.h"

namespace samri::eval {
namespace {

const double kSqrt2 = std::sqrt(2.0);

// A rows x cols mask with the given (row, col) rectangles set, inclusive corners.
Mask rect(std::int64_t rows, std::int64_t cols, std::int64_t r0, std::int64_t c0, std::int64_t r1,
          std::int64_t c1) {
  Mask m(static_cast<std::size_t>(rows * cols), 0);
  for (auto r = r0; r <= r1; ++r) {
    for (auto c = c0; c <= c1; ++c) m[static_cast<std::size_t>(r * cols + c)] = 1;
  }
  return m;
}

TEST(DistanceTransform, IsExactAlongAndAcrossAnisotropicAxes) {
  Grid g{{3, 4}, {2.0, 0.5}};
  Mask f(12, 0);
  f[0] = 1;  // (0, 0)
  const std::vector<double> d2 = squared_distance_to_nearest(f, g);
  EXPECT_DOUBLE_EQ(d2[0], 0);
  EXPECT_DOUBLE_EQ(d2[3], 1.5 * 1.5);               // (0, 3)
  EXPECT_DOUBLE_EQ(d2[4], 4.0);                     // (1, 0)
  EXPECT_DOUBLE_EQ(d2[11], 4.0 * 4.0 + 1.5 * 1.5);  // (2, 3)
  EXPECT_TRUE(std::isinf(squared_distance_to_nearest(Mask(12, 0), g)[5]));
}

TEST(MaskSurface, KeepsPixelsWithABackgroundOrOutsideFaceNeighbour) {
  // A full 3x3 grid: the image edge counts as background, so only the centre is interior.
  const Mask full(9, 1);
  const Mask s = mask_surface(full, Grid::pixels({3, 3}));
  EXPECT_EQ(s, (Mask{1, 1, 1, 1, 0, 1, 1, 1, 1}));
  // A 3x3x3 cube inside a 5x5x5 grid: 26 surface voxels, the centre (6-connected erosion) not.
  Mask cube(125, 0);
  for (int z = 1; z < 4; ++z)
    for (int y = 1; y < 4; ++y)
      for (int x = 1; x < 4; ++x) cube[z * 25 + y * 5 + x] = 1;
  const Mask cs = mask_surface(cube, Grid::pixels({5, 5, 5}));
  EXPECT_EQ(std::count(cs.begin(), cs.end(), 1), 26);
  EXPECT_EQ(cs[2 * 25 + 2 * 5 + 2], 0);
}

TEST(MaskMetrics, SinglePixelsThreeApart) {
  const MaskScores s =
      score_masks(rect(10, 10, 2, 2, 2, 2), rect(10, 10, 2, 5, 2, 5), Grid::pixels({10, 10}));
  EXPECT_DOUBLE_EQ(s.dice, 0);
  EXPECT_DOUBLE_EQ(s.hd, 3);
  EXPECT_DOUBLE_EQ(s.msd, 3);
  EXPECT_DOUBLE_EQ(s.hd95, 3);
  EXPECT_EQ(s.empty, EmptyMasks::none);
}

TEST(MaskMetrics, ParallelLinesInPixelsAndInAnisotropicMillimetres) {
  const Mask a = rect(8, 8, 2, 1, 2, 5), b = rect(8, 8, 4, 1, 4, 5);
  const MaskScores px = score_masks(a, b, Grid::pixels({8, 8}));
  EXPECT_DOUBLE_EQ(px.hd, 2);
  EXPECT_DOUBLE_EQ(px.msd, 2);
  const MaskScores mm = score_masks(a, b, Grid{{8, 8}, {2.5, 0.7}});
  EXPECT_DOUBLE_EQ(mm.hd, 5);
  EXPECT_DOUBLE_EQ(mm.msd, 5);
  EXPECT_DOUBLE_EQ(mm.dice, 0);
}

TEST(MaskMetrics, RingOfASquareAroundASmallerSquare) {
  // Reference 5x5, prediction its inner 3x3. Prediction surface: 8 pixels, each 1 from the
  // reference's ring. Reference surface: 12 edge pixels at 1, 4 corners at sqrt(2).
  const MaskScores s =
      score_masks(rect(7, 7, 2, 2, 4, 4), rect(7, 7, 1, 1, 5, 5), Grid::pixels({7, 7}));
  EXPECT_DOUBLE_EQ(s.dice, 18.0 / 34.0);
  EXPECT_DOUBLE_EQ(s.hd, kSqrt2);
  EXPECT_NEAR(s.msd, (20 + 4 * kSqrt2) / 24, 1e-15);
  // Directed 95th percentiles: 1 (all ones), and at position 0.95 x 15 = 14.25 of the sorted
  // reference distances (twelve 1s, then four sqrt(2)): sqrt(2).
  EXPECT_DOUBLE_EQ(s.hd95, kSqrt2);
}

TEST(MaskMetrics, AnObjectFillingTheImageHasItsEdgeAsSurface) {
  // Prediction: the whole 3x3 image (surface: the 8 border pixels); reference: the centre.
  MetricOptions o;
  o.nsd_tolerance = 1.0;
  const MaskScores s = score_masks(Mask(9, 1), rect(3, 3, 1, 1, 1, 1), Grid::pixels({3, 3}), o);
  EXPECT_DOUBLE_EQ(s.hd, kSqrt2);
  EXPECT_NEAR(s.msd, (5 + 4 * kSqrt2) / 9, 1e-15);
  EXPECT_DOUBLE_EQ(s.nsd, 5.0 / 9.0);
  EXPECT_DOUBLE_EQ(s.dice, 2.0 / 10.0);
}

TEST(MaskMetrics, EmptyMasksFollowThePolicy) {
  const Grid g = Grid::pixels({4, 4});
  const Mask none(16, 0), some = rect(4, 4, 1, 1, 2, 2);
  MetricOptions o;
  o.nsd_tolerance = 2;
  const MaskScores both = score_masks(none, none, g, o);
  EXPECT_EQ(both.empty, EmptyMasks::both);
  EXPECT_EQ(both.dice, 1);
  EXPECT_EQ(both.hd, 0);
  EXPECT_EQ(both.nsd, 1);
  const MaskScores missed = score_masks(none, some, g, o);
  EXPECT_EQ(missed.empty, EmptyMasks::prediction);
  EXPECT_EQ(missed.dice, 0);
  EXPECT_TRUE(std::isnan(missed.hd) && std::isnan(missed.msd) && std::isnan(missed.hd95));
  EXPECT_EQ(missed.nsd, 0);
  o.empty_distance = grid_diagonal(g);
  const MaskScores invented = score_masks(some, none, g, o);
  EXPECT_EQ(invented.empty, EmptyMasks::reference);
  EXPECT_DOUBLE_EQ(invented.hd, std::sqrt(32.0));
  EXPECT_DOUBLE_EQ(invented.msd, std::sqrt(32.0));
}

// Random blobs: thresholded smoothed noise, so shapes have holes, several parts and border
// contact.
Mask random_blob(const Grid& g, std::mt19937& rng, double fill) {
  std::uniform_real_distribution<double> u(0, 1);
  Mask m(static_cast<std::size_t>(g.count()));
  for (auto& v : m) v = u(rng) < fill ? 1 : 0;
  return m;
}

TEST(MaskMetrics, AgreeWithScipyDefinitionsOnRandomMasks) {
  std::mt19937 rng(7);
  std::vector<Grid> grids;
  std::vector<std::pair<Mask, Mask>> masks;
  std::ostringstream cases;
  cases.precision(17);
  const std::vector<Grid> shapes{Grid::pixels({17, 23}), Grid{{31, 12}, {0.8, 1.7}},
                                 Grid{{9, 11, 7}, {3.0, 0.9, 1.1}}, Grid::pixels({6, 5, 8}),
                                 Grid::pixels({64, 64})};
  for (int round = 0; round < 4; ++round) {
    for (const Grid& g : shapes) {
      const double fill = 0.05 + 0.1 * round;
      masks.emplace_back(random_blob(g, rng, fill), random_blob(g, rng, fill + 0.1));
      grids.push_back(g);
      cases << "mask " << g.dims();
      for (auto s : g.size) cases << ' ' << s;
      for (auto s : g.spacing) cases << ' ' << s;
      cases << " 1.5\n";
      for (auto v : masks.back().first) cases << int(v);
      cases << '\n';
      for (auto v : masks.back().second) cases << int(v);
      cases << '\n';
    }
  }
  const auto reference = test::scipy_reference(cases.str());
  if (!reference) GTEST_SKIP() << "/usr/bin/python3 with SciPy is not installed";
  ASSERT_EQ(reference->size(), masks.size());
  MetricOptions o;
  o.nsd_tolerance = 1.5;
  for (std::size_t i = 0; i < masks.size(); ++i) {
    const MaskScores s = score_masks(masks[i].first, masks[i].second, grids[i], o);
    const std::vector<double>& r = (*reference)[i];
    ASSERT_EQ(r.size(), 5u);
    EXPECT_NEAR(s.dice, r[0], 1e-12) << "case " << i;
    EXPECT_NEAR(s.hd, r[1], 1e-6) << "case " << i;
    EXPECT_NEAR(s.msd, r[2], 1e-6) << "case " << i;
    EXPECT_NEAR(s.hd95, r[3], 1e-6) << "case " << i;
    EXPECT_NEAR(s.nsd, r[4], 1e-12) << "case " << i;
  }
}

}  // namespace
}  // namespace samri::eval
