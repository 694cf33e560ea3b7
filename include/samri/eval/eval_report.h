#pragma once

#include <filesystem>
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

// Writes the report of scored cases into `dir`: cases.csv, summary.json (provenance, settings,
// group statistics, comparisons, best counts, size-bin cuts) and tables/ (each paper table as
// .md and .tex, and all of them in tables/tables.md). Sets the size bins of `cases` first.
void write_report(const std::filesystem::path& dir, std::vector<CaseRecord>& cases,
                  ReportOptions options);

}  // namespace samri::eval
