#pragma once

#include <map>
#include <string>
#include <vector>

#include "samri/eval/method_summary.h"

namespace samri::eval {

// A table for the report, rendered as Markdown or LaTeX. Cells marked bold are the best of
// their row.
struct Table {
  std::string name;   // file stem: table1_targets, ...
  std::string title;  // caption
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  std::vector<std::vector<bool>> bold;
  std::string note;
};

// The tables laid out like the paper's:
//  - table1_targets: mean +- SD Dice per target and method, the best in bold, and the number of
//    targets each method is best on (Table 1);
//  - table2_gain: mean Dice per dataset and method, and each method's gain over the baseline with
//    Wilcoxon markers (Table 2);
//  - tableS4_size_bins: Dice, HD and MSD by object-size bin (median [Q1, Q3]) (Table S4);
//  - tableS5_datasets: HD and MSD per dataset (mean +- SD) (Table S5).
// Every table's note gives the empty-mask counts.
std::vector<Table> paper_tables(const std::vector<GroupSummary>& groups,
                                const std::vector<MethodComparison>& comparisons,
                                const std::vector<std::string>& methods,
                                const std::string& baseline);

std::string to_markdown(const Table& table);
std::string to_latex(const Table& table);

}  // namespace samri::eval
