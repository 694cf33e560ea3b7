#include <gtest/gtest.h>

#include <cmath>

#include "samri/core/error.h"
#include "samri/infer/propagation.h"

using samri::infer::DirectionStop;
using samri::infer::PropagationSettings;
using samri::infer::SliceResult;
using samri::infer::Track;

namespace {

constexpr std::int64_t kRows = 40, kCols = 50, kSlices = 21;

// A ball of radius 8 centred at (row 20, col 25, slice 10): a disc on each slice within 8 of the
// centre, nothing beyond.
torch::Tensor ball_slice(std::int64_t slice, double radius = 8.0) {
  const auto rows = torch::arange(kRows, torch::kFloat).unsqueeze(1);
  const auto cols = torch::arange(kCols, torch::kFloat).unsqueeze(0);
  const double dz = static_cast<double>(slice - 10);
  return (rows - 20).pow(2) + (cols - 25).pow(2) + dz * dz <= radius * radius;
}

// A stand-in decoder whose mask is the ball's cross-section whatever the prompt, with a chosen
// predicted IoU per slice; it records every call.
struct FakeDecoder {
  std::function<double(std::int64_t)> iou = [](std::int64_t) { return 0.9; };
  std::function<torch::Tensor(std::int64_t)> mask = [](std::int64_t s) { return ball_slice(s); };
  std::vector<std::pair<std::int64_t, samri::model::Prompt>> calls;

