#include "samri/eval/iou_agreement.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <utility>

namespace samri::eval {
namespace {

std::vector<double> average_ranks(const std::vector<double>& v) {
  std::vector<std::size_t> order(v.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return v[a] < v[b]; });
  std::vector<double> ranks(v.size());
  for (std::size_t i = 0; i < order.size();) {
    std::size_t j = i;
    while (j + 1 < order.size() && v[order[j + 1]] == v[order[i]]) ++j;
    const double rank = (static_cast<double>(i) + static_cast<double>(j)) / 2.0 + 1.0;
    for (std::size_t k = i; k <= j; ++k) ranks[order[k]] = rank;
    i = j + 1;
  }
  return ranks;
}

double pearson(const std::vector<double>& x, const std::vector<double>& y) {
  const double n = static_cast<double>(x.size());
  const double mx = std::accumulate(x.begin(), x.end(), 0.0) / n;
  const double my = std::accumulate(y.begin(), y.end(), 0.0) / n;
  double sxy = 0, sxx = 0, syy = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
    syy += (y[i] - my) * (y[i] - my);
  }
  if (sxx == 0 || syy == 0) return std::numeric_limits<double>::quiet_NaN();
  return sxy / std::sqrt(sxx * syy);
}

}  // namespace

double spearman(const std::vector<double>& x, const std::vector<double>& y) {
  if (x.size() != y.size() || x.size() < 3) return std::numeric_limits<double>::quiet_NaN();
  return pearson(average_ranks(x), average_ranks(y));
}

std::vector<IouAgreement> iou_dice_agreement(const std::vector<CaseRecord>& cases) {
  const bool with_prompt = mixes_prompts(cases);
  std::map<std::pair<std::string, std::string>, std::pair<std::vector<double>, std::vector<double>>>
      groups;
  for (const auto& c : cases) {
    if (std::isnan(c.predicted_iou) || c.pixels == 0 || std::isnan(c.scores.dice)) continue;
    auto& [iou, dice] = groups[{c.method(with_prompt), c.dataset}];
    iou.push_back(c.predicted_iou);
    dice.push_back(c.scores.dice);
  }
  std::vector<IouAgreement> out;
  for (const auto& [key, values] : groups) {
    out.push_back({key.first, key.second, static_cast<std::int64_t>(values.first.size()),
                   spearman(values.first, values.second)});
  }
  return out;
}

}  // namespace samri::eval
