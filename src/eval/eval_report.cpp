#include "samri/eval/eval_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>
#include <thread>

#include "samri/core/atomic_file.h"
#include "samri/core/error.h"
#include "samri/eval/iou_agreement.h"
#include "samri/eval/method_summary.h"
#include "samri/eval/report_tables.h"

namespace samri::eval {

namespace {

nlohmann::json number_or_null(double v) {
  return std::isnan(v) ? nlohmann::json() : nlohmann::json(v);
}

nlohmann::json to_json(const MetricStats& s) {
  return {{"n", s.n},
          {"missing", s.missing},
          {"mean", number_or_null(s.mean)},
          {"sd", number_or_null(s.sd)},
          {"median", number_or_null(s.median)},
          {"q1", number_or_null(s.q1)},
          {"q3", number_or_null(s.q3)}};
}

nlohmann::json to_json(const GroupSummary& g) {
  nlohmann::json metrics;
  for (const auto& [name, stats] : g.metrics) metrics[name] = to_json(stats);
  return {{"method", g.method},
          {"by", g.by},
          {"group", g.group},
          {"cases", g.cases},
          {"empty_prediction", g.empty_prediction},
          {"empty_reference", g.empty_reference},
          {"metrics", metrics}};
}

nlohmann::json to_json(const MethodComparison& c) {
  nlohmann::json j{{"by", c.by},
                   {"group", c.group},
                   {"method", c.method},
                   {"baseline", c.baseline},
                   {"pairs", c.pairs},
                   {"mean_dice_difference", c.mean_difference},
                   {"p_adjusted", number_or_null(c.p_adjusted)},
                   {"marker", c.marker}};
  if (c.test) {
    j["wilcoxon"] = {{"statistic", c.test->statistic},
                     {"p_value", c.test->p_value},
                     {"non_zero_differences", c.test->non_zero},
                     {"method", c.test->method}};
  }
  return j;
}

void write_tables(const std::filesystem::path& dir, const std::vector<Table>& tables) {
  std::filesystem::create_directories(dir);
  std::ostringstream all;
  for (const auto& t : tables) {
    const std::string md = to_markdown(t);
    write_text_atomically(dir / (t.name + ".md"), md);
    write_text_atomically(dir / (t.name + ".tex"), to_latex(t));
    all << md << '\n';
  }
  write_text_atomically(dir / "tables.md", all.str());
}

std::string three_digits(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3f", v);
  return text;
}

// summary.json's "predicted_iou_vs_dice" and tables/predicted_iou.md, when the cases have a
// predicted IoU (model mode).
void write_iou_agreement(const std::filesystem::path& dir,
                         const std::vector<IouAgreement>& agreement, nlohmann::json& summary) {
  if (agreement.empty()) return;
  std::ostringstream md;
  md << "Predicted IoU vs Dice: Spearman's rank correlation per method and dataset (how far "
        "samri-infer's confidence flags can be trusted)\n\n| method | dataset | cases | "
        "Spearman rho |\n|---|---|---|---|\n";
  summary["predicted_iou_vs_dice"] = nlohmann::json::array();
  for (const auto& a : agreement) {
    const bool defined = !std::isnan(a.spearman);
    summary["predicted_iou_vs_dice"].push_back(
        {{"method", a.method},
         {"dataset", a.dataset},
         {"cases", a.cases},
         {"spearman", defined ? nlohmann::json(a.spearman) : nlohmann::json()}});
    md << "| " << a.method << " | " << a.dataset << " | " << a.cases << " | "
       << (defined ? three_digits(a.spearman) : std::string("n/a")) << " |\n";
  }
  write_text_atomically(dir / "tables" / "predicted_iou.md", md.str());
}

}  // namespace

ReportOptions EvalSettings::report_options(nlohmann::json metric_settings) const {
  if (empty_distance != "nan" && empty_distance != "diagonal") {
    throw Error("--empty-distance '" + empty_distance + "': expected nan or diagonal");
  }
  ReportOptions r;
  r.columns.hd95 = hd95;
  r.columns.nsd = !std::isnan(nsd_tolerance);
  r.size_bins = SizeBins::parse(size_bins);
  r.baseline = baseline;
  r.holm = holm;
  r.provenance = provenance;
  metric_settings["empty_distance"] = empty_distance;
  metric_settings["hd95"] = "max of the two directed 95th percentiles (linear interpolation)";
  metric_settings["nsd_tolerance"] =
      std::isnan(nsd_tolerance) ? nlohmann::json() : nlohmann::json(nsd_tolerance);
  r.metric_settings = metric_settings;
  return r;
}

int EvalSettings::worker_count() const {
  return threads > 0 ? threads
                     : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

void write_report(const std::filesystem::path& dir, std::vector<CaseRecord>& cases,
                  ReportOptions options) {
  std::filesystem::create_directories(dir);
  assign_size_bins(cases, options.size_bins);
  write_cases_csv(dir / "cases.csv", cases, options.columns);
  const std::vector<GroupSummary> groups = summarise(cases, options.columns);
  const std::vector<std::string> methods = methods_of(cases);
  const std::string baseline = options.baseline.empty() ? methods.front() : options.baseline;
  const std::vector<MethodComparison> comparisons =
      compare_methods(cases, methods.size() > 1 ? baseline : "", options.holm);
  write_tables(dir / "tables", paper_tables(groups, comparisons, methods, baseline));

  nlohmann::json summary{{"provenance", options.provenance},
                         {"metrics", options.metric_settings},
                         {"methods", methods},
                         {"baseline", baseline},
                         {"holm", options.holm},
                         {"size_bins",
                          {{"rule", options.size_bins.tertiles ? "tertiles" : "fixed"},
                           {"cuts", options.size_bins.cuts},
                           {"names", options.size_bins.names()}}},
                         {"cases", cases.size()},
                         {"best_counts", best_counts(groups)},
                         {"groups", nlohmann::json::array()},
                         {"comparisons", nlohmann::json::array()}};
  for (const auto& g : groups) summary["groups"].push_back(to_json(g));
  for (const auto& c : comparisons) summary["comparisons"].push_back(to_json(c));
  write_iou_agreement(dir, iou_dice_agreement(cases), summary);
  write_text_atomically(dir / "summary.json", summary.dump(2) + "\n");
}

}  // namespace samri::eval