  samri::infer::SliceDecoder fn() {
    return [this](std::int64_t slice, const samri::model::Prompt& prompt) {
      calls.emplace_back(slice, prompt);
      samri::model::Prediction p;
      p.logits = torch::where(mask(slice), 5.0f, -5.0f).unsqueeze(0);
      p.iou = torch::full({1}, iou(slice));
      p.low_res = torch::full({1, 16, 16}, static_cast<float>(slice));
      return p;
    };
  }
};

samri::model::Prompt seed_box() {
  samri::model::Prompt p;
  p.box = std::array<float, 4>{17, 12, 33, 28};
  return p;
}

const DirectionStop& stop_going(const Track& t, int direction) {
  for (const auto& s : t.stops) {
    if (s.direction == direction) return s;
  }
  throw std::runtime_error("no stop in that direction");
}

TEST(Propagation, FollowsTheObjectUntilItsMaskIsTooSmall) {
  FakeDecoder fake;
  PropagationSettings settings;
  settings.min_pixels = 5;  // the disc at |dz| = 8 is one pixel, at |dz| = 7 it has 45
  const Track t =
      samri::infer::propagate(fake.fn(), 10, seed_box(), {0, kSlices}, {}, settings, 0.0);
  ASSERT_EQ(t.slices.size(), 15u);  // slices 3..17
  EXPECT_EQ(t.slices.begin()->first, 3);
  EXPECT_EQ(t.slices.rbegin()->first, 17);
  EXPECT_EQ(stop_going(t, -1).slice, 2);
  EXPECT_EQ(stop_going(t, 1).slice, 18);
  EXPECT_NE(stop_going(t, 1).reason.find("mask of 1 pixels"), std::string::npos)
      << stop_going(t, 1).reason;

  // Each slice after the seed was prompted with the tightest box of its neighbour's mask.
  ASSERT_EQ(fake.calls.size(), 17u);  // the seed, 7 + 1 down, 7 + 1 up
  EXPECT_EQ(fake.calls[0].first, 10);
  for (std::size_t i = 1; i < fake.calls.size(); ++i) {
    const auto [slice, prompt] = fake.calls[i];
    const std::int64_t from = slice < 10 ? slice + 1 : slice - 1;
    EXPECT_EQ(*prompt.box, samri::infer::mask_box(ball_slice(from))) << "slice " << slice;
    EXPECT_FALSE(prompt.mask_input.defined());
    EXPECT_TRUE(prompt.points.empty());
  }
  const SliceResult& r = t.slices.at(12);
  EXPECT_EQ(r.seed, 10);
  EXPECT_EQ(r.area, ball_slice(12).sum().item<std::int64_t>());
  EXPECT_DOUBLE_EQ(*r.area_change,
                   static_cast<double>(r.area) / ball_slice(11).sum().item<double>());
  EXPECT_FALSE(t.slices.at(10).area_change.has_value());
}

TEST(Propagation, AVanishedMaskStopsTheDirection) {
  FakeDecoder fake;
  PropagationSettings settings;
  settings.min_pixels = 0;
  settings.max_area_factor = 1e9;
  const Track t =
      samri::infer::propagate(fake.fn(), 10, seed_box(), {0, kSlices}, {}, settings, 0.0);
  EXPECT_EQ(t.slices.begin()->first, 2);  // the one-pixel disc is kept, then nothing
  EXPECT_EQ(stop_going(t, -1).reason, "mask vanished");
  EXPECT_EQ(stop_going(t, -1).slice, 1);
}

TEST(Propagation, LowPredictedIouAndAnAreaJumpStopIt) {
  FakeDecoder fake;
  fake.iou = [](std::int64_t s) { return s >= 13 ? 0.3 : 0.9; };
  fake.mask = [](std::int64_t s) { return s == 8 ? ball_slice(s, 3.0) : ball_slice(s); };
  PropagationSettings settings;
  settings.min_iou = 0.5;  // off by default
  const Track t =
      samri::infer::propagate(fake.fn(), 10, seed_box(), {0, kSlices}, {}, settings, 0.0);
  EXPECT_EQ(t.slices.rbegin()->first, 12);
  EXPECT_NE(stop_going(t, 1).reason.find("predicted IoU 0.300 under the minimum of 0.500"),
            std::string::npos)
      << stop_going(t, 1).reason;
  EXPECT_EQ(t.slices.begin()->first, 9);
  EXPECT_NE(stop_going(t, -1).reason.find("area changed by a factor of"), std::string::npos)
      << stop_going(t, -1).reason;
}

TEST(Propagation, AMaskOutgrowingTheSeedStopsIt) {
  FakeDecoder fake;  // the seed (slice 10) has the ball's radius-8 disc: 197 pixels
  fake.mask = [](std::int64_t s) { return ball_slice(10, s >= 12 ? 9.5 : 8.0); };
  PropagationSettings settings;
  settings.max_seed_area_factor = 1.2;  // the radius-9.5 disc has 293 pixels, 1.49 times the seed's
  settings.clip_to_box = -1;  // on by default, it would cut the disc back to the seed's box
  const Track t = samri::infer::propagate(fake.fn(), 10, seed_box(), {0, 14}, {}, settings, 0.0);
  EXPECT_EQ(t.slices.rbegin()->first, 11);
  EXPECT_NE(stop_going(t, 1).reason.find("over 1.20 times the seed's 197"), std::string::npos)
      << stop_going(t, 1).reason;
  EXPECT_EQ(stop_going(t, -1).reason, "reached the end of the volume");  // equal areas pass

  settings.max_seed_area_factor = 0.0;  // off
  const Track all = samri::infer::propagate(fake.fn(), 10, seed_box(), {0, 14}, {}, settings, 0.0);
  EXPECT_EQ(all.slices.size(), 14u);
}

TEST(Propagation, ClipToBoxKeepsEachMaskInsideItsWidenedPromptBox) {
  FakeDecoder fake;  // every slice after the seed leaks: a disc of radius 12 around the same centre
  fake.mask = [](std::int64_t s) { return ball_slice(10, s == 10 ? 8.0 : 12.0); };
  PropagationSettings settings;
  settings.max_area_factor = 1e9;
  settings.clip_to_box = 1;
  const Track t = samri::infer::propagate(fake.fn(), 10, seed_box(), {9, 13}, {}, settings, 0.0);
  // Slice 11 is prompted with the seed's box (cols 17..33, rows 12..28), so it keeps the leak's
  // pixels in cols 16..34, rows 11..29; slice 12, prompted with that, gains one more on each side.
  const auto leak = ball_slice(10, 12.0);
  for (std::int64_t s : {11, 12}) {
    const std::int64_t grow = s - 10;
    auto inside = torch::zeros({kRows, kCols}, torch::kBool);
    inside.slice(0, 12 - grow, 29 + grow).slice(1, 17 - grow, 34 + grow).fill_(true);
    const torch::Tensor mask = t.slices.at(s).logits > 0;
    EXPECT_TRUE(torch::equal(mask, leak & inside)) << "slice " << s;
    EXPECT_EQ(t.slices.at(s).area, (leak & inside).sum().item<std::int64_t>());
  }
  EXPECT_TRUE(torch::equal(t.slices.at(10).logits > 0, ball_slice(10)));  // the seed is not clipped
}

TEST(Propagation, ClipLogitsToBoxClampsAtTheImageEdge) {
  torch::Tensor logits = torch::ones({6, 8});
  samri::infer::clip_logits_to_box(logits, {5, 0, 7, 2}, 1.0f);
  const torch::Tensor kept = logits > 0;
  EXPECT_EQ(kept.sum().item<std::int64_t>(), 4 * 4);  // rows 0..3, cols 4..7
  EXPECT_TRUE(kept.slice(0, 0, 4).slice(1, 4, 8).all().item<bool>());
}

TEST(Propagation, StopsAtTheVolumeEdgeAndAtAnotherSeed) {
  FakeDecoder fake;
  fake.mask = [](std::int64_t) { return ball_slice(10); };
  const Track t =
      samri::infer::propagate(fake.fn(), 2, seed_box(), {1, 6}, {4}, PropagationSettings{}, 0.0);
  EXPECT_EQ(t.slices.size(), 3u);  // 1, 2, 3
  EXPECT_EQ(stop_going(t, -1).reason, "reached the end of the volume");
  EXPECT_EQ(stop_going(t, -1).slice, 0);
  EXPECT_EQ(stop_going(t, 1).reason, "reached seed slice 4");
  EXPECT_THROW(samri::infer::propagate(fake.fn(), 6, seed_box(), {1, 6}, {}, {}, 0.0),
               samri::Error);
}

TEST(Propagation, AnEmptySeedMaskGoesNowhere) {
  FakeDecoder fake;
  fake.mask = [](std::int64_t) { return torch::zeros({kRows, kCols}, torch::kBool); };
  const Track t = samri::infer::propagate(fake.fn(), 10, seed_box(), {0, kSlices}, {},
                                          PropagationSettings{}, 0.0);
  EXPECT_EQ(t.slices.size(), 1u);
  EXPECT_EQ(fake.calls.size(), 1u);
  EXPECT_EQ(stop_going(t, 1).reason, "the seed's mask is empty");
}

TEST(Propagation, NextPromptAddsTheMarginMaskAndInteriorPoint) {
  SliceResult previous;
  previous.logits = torch::full({kRows, kCols}, -1.0f);
  previous.logits.slice(0, 1, 6).slice(1, 47, 50).fill_(1.0f);  // rows 1..5, cols 47..49
  previous.low_res = torch::randn({1, 16, 16});
  PropagationSettings settings;
  settings.box_margin = 3;
  settings.mask_prompt = true;
  settings.point_prompt = true;
  const auto prompt = samri::infer::next_prompt(previous, settings, 0.0);
  EXPECT_EQ(*prompt.box, (std::array<float, 4>{44, 0, 49, 8}));  // clamped at the top and right
  EXPECT_TRUE(torch::equal(prompt.mask_input, previous.low_res));
  ASSERT_EQ(prompt.points.size(), 1u);
  EXPECT_EQ(prompt.points[0], (std::array<float, 2>{48, 3}));  // the middle of the 3 x 5 block
  EXPECT_EQ(prompt.point_labels, std::vector<int>{1});
}

TEST(Propagation, InteriorPointIsTheDeepestPixel) {
  // An L: a 9 x 9 square (rows 1..9, cols 1..9) with a 3-pixel-wide arm to the right. Only the
  // square's centre (5, 5) survives 4 chessboard erosions; the arm is gone after 2.
  auto mask = torch::zeros({12, 30}, torch::kBool);
  mask.slice(0, 1, 10).slice(1, 1, 10).fill_(true);
  mask.slice(0, 4, 7).slice(1, 10, 29).fill_(true);
  EXPECT_EQ(samri::infer::interior_point(mask), (std::array<float, 2>{5, 5}));
  auto pixel = torch::zeros({5, 5}, torch::kBool);
  pixel[0][3] = true;
  EXPECT_EQ(samri::infer::interior_point(pixel), (std::array<float, 2>{3, 0}));
  EXPECT_THROW(samri::infer::interior_point(torch::zeros({3, 3}, torch::kBool)), samri::Error);
  EXPECT_EQ(samri::infer::mask_box(pixel), (std::array<float, 4>{3, 0, 3, 0}));
}

TEST(Propagation, MergedTracksKeepSeedsThenTheHigherIou) {
  auto result = [](std::int64_t slice, std::int64_t seed, double iou) {
    SliceResult r;
    r.slice = slice;
    r.seed = seed;
    r.iou = iou;
    return r;
  };
  Track a, b;
  a.slices = {{4, result(4, 4, 0.5)}, {5, result(5, 4, 0.9)}, {6, result(6, 4, 0.99)}};
  b.slices = {{5, result(5, 6, 0.8)}, {6, result(6, 6, 0.6)}, {7, result(7, 6, 0.7)}};
  a.stops = {{4, 1, 6, "reached seed slice 6"}};
  b.stops = {{6, -1, 4, "reached seed slice 4"}};
  const Track m = samri::infer::merge_tracks({a, b});
  ASSERT_EQ(m.slices.size(), 4u);
  EXPECT_EQ(m.slices.at(4).seed, 4);
  EXPECT_EQ(m.slices.at(5).seed, 4);  // 0.9 beats 0.8
  EXPECT_EQ(m.slices.at(6).seed, 6);  // the seed's own slice, despite 0.6 < 0.99
  EXPECT_EQ(m.slices.at(7).seed, 6);
  EXPECT_EQ(m.stops.size(), 2u);
}

}  // namespace
