#include "samri/eval/wilcoxon.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "samri/core/error.h"

namespace samri::eval {

namespace {

constexpr std::size_t kMaxExact = 50;

// Average ranks (1-based) of v; `tied` gets the size of every group of equal values.
std::vector<double> average_ranks(const std::vector<double>& v, std::vector<double>& tied) {
  std::vector<std::size_t> order(v.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return v[a] < v[b]; });
  std::vector<double> ranks(v.size());
  for (std::size_t i = 0; i < order.size();) {
    std::size_t j = i;
    while (j + 1 < order.size() && v[order[j + 1]] == v[order[i]]) ++j;
    const double rank = (static_cast<double>(i + j) + 2.0) / 2.0;
    for (std::size_t k = i; k <= j; ++k) ranks[order[k]] = rank;
    if (j > i) tied.push_back(static_cast<double>(j - i + 1));
    i = j + 1;
  }
  return ranks;
}

// P(R+ = r) for r = 0 .. n(n+1)/2 under the null: each rank's sign a fair coin.
std::vector<double> exact_null_distribution(std::size_t n) {
  std::vector<double> pmf{1.0};
  for (std::size_t k = 1; k <= n; ++k) {
    std::vector<double> next(pmf.size() + k, 0.0);
    for (std::size_t r = 0; r < pmf.size(); ++r) {
      next[r] += 0.5 * pmf[r];
      next[r + k] += 0.5 * pmf[r];
    }
    pmf = std::move(next);
  }
  return pmf;
}

double exact_p_value(std::size_t n, double r_plus) {
  const std::vector<double> pmf = exact_null_distribution(n);
  const auto r = static_cast<std::size_t>(r_plus);
  if (r == (pmf.size() - 1) / 2) return 1.0;  // the centre, as SciPy
  const double less = std::accumulate(pmf.begin(), pmf.begin() + static_cast<long>(r) + 1, 0.0);
  const double greater = std::accumulate(pmf.begin() + static_cast<long>(r), pmf.end(), 0.0);
  return std::clamp(2 * std::min(less, greater), 0.0, 1.0);
}

double normal_p_value(double n, double t, const std::vector<double>& tied) {
  const double mean = n * (n + 1) / 4;
  double var = n * (n + 1) * (2 * n + 1);
  for (const double g : tied) var -= 0.5 * g * (g * g - 1);
  const double se = std::sqrt(var / 24);
  const double correction = t > mean ? 0.5 : t < mean ? -0.5 : 0.0;
  const double z = (t - mean - correction) / se;
  return std::erfc(std::abs(z) / std::sqrt(2.0));
}

}  // namespace

std::optional<WilcoxonResult> wilcoxon_signed_rank(const std::vector<double>& x,
                                                   const std::vector<double>& y,
                                                   std::int64_t min_pairs) {
  if (x.size() != y.size()) throw Error("wilcoxon: the paired samples differ in length");
  WilcoxonResult w;
  w.pairs = static_cast<std::int64_t>(x.size());
  if (w.pairs < min_pairs) return std::nullopt;
  std::vector<double> d, magnitude;
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (x[i] - y[i] != 0) d.push_back(x[i] - y[i]);
  }
  w.non_zero = static_cast<std::int64_t>(d.size());
  if (d.empty()) {
    w.method = "all equal";
    return w;
  }
  for (const double v : d) magnitude.push_back(std::abs(v));
  std::vector<double> tied;
  const std::vector<double> ranks = average_ranks(magnitude, tied);
  double r_plus = 0, r_minus = 0;
  for (std::size_t i = 0; i < d.size(); ++i) (d[i] > 0 ? r_plus : r_minus) += ranks[i];
  w.statistic = std::min(r_plus, r_minus);
  // Zero differences make SciPy leave the exact mode too.
  const bool exact = d.size() <= kMaxExact && tied.empty() && d.size() == x.size();
  w.method = exact ? "exact" : "normal";
  w.p_value = exact ? exact_p_value(d.size(), r_plus)
                    : normal_p_value(static_cast<double>(d.size()), w.statistic, tied);
  return w;
}

std::vector<double> holm_adjust(const std::vector<double>& p) {
  std::vector<std::size_t> order(p.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return p[a] < p[b]; });
  std::vector<double> out(p.size());
  double running = 0;
  for (std::size_t k = 0; k < order.size(); ++k) {
    const double adjusted = std::min(1.0, static_cast<double>(p.size() - k) * p[order[k]]);
    running = std::max(running, adjusted);
    out[order[k]] = running;
  }
  return out;
}

std::string significance_marker(double p) {
  if (!(p < 0.05)) return "";
  return p < 0.001 ? "***" : p < 0.01 ? "**" : "*";
}

}  // namespace samri::eval
