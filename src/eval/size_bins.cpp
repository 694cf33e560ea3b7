#include "samri/eval/size_bins.h"

#include <algorithm>
#include <map>
#include <sstream>

#include "samri/core/error.h"
#include "samri/eval/summary_statistics.h"

namespace samri::eval {

SizeBins SizeBins::parse(const std::string& spec) {
  SizeBins bins;
  if (spec == "tertiles") {
    bins.tertiles = true;
    bins.cuts.clear();
    return bins;
  }
  bins.cuts.clear();
  std::istringstream in(spec);
  for (std::string item; std::getline(in, item, ',');) {
    try {
      std::size_t used = 0;
      const double v = std::stod(item, &used);
      if (used != item.size() || !(v > 0 && v < 1)) throw std::invalid_argument(item);
      bins.cuts.push_back(v);
    } catch (const std::exception&) {
      throw Error("size bins '" + spec +
                  "': expected 'tertiles' or ascending area fractions "
                  "between 0 and 1, such as 0.005,0.035");
    }
  }
  if (bins.cuts.empty() || !std::is_sorted(bins.cuts.begin(), bins.cuts.end()) ||
      std::adjacent_find(bins.cuts.begin(), bins.cuts.end()) != bins.cuts.end()) {
    throw Error("size bins '" + spec + "': the cut points must be ascending and distinct");
  }
  return bins;
}

std::vector<std::string> SizeBins::names() const {
  if (cuts.size() == 2) return {"small", "medium", "large"};
  std::vector<std::string> out;
  for (std::size_t i = 0; i <= cuts.size(); ++i) out.push_back("bin" + std::to_string(i + 1));
  return out;
}

std::string SizeBins::name_of(double area_fraction) const {
  const auto at = std::upper_bound(cuts.begin(), cuts.end(), area_fraction) - cuts.begin();
  return names()[static_cast<std::size_t>(at)];
}

void assign_size_bins(std::vector<CaseRecord>& cases, SizeBins& bins) {
  if (bins.tertiles) {
    std::map<std::string, double> objects;
    for (const auto& c : cases) {
      if (c.pixels > 0) objects[c.pair_key()] = c.area_fraction;
    }
    std::vector<double> fractions;
    for (const auto& [key, f] : objects) fractions.push_back(f);
    if (fractions.empty()) fractions.push_back(0);
    bins.cuts = {quantile(fractions, 1.0 / 3.0), quantile(fractions, 2.0 / 3.0)};
  }
  for (auto& c : cases) c.size_bin = c.pixels > 0 ? bins.name_of(c.area_fraction) : "none";
}

}  // namespace samri::eval
