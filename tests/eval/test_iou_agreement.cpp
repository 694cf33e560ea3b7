#include <gtest/gtest.h>

#include <cmath>

#include "samri/eval/iou_agreement.h"

namespace {

using samri::eval::spearman;

// Expected values from SciPy's spearmanr (scipy.stats, Debian's python3-scipy).
TEST(IouAgreement, SpearmanMatchesSciPyWithAndWithoutTies) {
  EXPECT_NEAR(spearman({1, 2, 3, 4, 5}, {5, 6, 7, 8, 7}), 0.8207826816681233, 1e-12);
  EXPECT_NEAR(spearman({0.9, 0.8, 0.8, 0.3, 0.5, 0.7}, {0.95, 0.6, 0.7, 0.1, 0.2, 0.2}),
              0.9705882352941178, 1e-12);
  EXPECT_DOUBLE_EQ(spearman({3, 1, 2}, {1, 2, 3}), -0.5);
  EXPECT_DOUBLE_EQ(spearman({1, 2, 3, 4}, {10, 20, 30, 40}), 1.0);
  EXPECT_TRUE(std::isnan(spearman({1, 2}, {2, 1})));
  EXPECT_TRUE(std::isnan(spearman({1, 1, 1}, {1, 2, 3})));
}

samri::eval::CaseRecord make_case(const std::string& dataset, double iou, double dice,
                                  std::int64_t pixels = 50) {
  samri::eval::CaseRecord c;
  c.dataset = dataset;
  c.model = "samri";
  c.prompt = "box";
  c.predicted_iou = iou;
  c.scores.dice = dice;
  c.pixels = pixels;
  return c;
}

TEST(IouAgreement, PerMethodAndDatasetOverCasesWithAReference) {
  const std::vector<samri::eval::CaseRecord> cases{
      make_case("a", 0.9, 0.8),     make_case("a", 0.5, 0.3), make_case("a", 0.7, 0.6),
      make_case("a", 0.99, 0.0, 0), make_case("b", 0.9, 0.1), make_case("b", 0.5, 0.3),
      make_case("b", 0.7, 0.2),     make_case("b", NAN, 0.9)};
  const auto agreement = samri::eval::iou_dice_agreement(cases);
  ASSERT_EQ(agreement.size(), 2u);
  EXPECT_EQ(agreement[0].dataset, "a");
  EXPECT_EQ(agreement[0].method, "samri");
  EXPECT_EQ(agreement[0].cases, 3);  // the empty reference is left out
  EXPECT_DOUBLE_EQ(agreement[0].spearman, 1.0);
  EXPECT_EQ(agreement[1].cases, 3);  // the case without a predicted IoU is left out
  EXPECT_DOUBLE_EQ(agreement[1].spearman, -1.0);
}

}  // namespace
