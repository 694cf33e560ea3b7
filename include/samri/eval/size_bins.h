#pragma once

#include <string>
#include <vector>

#include "samri/eval/case_record.h"

namespace samri::eval {

// Object-size bins by area fraction (mask pixels over slice pixels). Fixed cut points (the
// paper's 0.5% and 3.5%: small < 0.005 <= medium < 0.035 <= large) or the tertiles of the
// reference objects' area fractions (the public code).
struct SizeBins {
  bool tertiles = false;
  std::vector<double> cuts{0.005, 0.035};  // ascending; resolved from the data for tertiles

  // "tertiles", or ascending cut points "0.005,0.035"; throws samri::Error naming `spec`.
  static SizeBins parse(const std::string& spec);
  // Bin names in order: small, medium, large for two cuts; else bin1 .. binN.
  std::vector<std::string> names() const;
  std::string name_of(double area_fraction) const;
};

// Sets every case's size_bin ("none" when the reference is empty). For tertiles the cuts come
// from the distinct reference objects (each pair key once, whatever the number of methods) and
// are stored in `bins`.
void assign_size_bins(std::vector<CaseRecord>& cases, SizeBins& bins);

}  // namespace samri::eval
