#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace samri::eval {

// The two-sided Wilcoxon signed-rank test of paired samples x and y (pairs matched by case).
// Zero differences are dropped (SciPy's zero_method="wilcox"); ranks of tied |differences| are
// averaged. The statistic is min(R+, R-). With at most 50 non-zero differences, none tied, the
// p-value comes from the exact null distribution (SciPy's mode="exact"); otherwise from the
// normal approximation with the tie correction of the variance and a continuity correction
// (SciPy's mode="approx", correction=True).
struct WilcoxonResult {
  std::int64_t pairs = 0;     // all pairs given
  std::int64_t non_zero = 0;  // pairs whose difference is not zero: the test's n
  double statistic = 0;
  double p_value = 1;
  std::string method;  // "exact", "normal", or "all equal" (every difference zero: p = 1)
};

// nullopt when there are fewer than `min_pairs` pairs: too few to test.
std::optional<WilcoxonResult> wilcoxon_signed_rank(const std::vector<double>& x,
                                                   const std::vector<double>& y,
                                                   std::int64_t min_pairs = 10);

// Holm's step-down adjustment of a family of p-values (same order; monotone; at most 1).
std::vector<double> holm_adjust(const std::vector<double>& p_values);

// The paper's significance marker of a p-value: "***" < 0.001, "**" < 0.01, "*" < 0.05, else "".
std::string significance_marker(double p_value);

}  // namespace samri::eval
