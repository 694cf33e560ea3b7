#include "samri/eval/wilcoxon.h"

#include <cmath>
#include <random>
#include <sstream>

#include <gtest/gtest.h>

#include "eval/scipy_reference.h"

namespace samri::eval {
namespace {

TEST(Wilcoxon, AllTenDifferencesPositiveGiveTheExactTail) {
  std::vector<double> x, y;
  for (int i = 1; i <= 10; ++i) {
    x.push_back(0.5 + 0.01 * i);
    y.push_back(0.5);
  }
  const auto w = wilcoxon_signed_rank(x, y);
  ASSERT_TRUE(w);
  EXPECT_EQ(w->method, "exact");
  EXPECT_EQ(w->statistic, 0);
  // Only the all-positive sign pattern gives R- = 0: P = 2 / 2^10.
  EXPECT_DOUBLE_EQ(w->p_value, 2.0 / 1024.0);
}

TEST(Wilcoxon, TooFewPairsOrNoDifferences) {
  EXPECT_FALSE(wilcoxon_signed_rank({1, 2, 3}, {1, 2, 4}));
  const std::vector<double> same(12, 0.7);
  const auto w = wilcoxon_signed_rank(same, same);
  ASSERT_TRUE(w);
  EXPECT_EQ(w->method, "all equal");
  EXPECT_EQ(w->p_value, 1);
}

TEST(Wilcoxon, HolmAdjustsInStepDownOrderAndStaysMonotone) {
  const std::vector<double> adjusted = holm_adjust({0.01, 0.04, 0.03, 0.5});
  EXPECT_DOUBLE_EQ(adjusted[0], 0.04);
  EXPECT_DOUBLE_EQ(adjusted[2], 0.09);
  EXPECT_DOUBLE_EQ(adjusted[1], 0.09);  // 2 x 0.04 = 0.08, raised to the previous 0.09
  EXPECT_DOUBLE_EQ(adjusted[3], 0.5);
  EXPECT_EQ(significance_marker(0.0009), "***");
  EXPECT_EQ(significance_marker(0.009), "**");
  EXPECT_EQ(significance_marker(0.049), "*");
  EXPECT_EQ(significance_marker(0.05), "");
  EXPECT_EQ(significance_marker(std::nan("")), "");
}

TEST(Wilcoxon, AgreesWithScipy) {
  std::mt19937 rng(3);
  std::normal_distribution<double> noise(0, 0.1);
  struct Case {
    std::vector<double> x, y;
    std::string mode;
  };
  std::vector<Case> cases;
  for (const int n : {10, 14, 23, 50}) {  // distinct differences, no zeros: exact
    Case c{{}, {}, "exact"};
    for (int i = 0; i < n; ++i) {
      c.y.push_back(0.6 + noise(rng));
      c.x.push_back(c.y.back() + 0.03 + noise(rng));
    }
    cases.push_back(c);
  }
  for (const int n : {12, 40, 51, 300}) {  // rounded: ties and zeros, normal approximation
    Case c{{}, {}, "approx"};
    for (int i = 0; i < n; ++i) {
      c.y.push_back(std::round((0.6 + noise(rng)) * 20) / 20);
      c.x.push_back(std::round((c.y.back() + 0.02 + noise(rng)) * 20) / 20);
    }
    cases.push_back(c);
  }
  std::ostringstream text;
  text.precision(17);
  for (const Case& c : cases) {
    text << "wilcoxon " << c.mode << ' ' << c.x.size() << '\n';
    for (double v : c.x) text << v << ' ';
    text << '\n';
    for (double v : c.y) text << v << ' ';
    text << '\n';
  }
  const auto reference = test::scipy_reference(text.str());
  if (!reference) GTEST_SKIP() << "/usr/bin/python3 with SciPy is not installed";
  ASSERT_EQ(reference->size(), cases.size());
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const auto w = wilcoxon_signed_rank(cases[i].x, cases[i].y);
    ASSERT_TRUE(w);
    EXPECT_EQ(w->method, cases[i].mode == "exact" ? "exact" : "normal") << "case " << i;
    EXPECT_DOUBLE_EQ(w->statistic, (*reference)[i][0]) << "case " << i;
    EXPECT_NEAR(w->p_value, (*reference)[i][1], 1e-6) << "case " << i;
    EXPECT_NEAR(w->p_value / (*reference)[i][1], 1.0, 1e-6) << "case " << i;
  }
}

}  // namespace
}  // namespace samri::eval
