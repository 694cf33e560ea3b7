#include "samri/eval/report_tables.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <sstream>

namespace samri::eval {

namespace {

std::string fixed(double v, int digits) {
  if (std::isnan(v)) return "-";
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", digits, v);
  return buffer;
}

std::string mean_sd(const MetricStats& s, int digits) {
  if (s.n == 0) return "-";
  return fixed(s.mean, digits) + " ± " + fixed(s.sd, digits);
}

std::string median_iqr(const MetricStats& s, int digits) {
  if (s.n == 0) return "-";
  return fixed(s.median, digits) + " [" + fixed(s.q1, digits) + ", " + fixed(s.q3, digits) + "]";
}

// Groups of one kind in their stable order, and a lookup of (group, method).
struct Index {
  std::vector<std::string> groups;
  std::map<std::pair<std::string, std::string>, const GroupSummary*> cell;
};

// Size bins from small to large (small, medium, large or bin1, bin2, ...), other groups as given.
int size_rank(const std::string& bin) {
  if (bin == "small") return 0;
  if (bin == "medium") return 1;
  if (bin == "large") return 2;
  if (bin.rfind("bin", 0) == 0) return 3 + std::atoi(bin.c_str() + 3);
  return 1 << 20;
}

Index index_of(const std::vector<GroupSummary>& all, const std::string& by) {
  Index ix;
  for (const auto& g : all) {
    if (g.by != by) continue;
    if (ix.groups.empty() || ix.groups.back() != g.group) ix.groups.push_back(g.group);
    ix.cell[{g.group, g.method}] = &g;
  }
  if (by == "size_bin") {
    std::stable_sort(ix.groups.begin(), ix.groups.end(),
                     [](const auto& a, const auto& b) { return size_rank(a) < size_rank(b); });
  }
  return ix;
}

std::string empty_note(const std::vector<GroupSummary>& all) {
  std::ostringstream s;
  s << "Empty masks (counted, never dropped):";
  for (const auto& g : all) {
    if (g.by != "all") continue;
    s << ' ' << g.method << ": " << g.empty_prediction << " empty predictions of "
      << g.cases - g.empty_reference << " cases";
    if (g.empty_reference > 0) s << ", " << g.empty_reference << " with no reference object";
    s << ';';
  }
  s << " distances of empty-mask cases are not in the HD/MSD statistics.";
  return s.str();
}

Table targets_table(const std::vector<GroupSummary>& all, const std::vector<std::string>& methods) {
  Table t{"table1_targets", "Dice (mean ± SD) per target; best in bold", {"Target"}, {}, {}, ""};
  for (const auto& m : methods) t.header.push_back(m);
  const Index ix = index_of(all, "target");
  for (const auto& group : ix.groups) {
    std::vector<std::string> row{group};
    std::vector<bool> bold{false};
    double best = -1;
    for (const auto& m : methods) {
      const auto it = ix.cell.find({group, m});
      if (it != ix.cell.end()) best = std::max(best, it->second->metrics.at("dice").mean);
    }
    for (const auto& m : methods) {
      const auto it = ix.cell.find({group, m});
      const bool have = it != ix.cell.end();
      row.push_back(have ? mean_sd(it->second->metrics.at("dice"), 3) : "-");
      bold.push_back(have && it->second->metrics.at("dice").mean == best);
    }
    t.rows.push_back(row);
    t.bold.push_back(bold);
  }
  const auto counts = best_counts(all);
  std::vector<std::string> row{"Targets best"};
  for (const auto& m : methods) row.push_back(std::to_string(counts.count(m) ? counts.at(m) : 0));
  t.rows.push_back(row);
  t.bold.emplace_back(row.size(), false);
  return t;
}

const MethodComparison* find_comparison(const std::vector<MethodComparison>& all,
                                        const std::string& by, const std::string& group,
                                        const std::string& method, const std::string& baseline) {
  for (const auto& c : all) {
    if (c.by == by && c.group == group && c.method == method && c.baseline == baseline) return &c;
  }
  return nullptr;
}

Table gain_table(const std::vector<GroupSummary>& all,
                 const std::vector<MethodComparison>& comparisons,
                 const std::vector<std::string>& methods, const std::string& baseline) {
  Table t{"table2_gain",
          "Mean Dice per dataset, and the gain over " + baseline +
              " (Wilcoxon signed-rank: * p < 0.05, ** p < 0.01, *** p < 0.001)",
          {"Dataset"},
          {},
          {},
          ""};
  for (const auto& m : methods) t.header.push_back(m);
  for (const auto& m : methods) {
    if (m != baseline) t.header.push_back("Δ " + m);
  }
  for (const std::string by : {"dataset", "all"}) {
    const Index ix = index_of(all, by);
    for (const auto& group : ix.groups) {
      std::vector<std::string> row{by == "all" ? "All" : group};
      for (const auto& m : methods) {
        const auto it = ix.cell.find({group, m});
        row.push_back(it == ix.cell.end() ? "-" : fixed(it->second->metrics.at("dice").mean, 3));
      }
      for (const auto& m : methods) {
        if (m == baseline) continue;
        const auto* c = find_comparison(comparisons, by, group, m, baseline);
        row.push_back(c ? (c->mean_difference >= 0 ? "+" : "") + fixed(c->mean_difference, 3) +
                              c->marker
                        : "-");
      }
      t.rows.push_back(row);
      t.bold.emplace_back(row.size(), false);
    }
  }
  t.note = "Pairs are matched by case; tests need at least 10 pairs.";
  return t;
}

Table metric_table(const std::vector<GroupSummary>& all, const std::vector<std::string>& methods,
                   const std::string& name, const std::string& title, const std::string& by,
                   const std::vector<std::string>& metrics, bool medians) {
  Table t{name, title, {by == "size_bin" ? "Size bin" : "Dataset", "Metric"}, {}, {}, ""};
  for (const auto& m : methods) t.header.push_back(m);
  const Index ix = index_of(all, by);
  for (const auto& group : ix.groups) {
    if (group == "none") continue;
    for (const auto& metric : metrics) {
      std::vector<std::string> row{group, metric == "dice" ? "Dice"
                                          : metric == "hd" ? "HD"
                                                           : "MSD"};
      for (const auto& m : methods) {
        const auto it = ix.cell.find({group, m});
        if (it == ix.cell.end()) {
          row.push_back("-");
          continue;
        }
        const MetricStats& s = it->second->metrics.at(metric);
        const int digits = metric == "dice" ? 3 : 2;
        row.push_back((medians ? median_iqr(s, digits) : mean_sd(s, digits)) +
                      " (n=" + std::to_string(s.n) + ")");
      }
      t.rows.push_back(row);
      t.bold.emplace_back(row.size(), false);
    }
  }
  return t;
}

std::string latex_escape(const std::string& text) {
  std::string out;
  for (const char c : text) {
    if (std::string("&%$#_{}").find(c) != std::string::npos) out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

std::vector<Table> paper_tables(const std::vector<GroupSummary>& groups,
                                const std::vector<MethodComparison>& comparisons,
                                const std::vector<std::string>& methods,
                                const std::string& baseline) {
  std::vector<Table> tables{
      targets_table(groups, methods),
      gain_table(groups, comparisons, methods, baseline.empty() ? methods.front() : baseline),
      metric_table(groups, methods, "tableS4_size_bins",
                   "Dice, HD and MSD by object size (median [Q1, Q3])", "size_bin",
                   {"dice", "hd", "msd"}, true),
      metric_table(groups, methods, "tableS5_datasets", "HD and MSD per dataset (mean ± SD)",
                   "dataset", {"hd", "msd"}, false)};
  const std::string note = empty_note(groups);
  for (auto& t : tables) t.note = t.note.empty() ? note : t.note + " " + note;
  return tables;
}

std::string to_markdown(const Table& t) {
  std::ostringstream s;
  s << "**" << t.title << "**\n\n|";
  for (const auto& h : t.header) s << ' ' << h << " |";
  s << "\n|";
  for (std::size_t i = 0; i < t.header.size(); ++i) s << (i == 0 ? "---|" : "---:|");
  s << '\n';
  for (std::size_t r = 0; r < t.rows.size(); ++r) {
    s << '|';
    for (std::size_t c = 0; c < t.rows[r].size(); ++c) {
      const bool bold = r < t.bold.size() && c < t.bold[r].size() && t.bold[r][c];
      s << ' ' << (bold ? "**" + t.rows[r][c] + "**" : t.rows[r][c]) << " |";
    }
    s << '\n';
  }
  if (!t.note.empty()) s << '\n' << t.note << '\n';
  return s.str();
}

std::string to_latex(const Table& t) {
  std::ostringstream s;
  s << "\\begin{table}\n\\centering\n\\caption{" << latex_escape(t.title) << "}\n"
    << "\\begin{tabular}{l" << std::string(t.header.size() - 1, 'r') << "}\n\\hline\n";
  for (std::size_t i = 0; i < t.header.size(); ++i) {
    s << (i ? " & " : "") << latex_escape(t.header[i]);
  }
  s << " \\\\\n\\hline\n";
  for (std::size_t r = 0; r < t.rows.size(); ++r) {
    for (std::size_t c = 0; c < t.rows[r].size(); ++c) {
      const bool bold = r < t.bold.size() && c < t.bold[r].size() && t.bold[r][c];
      std::string cell = latex_escape(t.rows[r][c]);
      for (std::size_t p; (p = cell.find("±")) != std::string::npos;) {
        cell.replace(p, std::string("±").size(), "$\\pm$");
      }
      for (std::size_t p; (p = cell.find("Δ")) != std::string::npos;) {
        cell.replace(p, std::string("Δ").size(), "$\\Delta$");
      }
      s << (c ? " & " : "") << (bold ? "\\textbf{" + cell + "}" : cell);
    }
    s << " \\\\\n";
  }
  s << "\\hline\n\\end{tabular}\n";
  if (!t.note.empty()) s << "\\par\\footnotesize " << latex_escape(t.note) << "\n";
  s << "\\end{table}\n";
  return s.str();
}

}  // namespace samri::eval
