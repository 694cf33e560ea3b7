#pragma once

#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "samri/eval/case_record.h"
#include "samri/eval/size_bins.h"

namespace samri::eval {

struct ReportOptions {
  CaseColumns columns;
  SizeBins size_bins;
  std::string baseline;       // the method others are compared with; empty: the first
  bool holm = false;          // Holm's correction within each family of tests
  nlohmann::json provenance;  // command line, version, checkpoints, stores, ...
  nlohmann::json metric_settings;
};

// The settings both modes share: where the report goes, which metrics, bins and comparisons.
struct EvalSettings {
  std::filesystem::path output;
  bool hd95 = false;
  double nsd_tolerance = std::numeric_limits<double>::quiet_NaN();
  std::string empty_distance = "nan";     // nan | diagonal
  std::string size_bins = "0.005,0.035";  // cut points, or "tertiles"
  std::string baseline;
  bool holm = false;
  int threads = 0;  // metric workers; 0: all cores
  nlohmann::json provenance;

  // Checks the values (samri::Error naming the option) and gives the report's options.
  ReportOptions report_options(nlohmann::json metric_settings) const;
  bool empty_as_diagonal() const { return empty_distance == "diagonal"; }
  int worker_count() const;
};

struct EvalSummary {
  std::int64_t cases = 0;
  std::int64_t files = 0;  // mask mode: file pairs; model mode: models
  std::filesystem::path output;
};

// Writes the report of scored cases into `dir`: cases.csv, summary.json (provenance, settings,
// group statistics, comparisons, best counts, size-bin cuts) and tables/ (each paper table as
// .md and .tex, and all of them in tables/tables.md). Sets the size bins of `cases` first.
void write_report(const std::filesystem::path& dir, std::vector<CaseRecord>& cases,
                  ReportOptions options);

}  // namespace samri::eval
