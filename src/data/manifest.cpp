#include "samri/data/manifest.h"

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "samri/core/error.h"
#include "samri/core/json_file.h"
#include "samri/core/sha256.h"

namespace samri::data {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

ManifestSample parse_sample(const json& j) {
  ManifestSample s;
  s.dataset = j.at("dataset").get<std::string>();
  s.patient = j.at("patient").get<std::string>();
  s.split = j.at("split").get<std::string>();
  s.image = j.at("image").get<std::string>();
  s.labels = j.at("labels").get<std::string>();
  s.label = j.at("label").get<std::int64_t>();
  if (j.contains("label_name") && !j["label_name"].is_null()) {
    s.label_name = j["label_name"].get<std::string>();
  }
  s.pixels = j.at("pixels").get<std::int64_t>();
  s.area_fraction = j.at("area_fraction").get<double>();
  s.box = j.at("box").get<std::array<std::int64_t, 4>>();
  s.height = j.at("height").get<std::int64_t>();
  s.width = j.at("width").get<std::int64_t>();
  s.source = j.value("source", "");
  s.source_sha256 = j.value("source_sha256", "");
  s.channel = j.value("channel", "");
  if (j.contains("axis")) s.axis = j["axis"].get<int>();
  if (j.contains("slice")) s.slice = j["slice"].get<std::int64_t>();
  return s;
}

}  // namespace

Manifest read_manifest(const fs::path& folder) {
  const fs::path file = folder / "manifest.jsonl";
  if (!fs::is_directory(folder)) throw Error(folder.string() + ": data folder not found");
  if (!fs::is_regular_file(file) || !fs::is_regular_file(folder / "rules.json")) {
    throw Error(folder.string() +
                ": not a samri-preprocess output folder (no manifest.jsonl and rules.json)");
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error(file.string() + ": cannot open the manifest");
  std::stringstream text;
  text << in.rdbuf();
  Manifest manifest;
  manifest.folder = folder;
  Sha256 hash;
  const std::string all = text.str();
  hash.update(all.data(), all.size());
  manifest.sha256 = hash.hex_digest();

  std::istringstream lines(all);
  std::string line;
  std::size_t number = 0;
  std::string last_checked;
  while (std::getline(lines, line)) {
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = file.string() + " line " + std::to_string(number);
    ManifestSample sample;
    try {
      sample = parse_sample(json::parse(line));
    } catch (const json::exception& e) {
      throw Error(where + ": not a manifest sample: " + e.what());
    }
    if (sample.height < 1 || sample.width < 1)
      throw Error(where + ": the slice size is not positive");
    // Consecutive samples usually share a slice: check each file once.
    if (sample.image != last_checked) {
      for (const auto& rel : {sample.image, sample.labels}) {
        if (!fs::is_regular_file(folder / rel)) {
          throw Error(where + ": " + (folder / rel).string() + " is missing");
        }
      }
      last_checked = sample.image;
    }
    manifest.samples.push_back(std::move(sample));
  }
  return manifest;
}

}  // namespace samri::data
