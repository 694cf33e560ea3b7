// Per-dataset resampling, rank splits, counter-based prompts and the low-res targets.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "samri/train/epoch_sampler.h"
#include "samri/train/sample_prompt.h"
#include "samri/train/sample_random.h"

namespace {

using samri::train::DatasetSamples;
using samri::train::EpochSampler;
using samri::train::InputFrame;
using samri::train::SampleRandom;

std::vector<DatasetSamples> two_datasets() {
  DatasetSamples small{"small", {}}, large{"large", {}};
  for (int i = 0; i < 3; ++i) small.samples.push_back(i);
  for (int i = 3; i < 103; ++i) large.samples.push_back(i);
  return {small, large};
}

TEST(EpochSampler, EachDatasetGivesItsQuota) {
  const EpochSampler s(two_datasets(), 10, false, 7);
  EXPECT_EQ(s.epoch_size(), 20);
  const auto e = s.epoch(0);
  ASSERT_EQ(e.size(), 20u);
  const auto small = std::count_if(e.begin(), e.end(), [](auto i) { return i < 3; });
  EXPECT_EQ(small, 10);  // 3 samples drawn 10 times: with replacement
  std::set<std::int64_t> large;
  for (auto i : e) {
    if (i >= 3) large.insert(i);
  }
  EXPECT_EQ(large.size(), 10u);  // without replacement
}

TEST(EpochSampler, DeterministicPerEpochAndDifferentAcrossEpochs) {
  const EpochSampler a(two_datasets(), 10, false, 7), b(two_datasets(), 10, false, 7);
  EXPECT_EQ(a.epoch(3), b.epoch(3));
  EXPECT_NE(a.epoch(3), a.epoch(4));
  const EpochSampler c(two_datasets(), 10, false, 8);
  EXPECT_NE(a.epoch(3), c.epoch(3));
}

TEST(EpochSampler, KeepLargeAndQuotaZeroTakeWholeDatasets) {
  const EpochSampler keep(two_datasets(), 10, true, 1);
  EXPECT_EQ(keep.epoch_size(), 110);  // small drawn up to 10, large whole
  auto e = keep.epoch(0);
  std::set<std::int64_t> large;
  for (auto i : e) {
    if (i >= 3) large.insert(i);
  }
  EXPECT_EQ(large.size(), 100u);
  const EpochSampler all(two_datasets(), 0, false, 1);
  e = all.epoch(2);
  std::sort(e.begin(), e.end());
  std::vector<std::int64_t> expected(103);
  for (int i = 0; i < 103; ++i) expected[i] = i;
  EXPECT_EQ(e, expected);
}

TEST(EpochSampler, RanksTakeDisjointPartsOfEveryBatch) {
  const EpochSampler s(two_datasets(), 0, false, 1);  // 103 samples
  EXPECT_EQ(s.steps_per_epoch(16), 7);
  for (std::int64_t step = 0; step < 7; ++step) {
    std::set<std::int64_t> seen;
    std::size_t total = 0;
    for (int rank = 0; rank < 3; ++rank) {
      for (auto p : s.rank_positions(step, 16, rank, 3)) {
        EXPECT_GE(p, step * 16);
        EXPECT_LT(p, std::min<std::int64_t>(103, step * 16 + 16));
        seen.insert(p);
        ++total;
      }
    }
    EXPECT_EQ(seen.size(), total);
    EXPECT_EQ(total, step < 6 ? 16u : 7u);
  }
  EXPECT_THROW(s.rank_positions(0, 16, 3, 3), std::exception);
}

TEST(EpochSampler, EmptyTrainingSetIsRefused) {
  EXPECT_THROW(EpochSampler({{"none", {}}}, 10, false, 0), std::exception);
}

TEST(SampleRandom, SameKeySameNumbersAndUniformish) {
  SampleRandom a(1, 2, 3), b(1, 2, 3), c(1, 2, 4);
  EXPECT_EQ(a.next(), b.next());
  EXPECT_NE(a.next(), c.next());
  SampleRandom r(0, 0);
  double sum = 0;
  std::map<std::uint64_t, int> counts;
  for (int i = 0; i < 20000; ++i) {
    const double u = r.uniform(-20, 20);
    ASSERT_GE(u, -20);
    ASSERT_LE(u, 20);
    sum += u;
    ++counts[r.below(5)];
  }
  EXPECT_NEAR(sum / 20000, 0, 0.5);
  for (const auto& [k, n] : counts) EXPECT_NEAR(n, 4000, 300) << k;
}

TEST(InputFrame, ResizesTheLongestSideAsSam) {
  const auto f = InputFrame::of(140, 170, 1024);
  EXPECT_EQ(f.resized_width, 1024);
  EXPECT_EQ(f.resized_height, 843);  // int(140 * 1024 / 170 + 0.5)
  EXPECT_FLOAT_EQ(f.x(85), 512.0f);
}

torch::Tensor square_mask() {
  auto m = torch::zeros({10, 20}, torch::kBool);
  m.index_put_({torch::indexing::Slice(2, 7), torch::indexing::Slice(4, 9)}, true);  // rows 2-6
  return m;
}

TEST(SamplePrompt, BoxWithoutJitterIsTheTightestBoxInTheFrame) {
  const auto f = InputFrame::of(10, 20, 40);  // scale 2
  SampleRandom r(0, 0);
  const auto p = samri::train::sample_prompt({4, 2, 8, 6}, square_mask(), f, {}, r);
  EXPECT_EQ(p.box, (std::array<float, 4>{8, 4, 16, 12}));
  EXPECT_FALSE(p.point);
}

TEST(SamplePrompt, JitterStaysWithinBoundsAndInTheResizedImage) {
  const auto f = InputFrame::of(10, 20, 40);
  samri::train::PromptRules rules;
  rules.box_jitter = 3;
  bool moved = false;
  for (int key = 0; key < 200; ++key) {
    SampleRandom r(5, 0, key);
    const auto p = samri::train::sample_prompt({4, 2, 8, 6}, square_mask(), f, rules, r);
    const std::array<float, 4> tight{8, 4, 16, 12};
    for (int k = 0; k < 4; ++k) {
      EXPECT_LE(std::abs(p.box[k] - tight[k]), 3.0f + 1e-5f);
      moved = moved || p.box[k] != tight[k];
    }
    EXPECT_GE(p.box[0], 0);
    EXPECT_LE(p.box[3], 19);  // resized height 20
  }
  EXPECT_TRUE(moved);
  rules.box_jitter_min_extent = 100;  // the public code's rule: small boxes stay put
  SampleRandom r(5, 0, 1);
  const auto p = samri::train::sample_prompt({4, 2, 8, 6}, square_mask(), f, rules, r);
  EXPECT_EQ(p.box, (std::array<float, 4>{8, 4, 16, 12}));
}

TEST(SamplePrompt, PointRulesPickObjectPixels) {
  const auto m = square_mask();
  SampleRandom r(1, 1);
  for (int i = 0; i < 50; ++i) {
    const auto [x, y] = samri::train::choose_point(m, "uniform", r);
    EXPECT_TRUE(m[y][x].item<bool>());
  }
  // 25 pixels in raster order: the middle 10% are indices 11 and 12 (floor(0.45 * 25) to
  // floor(0.55 * 25) - 1), columns 5 and 6 of row 4.
  for (int i = 0; i < 20; ++i) {
    const auto mid = samri::train::choose_point(m, "middle_raster", r);
    EXPECT_EQ(mid[1], 4);
    EXPECT_TRUE(mid[0] == 5 || mid[0] == 6) << mid[0];
  }
  // The centre of the 5x5 square is the farthest from the background.
  const auto in = samri::train::choose_point(m, "interior", r);
  EXPECT_EQ(in, (std::array<std::int64_t, 2>{6, 4}));
  EXPECT_THROW(samri::train::choose_point(torch::zeros({3, 3}, torch::kBool), "uniform", r),
               std::exception);
}

TEST(LowResTarget, NearestResizePadAndDownsample) {
  // A 2x4 slice, img_size 8 (resized to 4x8, padded to 8x8), low-res 4: each low-res pixel takes
  // the frame pixel at twice its index.
  auto mask = torch::zeros({2, 4}, torch::kBool);
  mask[0][3] = true;
  mask[1][0] = true;
  const auto t = samri::train::low_res_target(mask, InputFrame::of(2, 4, 8), 4);
  const auto expected =
      torch::tensor({0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, torch::kFloat32).view({4, 4});
  EXPECT_TRUE(torch::equal(t, expected)) << t;
}

TEST(LowResTarget, EqualsTorchNearestResizePadResizeOnOddSizes) {
  namespace F = torch::nn::functional;
  torch::manual_seed(3);
  for (const auto& [h, w] :
       std::vector<std::pair<int64_t, int64_t>>{{140, 170}, {97, 61}, {256, 256}}) {
    const auto mask = torch::rand({h, w}) > 0.6;
    const auto f = InputFrame::of(h, w, 1024);
    auto x = F::interpolate(mask.to(torch::kFloat32).view({1, 1, h, w}),
                            F::InterpolateFuncOptions()
                                .size(std::vector<int64_t>{f.resized_height, f.resized_width})
                                .mode(torch::kNearest));
    x = F::pad(x, F::PadFuncOptions({0, 1024 - f.resized_width, 0, 1024 - f.resized_height}));
    x = F::interpolate(
            x,
            F::InterpolateFuncOptions().size(std::vector<int64_t>{256, 256}).mode(torch::kNearest))
            .view({256, 256});
    EXPECT_TRUE(torch::equal(samri::train::low_res_target(mask, f, 256), x)) << h << "x" << w;
  }
}

}  // namespace
