#include "samri/eval/summary_statistics.h"

#include <algorithm>
#include <cmath>

namespace samri::eval {

double quantile(std::vector<double> v, double q) {
  if (v.empty()) return std::numeric_limits<double>::quiet_NaN();
  std::sort(v.begin(), v.end());
  const double pos = q * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  if (lo + 1 >= v.size()) return v.back();
  return v[lo] + (pos - static_cast<double>(lo)) * (v[lo + 1] - v[lo]);
}

MetricStats describe(const std::vector<double>& values) {
  MetricStats s;
  std::vector<double> v;
  for (const double x : values) {
    if (std::isnan(x)) {
      ++s.missing;
    } else {
      v.push_back(x);
    }
  }
  s.n = static_cast<std::int64_t>(v.size());
  if (v.empty()) return s;
  double sum = 0;
  for (const double x : v) sum += x;
  s.mean = sum / static_cast<double>(v.size());
  if (v.size() > 1) {
    double ss = 0;
    for (const double x : v) ss += (x - s.mean) * (x - s.mean);
    s.sd = std::sqrt(ss / static_cast<double>(v.size() - 1));
  }
  s.median = quantile(v, 0.5);
  s.q1 = quantile(v, 0.25);
  s.q3 = quantile(v, 0.75);
  return s;
}

}  // namespace samri::eval
