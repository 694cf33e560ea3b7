#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "samri/eval/case_record.h"
#include "samri/eval/summary_statistics.h"
#include "samri/eval/wilcoxon.h"

namespace samri::eval {

// The statistics of one method over one group of cases. `by` is all, dataset, target (a label of
// a dataset: "dataset / label name") or size_bin. Cases whose reference is empty are counted in
// empty_reference and left out of the statistics; empty predictions stay in (Dice 0) and are
// counted too.
struct GroupSummary {
  std::string method, by, group;
  std::int64_t cases = 0;
  std::int64_t empty_prediction = 0, empty_reference = 0;
  std::map<std::string, MetricStats> metrics;  // dice, hd, msd, and hd95 / nsd when present
};

// Groups in a stable order: by (all, dataset, target, size_bin), then group, then method.
std::vector<GroupSummary> summarise(const std::vector<CaseRecord>& cases,
                                    const CaseColumns& columns);

// A paired comparison of a method with a baseline on the cases both scored, matched by pair key:
// mean Dice difference (method minus baseline) and a two-sided Wilcoxon signed-rank test (none
// with fewer than 10 pairs). p_adjusted is Holm's within each `by` family when asked, else p.
struct MethodComparison {
  std::string by, group, method, baseline;
  std::int64_t pairs = 0;
  double mean_difference = 0;
  std::optional<WilcoxonResult> test;
  double p_adjusted = std::numeric_limits<double>::quiet_NaN();
  std::string marker;
};

// Every method against `baseline` (every pair of methods when it is empty), by all, dataset and
// target, on Dice.
std::vector<MethodComparison> compare_methods(const std::vector<CaseRecord>& cases,
                                              const std::string& baseline, bool holm);

// How many targets each method has the best mean Dice on (ties count for each), as Table 1.
std::map<std::string, std::int64_t> best_counts(const std::vector<GroupSummary>& groups);

// The methods in the order they first appear in the cases.
std::vector<std::string> methods_of(const std::vector<CaseRecord>& cases);

// A case's target name: "dataset / label name" (the label value when it has no name).
std::string target_of(const CaseRecord& c);

}  // namespace samri::eval
