#pragma once

#include <cstdint>
#include <limits>
#include <vector>

namespace samri::eval {

// Mean, sample standard deviation (n - 1), median and quartiles of a metric; values that are not
// numbers (distances of cases with an empty mask) are left out and `missing` counts them.
struct MetricStats {
  std::int64_t n = 0;
  std::int64_t missing = 0;
  double mean = std::numeric_limits<double>::quiet_NaN();
  double sd = std::numeric_limits<double>::quiet_NaN();
  double median = std::numeric_limits<double>::quiet_NaN();
  double q1 = std::numeric_limits<double>::quiet_NaN();
  double q3 = std::numeric_limits<double>::quiet_NaN();
};

MetricStats describe(const std::vector<double>& values);

// The q-quantile (0..1) with linear interpolation (numpy's default); NaN for no values.
double quantile(std::vector<double> values, double q);

}  // namespace samri::eval
