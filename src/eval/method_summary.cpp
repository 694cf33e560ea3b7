#include "samri/eval/method_summary.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <set>
#include <utility>

#include "samri/core/error.h"

namespace samri::eval {

namespace {

const std::vector<std::string> kGroupings{"all", "dataset", "target", "size_bin"};

std::string group_of(const CaseRecord& c, const std::string& by) {
  if (by == "all") return "all";
  if (by == "dataset") return c.dataset;
  if (by == "target") return target_of(c);
  return c.size_bin;
}

std::vector<double> metric_values(const std::vector<const CaseRecord*>& cases,
                                  const std::string& metric) {
  std::vector<double> v;
  for (const auto* c : cases) {
    const MaskScores& s = c->scores;
    v.push_back(metric == "dice"   ? s.dice
                : metric == "hd"   ? s.hd
                : metric == "msd"  ? s.msd
                : metric == "hd95" ? s.hd95
                                   : s.nsd);
  }
  return v;
}

GroupSummary summarise_group(const std::string& method, const std::string& by,
                             const std::string& group, const std::vector<const CaseRecord*>& all,
                             const CaseColumns& columns) {
  GroupSummary g;
  g.method = method;
  g.by = by;
  g.group = group;
  std::vector<const CaseRecord*> scored;
  for (const auto* c : all) {
    ++g.cases;
    if (c->scores.empty == EmptyMasks::prediction) ++g.empty_prediction;
    if (c->pixels == 0) {
      ++g.empty_reference;
    } else {
      scored.push_back(c);
    }
  }
  std::vector<std::string> metrics{"dice", "hd", "msd"};
  if (columns.hd95) metrics.push_back("hd95");
  if (columns.nsd) metrics.push_back("nsd");
  for (const auto& m : metrics) g.metrics[m] = describe(metric_values(scored, m));
  return g;
}

// Cases by (by, group, method), in a stable order.
using Key = std::pair<std::size_t, std::string>;
std::map<Key, std::map<std::string, std::vector<const CaseRecord*>>> grouped(
    const std::vector<CaseRecord>& cases, bool with_prompt) {
  std::map<Key, std::map<std::string, std::vector<const CaseRecord*>>> out;
  for (std::size_t b = 0; b < kGroupings.size(); ++b) {
    for (const auto& c : cases) {
      out[{b, group_of(c, kGroupings[b])}][c.method(with_prompt)].push_back(&c);
    }
  }
  return out;
}

MethodComparison compare(const std::string& by, const std::string& group, const std::string& method,
                         const std::string& baseline, const std::vector<const CaseRecord*>& a,
                         const std::vector<const CaseRecord*>& b) {
  std::map<std::string, double> base;
  for (const auto* c : b) {
    if (c->pixels > 0) base[c->pair_key()] = c->scores.dice;
  }
  std::vector<double> x, y;
  for (const auto* c : a) {
    const auto it = base.find(c->pair_key());
    if (c->pixels == 0 || it == base.end()) continue;
    x.push_back(c->scores.dice);
    y.push_back(it->second);
  }
  MethodComparison m;
  m.by = by;
  m.group = group;
  m.method = method;
  m.baseline = baseline;
  m.pairs = static_cast<std::int64_t>(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) m.mean_difference += x[i] - y[i];
  if (!x.empty()) m.mean_difference /= static_cast<double>(x.size());
  m.test = wilcoxon_signed_rank(x, y);
  m.p_adjusted = m.test ? m.test->p_value : std::numeric_limits<double>::quiet_NaN();
  return m;
}

void adjust_within_families(std::vector<MethodComparison>& out, bool holm) {
  if (holm) {
    for (const auto& by : kGroupings) {
      std::vector<std::size_t> family;
      std::vector<double> p;
      for (std::size_t i = 0; i < out.size(); ++i) {
        if (out[i].by == by && out[i].test) {
          family.push_back(i);
          p.push_back(out[i].test->p_value);
        }
      }
      const std::vector<double> adjusted = holm_adjust(p);
      for (std::size_t k = 0; k < family.size(); ++k) out[family[k]].p_adjusted = adjusted[k];
    }
  }
  for (auto& m : out) m.marker = significance_marker(m.p_adjusted);
}

}  // namespace

std::string target_of(const CaseRecord& c) {
  return c.dataset + " / " + (c.label_name.empty() ? std::to_string(c.label) : c.label_name);
}

std::vector<std::string> methods_of(const std::vector<CaseRecord>& cases) {
  const bool with_prompt = mixes_prompts(cases);
  std::vector<std::string> out;
  for (const auto& c : cases) {
    const std::string m = c.method(with_prompt);
    if (std::find(out.begin(), out.end(), m) == out.end()) out.push_back(m);
  }
  return out;
}

std::vector<GroupSummary> summarise(const std::vector<CaseRecord>& cases,
                                    const CaseColumns& columns) {
  std::vector<GroupSummary> out;
  for (const auto& [key, by_method] : grouped(cases, mixes_prompts(cases))) {
    for (const auto& method : methods_of(cases)) {
      const auto it = by_method.find(method);
      if (it == by_method.end()) continue;
      out.push_back(
          summarise_group(method, kGroupings[key.first], key.second, it->second, columns));
    }
  }
  return out;
}

std::vector<MethodComparison> compare_methods(const std::vector<CaseRecord>& cases,
                                              const std::string& baseline, bool holm) {
  const std::vector<std::string> methods = methods_of(cases);
  if (!baseline.empty() && std::find(methods.begin(), methods.end(), baseline) == methods.end()) {
    throw Error("--baseline '" + baseline + "' is not one of the methods compared");
  }
  std::vector<MethodComparison> out;
  for (const auto& [key, by_method] : grouped(cases, mixes_prompts(cases))) {
    if (key.first == 3) continue;  // size bins are described, not tested
    for (std::size_t i = 0; i < methods.size(); ++i) {
      for (std::size_t j = 0; j < methods.size(); ++j) {
        const bool wanted = baseline.empty() ? j < i : methods[j] == baseline && i != j;
        const auto a = by_method.find(methods[i]), b = by_method.find(methods[j]);
        if (!wanted || a == by_method.end() || b == by_method.end()) continue;
        out.push_back(compare(kGroupings[key.first], key.second, methods[i], methods[j], a->second,
                              b->second));
      }
    }
  }
  adjust_within_families(out, holm);
  return out;
}

std::map<std::string, std::int64_t> best_counts(const std::vector<GroupSummary>& groups) {
  std::map<std::string, std::int64_t> counts;
  std::map<std::string, double> best;
  for (const auto& g : groups) {
    counts.emplace(g.method, 0);
    if (g.by != "target") continue;
    const double d = g.metrics.at("dice").mean;
    if (!std::isnan(d)) best[g.group] = std::max(best.count(g.group) ? best[g.group] : d, d);
  }
  for (const auto& g : groups) {
    if (g.by == "target" && best.count(g.group) && g.metrics.at("dice").mean == best[g.group]) {
      ++counts[g.method];
    }
  }
  return counts;
}

}  // namespace samri::eval
