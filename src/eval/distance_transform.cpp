#include "samri/eval/distance_transform.h"

#include <cmath>
#include <cstdint>
#include <limits>

namespace samri::eval {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// One line: out[q] = min over p with finite f[p] of w (q - p)^2 + f[p], by the lower envelope of
// the parabolas rooted at the finite samples. v holds the envelope's parabolas, z their borders.
class LineTransform {
 public:
  explicit LineTransform(std::int64_t n) : v_(n), z_(n + 1), f_(n) {}

  void run(double* data, std::int64_t n, std::int64_t stride, double w) {
    for (std::int64_t i = 0; i < n; ++i) f_[i] = data[i * stride];
    const std::int64_t k = build_envelope(n, w);
    if (k < 0) return;  // no finite sample: the line stays +inf
    std::int64_t j = 0;
    for (std::int64_t q = 0; q < n; ++q) {
      while (z_[j + 1] < static_cast<double>(q)) ++j;
      const double dq = static_cast<double>(q - v_[j]);
      data[q * stride] = w * dq * dq + f_[v_[j]];
    }
  }

 private:
  // The index of the envelope's last parabola, or -1 when every sample is +inf.
  std::int64_t build_envelope(std::int64_t n, double w) {
    std::int64_t k = -1;
    for (std::int64_t q = 0; q < n; ++q) {
      if (f_[q] == kInf) continue;
      const double fq = f_[q] + w * static_cast<double>(q) * static_cast<double>(q);
      double s = -kInf;
      while (k >= 0) {
        const auto p = v_[k];
        const double fp = f_[p] + w * static_cast<double>(p) * static_cast<double>(p);
        s = (fq - fp) / (2 * w * static_cast<double>(q - p));
        if (s > z_[k]) break;
        --k;
        s = -kInf;
      }
      ++k;
      v_[k] = q;
      z_[k] = s;
      z_[k + 1] = kInf;
    }
    return k;
  }

  std::vector<std::int64_t> v_;
  std::vector<double> z_, f_;
};

}  // namespace

std::vector<double> squared_distance_to_nearest(const Mask& features, const Grid& grid) {
  std::vector<double> d(features.size());
  for (std::size_t i = 0; i < features.size(); ++i) d[i] = features[i] ? 0.0 : kInf;
  // Axis a: lines of length size[a] at stride = product of the later axes' sizes.
  std::int64_t stride = 1;
  for (auto a = static_cast<std::int64_t>(grid.dims()) - 1; a >= 0; --a) {
    const std::int64_t n = grid.size[a];
    const double w = grid.spacing[a] * grid.spacing[a];
    LineTransform line(n);
    const std::int64_t outer = grid.count() / (n * stride);
    for (std::int64_t o = 0; o < outer; ++o) {
      for (std::int64_t inner = 0; inner < stride; ++inner) {
        line.run(d.data() + o * n * stride + inner, n, stride, w);
      }
    }
    stride *= n;
  }
  return d;
}

}  // namespace samri::eval
