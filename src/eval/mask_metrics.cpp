#include "samri/eval/mask_metrics.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "samri/core/error.h"
#include "samri/eval/distance_transform.h"
#include "samri/eval/mask_surface.h"
#include "samri/eval/summary_statistics.h"

namespace samri::eval {

namespace {

// The smallest box holding every set element of either mask; both masks are cut to it. Outside
// the box both masks are background, so surfaces and distances in the box equal the full grid's.
struct Crop {
  Grid grid;
  Mask prediction, reference;
};

Crop crop_to_union(const Mask& a, const Mask& b, const Grid& grid) {
  const auto dims = grid.dims();
  std::vector<std::int64_t> lo(grid.size), hi(dims, -1), stride(dims, 1);
  for (auto i = static_cast<std::int64_t>(dims) - 2; i >= 0; --i) {
    stride[i] = stride[i + 1] * grid.size[i + 1];
  }
  for (std::int64_t i = 0; i < grid.count(); ++i) {
    if (!a[i] && !b[i]) continue;
    for (std::size_t d = 0; d < dims; ++d) {
      const std::int64_t c = (i / stride[d]) % grid.size[d];
      lo[d] = std::min(lo[d], c);
      hi[d] = std::max(hi[d], c);
    }
  }
  Crop crop;
  crop.grid.spacing = grid.spacing;
  for (std::size_t d = 0; d < dims; ++d) crop.grid.size.push_back(hi[d] - lo[d] + 1);
  const std::int64_t n = crop.grid.count();
  crop.prediction.resize(n);
  crop.reference.resize(n);
  for (std::int64_t j = 0; j < n; ++j) {
    std::int64_t rest = j, source = 0;
    for (auto d = static_cast<std::int64_t>(dims) - 1; d >= 0; --d) {
      source += (rest % crop.grid.size[d] + lo[d]) * stride[d];
      rest /= crop.grid.size[d];
    }
    crop.prediction[j] = a[source] ? 1 : 0;
    crop.reference[j] = b[source] ? 1 : 0;
  }
  return crop;
}

// The distance of each element of surface `from` to the nearest element of surface `to`.
std::vector<double> directed_distances(const Mask& from, const Mask& to, const Grid& grid) {
  const std::vector<double> d2 = squared_distance_to_nearest(to, grid);
  std::vector<double> out;
  for (std::size_t i = 0; i < from.size(); ++i) {
    if (from[i]) out.push_back(std::sqrt(d2[i]));
  }
  return out;
}

void score_surfaces(const Crop& c, const MetricOptions& options, MaskScores& s) {
  const Mask sp = mask_surface(c.prediction, c.grid), sr = mask_surface(c.reference, c.grid);
  const std::vector<double> pr = directed_distances(sp, sr, c.grid);
  const std::vector<double> rp = directed_distances(sr, sp, c.grid);
  const double sum =
      std::accumulate(pr.begin(), pr.end(), 0.0) + std::accumulate(rp.begin(), rp.end(), 0.0);
  s.msd = sum / static_cast<double>(pr.size() + rp.size());
  s.hd = std::max(*std::max_element(pr.begin(), pr.end()), *std::max_element(rp.begin(), rp.end()));
  s.hd95 = std::max(quantile(pr, 0.95), quantile(rp, 0.95));
  if (!std::isnan(options.nsd_tolerance)) {
    auto within = [&](const std::vector<double>& v) {
      return std::count_if(v.begin(), v.end(),
                           [&](double d) { return d <= options.nsd_tolerance; });
    };
    s.nsd =
        static_cast<double>(within(pr) + within(rp)) / static_cast<double>(pr.size() + rp.size());
  }
}

}  // namespace

std::string to_string(EmptyMasks e) {
  switch (e) {
    case EmptyMasks::none:
      return "";
    case EmptyMasks::prediction:
      return "prediction";
    case EmptyMasks::reference:
      return "reference";
    case EmptyMasks::both:
      return "both";
  }
  return "";
}

double grid_diagonal(const Grid& grid) {
  double sum = 0;
  for (std::size_t d = 0; d < grid.dims(); ++d) {
    const double extent = static_cast<double>(grid.size[d]) * grid.spacing[d];
    sum += extent * extent;
  }
  return std::sqrt(sum);
}

MaskScores score_masks(const Mask& prediction, const Mask& reference, const Grid& grid,
                       const MetricOptions& options) {
  const auto n = static_cast<std::size_t>(grid.count());
  if (prediction.size() != n || reference.size() != n || grid.spacing.size() != grid.dims()) {
    throw Error("score_masks: the masks do not fit the grid");
  }
  MaskScores s;
  std::int64_t both = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const bool p = prediction[i] != 0, r = reference[i] != 0;
    s.prediction_pixels += p;
    s.reference_pixels += r;
    both += p && r;
  }
  const bool no_p = s.prediction_pixels == 0, no_r = s.reference_pixels == 0;
  if (no_p || no_r) {
    s.empty = no_p && no_r ? EmptyMasks::both
              : no_p       ? EmptyMasks::prediction
                           : EmptyMasks::reference;
    const bool right = s.empty == EmptyMasks::both;
    s.dice = right ? 1 : 0;
    s.hd = s.msd = s.hd95 = right ? 0 : options.empty_distance;
    if (!std::isnan(options.nsd_tolerance)) s.nsd = right ? 1 : 0;
    return s;
  }
  s.dice = 2.0 * static_cast<double>(both) /
           static_cast<double>(s.prediction_pixels + s.reference_pixels);
  score_surfaces(crop_to_union(prediction, reference, grid), options, s);
  return s;
}

}  // namespace samri::eval
