#pragma once

#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "support/fixtures.h"

namespace samri::eval::test {

// Runs tests/eval/scipy_reference.py (Debian's python3 with SciPy) on the given cases and returns
// one row of numbers per case; nullopt when that Python is not installed.
inline std::optional<std::vector<std::vector<double>>> scipy_reference(const std::string& cases) {
  if (std::system("/usr/bin/python3 -c 'import scipy' >/dev/null 2>&1") != 0) return std::nullopt;
  const std::string dir = samri::test::temp_dir();
  std::ofstream(dir + "/cases.txt") << cases;
  const std::string out = dir + "/reference.txt";
  const std::string command = std::string("/usr/bin/python3 ") + SAMRI_SOURCE_DIR +
                              "/tests/eval/scipy_reference.py " + dir + "/cases.txt >" + out +
                              " 2>" + dir + "/reference.err";
  if (std::system(command.c_str()) != 0) return std::vector<std::vector<double>>{};
  std::vector<std::vector<double>> rows;
  std::ifstream in(out);
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    rows.emplace_back();
    for (double v; fields >> v;) rows.back().push_back(v);
  }
  return rows;
}

}  // namespace samri::eval::test
