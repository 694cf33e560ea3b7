#pragma once

#include <fstream>
#include <istream>
#include <string>

#include <nlohmann/json.hpp>

#include "samri/core/error.h"

namespace samri {

// Header-only, so that samri_core itself needs no JSON library: the layers that read JSON files
// (model configs, prompts, datasets, preprocessing configs) already link nlohmann_json.

// Parses JSON from `in` (comments allowed); a syntax error becomes samri::Error naming `source`.
inline nlohmann::json parse_json(std::istream& in, const std::string& source) {
  try {
    return nlohmann::json::parse(in, nullptr, true, /*ignore_comments=*/true);
  } catch (const nlohmann::json::exception& e) {
    throw Error(source + ": not valid JSON: " + e.what());
  }
}

// Opens and parses `path`; `what` names the file's role in the error when it cannot be opened
// ("cannot open the prompts file").
inline nlohmann::json read_json_file(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open the " + what);
  return parse_json(in, path);
}

}  // namespace samri
